#include "domain/metrics.hpp"

#include <doctest/doctest.h>

#include <limits>

using pikoci::domain::histogram;
using pikoci::domain::metric_family;
using pikoci::domain::metrics;

TEST_SUITE("domain.metrics") {
  TEST_CASE("counters and gauges: HELP, TYPE, then one line per series in the order added") {
    metrics m;
    m.add_counter("requests_total", "Requests answered.")
        .add({{"method", "GET"}, {"code", "200"}}, std::uint64_t{3})
        .add({{"method", "POST"}, {"code", "201"}}, 1);
    m.add_gauge("depth", "Pending.").add({}, std::size_t{0});
    CHECK(m.render() ==
          "# HELP requests_total Requests answered.\n"
          "# TYPE requests_total counter\n"
          "requests_total{method=\"GET\",code=\"200\"} 3\n"
          "requests_total{method=\"POST\",code=\"201\"} 1\n"
          "# HELP depth Pending.\n"
          "# TYPE depth gauge\n"
          "depth 0\n");
  }

  TEST_CASE("a family without series still names its type") {
    metrics m;
    m.add_histogram("step_seconds", "Steps.");
    CHECK(m.render() == "# HELP step_seconds Steps.\n# TYPE step_seconds histogram\n");
  }

  TEST_CASE("integers print exactly, other numbers as a stream prints them") {
    metrics m;
    m.add_gauge("g", "h")
        .add({{"k", "big"}}, 123456789012LL)
        .add({{"k", "neg"}}, -2)
        .add({{"k", "half"}}, 0.5)
        .add({{"k", "third"}}, 1.0 / 3)
        .add({{"k", "inf"}}, std::numeric_limits<double>::infinity())
        .add({{"k", "nan"}}, std::numeric_limits<double>::quiet_NaN());
    CHECK(m.render() ==
          "# HELP g h\n# TYPE g gauge\n"
          "g{k=\"big\"} 123456789012\n"
          "g{k=\"neg\"} -2\n"
          "g{k=\"half\"} 0.5\n"
          "g{k=\"third\"} 0.333333\n"
          "g{k=\"inf\"} +Inf\n"
          "g{k=\"nan\"} NaN\n");
    CHECK(metric_family::number(300) == "300");
    CHECK(metric_family::number(0.001) == "0.001");
  }

  TEST_CASE("histograms: cumulative buckets with le last, +Inf, sum and count") {
    histogram h({0.1, 1, 5});
    h.observe(0.05);
    h.observe(0.5);
    h.observe(0.5);
    h.observe(10);
    CHECK(h.count() == 4);
    CHECK(h.sum() == doctest::Approx(11.05));
    CHECK(h.buckets() == std::vector<std::uint64_t>{1, 3, 3});
    metrics m;
    m.add_histogram("d_seconds", "Durations.").add({{"type", "task"}}, h).add({}, histogram({1}));
    CHECK(m.render() ==
          "# HELP d_seconds Durations.\n"
          "# TYPE d_seconds histogram\n"
          "d_seconds_bucket{type=\"task\",le=\"0.1\"} 1\n"
          "d_seconds_bucket{type=\"task\",le=\"1\"} 3\n"
          "d_seconds_bucket{type=\"task\",le=\"5\"} 3\n"
          "d_seconds_bucket{type=\"task\",le=\"+Inf\"} 4\n"
          "d_seconds_sum{type=\"task\"} 11.05\n"
          "d_seconds_count{type=\"task\"} 4\n"
          "d_seconds_bucket{le=\"1\"} 0\n"
          "d_seconds_bucket{le=\"+Inf\"} 0\n"
          "d_seconds_sum 0\n"
          "d_seconds_count 0\n");
  }

  TEST_CASE("label values and help text are escaped") {
    metrics m;
    m.add_counter("c", "a \\ b\nc \"q\"").add({{"v", "x\"y\\z\nw"}}, 1);
    CHECK(m.render() ==
          "# HELP c a \\\\ b\\nc \"q\"\n"
          "# TYPE c counter\n"
          "c{v=\"x\\\"y\\\\z\\nw\"} 1\n");
  }

  TEST_CASE("families added earlier stay usable while more are added") {
    metrics m;
    auto& first = m.add_counter("a_total", "A.");
    for (int i = 0; i < 100; ++i) m.add_gauge("g" + std::to_string(i), "G.");
    first.add({}, 7);
    CHECK(m.render().rfind("# HELP a_total A.\n# TYPE a_total counter\na_total 7\n", 0) == 0);
  }

  TEST_CASE("renders of several scrapes concatenate") {
    metrics a, b;
    a.add_gauge("x", "X.").add({}, 1);
    b.add_gauge("y", "Y.").add({}, 2);
    CHECK(a.render() + b.render() ==
          "# HELP x X.\n# TYPE x gauge\nx 1\n# HELP y Y.\n# TYPE y gauge\ny 2\n");
  }
}
