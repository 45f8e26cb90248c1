#pragma once
// The one output line of every benchmark figure, in bench/run's format:
// {"scenario","metric","unit","runs","min","median"[,"p99"],"max","target"[,extra...]}.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pikoci::bench {

struct figure {
  std::string scenario, metric, unit;
  double target = 0;  // SPEC §11's bound (or its stretch goal); 0 when none is set
};

/// Prints `f` summarized over `values`: min, median and max, plus p99 when `with_p99` (latency
/// samples). `runs` is what the values stand for (default: how many there are); `extra` fields
/// are appended.
inline void report(const figure& f, std::vector<double> values, bool with_p99 = false,
                   std::size_t runs = 0,
                   const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) {
  if (values.empty()) return;
  std::sort(values.begin(), values.end());
  auto at = [&](double q) {
    auto i = std::min(values.size() - 1, static_cast<std::size_t>(q * values.size()));
    return std::round(values[i] * 1000) / 1000;
  };
  nlohmann::ordered_json line{{"scenario", f.scenario}, {"metric", f.metric},
                              {"unit", f.unit},         {"runs", runs != 0 ? runs : values.size()},
                              {"min", at(0)},           {"median", at(0.5)}};
  if (with_p99) line["p99"] = at(0.99);
  line["max"] = at(1);
  line["target"] = f.target;
  for (const auto& [k, v] : extra.items()) line[k] = v;
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

}  // namespace pikoci::bench
