#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "core/json.hpp"

namespace flashbill::log {

namespace {

// %J: the message escaped as a JSON string (with quotes).
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        std::string s;
        json::append_escaped(s, std::string_view(msg.payload.data(), msg.payload.size()));
        dest.append(s.data(), s.data() + s.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessageFlag>(); }
};

constexpr std::size_t kAccessBufferBytes = 64 * 1024;

struct AccessBuffer {
    std::string data;
    ~AccessBuffer() { write_out(); }
    void write_out() {
        std::size_t off = 0;
        while (off < data.size()) {
            ssize_t n = ::write(STDOUT_FILENO, data.data() + off, data.size() - off);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;  // stdout gone: nothing sensible to do with the log
            }
            off += static_cast<std::size_t>(n);
        }
        data.clear();
    }
};

AccessBuffer& access_buffer() {
    thread_local AccessBuffer buffer;
    return buffer;
}

}  // namespace

void init(std::string_view level, bool json_format) {
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>("flashbill", sink);
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    if (json_format) {
        formatter->add_flag<JsonMessageFlag>('J').set_pattern(
            R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","logger":"app","msg":%J})");
    } else {
        formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v");
    }
    logger->set_formatter(std::move(formatter));
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);

    // Application logs are rare and flushed per line (the console sink does); warnings and errors
    // must never wait in a buffer.
}

void access_line(std::string_view json_line) {
    AccessBuffer& b = access_buffer();
    if (b.data.capacity() < kAccessBufferBytes) b.data.reserve(kAccessBufferBytes);
    b.data.append(json_line);
    b.data.push_back('\n');
    if (b.data.size() >= kAccessBufferBytes - 1024) b.write_out();
}

void flush_access_log() { access_buffer().write_out(); }

}  // namespace flashbill::log
