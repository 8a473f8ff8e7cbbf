// Metrics: per-thread shards summed at scrape time, histogram buckets, the exposition text
// (HELP/TYPE once per family, _sum/_count) and label escaping. The registry is process-wide, so
// every test uses family names of its own.

#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flashbill {
namespace {

using namespace std::chrono_literals;

constexpr int kThreads = 4;

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
}

// The value of the sample whose series (name plus labels) is exactly `series`, or "<absent>".
std::string sample(const std::string& text, std::string_view series) {
    for (const auto& line : lines_of(text)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
            return line.substr(series.size() + 1);
        }
    }
    return "<absent>";
}

int count_lines_starting(const std::string& text, std::string_view prefix) {
    int n = 0;
    for (const auto& line : lines_of(text)) {
        if (line.rfind(prefix, 0) == 0) ++n;
    }
    return n;
}

// A family-name prefix no other test (or repetition of this test, --gtest_repeat) has used.
std::string family_prefix() {
    static std::atomic<int> next{0};
    return "fbtest" + std::to_string(next++) + "_";
}

template <class F>
void run_on_threads(F f) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back(f, t);
    for (auto& th : threads) th.join();
}

TEST(Metrics, CountersAreSummedAcrossThreads) {
    const std::string p = family_prefix();
    run_on_threads([&](int t) {
        for (int i = 0; i < 1000; ++i) metrics::inc(p + "sum_requests_total", "route=\"/a\"");
        metrics::inc(p + "sum_requests_total", "route=\"/b\"", static_cast<std::uint64_t>(t + 1));
        metrics::inc(p + "sum_plain_total");
    });
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "sum_requests_total{route=\"/a\"}"), "4000");
    EXPECT_EQ(sample(text, p + "sum_requests_total{route=\"/b\"}"), "10");  // 1+2+3+4
    EXPECT_EQ(sample(text, p + "sum_plain_total"), std::to_string(kThreads));
}

TEST(Metrics, CountersKeepAccumulatingAcrossScrapes) {
    const std::string p = family_prefix();
    metrics::inc(p + "scrape_total", {}, 2);
    EXPECT_EQ(sample(metrics::render(), p + "scrape_total"), "2");
    metrics::inc(p + "scrape_total", {}, 3);
    EXPECT_EQ(sample(metrics::render(), p + "scrape_total"), "5");
}

TEST(Metrics, GaugesAreSummedAcrossThreadsAndMayGoNegative) {
    const std::string p = family_prefix();
    run_on_threads([&](int) {
        for (int i = 0; i < 500; ++i) {
            metrics::gauge_add(p + "gauge_in_flight", "pool=\"main\"", +3);
            metrics::gauge_add(p + "gauge_in_flight", "pool=\"main\"", -1);
        }
        metrics::gauge_add(p + "gauge_debt", {}, -5);
    });
    // One thread's +1 and another's -1 must cancel: shards are merged, not overwritten.
    std::thread([&] { metrics::gauge_add(p + "gauge_balance", {}, +1); }).join();
    std::thread([&] { metrics::gauge_add(p + "gauge_balance", {}, -1); }).join();
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "gauge_in_flight{pool=\"main\"}"), "4000");
    EXPECT_EQ(sample(text, p + "gauge_debt"), "-20");
    EXPECT_EQ(sample(text, p + "gauge_balance"), "0");
}

