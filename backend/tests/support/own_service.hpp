#pragma once
// A private instance of one of the project's dev servers (scripts/pg, scripts/redis,
// scripts/smtp) on a free loopback port, for tests that stop, break or reconfigure a server and so
// must not share the fixture's. Stopped when destroyed.

#include <cstdint>
#include <string>

namespace flashbill::test {

// A loopback TCP port nothing listens on right now.
std::uint16_t free_port();

class OwnService {
public:
    // script: "pg", "redis" or "smtp". start_now = false leaves it stopped (e.g. "server down").
    explicit OwnService(std::string script, bool start_now = true);
    ~OwnService();
    OwnService(const OwnService&) = delete;
    OwnService& operator=(const OwnService&) = delete;

    void start();
    void stop();
    const std::string& dir() const { return dir_; }
    std::uint16_t port() const { return port_; }
    // The URL clients use: postgresql://…/flashbill, redis://…/0 or smtp://…
    std::string url() const;

private:
    std::string script_;
    std::string dir_;
    std::uint16_t port_;
};

}  // namespace flashbill::test
