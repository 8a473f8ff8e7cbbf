#include "openapi_check.hpp"

#include <yaml-cpp/yaml.h>


#include "core/json.hpp"
#include "test_env.hpp"

namespace flashbill::test {

namespace {

const YAML::Node& document() {
    static const YAML::Node doc = YAML::LoadFile(repo_root() + "/docs/openapi.yaml");
    return doc;
}

YAML::Node resolve(YAML::Node schema) {
    for (int guard = 0; guard < 32 && schema.IsMap() && schema["$ref"]; ++guard) {
        std::string ref = schema["$ref"].as<std::string>();
        if (ref.rfind("#/", 0) != 0) break;
        // yaml-cpp's operator= writes through to the aliased node; reset() rebinds instead.
        YAML::Node n;
        n.reset(document());
        std::string_view rest = std::string_view(ref).substr(2);
        while (!rest.empty()) {
            auto slash = rest.find('/');
            YAML::Node next = n[std::string(rest.substr(0, slash))];
            n.reset(next);
            if (slash == std::string_view::npos) break;
            rest.remove_prefix(slash + 1);
        }
        schema.reset(n);
    }
    return schema;
}

// `shape`: 'd' a digit, anything else itself. (No std::regex: GCC 12 warns inside it under -O0
// with sanitizers, and CI builds with warnings as errors.)
bool matches_shape(std::string_view s, std::string_view shape) {
    if (s.size() < shape.size()) return false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return false;
    }
    return true;
}

// YYYY-MM-DDTHH:MM:SS[.fraction]Z
bool is_utc_timestamp(std::string_view s) {
    if (!matches_shape(s, "dddd-dd-ddTdd:dd:dd") || s.back() != 'Z') return false;
    std::string_view rest = s.substr(19, s.size() - 20);
    if (rest.empty()) return true;
    if (rest.front() != '.' || rest.size() < 2) return false;
    for (char c : rest.substr(1)) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

bool is_lower_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    }
    return true;
}

bool kind_matches(const std::string& type, const json::Value& v) {
    using K = json::Value::Kind;
    if (type == "object") return v.kind() == K::kObject;
    if (type == "array") return v.kind() == K::kArray;
    if (type == "string") return v.kind() == K::kString;
    if (type == "boolean") return v.kind() == K::kBool;
    if (type == "null") return v.kind() == K::kNull;
    if (type == "number") return v.kind() == K::kNumber;
    if (type == "integer") return v.kind() == K::kNumber && v.as_exact_int64().has_value();
    return false;
}

void check(YAML::Node schema, const json::Value& v, const std::string& where, std::vector<std::string>& out);

bool passes(YAML::Node schema, const json::Value& v) {
    std::vector<std::string> tmp;
    check(std::move(schema), v, "", tmp);
    return tmp.empty();
}

