#include "redis/script.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "metrics/metrics.hpp"

namespace flashbill::redis::detail {

namespace asio = boost::asio;

Script::Script(std::string source) : source_(std::move(source)) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(source_.data(), source_.size(), md, &len, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("SHA-1 unavailable");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
        sha1_ += kHex[md[i] >> 4];
        sha1_ += kHex[md[i] & 0xf];
    }
}

asio::awaitable<Result<Reply>> eval(Client& client, const Script& script, std::vector<std::string> keys,
                                    std::vector<std::string> args) {
    std::vector<std::string> cmd;
    cmd.reserve(3 + keys.size() + args.size());
    cmd.emplace_back("EVALSHA");
    cmd.push_back(script.sha1());
    cmd.push_back(std::to_string(keys.size()));
    for (auto& k : keys) cmd.push_back(std::move(k));
    for (auto& a : args) cmd.push_back(std::move(a));
    auto r = co_await client.command(cmd);
    if (!r || !r->is_error() || r->str.rfind("NOSCRIPT", 0) != 0) co_return r;
    metrics::inc("redis_script_loads_total");
    cmd[0] = "EVAL";
    cmd[1] = script.source();
    co_return co_await client.command(std::move(cmd));
}

}  // namespace flashbill::redis::detail
