#pragma once
// A deliberately small blocking HTTP/1.1 client on raw sockets, so tests can send exactly the
// bytes they mean (malformed requests, slow clients) as well as ordinary requests.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flashbill::test {

struct HttpResponse {
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // First value of a header (case-insensitive); empty when absent.
    std::string header(const std::string& name) const;
    // Number of times a header appears.
    int header_count(const std::string& name) const;
};

class Connection {
public:
    // Connects to 127.0.0.1:port; throws on failure.
    explicit Connection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Sends raw bytes; false when the peer closed.
    bool send(const std::string& bytes);
    // Reads one response; nullopt when the connection closed before a complete response.
    std::optional<HttpResponse> read_response(bool head_request = false);
    // True when the peer closes the connection within `within` (reads and discards data).
    bool closed_by_peer(std::chrono::milliseconds within);
    int fd() const { return fd_; }

private:
    bool fill();
    int fd_ = -1;
    std::string buf_;
    std::chrono::milliseconds timeout_;
};

struct Request {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

// Serialises a request (adds Host and Content-Length).
std::string format_request(const Request& r, bool keep_alive = true);

// One request on a fresh connection. Throws std::runtime_error when no response arrives.
HttpResponse http(std::uint16_t port, const Request& r);
HttpResponse http_get(std::uint16_t port, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {});
HttpResponse http_post_json(std::uint16_t port, const std::string& target, const std::string& body,
                            std::vector<std::pair<std::string, std::string>> headers = {});

}  // namespace flashbill::test
