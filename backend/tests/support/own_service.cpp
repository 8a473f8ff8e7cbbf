#include "own_service.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "test_env.hpp"

namespace flashbill::test {

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

OwnService::OwnService(std::string script, bool start_now)
    : script_(std::move(script)), dir_(make_temp_dir(script_)), port_(free_port()) {
    if (start_now) start();
}

OwnService::~OwnService() { stop(); }

void OwnService::start() {
    std::string cmd = repo_root() + "/scripts/" + script_ + " start --dir " + dir_ + (script_ == "pg" ? "/pg" : "") +
                      " --port " + std::to_string(port_) + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("could not start " + script_ + ": " + cmd);
}

void OwnService::stop() {
    std::string cmd = repo_root() + "/scripts/" + script_ + " stop --dir " + dir_ + (script_ == "pg" ? "/pg" : "") +
                      " >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
}

std::string OwnService::url() const {
    std::string hostport = "127.0.0.1:" + std::to_string(port_);
    if (script_ == "pg") return "postgresql://flashbill@" + hostport + "/flashbill";
    if (script_ == "redis") return "redis://" + hostport + "/0";
    return "smtp://" + hostport;
}

}  // namespace flashbill::test
