#include "config/pipeline/budget.hpp"

#include <algorithm>

#include "config/pipeline/value.hpp"

namespace pikoci::hcl {

namespace {

thread_local budget* current_budget = nullptr;

// A map entry costs its node (three pointers, colour, padding) besides key and value.
constexpr std::size_t map_node_overhead = 48;

}  // namespace

budget::budget(const eval_limits& limits)
    : limits_(limits), deadline_(std::chrono::steady_clock::now() + limits.max_time) {}

bool budget::charge(std::size_t bytes, const range& where) {
  if (failure_) return false;
  used_ += bytes;
  if (used_ <= limits_.max_value_bytes) return true;
  exhaust(where, "Evaluation memory budget exceeded",
          "Evaluating this pipeline produced more than " + format_bytes(limits_.max_value_bytes) +
              " of values; reduce the size of the collections and strings its expressions "
              "build.");
  return false;
}

bool budget::charge_value(const value& v, const range& where, std::size_t& depth) {
  const value_measure m = measure(v);
  depth = m.depth;
  return check_depth(m.depth, where) && charge(m.bytes, where);
}

bool budget::check_depth(std::size_t depth, const range& where) {
  if (failure_) return false;
  if (depth <= static_cast<std::size_t>(limits_.max_value_depth)) return true;
  exhaust(where, "Value nested too deeply",
          "This value nests more than " + std::to_string(limits_.max_value_depth) +
              " levels of lists and objects.");
  return false;
}

bool budget::tick(const range& where) {
  if (failure_) return false;
  if (++ticks_ % 256 != 0) return true;
  return check_time(where);
}

bool budget::check_time(const range& where) {
  if (failure_) return false;
  if (std::chrono::steady_clock::now() <= deadline_) return true;
  const auto ms = limits_.max_time.count();
  exhaust(where, "Evaluation time budget exceeded",
          "Evaluating this pipeline took longer than " +
              (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms") +
              "; simplify its expressions or reduce its for_each collections.");
  return false;
}

std::size_t budget::remaining() const {
  if (failure_ || used_ >= limits_.max_value_bytes) return 0;
  return limits_.max_value_bytes - used_;
}

void budget::exhaust(const range& where, std::string summary, std::string detail) {
  if (!failure_) failure_ = diagnostic{where, std::move(summary), std::move(detail)};
}

budget* budget::current() {
  return current_budget;
}

budget_scope::budget_scope(budget& b) : previous_(current_budget) {
  current_budget = &b;
}

budget_scope::~budget_scope() {
  current_budget = previous_;
}

value_measure measure(const value& v) {
  value_measure m{sizeof(value), 0};
  auto add = [&m](const value& item) {
    const value_measure inner = measure(item);
    m.bytes += inner.bytes;
    m.depth = std::max(m.depth, inner.depth + 1);
  };
  switch (v.type()) {
    case value::kind::string:
      m.bytes += v.as_string().size();
      break;
    case value::kind::sequence:
      m.depth = 1;
      for (const auto& item : v.items()) add(item);
      break;
    case value::kind::collection:
      m.depth = 1;
      for (const auto& [key, item] : v.attrs()) {
        m.bytes += map_node_overhead + key.size();
        add(item);
      }
      break;
    default:
      break;
  }
  return m;
}

std::string format_bytes(std::size_t bytes) {
  constexpr std::size_t mib = 1024 * 1024, kib = 1024;
  if (bytes >= mib && bytes % mib == 0) return std::to_string(bytes / mib) + " MiB";
  if (bytes >= kib && bytes % kib == 0) return std::to_string(bytes / kib) + " KiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace pikoci::hcl
