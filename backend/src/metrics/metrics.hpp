#pragma once
// Prometheus-style metrics. Each thread writes to its own shard (its mutex is contended only by a
// scrape), and a scrape merges the shards into the text exposition format.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace flashbill::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Declares a family's type and help text; families used without a description render untyped.
void describe(std::string_view name, Type type, std::string_view help);

// counter name{labels} += delta. `labels` is the preformatted label set, e.g. method="GET",route="/x".
void inc(std::string_view name, std::string_view labels = {}, std::uint64_t delta = 1);

// gauge name{labels} += delta (gauges are sums of per-thread deltas, so they may go up and down).
void gauge_add(std::string_view name, std::string_view labels, std::int64_t delta);

// Records one observation in the latency histogram name{labels} (seconds, fixed buckets).
void observe(std::string_view name, std::string_view labels, std::chrono::nanoseconds value);

// Appends extra families at scrape time (process stats, pool states...).
void add_collector(std::function<void(std::string& out)> collector);

// The whole exposition text.
std::string render();

// Escapes a label value per the exposition format (backslash, quote, newline).
std::string label_value(std::string_view v);

// Registers process_* metrics (resident memory, CPU seconds, open fds, start time) and
// flashbill_build_info{version}.
void register_process_collector(std::string_view version);

}  // namespace flashbill::metrics
