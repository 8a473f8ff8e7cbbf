#pragma once
// Which uploads are accepted (API.md §7: JPEG, PNG, HEIC, PDF) is decided by the bytes themselves —
// never by the client's Content-Type or file name, which cost nothing to fake.

#include <optional>
#include <string_view>

namespace flashbill::domain::files {

struct FileType {
    std::string_view content_type;  // what downloads are served as
    std::string_view extension;     // for a name when the client sent none
};

// The type whose signature `bytes` start with; nullopt for anything else (answered with 415).
std::optional<FileType> sniff(std::string_view bytes);

}  // namespace flashbill::domain::files
