#include "core/uuid.hpp"

#include <openssl/rand.h>

#include <cstdint>
#include <random>
#include <stdexcept>

namespace flashbill {

namespace {

std::string format_v4(std::uint8_t b[16]) {
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
        s.push_back(kHex[b[i] >> 4]);
        s.push_back(kHex[b[i] & 0xF]);
    }
    return s;
}

}  // namespace

bool is_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < 36; ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

std::string new_request_id() {
    thread_local std::mt19937_64 gen{[] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }()};
    std::uint8_t b[16];
    std::uint64_t a = gen(), c = gen();
    for (int i = 0; i < 8; ++i) {
        b[i] = static_cast<std::uint8_t>(a >> (i * 8));
        b[8 + i] = static_cast<std::uint8_t>(c >> (i * 8));
    }
    return format_v4(b);
}

std::string new_uuid() {
    std::uint8_t b[16];
    if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
    return format_v4(b);
}

}  // namespace flashbill
