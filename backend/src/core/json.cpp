#include "core/json.hpp"

#include "core/decimal.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <limits>

namespace flashbill::json {

namespace {

// Builds our Value tree from Boost.JSON's SAX events. Boost validates the grammar and UTF-8 and
// enforces max_depth; we keep each number's text.
struct Builder {
    constexpr static std::size_t max_object_size = std::size_t(-1);
    constexpr static std::size_t max_array_size = std::size_t(-1);
    constexpr static std::size_t max_key_size = std::size_t(-1);
    constexpr static std::size_t max_string_size = std::size_t(-1);

    struct Frame {
        bool is_object;
        Array array;
        Object object;
        std::string pending_key;
    };
    std::vector<Frame> stack;
    std::optional<Value> root;
    std::string text_part;  // partial string/key/number text across chunks

    void emit(Value v) {
        if (stack.empty()) {
            root = std::move(v);
            return;
        }
        Frame& f = stack.back();
        if (f.is_object) {
            f.object.emplace_back(std::move(f.pending_key), std::move(v));
            f.pending_key.clear();
        } else {
            f.array.push_back(std::move(v));
        }
    }

    using ec = boost::system::error_code;
    using sv = boost::json::string_view;

    bool on_document_begin(ec&) { return true; }
    bool on_document_end(ec&) { return true; }
    bool on_object_begin(ec&) {
        stack.push_back(Frame{true, {}, {}, {}});
        return true;
    }
    bool on_object_end(std::size_t, ec&) {
        Value v(std::move(stack.back().object));
        stack.pop_back();
        emit(std::move(v));
        return true;
    }
    bool on_array_begin(ec&) {
        stack.push_back(Frame{false, {}, {}, {}});
        return true;
    }
    bool on_array_end(std::size_t, ec&) {
        Value v(std::move(stack.back().array));
        stack.pop_back();
        emit(std::move(v));
        return true;
    }
    bool on_key_part(sv s, std::size_t, ec&) {
        text_part.append(s.data(), s.size());
        return true;
    }
    bool on_key(sv s, std::size_t, ec&) {
        text_part.append(s.data(), s.size());
        stack.back().pending_key = std::move(text_part);
        text_part.clear();
        return true;
    }
    bool on_string_part(sv s, std::size_t, ec&) {
        text_part.append(s.data(), s.size());
        return true;
    }
    bool on_string(sv s, std::size_t, ec&) {
        text_part.append(s.data(), s.size());
        emit(Value(std::move(text_part)));
        text_part.clear();
        return true;
    }
    bool on_number_part(sv s, ec&) {
        text_part.append(s.data(), s.size());
        return true;
    }
    bool number(sv s) {
        text_part.append(s.data(), s.size());
        emit(Value(Number{std::move(text_part)}));
        text_part.clear();
        return true;
    }
    bool on_int64(std::int64_t, sv s, ec&) { return number(s); }
    bool on_uint64(std::uint64_t, sv s, ec&) { return number(s); }
    bool on_double(double, sv s, ec&) { return number(s); }
    bool on_bool(bool b, ec&) {
        emit(Value(b));
        return true;
    }
    bool on_null(ec&) {
        emit(Value());
        return true;
    }
    bool on_comment_part(sv, ec&) { return false; }
    bool on_comment(sv, ec&) { return false; }
};

}  // namespace

Result<Value> parse(std::string_view text, ParseLimits limits) {
    boost::json::parse_options opt;
    opt.max_depth = limits.max_depth;
    opt.allow_comments = false;
    opt.allow_trailing_commas = false;
    opt.allow_invalid_utf8 = false;
    boost::json::basic_parser<Builder> p(opt);
    boost::system::error_code ec;
    std::size_t n = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && n != text.size()) ec = boost::json::error::extra_data;
    if (ec) {
        std::string msg = "malformed JSON body: ";
        msg += ec.message();
        return Error::bad_request(std::move(msg));
    }
    if (!p.handler().root) return Error::bad_request("malformed JSON body: empty document");
    return std::move(*p.handler().root);
}

std::optional<std::int64_t> Value::as_exact_int64() const {
    if (!is_number()) return std::nullopt;
    // Exact and linear in the text: "3", "3.0" and "3e0" qualify; "1e9999999" is refused at once.
    auto parsed = parse_scaled(number_text(), 0, std::numeric_limits<std::int64_t>::max());
    if (!parsed.ok()) return std::nullopt;
    return parsed.units;
}

const Value* Value::find(std::string_view key) const {
    if (!is_object()) return nullptr;
    const auto& o = as_object();
    for (auto it = o.rbegin(); it != o.rend(); ++it) {
        if (it->first == key) return &it->second;
    }
    return nullptr;
}

std::string_view Value::kind_name(Kind kind) {
    switch (kind) {
        case Kind::kNull: return "null";
        case Kind::kBool: return "a boolean";
        case Kind::kNumber: return "a number";
        case Kind::kString: return "a string";
        case Kind::kArray: return "an array";
        case Kind::kObject: return "an object";
    }
    return "a value";
}

void append_escaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xF]);
        }
    }
    out.append(s.data() + run, s.size() - run);
    out.push_back('"');
}

void Writer::separate() {
    if (need_comma_) out_.push_back(',');
    need_comma_ = true;
}

Writer& Writer::begin_object() {
    separate();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
}
Writer& Writer::end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
}
Writer& Writer::begin_array() {
    separate();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
}
Writer& Writer::end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
}
Writer& Writer::key(std::string_view k) {
    separate();
    append_escaped(out_, k);
    out_.push_back(':');
    need_comma_ = false;
    return *this;
}
Writer& Writer::string(std::string_view s) {
    separate();
    append_escaped(out_, s);
    return *this;
}
Writer& Writer::number(std::int64_t n) {
    separate();
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, n);
    (void)ec;
    out_.append(buf, p);
    return *this;
}
Writer& Writer::number_text(std::string_view text) {
    separate();
    out_.append(text);
    return *this;
}
Writer& Writer::boolean(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}
Writer& Writer::null() {
    separate();
    out_ += "null";
    return *this;
}
Writer& Writer::raw(std::string_view json) {
    separate();
    out_.append(json);
    return *this;
}

void write(Writer& w, const Value& v) {
    switch (v.kind()) {
        case Value::Kind::kNull: w.null(); break;
        case Value::Kind::kBool: w.boolean(v.as_bool()); break;
        case Value::Kind::kNumber: w.number_text(v.number_text()); break;
        case Value::Kind::kString: w.string(v.as_string()); break;
        case Value::Kind::kArray:
            w.begin_array();
            for (const auto& e : v.as_array()) write(w, e);
            w.end_array();
            break;
        case Value::Kind::kObject:
            w.begin_object();
            for (const auto& [k, e] : v.as_object()) {
                w.key(k);
                write(w, e);
            }
            w.end_object();
            break;
    }
}

std::string serialize(const Value& v) {
    Writer w;
    write(w, v);
    return std::move(w).str();
}

}  // namespace flashbill::json
