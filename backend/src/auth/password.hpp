#pragma once
// Passwords: policy (length and a built-in list of common passwords), argon2id hashing to PHC
// strings, and verification. Hashing is deliberately slow, so the coroutine versions run it on a
// small dedicated thread pool and resume the caller on its own event loop: a login never stalls
// the other requests of its thread.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace flashbill::auth {

struct PasswordParams {
    std::uint32_t memory_kib = 19 * 1024;
    std::uint32_t iterations = 2;
    std::uint32_t parallelism = 1;
};

inline constexpr std::size_t kMinPasswordLength = 10;
inline constexpr std::size_t kMaxPasswordLength = 256;  // bounds the work an attacker can ask for

// Why `password` is not acceptable (a message for the field), or nullopt when it is.
std::optional<std::string> password_problem(std::string_view password);
// True when the lower-cased password is in the built-in list.
bool is_common_password(std::string_view password);
// The built-in list: lower-case, sorted (for tests).
std::span<const char* const> common_password_list();

// argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash) with a 16-byte random salt.
Result<std::string> hash_password(std::string_view password, const PasswordParams& params);
// True when `password` matches `phc`; false for a mismatch or a malformed hash.
bool verify_password(std::string_view password, std::string_view phc);

// Starts the hashing pool (idempotent; the first call decides the size).
void start_hash_pool(int threads);
// The same on the hashing pool; resumes on the caller's executor.
boost::asio::awaitable<Result<std::string>> hash_password_async(std::string password, PasswordParams params);
boost::asio::awaitable<bool> verify_password_async(std::string password, std::string phc);

}  // namespace flashbill::auth
