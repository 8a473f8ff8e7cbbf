#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace flashbill::test {

namespace {
std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}
}  // namespace

std::string HttpResponse::header(const std::string& name) const {
    auto n = lower(name);
    for (auto& [k, v] : headers) {
        if (lower(k) == n) return v;
    }
    return {};
}

int HttpResponse::header_count(const std::string& name) const {
    auto n = lower(name);
    int c = 0;
    for (auto& [k, v] : headers) c += lower(k) == n ? 1 : 0;
    return c;
}

Connection::Connection(std::uint16_t port, std::chrono::milliseconds timeout) : timeout_(timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("connect: " + std::string(std::strerror(e)));
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::~Connection() {
    if (fd_ >= 0) ::close(fd_);
}

bool Connection::send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

bool Connection::fill() {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout_.count()));
    if (r <= 0) return false;
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
}

std::optional<HttpResponse> Connection::read_response(bool head_request) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return std::nullopt;
    }
    HttpResponse res;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    // HTTP/1.1 200 OK
    auto sp1 = status_line.find(' ');
    auto sp2 = status_line.find(' ', sp1 + 1);
    res.status = std::stoi(status_line.substr(sp1 + 1, sp2 - sp1 - 1));
    res.reason = sp2 == std::string::npos ? "" : status_line.substr(sp2 + 1);
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
        auto e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string v = line.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.erase(0, 1);
            res.headers.emplace_back(line.substr(0, colon), v);
        }
        pos = e + 2;
    }
    if (head_request || res.status == 204 || res.status == 304) return res;
    std::string te = lower(res.header("Transfer-Encoding"));
    if (te.find("chunked") != std::string::npos) {
        for (;;) {
            std::size_t le;
            while ((le = buf_.find("\r\n")) == std::string::npos) {
                if (!fill()) return std::nullopt;
            }
            std::size_t size = std::stoul(buf_.substr(0, le), nullptr, 16);
            buf_.erase(0, le + 2);
            while (buf_.size() < size + 2) {
                if (!fill()) return std::nullopt;
            }
            res.body += buf_.substr(0, size);
            buf_.erase(0, size + 2);
            if (size == 0) break;
        }
        return res;
    }
    std::string cl = res.header("Content-Length");
    std::size_t len = cl.empty() ? 0 : std::stoul(cl);
    while (buf_.size() < len) {
        if (!fill()) return std::nullopt;
    }
    res.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return res;
}

bool Connection::closed_by_peer(std::chrono::milliseconds within) {
    auto deadline = std::chrono::steady_clock::now() + within;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r <= 0) return false;
        char tmp[4096];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
        if (n <= 0) return true;
    }
}

std::string format_request(const Request& r, bool keep_alive) {
    std::string s = r.method + " " + r.target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    bool has_ct = false;
    for (auto& [k, v] : r.headers) {
        s += k + ": " + v + "\r\n";
        if (lower(k) == "content-length") has_ct = true;
    }
    if (!has_ct && (!r.body.empty() || r.method == "POST" || r.method == "PUT")) {
        s += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
    }
    if (!keep_alive) s += "Connection: close\r\n";
    s += "\r\n";
    s += r.body;
    return s;
}

HttpResponse http(std::uint16_t port, const Request& r) {
    Connection c(port);
    if (!c.send(format_request(r, false))) throw std::runtime_error("send failed");
    auto res = c.read_response(r.method == "HEAD");
    if (!res) throw std::runtime_error("no response to " + r.method + " " + r.target);
    return *res;
}

HttpResponse http_get(std::uint16_t port, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers) {
    return http(port, Request{"GET", target, std::move(headers), {}});
}

HttpResponse http_post_json(std::uint16_t port, const std::string& target, const std::string& body,
                            std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back("Content-Type", "application/json");
    return http(port, Request{"POST", target, std::move(headers), body});
}

}  // namespace flashbill::test
