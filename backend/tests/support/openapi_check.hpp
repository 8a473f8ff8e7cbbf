#pragma once
// Checks API responses against docs/openapi.yaml: the operation must exist, the status must be
// documented, and the JSON body must satisfy the response schema (the JSON Schema subset the
// document uses: $ref, type (incl. lists), required, properties, additionalProperties, items,
// enum, oneOf/anyOf/allOf, nullable types, minimum/maximum, minLength/maxLength, format date-time
// and uuid).

#include <string>
#include <vector>

#include "http_client.hpp"

namespace flashbill::test {

// Empty when the response conforms; otherwise one line per violation.
std::vector<std::string> openapi_violations(const std::string& method, const std::string& path_template,
                                            const HttpResponse& response);

}  // namespace flashbill::test

// Asserts that `response` to METHOD on PATH_TEMPLATE (as written in the document, e.g.
// "/api/v1/invoices/{id}") conforms to docs/openapi.yaml.
#define EXPECT_CONFORMS(method, path_template, response)                                   \
    do {                                                                                   \
        auto fb_violations = ::flashbill::test::openapi_violations(method, path_template, response); \
        for (const auto& fb_v : fb_violations) ADD_FAILURE() << fb_v;                     \
    } while (0)
