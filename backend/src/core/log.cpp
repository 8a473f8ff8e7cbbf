#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

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

std::shared_ptr<spdlog::logger> g_access;

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

    g_access = std::make_shared<spdlog::logger>("access", sink);
    g_access->set_pattern("%v", spdlog::pattern_time_type::utc);
    g_access->set_level(spdlog::level::info);
    // stdout is block-buffered when it is a pipe or file; flush at least once a second so the
    // journal is never more than a second behind.
    spdlog::flush_every(std::chrono::seconds(1));
}

spdlog::logger& access() {
    if (!g_access) g_access = spdlog::default_logger();
    return *g_access;
}

}  // namespace flashbill::log
