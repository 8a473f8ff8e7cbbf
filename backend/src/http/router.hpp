#pragma once
// Method + path routing with {param} segments. Static paths are a hash lookup; patterns are
// matched segment by segment.

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/context.hpp"

namespace flashbill::http {

struct RouteOptions {
    std::size_t body_limit = 0;  // 0: the server's default JSON body limit
};

struct Route {
    Method method;
    std::string pattern;  // as registered, used as the metrics label
    Handler handler;
    RouteOptions options;
    std::vector<std::string> segments;
};

struct RouteMatch {
    const Route* route = nullptr;          // set on a full match
    std::vector<std::pair<std::string_view, std::string_view>> params;
    bool path_matched = false;             // some route has this path (for 405)
    std::string allow;                     // methods allowed on this path, for 405
};

class Router {
public:
    void add(Method method, std::string pattern, Handler handler, RouteOptions options = {});
    RouteMatch match(Method method, std::string_view path) const;
    const std::vector<Route>& routes() const { return routes_; }

private:
    std::vector<Route> routes_;
    // Transparent hashing: looking a request path up needs no std::string.
    struct PathHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::vector<std::size_t>, PathHash, std::equal_to<>> static_;  // path -> routes
    std::vector<std::size_t> dynamic_;
};

}  // namespace flashbill::http
