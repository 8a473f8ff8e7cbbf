#pragma once
// Logging setup. Application logs go through spdlog; in JSON mode every line is one JSON object
// so journald/Loki can parse it. The access log is a separate logger writing pre-built JSON lines.

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace flashbill::log {

// Configures the default logger and the access logger. level: trace|debug|info|warn|error.
void init(std::string_view level, bool json);

// The access logger (one JSON object per line, built by the caller).
spdlog::logger& access();

}  // namespace flashbill::log