TEST(Metrics, HistogramsAreSummedAcrossThreadsWithCumulativeBuckets) {
    const std::string p = family_prefix();
    metrics::describe(p + "hist_seconds", metrics::Type::kHistogram, "Test latency.");
    run_on_threads([&](int) {
        metrics::observe(p + "hist_seconds", "route=\"/x\"", 400us);  // le 0.0005
        metrics::observe(p + "hist_seconds", "route=\"/x\"", 1ms);    // exactly on the le 0.001 bound
        metrics::observe(p + "hist_seconds", "route=\"/x\"", 3ms);    // le 0.005
        metrics::observe(p + "hist_seconds", "route=\"/x\"", 700ms);  // le 1
        metrics::observe(p + "hist_seconds", "route=\"/x\"", 20s);    // only +Inf
    });
    std::string text = metrics::render();
    const std::string b = p + "hist_seconds_bucket{route=\"/x\",le=";
    EXPECT_EQ(sample(text, b + "\"0.0005\"}"), "4");
    EXPECT_EQ(sample(text, b + "\"0.001\"}"), "8");
    EXPECT_EQ(sample(text, b + "\"0.0025\"}"), "8");
    EXPECT_EQ(sample(text, b + "\"0.005\"}"), "12");
    EXPECT_EQ(sample(text, b + "\"0.5\"}"), "12");
    EXPECT_EQ(sample(text, b + "\"1\"}"), "16");
    EXPECT_EQ(sample(text, b + "\"10\"}"), "16");
    EXPECT_EQ(sample(text, b + "\"+Inf\"}"), "20");
    EXPECT_EQ(sample(text, p + "hist_seconds_count{route=\"/x\"}"), "20");
    // 4 × (0.0004 + 0.001 + 0.003 + 0.7 + 20) s, exactly.
    EXPECT_EQ(sample(text, p + "hist_seconds_sum{route=\"/x\"}"), "82.8176");

    // Every bucket line is present, in increasing le order, and never decreases.
    std::vector<std::uint64_t> counts;
    for (const auto& line : lines_of(text)) {
        if (line.rfind(b, 0) == 0) counts.push_back(std::stoull(line.substr(line.rfind(' ') + 1)));
    }
    ASSERT_EQ(counts.size(), 15u);  // 14 finite bounds + +Inf
    for (std::size_t i = 1; i < counts.size(); ++i) EXPECT_LE(counts[i - 1], counts[i]) << "bucket " << i;
}

TEST(Metrics, HistogramWithoutLabelsHasOnlyTheLeLabel) {
    const std::string p = family_prefix();
    metrics::observe(p + "hist_nolabel_seconds", {}, 2s);
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "hist_nolabel_seconds_bucket{le=\"2.5\"}"), "1");
    EXPECT_EQ(sample(text, p + "hist_nolabel_seconds_bucket{le=\"1\"}"), "0");
    EXPECT_EQ(sample(text, p + "hist_nolabel_seconds_sum"), "2");
    EXPECT_EQ(sample(text, p + "hist_nolabel_seconds_count"), "1");
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "hist_nolabel_seconds histogram"), 1);
}

TEST(Metrics, SumIsWrittenAsExactDecimalSeconds) {
    const std::string p = family_prefix();
    metrics::observe(p + "sumfmt_a_seconds", {}, 1ns);
    metrics::observe(p + "sumfmt_b_seconds", {}, 1500ms);
    metrics::observe(p + "sumfmt_c_seconds", {}, 0ns);
    metrics::observe(p + "sumfmt_d_seconds", {}, 250us);
    metrics::observe(p + "sumfmt_d_seconds", {}, 250us);
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "sumfmt_a_seconds_sum"), "0.000000001");
    EXPECT_EQ(sample(text, p + "sumfmt_b_seconds_sum"), "1.5");
    EXPECT_EQ(sample(text, p + "sumfmt_c_seconds_sum"), "0");
    EXPECT_EQ(sample(text, p + "sumfmt_d_seconds_sum"), "0.0005");
    EXPECT_EQ(sample(text, p + "sumfmt_c_seconds_bucket{le=\"0.0005\"}"), "1");
}

