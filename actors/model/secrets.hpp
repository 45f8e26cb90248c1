#pragma once
// Secret placeholders and masking (reference §1.10). A plan carries what the worker needs to
// resolve the placeholders `__pikoci_secret:<type>:<path>:<key>__` its commands contain
// (`work::secret_plan`, never a value); the worker masks every resolved value in what it sends
// back (`masker`, `mask_stream`).

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/work.hpp"

namespace pikoci::work {

/// Every placeholder starts with this.
inline constexpr std::string_view secret_prefix = "__pikoci_secret:";

/// The placeholder a variable stands as in the plan's commands.
std::string placeholder(const secret_variable& v);

/// Values shorter than this are never masked (they would mask everything).
inline constexpr std::size_t min_masked_length = 3;

/// A set of values to mask, longest first.
class masker {
 public:
  masker() = default;
  explicit masker(const std::vector<std::string>& values);
  bool empty() const { return values_.empty(); }
  std::size_t longest() const { return values_.empty() ? 0 : values_.front().size(); }
  /// `text` with every value replaced by `***`.
  std::string mask(std::string_view text) const;
  /// The strings inside `j` (keys kept) masked.
  nlohmann::json mask_json(const nlohmann::json& j) const;

 private:
  friend class mask_stream;
  std::vector<std::string> values_;
  std::array<bool, 256> first_{};
};

/// One output stream masked as it comes: a value split across chunks is masked too. Holds back
/// at most `longest() - 1` bytes (a tail that may be the start of a value) until the next chunk
/// or `finish`.
class mask_stream {
 public:
  std::string feed(const masker& m, std::string_view chunk);
  /// What was held back, masked as a whole (the stream ended).
  std::string finish(const masker& m);
  bool holding() const { return !pending_.empty(); }

 private:
  std::string run(const masker& m, std::string buf, bool last);
  std::string pending_;
};

}  // namespace pikoci::work
