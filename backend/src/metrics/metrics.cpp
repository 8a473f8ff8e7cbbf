#include "metrics/metrics.hpp"

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace flashbill::metrics {

namespace {

constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
constexpr std::array<std::int64_t, 14> kBucketNs = {500'000,     1'000'000,   2'500'000,    5'000'000,    10'000'000,
                                                    25'000'000,  50'000'000,  100'000'000,  250'000'000,  500'000'000,
                                                    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};

static_assert(std::tuple_size_v<decltype(HistogramCell::buckets)> == kBuckets.size());

struct HistogramTotals {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    std::int64_t sum_ns = 0;
};

// Key: name + '\x1f' + labels. Cells are atomics with a single writer (the shard's thread), so a
// handle can update its cell without the mutex; the mutex guards the maps' structure against a
// concurrent scrape. Nodes of unordered_map never move, so handles stay valid.
struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::atomic<std::uint64_t>> counters;
    std::unordered_map<std::string, std::atomic<std::int64_t>> gauges;
    std::unordered_map<std::string, HistogramCell> histograms;
};

// Single writer: a plain load and store instead of a locked read-modify-write.
template <typename T>
void bump(std::atomic<T>& a, T delta, std::memory_order order = std::memory_order_relaxed) {
    a.store(a.load(std::memory_order_relaxed) + delta, order);
}

struct Global {
    std::mutex mu;
    std::vector<std::unique_ptr<Shard>> shards;
    std::map<std::string, std::pair<Type, std::string>, std::less<>> descriptions;
    std::vector<std::function<void(std::string&)>> collectors;
};

Global& global() {
    static Global g;
    return g;
}

Shard& shard() {
    thread_local Shard* s = [] {
        auto& g = global();
        std::lock_guard lock(g.mu);
        g.shards.push_back(std::make_unique<Shard>());
        return g.shards.back().get();
    }();
    return *s;
}

std::string make_key(std::string_view name, std::string_view labels) {
    std::string k;
    k.reserve(name.size() + labels.size() + 1);
    k.append(name);
    k.push_back('\x1f');
    k.append(labels);
    return k;
}

std::pair<std::string_view, std::string_view> split_key(const std::string& k) {
    auto p = k.find('\x1f');
    return {std::string_view(k).substr(0, p), std::string_view(k).substr(p + 1)};
}

std::string series(std::string_view name, std::string_view labels, std::string_view extra = {}) {
    std::string s(name);
    if (!labels.empty() || !extra.empty()) {
        s.push_back('{');
        s.append(labels);
        if (!labels.empty() && !extra.empty()) s.push_back(',');
        s.append(extra);
        s.push_back('}');
    }
    return s;
}

std::string format_seconds(std::int64_t ns) {
    // Integer arithmetic: seconds with 9 decimals, trailing zeros trimmed.
    bool neg = ns < 0;
    std::uint64_t u = neg ? static_cast<std::uint64_t>(-ns) : static_cast<std::uint64_t>(ns);
    std::string frac = std::to_string(u % 1'000'000'000ULL);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    std::string s = (neg ? "-" : "") + std::to_string(u / 1'000'000'000ULL);
    if (!frac.empty()) s += "." + frac;
    return s;
}

std::string_view type_name(Type t) {
    switch (t) {
        case Type::kCounter: return "counter";
        case Type::kGauge: return "gauge";
        case Type::kHistogram: return "histogram";
    }
    return "untyped";
}

}  // namespace

void describe(std::string_view name, Type type, std::string_view help) {
    auto& g = global();
    std::lock_guard lock(g.mu);
    g.descriptions[std::string(name)] = {type, std::string(help)};
}

Counter counter(std::string_view name, std::string_view labels) {
    Shard& s = shard();
    std::string key = make_key(name, labels);
    std::lock_guard lock(s.mu);
    return Counter(&s.counters[std::move(key)]);
}

Gauge gauge(std::string_view name, std::string_view labels) {
    Shard& s = shard();
    std::string key = make_key(name, labels);
    std::lock_guard lock(s.mu);
    return Gauge(&s.gauges[std::move(key)]);
}

Histogram histogram(std::string_view name, std::string_view labels) {
    Shard& s = shard();
    std::string key = make_key(name, labels);
    std::lock_guard lock(s.mu);
    return Histogram(&s.histograms[std::move(key)]);
}

void Counter::inc(std::uint64_t delta) const { bump(*cell_, delta); }

void Gauge::add(std::int64_t delta) const { bump(*cell_, delta); }

void Histogram::observe(std::chrono::nanoseconds value) const {
    // The count first, the bucket with release: a scrape that sees the bucket sees the count, so
    // the exposition never shows a bucket above +Inf.
    std::int64_t ns = value.count();
    bump(cell_->count, std::uint64_t{1});
    bump(cell_->sum_ns, ns);
    for (std::size_t i = 0; i < kBucketNs.size(); ++i) {
        if (ns <= kBucketNs[i]) {
            bump(cell_->buckets[i], std::uint64_t{1}, std::memory_order_release);
            break;
        }
    }
}

