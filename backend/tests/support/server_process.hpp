#pragma once
// Runs the real flashbill binary the way systemd does: the test holds the listening socket and
// hands it over with LISTEN_FDS, so the port is known before the child starts and survives
// restarts (the same mechanism as flashbill-api.socket).

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flashbill::test {

class ServerProcess {
public:
    // env: extra environment for the child (merged over a test default set: FLASHBILL_ENV=test,
    // TEST_ROUTES=true, LOG_FORMAT=json, THREADS=2). Starts the process and waits for /health.
    // args: the subcommand and its flags (default "serve"; "worker" runs a job worker, which has no
    // HTTP side: pass wait_healthy = false).
    explicit ServerProcess(std::map<std::string, std::string> env, bool wait_healthy = true,
                           std::vector<std::string> args = {"serve"});
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& log_path() const { return log_path_; }
    std::string log() const;

    // Starts a new child on the same listening socket (the old one must have exited).
    void start();
    // Polls GET /health until 200 or the timeout; throws on timeout.
    void wait_healthy(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;
    void signal(int sig) const;
    // Waits for the child to exit; returns its exit code (128+signal when killed), nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool running();

private:
    std::map<std::string, std::string> env_;
    std::vector<std::string> args_;
    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::string log_path_;
    int starts_ = 0;
};

}  // namespace flashbill::test
