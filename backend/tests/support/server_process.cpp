#include "server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "test_env.hpp"

extern char** environ;

namespace flashbill::test {

ServerProcess::ServerProcess(std::map<std::string, std::string> env, bool wait, std::vector<std::string> args)
    : args_(std::move(args)) {
    env_ = {{"FLASHBILL_ENV", "test"},
            {"TEST_ROUTES", "true"},
            {"LOG_FORMAT", "json"},
            {"THREADS", "2"},
            {"SHUTDOWN_TIMEOUT_MS", "20000"}};
    for (auto& [k, v] : env) env_[k] = v;

    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);  // no CLOEXEC: the child inherits it as fd 3
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 4096) != 0) {
        throw std::runtime_error("cannot open the listening socket: " + std::string(std::strerror(errno)));
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::string dir = make_temp_dir("server");
    log_path_ = dir + "/server.log";
    start();
    if (wait) wait_healthy();
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0 && running()) {
        signal(SIGTERM);
        if (!wait_exit(std::chrono::seconds(10))) {
            signal(SIGKILL);
            wait_exit(std::chrono::seconds(5));
        }
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

void ServerProcess::start() {
    ++starts_;
    // Everything the child needs is prepared before fork(): after fork only async-signal-safe
    // calls are allowed in a multithreaded parent.
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e) {
        std::string s(*e);
        auto key = s.substr(0, s.find('='));
        if (env_.count(key) || key == "LISTEN_PID" || key == "LISTEN_FDS") continue;
        env_strings.push_back(s);
    }
    for (auto& [k, v] : env_) env_strings.push_back(k + "=" + v);
    env_strings.push_back("LISTEN_FDS=1");
    env_strings.push_back("LISTEN_PID=00000000000");  // patched in the child
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    char* pid_slot = env_strings[env_strings.size() - 1].data() + std::strlen("LISTEN_PID=");
    std::string bin = flashbill_binary();
    std::vector<std::string> arg_strings = args_;
    std::vector<char*> argv{bin.data()};
    for (auto& a : arg_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int lfd = listen_fd_;

    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Child: listening socket at fd 3, output to the log, own pid into LISTEN_PID.
        if (lfd != 3) {
            ::dup2(lfd, 3);
        } else {
            int flags = ::fcntl(3, F_GETFD);
            ::fcntl(3, F_SETFD, flags & ~FD_CLOEXEC);
        }
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        long self = static_cast<long>(::getpid());
        char digits[16];
        int n = 0;
        do {
            digits[n++] = static_cast<char>('0' + self % 10);
            self /= 10;
        } while (self > 0);
        for (int i = 0; i < n; ++i) pid_slot[i] = digits[n - 1 - i];
        pid_slot[n] = '\0';
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
}

std::string ServerProcess::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void ServerProcess::wait_healthy(std::chrono::milliseconds timeout) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        try {
            if (http_get(port_, "/health").status == 200) return;
        } catch (...) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("server did not become healthy; log:\n" + log());
}

void ServerProcess::signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            pid_ = -1;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
            return -1;
        }
        if (r < 0) return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

bool ServerProcess::running() {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        pid_ = -1;
        return false;
    }
    return true;
}

}  // namespace flashbill::test