void check(YAML::Node schema, const json::Value& v, const std::string& where, std::vector<std::string>& out) {
    YAML::Node resolved = resolve(schema);
    schema.reset(resolved);
    if (!schema || !schema.IsMap()) return;
    if (auto all = schema["allOf"]) {
        for (auto s : all) check(s, v, where, out);
    }
    if (auto any = schema["anyOf"]) {
        bool ok = false;
        for (auto s : any) ok = ok || passes(s, v);
        if (!ok) out.push_back(where + ": matches none of anyOf");
    }
    if (auto one = schema["oneOf"]) {
        int n = 0;
        for (auto s : one) n += passes(s, v) ? 1 : 0;
        if (n != 1) out.push_back(where + ": matches " + std::to_string(n) + " of oneOf (want exactly 1)");
    }
    if (auto type = schema["type"]) {
        bool ok = false;
        std::string names;
        if (type.IsSequence()) {
            for (auto t : type) {
                ok = ok || kind_matches(t.as<std::string>(), v);
                names += t.as<std::string>() + " ";
            }
        } else {
            ok = kind_matches(type.as<std::string>(), v);
            names = type.as<std::string>();
        }
        if (!ok) {
            out.push_back(where + ": expected type " + names + ", got " + std::string(json::Value::kind_name(v.kind())));
            return;
        }
    }
    if (auto en = schema["enum"]) {
        bool ok = false;
        for (auto e : en) {
            if (v.is_string() && e.as<std::string>() == v.as_string()) ok = true;
            if (v.is_number() && e.as<std::string>() == v.number_text()) ok = true;
            if (v.is_null() && e.IsNull()) ok = true;
        }
        if (!ok) out.push_back(where + ": value not in enum: " + json::serialize(v));
    }
    if (v.is_string()) {
        const std::string& s = v.as_string();
        if (auto f = schema["format"]) {
            std::string fmt = f.as<std::string>();
            if (fmt == "date-time" && !is_utc_timestamp(s)) out.push_back(where + ": not RFC 3339 UTC: " + s);
            if (fmt == "date" && !(s.size() == 10 && matches_shape(s, "dddd-dd-dd")))
                out.push_back(where + ": not a date: " + s);
            if (fmt == "uuid" && !is_lower_uuid(s)) out.push_back(where + ": not a uuid: " + s);
        }
        if (auto m = schema["minLength"]; m && s.size() < m.as<std::size_t>()) out.push_back(where + ": too short");
        if (auto m = schema["maxLength"]; m && s.size() > m.as<std::size_t>()) out.push_back(where + ": too long");
    }
    if (v.is_object()) {
        if (auto req = schema["required"]) {
            for (auto r : req) {
                if (!v.find(r.as<std::string>())) out.push_back(where + ": missing required " + r.as<std::string>());
            }
        }
        auto props = schema["properties"];
        auto additional = schema["additionalProperties"];
        for (const auto& [k, child] : v.as_object()) {
            if (props && props[k]) {
                check(props[k], child, where + "." + k, out);
            } else if (additional && additional.IsScalar() && !additional.as<bool>()) {
                out.push_back(where + ": unexpected property " + k);
            } else if (additional && additional.IsMap()) {
                check(additional, child, where + "." + k, out);
            }
        }
    }
    if (v.is_array()) {
        if (auto items = schema["items"]) {
            const auto& a = v.as_array();
            for (std::size_t i = 0; i < a.size(); ++i) check(items, a[i], where + "[" + std::to_string(i) + "]", out);
        }
    }
}

}  // namespace

std::vector<std::string> openapi_violations(const std::string& method, const std::string& path_template,
                                            const HttpResponse& response) {
    std::vector<std::string> out;
    std::string m = method;
    for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string label = method + " " + path_template + " " + std::to_string(response.status);
    const YAML::Node& doc_root = document();
    auto path_item = doc_root["paths"][path_template];
    if (!path_item || !path_item[m]) return {label + ": operation not documented in docs/openapi.yaml"};
    auto op = path_item[m];
    auto resp = op["responses"][std::to_string(response.status)];
    if (!resp) resp.reset(op["responses"]["default"]);
    if (!resp) return {label + ": status not documented"};
    YAML::Node resolved = resolve(resp);
    resp.reset(resolved);
    std::string ct = response.header("Content-Type");
    auto semi = ct.find(';');
    std::string mime = ct.substr(0, semi);
    auto content = resp["content"];
    if (!content) {
        if (!response.body.empty()) out.push_back(label + ": documented without a body, got one");
        return out;
    }
    auto media = content[mime];
    if (!media) return {label + ": content type " + mime + " not documented"};
    if (mime != "application/json") return out;
    auto doc = json::parse(response.body);
    if (!doc) return {label + ": body is not JSON"};
    std::vector<std::string> v;
    check(media["schema"], *doc, "$", v);
    for (auto& line : v) out.push_back(label + " " + line);
    return out;
}

}  // namespace flashbill::test
