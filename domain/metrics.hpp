#pragma once
// The node's figures in Prometheus text exposition format (version 0.0.4). Counters and gauges
// are kept by whoever owns them (actor state, the HTTP edge's counters); at each scrape the owner
// adds its families to one `metrics` and `render()` writes the text. So every component speaks
// through the same renderer, and no figure is shared across threads to be collected.

#include <cstdint>
#include <deque>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace pikoci::domain {

/// Label names and values of one series, printed in this order.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// A histogram with fixed upper bounds: how many observations fell at or below each bound, their
/// sum and their count.
class histogram {
 public:
  explicit histogram(std::vector<double> bounds);
  void observe(double value);

  const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative: buckets()[i] counts the observations <= bounds()[i].
  const std::vector<std::uint64_t>& buckets() const { return buckets_; }
  double sum() const { return sum_; }
  std::uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<std::uint64_t> buckets_;
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

/// One metric family: name, help, type and its series in the order they were added.
class metric_family {
 public:
  enum class kind { counter, gauge, histogram };

  metric_family(std::string name, std::string help, kind k);

  /// A counter or gauge series. Integers print exactly; other numbers as `std::ostream` prints
  /// them (6 significant digits), infinities as `+Inf`/`-Inf`.
  template <typename T, typename = std::enable_if_t<std::is_arithmetic_v<T>>>
  metric_family& add(metric_labels labels, T value) {
    if constexpr (std::is_integral_v<T>) {
      return add_text(std::move(labels), std::to_string(value));
    } else {
      return add_text(std::move(labels), number(static_cast<double>(value)));
    }
  }
  /// A histogram series: `_bucket` lines (with `le` after `labels`), `_sum` and `_count`.
  metric_family& add(metric_labels labels, const histogram& h);

  /// Appends this family's HELP, TYPE and sample lines to `out`.
  void render(std::string& out) const;

  /// `v` as exposition text.
  static std::string number(double v);

 private:
  struct series {
    metric_labels labels;
    std::variant<std::string, histogram> value;
  };
  metric_family& add_text(metric_labels labels, std::string value);

  std::string name_;
  std::string help_;
  kind kind_;
  std::vector<series> series_;
};

/// The families of one scrape, rendered in the order they were added. A family returned by an
/// `add_` stays valid while more are added.
class metrics {
 public:
  metric_family& add_counter(std::string name, std::string help);
  metric_family& add_gauge(std::string name, std::string help);
  metric_family& add_histogram(std::string name, std::string help);

  /// The exposition text; texts of several `metrics` concatenate into one exposition as long as
  /// no family name repeats.
  std::string render() const;

 private:
  std::deque<metric_family> families_;
};

}  // namespace pikoci::domain