TEST(Metrics, DescribeEmitsHelpAndTypeOncePerFamily) {
    const std::string p = family_prefix();
    metrics::describe(p + "desc_requests_total", metrics::Type::kCounter, "Requests served.");
    metrics::describe(p + "desc_requests_total_extra", metrics::Type::kCounter, "A family sharing a prefix.");
    run_on_threads([&](int t) {
        metrics::inc(p + "desc_requests_total", "code=\"200\"");
        metrics::inc(p + "desc_requests_total", "code=\"" + std::to_string(400 + t) + "\"");
        metrics::inc(p + "desc_requests_total_extra", "k=\"v\"");
    });
    metrics::inc(p + "desc_requests_total");
    std::string text = metrics::render();
    EXPECT_EQ(count_lines_starting(text, "# HELP " + p + "desc_requests_total "), 1);
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "desc_requests_total "), 1);
    EXPECT_EQ(count_lines_starting(text, "# HELP " + p + "desc_requests_total_extra "), 1);
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "desc_requests_total_extra "), 1);

    // The header comes first and all of the family's samples follow it without interruption.
    auto lines = lines_of(text);
    std::size_t help = 0;
    while (help < lines.size() && lines[help] != "# HELP " + p + "desc_requests_total Requests served.") ++help;
    ASSERT_LT(help + 1, lines.size());
    EXPECT_EQ(lines[help + 1], "# TYPE " + p + "desc_requests_total counter");
    std::size_t i = help + 2;
    int samples = 0;
    while (i < lines.size() && lines[i].rfind(p + "desc_requests_total", 0) == 0 &&
           lines[i].rfind(p + "desc_requests_total_extra", 0) != 0) {
        ++samples;
        ++i;
    }
    EXPECT_EQ(samples, 6);  // code=200, 400..403, and the unlabelled series
    EXPECT_EQ(sample(text, p + "desc_requests_total{code=\"200\"}"), "4");
    EXPECT_EQ(sample(text, p + "desc_requests_total{code=\"403\"}"), "1");
}

TEST(Metrics, DescribedTypesAreRendered) {
    const std::string p = family_prefix();
    metrics::describe(p + "types_gauge", metrics::Type::kGauge, "A gauge.");
    metrics::describe(p + "types_hist_seconds", metrics::Type::kHistogram, "A histogram.");
    metrics::gauge_add(p + "types_gauge", {}, 7);
    metrics::observe(p + "types_hist_seconds", {}, 1ms);
    std::string text = metrics::render();
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "types_gauge gauge"), 1);
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "types_hist_seconds histogram"), 1);
    EXPECT_EQ(count_lines_starting(text, "# HELP " + p + "types_hist_seconds A histogram."), 1);
}

TEST(Metrics, UndescribedFamiliesGetATypeButNoHelp) {
    const std::string p = family_prefix();
    metrics::inc(p + "undesc_total");
    metrics::gauge_add(p + "undesc_gauge", {}, 1);
    std::string text = metrics::render();
    EXPECT_EQ(count_lines_starting(text, "# HELP " + p + "undesc_"), 0);
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "undesc_total counter"), 1);
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "undesc_gauge gauge"), 1);
}

TEST(Metrics, DescribedButUnusedFamiliesRenderAtZero) {
    const std::string p = family_prefix();
    metrics::describe(p + "unused_total", metrics::Type::kCounter, "Never incremented.");
    metrics::describe(p + "unused_gauge", metrics::Type::kGauge, "Never set.");
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "unused_total"), "0");
    EXPECT_EQ(sample(text, p + "unused_gauge"), "0");
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "unused_total counter"), 1);
}

TEST(Metrics, EveryLineIsACommentOrASample) {
    const std::string p = family_prefix();
    metrics::inc(p + "shape_total", "a=\"1\",b=\"2\"");
    metrics::observe(p + "shape_seconds", "a=\"1\"", 3ms);
    for (const auto& line : lines_of(metrics::render())) {
        ASSERT_FALSE(line.empty());
        if (line[0] == '#') {
            EXPECT_TRUE(line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) << line;
            continue;
        }
        // name{labels} value or name value: exactly one space before the value.
        auto space = line.rfind(' ');
        ASSERT_NE(space, std::string::npos) << line;
        auto brace = line.find('{');
        std::string name = line.substr(0, std::min(brace, space));
        ASSERT_FALSE(name.empty()) << line;
        for (char c : name) {
            EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':') << line;
        }
        if (brace != std::string::npos) {
            EXPECT_EQ(line[space - 1], '}') << line;
        }
        std::string value = line.substr(space + 1);
        char* end = nullptr;
        std::strtod(value.c_str(), &end);
        EXPECT_TRUE(!value.empty() && *end == '\0') << "value is not a number: " << line;
    }
}

