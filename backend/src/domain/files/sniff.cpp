#include "domain/files/sniff.hpp"

#include <array>
#include <cstdint>

namespace flashbill::domain::files {

namespace {

// HEIF brands of HEVC-coded images (ISO/IEC 23008-12 Annex B); "mif1"/"msf1" are generic HEIF and
// count only when a HEVC brand is among the compatible ones (an AVIF file is "mif1" + "avif").
constexpr std::array<std::string_view, 6> kHeicBrands = {"heic", "heix", "heim", "heis", "hevc", "hevx"};

bool is_heic_brand(std::string_view b) {
    for (auto h : kHeicBrands) {
        if (b == h) return true;
    }
    return false;
}

std::uint32_t be32(std::string_view s) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[3]));
}

// An ISO BMFF file starts with its `ftyp` box: size, "ftyp", major brand, minor version, brands.
bool is_heic(std::string_view b) {
    if (b.size() < 16 || b.substr(4, 4) != "ftyp") return false;
    std::uint32_t size = be32(b);
    if (size < 16 || size > b.size() || size % 4 != 0) return false;
    std::string_view major = b.substr(8, 4);
    if (is_heic_brand(major)) return true;
    if (major != "mif1" && major != "msf1") return false;
    for (std::uint32_t off = 16; off + 4 <= size; off += 4) {
        if (is_heic_brand(b.substr(off, 4))) return true;
    }
    return false;
}

}  // namespace

std::optional<FileType> sniff(std::string_view b) {
    using namespace std::string_view_literals;
    if (b.starts_with("\xFF\xD8\xFF"sv)) return FileType{"image/jpeg", ".jpg"};
    if (b.starts_with("\x89PNG\r\n\x1A\n"sv)) return FileType{"image/png", ".png"};
    if (b.starts_with("%PDF-"sv)) return FileType{"application/pdf", ".pdf"};
    if (is_heic(b)) return FileType{"image/heic", ".heic"};
    return std::nullopt;
}

}  // namespace flashbill::domain::files
