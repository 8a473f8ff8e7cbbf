#include "auth/password.hpp"

#include <argon2.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <mutex>

namespace flashbill::auth {

namespace asio = boost::asio;

namespace {

constexpr const char* kCommon[] = {
#include "auth/common_passwords.inc"
};

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::mutex g_pool_mutex;
std::unique_ptr<asio::thread_pool> g_pool;

asio::thread_pool& pool() {
    std::lock_guard lock(g_pool_mutex);
    if (!g_pool) g_pool = std::make_unique<asio::thread_pool>(2);
    return *g_pool;
}

// Runs fn() on the hashing pool and completes on the awaiting coroutine's executor. fn must not throw.
template <class R, class F>
asio::awaitable<R> offload(F fn) {
    asio::thread_pool& p = pool();
    return asio::async_initiate<const asio::use_awaitable_t<>, void(R)>(
        [&p](auto handler, F f) {
            asio::post(p, [handler = std::move(handler), f = std::move(f)]() mutable {
                R result = f();
                auto ex = asio::get_associated_executor(handler);
                asio::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
                    std::move(handler)(std::move(result));
                });
            });
        },
        asio::use_awaitable, std::move(fn));
}

}  // namespace

std::span<const char* const> common_password_list() { return kCommon; }

bool is_common_password(std::string_view password) {
    std::string lower(password);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::binary_search(std::begin(kCommon), std::end(kCommon), lower,
                              [](std::string_view a, std::string_view b) { return a < b; });
}

std::optional<std::string> password_problem(std::string_view password) {
    if (password.size() < kMinPasswordLength) {
        return "must be at least " + std::to_string(kMinPasswordLength) + " characters";
    }
    if (password.size() > kMaxPasswordLength) {
        return "must be at most " + std::to_string(kMaxPasswordLength) + " characters";
    }
    if (is_common_password(password)) return "is too common; choose a less guessable password";
    return std::nullopt;
}

Result<std::string> hash_password(std::string_view password, const PasswordParams& params) {
    std::array<unsigned char, kSaltBytes> salt{};
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return Error::internal("no randomness for a salt");
    std::size_t len = argon2_encodedlen(params.iterations, params.memory_kib, params.parallelism, kSaltBytes,
                                        kHashBytes, Argon2_id);
    std::string encoded(len, '\0');
    int rc = argon2id_hash_encoded(params.iterations, params.memory_kib, params.parallelism, password.data(),
                                   password.size(), salt.data(), salt.size(), kHashBytes, encoded.data(), len);
    if (rc != ARGON2_OK) {
        Error e = Error::internal("could not hash the password");
        e.cause = std::string("argon2: ") + argon2_error_message(rc);
        return e;
    }
    encoded.resize(std::char_traits<char>::length(encoded.c_str()));
    return encoded;
}

bool verify_password(std::string_view password, std::string_view phc) {
    std::string encoded(phc);  // argon2 wants a NUL-terminated string
    return argon2id_verify(encoded.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void start_hash_pool(int threads) {
    std::lock_guard lock(g_pool_mutex);
    if (!g_pool) g_pool = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(std::max(1, threads)));
}

asio::awaitable<Result<std::string>> hash_password_async(std::string password, PasswordParams params) {
    // Named, not a temporary inside the co_await: GCC 12 destroys such a temporary twice
    // (docs/ENGINEERING.md).
    auto job = [password = std::move(password), params]() noexcept {
        try {
            return hash_password(password, params);
        } catch (const std::exception& e) {
            Error err = Error::internal("could not hash the password");
            err.cause = e.what();
            return Result<std::string>(std::move(err));
        }
    };
    auto r = co_await offload<Result<std::string>>(std::move(job));
    co_return r;
}

asio::awaitable<bool> verify_password_async(std::string password, std::string phc) {
    auto job = [password = std::move(password), phc = std::move(phc)]() noexcept {
        return verify_password(password, phc);
    };
    bool ok = co_await offload<bool>(std::move(job));
    co_return ok;
}

}  // namespace flashbill::auth