void inc(std::string_view name, std::string_view labels, std::uint64_t delta) { counter(name, labels).inc(delta); }

void gauge_add(std::string_view name, std::string_view labels, std::int64_t delta) {
    gauge(name, labels).add(delta);
}

void observe(std::string_view name, std::string_view labels, std::chrono::nanoseconds value) {
    histogram(name, labels).observe(value);
}

void add_collector(std::function<void(std::string& out)> collector) {
    auto& g = global();
    std::lock_guard lock(g.mu);
    g.collectors.push_back(std::move(collector));
}

std::string render() {
    std::map<std::string, std::uint64_t> counters;
    std::map<std::string, std::int64_t> gauges;
    std::map<std::string, HistogramTotals> histograms;
    std::map<std::string, std::pair<Type, std::string>, std::less<>> descriptions;
    std::vector<std::function<void(std::string&)>> collectors;
    {
        auto& g = global();
        std::lock_guard lock(g.mu);
        descriptions = g.descriptions;
        collectors = g.collectors;
        for (auto& sp : g.shards) {
            std::lock_guard sl(sp->mu);
            constexpr auto relaxed = std::memory_order_relaxed;
            for (auto& [k, v] : sp->counters) counters[k] += v.load(relaxed);
            for (auto& [k, v] : sp->gauges) gauges[k] += v.load(relaxed);
            for (auto& [k, h] : sp->histograms) {
                HistogramTotals& t = histograms[k];
                // Buckets (acquire) before the count: see Histogram::observe.
                for (std::size_t i = 0; i < h.buckets.size(); ++i) {
                    t.buckets[i] += h.buckets[i].load(std::memory_order_acquire);
                }
                t.count += h.count.load(relaxed);
                t.sum_ns += h.sum_ns.load(relaxed);
            }
        }
    }

    std::string out;
    out.reserve(8192);
    std::string last_family;
    auto header = [&](std::string_view name, Type fallback) {
        if (name == last_family) return;
        last_family = std::string(name);
        auto it = descriptions.find(name);
        if (it != descriptions.end()) {
            out += "# HELP " + last_family + " " + it->second.second + "\n";
            out += "# TYPE " + last_family + " " + std::string(type_name(it->second.first)) + "\n";
        } else {
            out += "# TYPE " + last_family + " " + std::string(type_name(fallback)) + "\n";
        }
    };
    // Families described but never observed still render (at zero when they have no labels).
    for (auto& [name, d] : descriptions) {
        if (d.first == Type::kHistogram) continue;
        bool present = false;
        std::string prefix = name + '\x1f';
        for (auto& m : {&counters}) {
            auto it = m->lower_bound(prefix);
            if (it != m->end() && it->first.rfind(prefix, 0) == 0) present = true;
        }
        auto git = gauges.lower_bound(prefix);
        if (git != gauges.end() && git->first.rfind(prefix, 0) == 0) present = true;
        if (!present) {
            if (d.first == Type::kCounter) counters[prefix] = 0;
            else gauges[prefix] = 0;
        }
    }
    for (auto& [k, v] : counters) {
        auto [name, labels] = split_key(k);
        header(name, Type::kCounter);
        out += series(name, labels) + " " + std::to_string(v) + "\n";
    }
    for (auto& [k, v] : gauges) {
        auto [name, labels] = split_key(k);
        header(name, Type::kGauge);
        out += series(name, labels) + " " + std::to_string(v) + "\n";
    }
    for (auto& [k, h] : histograms) {
        auto [name, labels] = split_key(k);
        header(name, Type::kHistogram);
        std::uint64_t cumulative = 0;
        std::string bucket_name = std::string(name) + "_bucket";
        static const std::array<std::string_view, 14> kLe = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                             "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                             "1",      "2.5",   "5",      "10"};
        for (std::size_t i = 0; i < h.buckets.size(); ++i) {
            cumulative += h.buckets[i];
            out += series(bucket_name, labels, "le=\"" + std::string(kLe[i]) + "\"") + " " +
                   std::to_string(cumulative) + "\n";
        }
        out += series(bucket_name, labels, "le=\"+Inf\"") + " " + std::to_string(h.count) + "\n";
        out += series(std::string(name) + "_sum", labels) + " " + format_seconds(h.sum_ns) + "\n";
        out += series(std::string(name) + "_count", labels) + " " + std::to_string(h.count) + "\n";
    }
    for (auto& c : collectors) c(out);
    return out;
}

std::string label_value(std::string_view v) {
    std::string s;
    s.reserve(v.size());
    for (char c : v) {
        if (c == '\\') s += "\\\\";
        else if (c == '"') s += "\\\"";
        else if (c == '\n') s += "\\n";
        else s.push_back(c);
    }
    return s;
}

}  // namespace flashbill::metrics
