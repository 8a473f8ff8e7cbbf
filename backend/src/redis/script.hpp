#pragma once
// Private to redis/: a Lua script run with EVALSHA, falling back to EVAL (which caches it again)
// when Redis answers NOSCRIPT, after a restart, a failover or SCRIPT FLUSH.

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "redis/client.hpp"

namespace flashbill::redis::detail {

class Script {
public:
    explicit Script(std::string source);
    const std::string& source() const { return source_; }
    const std::string& sha1() const { return sha1_; }  // lowercase hex, as Redis names scripts

private:
    std::string source_;
    std::string sha1_;
};

boost::asio::awaitable<Result<Reply>> eval(Client& client, const Script& script, std::vector<std::string> keys,
                                           std::vector<std::string> args);

}  // namespace flashbill::redis::detail
