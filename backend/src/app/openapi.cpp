#include <yaml-cpp/yaml.h>

#include <regex>
#include <string_view>

#include "app/routes.hpp"
#include "core/json.hpp"

namespace flashbill::app {

extern const std::string_view kOpenApiYaml;

namespace {

void emit(json::Writer& w, const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Map:
            w.begin_object();
            for (const auto& kv : n) {
                w.key(kv.first.as<std::string>());
                emit(w, kv.second);
            }
            w.end_object();
            break;
        case YAML::NodeType::Sequence:
            w.begin_array();
            for (const auto& e : n) emit(w, e);
            w.end_array();
            break;
        case YAML::NodeType::Scalar: {
            const std::string& s = n.Scalar();
            // Quoted scalars carry the "!" tag and are always strings; plain ones follow YAML 1.2 core.
            if (n.Tag() == "!") {
                w.string(s);
            } else if (s == "true" || s == "false") {
                w.boolean(s == "true");
            } else if (s == "null" || s == "~") {
                w.null();
            } else if (static const std::regex kNum(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?)");
                       std::regex_match(s, kNum)) {
                w.number_text(s);
            } else {
                w.string(s);
            }
            break;
        }
        default: w.null();
    }
}

}  // namespace

const std::string& openapi_json() {
    static const std::string doc = [] {
        json::Writer w;
        emit(w, YAML::Load(std::string(kOpenApiYaml)));
        return std::move(w).str();
    }();
    return doc;
}

}  // namespace flashbill::app
