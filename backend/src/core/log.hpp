#pragma once
// Logging setup. Application logs go through spdlog; in JSON mode every line is one JSON object
// so journald/Loki can parse it. The access log is a separate logger writing pre-built JSON lines.

#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

namespace flashbill::log {

// Configures the default logger and the access logger. level: trace|debug|info|warn|error.
void init(std::string_view level, bool json);

// Access log: one JSON object per line, built by the caller. Lines are buffered per thread and
// written to stdout in whole lines when the buffer fills or flush_access_log() runs (each event
// loop calls it every second and when it stops): one write(2) per ~64 KiB instead of a locked,
// flushed write per request.
void access_line(std::string_view json_line);
void flush_access_log();

}  // namespace flashbill::log
