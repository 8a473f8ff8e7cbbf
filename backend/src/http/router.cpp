#include "http/router.hpp"

namespace flashbill::http {

namespace {

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        auto j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

void add_allow(std::string& allow, Method m) {
    auto name = method_name(m);
    if (allow.find(name) != std::string::npos) return;
    if (!allow.empty()) allow += ", ";
    allow += name;
    if (m == Method::kGet && allow.find("HEAD") == std::string::npos) allow += ", HEAD";
}

}  // namespace

void Router::add(Method method, std::string pattern, Handler handler, RouteOptions options) {
    Route r{method, pattern, std::move(handler), options, {}};
    for (auto s : split(pattern)) r.segments.emplace_back(s);
    bool is_static = pattern.find('{') == std::string::npos;
    routes_.push_back(std::move(r));
    // Indexes are rebuilt from scratch: vectors of Route may move, but indexes stay valid.
    std::size_t idx = routes_.size() - 1;
    if (is_static) {
        static_[pattern].push_back(idx);
    } else {
        dynamic_.push_back(idx);
    }
}

RouteMatch Router::match(Method method, std::string_view path) const {
    RouteMatch m;
    Method want = method == Method::kHead ? Method::kGet : method;
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (auto it = static_.find(path); it != static_.end()) {
        for (auto idx : it->second) {
            const Route& r = routes_[idx];
            m.path_matched = true;
            add_allow(m.allow, r.method);
            if (r.method == want) {
                m.route = &r;
                return m;
            }
        }
    }
    auto segs = split(path);
    for (auto idx : dynamic_) {
        const Route& r = routes_[idx];
        if (r.segments.size() != segs.size()) continue;
        std::vector<std::pair<std::string_view, std::string_view>> params;
        bool ok = true;
        for (std::size_t i = 0; i < segs.size(); ++i) {
            const std::string& s = r.segments[i];
            if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
                params.emplace_back(std::string_view(s).substr(1, s.size() - 2), segs[i]);
            } else if (s != segs[i]) {
                ok = false;
                break;
            }
        }
        if (!ok) continue;
        m.path_matched = true;
        add_allow(m.allow, r.method);
        if (r.method == want && !m.route) {
            m.route = &r;
            m.params = std::move(params);
        }
    }
    return m;
}

}  // namespace flashbill::http
