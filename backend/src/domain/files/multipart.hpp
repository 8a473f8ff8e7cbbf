#pragma once
// multipart/form-data request bodies (RFC 7578 over RFC 2046 §5.1): the boundary from the
// Content-Type, one header block per part, Content-Disposition's name and filename. Part data are
// views into the request body (no copies of 10 MiB uploads). Transport-free, unit-tested.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace flashbill::domain::files {

struct Part {
    std::string name;                     // Content-Disposition name
    std::optional<std::string> filename;  // Content-Disposition filename, reduced to a base name
    std::string content_type;             // as declared by the client: informational, never trusted
    std::string_view data;                // the part's bytes, a view into the body
};

struct MultipartLimits {
    std::size_t max_part_bytes = 10 * 1024 * 1024;  // a larger part is PAYLOAD_TOO_LARGE
    std::size_t max_header_bytes = 8 * 1024;        // one part's header block
    std::size_t max_parts = 32;
};

// The boundary of a multipart/form-data Content-Type: UNSUPPORTED_MEDIA_TYPE for another type,
// BAD_REQUEST when the boundary parameter is missing or not a valid boundary (1–70 characters).
Result<std::string> multipart_boundary(std::string_view content_type);

// Parses the whole body: UNSUPPORTED_MEDIA_TYPE / BAD_REQUEST as above; BAD_REQUEST for a malformed
// body (no opening or closing delimiter, a header block without its blank line, a part without
// form-data disposition or name, too many parts or header bytes); PAYLOAD_TOO_LARGE for a part over
// the limit.
Result<std::vector<Part>> parse_multipart(std::string_view content_type, std::string_view body,
                                          MultipartLimits limits = {});

// The part named `field` that carries a file: VALIDATION_ERROR naming the field when none does.
Result<Part> file_part(const std::vector<Part>& parts, std::string_view field);

// A client file name reduced to something safe to store and show: the last path segment (either
// separator), control characters and invalid UTF-8 replaced, at most 255 bytes; empty when
// nothing is left.
std::string base_name(std::string_view filename);

}  // namespace flashbill::domain::files
