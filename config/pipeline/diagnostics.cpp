#include "config/pipeline/diagnostics.hpp"

#include <algorithm>

namespace pikoci::hcl {

void diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const diagnostic& a, const diagnostic& b) {
    if (a.rng.start.line != b.rng.start.line) return a.rng.start.line < b.rng.start.line;
    return a.rng.start.column < b.rng.start.column;
  });
}

std::string diagnostics::format(const std::string& file) const {
  std::string out;
  for (const auto& d : items_) {
    out += file + ":" + std::to_string(d.rng.start.line) + ":" +
           std::to_string(d.rng.start.column) + ": " + d.message() + "\n";
  }
  return out;
}

}  // namespace pikoci::hcl
