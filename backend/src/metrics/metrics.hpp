#pragma once
// Prometheus-style metrics. Each thread writes to its own shard (its mutex is contended only by a
// scrape), and a scrape merges the shards into the text exposition format.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace flashbill::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Declares a family's type and help text; families used without a description render untyped.
void describe(std::string_view name, Type type, std::string_view help);

// Handles to this thread's cell of one series, for hot paths: no key building, no lookup, no
// lock. A handle must only be used on the thread that obtained it (each thread's cells have one
// writer); it stays valid for the life of the process.
struct HistogramCell {
    std::array<std::atomic<std::uint64_t>, 14> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::int64_t> sum_ns{0};
};

class Counter {
public:
    explicit Counter(std::atomic<std::uint64_t>* cell = nullptr) : cell_(cell) {}
    void inc(std::uint64_t delta = 1) const;

private:
    std::atomic<std::uint64_t>* cell_;
};

class Gauge {
public:
    explicit Gauge(std::atomic<std::int64_t>* cell = nullptr) : cell_(cell) {}
    void add(std::int64_t delta) const;

private:
    std::atomic<std::int64_t>* cell_;
};

class Histogram {
public:
    explicit Histogram(HistogramCell* cell = nullptr) : cell_(cell) {}
    void observe(std::chrono::nanoseconds value) const;

private:
    HistogramCell* cell_;
};

Counter counter(std::string_view name, std::string_view labels = {});
Gauge gauge(std::string_view name, std::string_view labels = {});
Histogram histogram(std::string_view name, std::string_view labels = {});

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