TEST(MetricsLabelValue, EscapesBackslashQuoteAndNewline) {
    EXPECT_EQ(metrics::label_value("plain /path-1"), "plain /path-1");
    EXPECT_EQ(metrics::label_value("a\\b"), "a\\\\b");
    EXPECT_EQ(metrics::label_value("say \"hi\""), "say \\\"hi\\\"");
    EXPECT_EQ(metrics::label_value("two\nlines"), "two\\nlines");
    EXPECT_EQ(metrics::label_value(""), "");
    EXPECT_EQ(metrics::label_value("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 is allowed verbatim
}

TEST(MetricsLabelValue, EscapedLabelsRenderOnOneLine) {
    const std::string p = family_prefix();
    metrics::inc(p + "escape_total", "path=\"" + metrics::label_value("/a\"b\\c\nd") + "\"");
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "escape_total{path=\"/a\\\"b\\\\c\\nd\"}"), "1");
}

TEST(Metrics, CollectorsAppendTheirFamilies) {
    const std::string p = family_prefix();
    metrics::add_collector(
        [p](std::string& out) { out += "# TYPE " + p + "collected gauge\n" + p + "collected 42\n"; });
    std::string text = metrics::render();
    EXPECT_EQ(sample(text, p + "collected"), "42");
    EXPECT_EQ(count_lines_starting(text, "# TYPE " + p + "collected gauge"), 1);
}

TEST(Metrics, HandlesAddToTheSameSeriesAsNamedUpdates) {
    const std::string name = "handles_same_series_total";
    metrics::Counter c = metrics::counter(name, "k=\"v\"");
    c.inc();
    c.inc(4);
    metrics::inc(name, "k=\"v\"", 2);
    metrics::Gauge g = metrics::gauge("handles_same_series_gauge");
    g.add(5);
    g.add(-7);
    auto text = metrics::render();
    EXPECT_EQ(sample(text, name + "{k=\"v\"}"), "7");
    EXPECT_EQ(sample(text, "handles_same_series_gauge"), "-2");
}

// Writers update their cells without the shard lock while a scrape reads them: every scrape must
// still be a valid histogram (buckets cumulative, none above +Inf) and the final one exact.
TEST(Metrics, ScrapesDuringLockFreeUpdatesStayConsistent) {
    const std::string name = "handles_concurrent_seconds";
    constexpr int kPerThread = 20'000;
    std::atomic<int> ready{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
        writers.emplace_back([&, t] {
            metrics::Histogram h = metrics::histogram(name, "");
            metrics::Counter c = metrics::counter(name + "_ops_total");
            ready.fetch_add(1);
            for (int i = 0; i < kPerThread; ++i) {
                h.observe(std::chrono::microseconds((i * 37 + t) % 30'000'000));
                c.inc();
            }
        });
    }
    while (ready.load() < kThreads) std::this_thread::yield();
    int scrapes = 0;
    for (; scrapes < 50; ++scrapes) {
        auto text = metrics::render();
        std::uint64_t previous = 0;
        for (std::string le : {"0.0005", "0.01", "1", "10"}) {
            std::string v = sample(text, name + "_bucket{le=\"" + le + "\"}");
            if (v == "<absent>") continue;
            std::uint64_t n = std::stoull(v);
            EXPECT_GE(n, previous) << "le=" << le;
            previous = n;
        }
        std::string inf = sample(text, name + "_bucket{le=\"+Inf\"}");
        if (inf != "<absent>") {
            EXPECT_GE(std::stoull(inf), previous);
        }
    }
    for (auto& w : writers) w.join();
    auto text = metrics::render();
    EXPECT_EQ(sample(text, name + "_count"), std::to_string(kThreads * kPerThread));
    EXPECT_EQ(sample(text, name + "_ops_total"), std::to_string(kThreads * kPerThread));
}

}  // namespace
}  // namespace flashbill
