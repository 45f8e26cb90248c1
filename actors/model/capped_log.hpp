#pragma once
// The log of one step as a build record and the executor keep it: bounded, whatever the step
// prints.

#include <cstddef>
#include <string>
#include <string_view>

namespace pikoci::model {

/// A step log with a size cap: keeps the most recent `cap` bytes (starting at a line or at least
/// a UTF-8 character) and says how much was dropped. It holds at most 1.25 × `cap` meanwhile.
class capped_log {
 public:
  static constexpr std::size_t default_cap = 4 * 1024 * 1024;
  explicit capped_log(std::size_t cap = default_cap) : cap_(cap) {}
  void append(std::string_view chunk);
  /// The kept text, preceded by a marker line when earlier output was dropped.
  std::string str() const;
  std::size_t dropped() const;
  /// Every byte appended so far, dropped ones included: the offset a reader's position names.
  std::size_t total() const { return dropped_ + tail_.size(); }
  /// What came after the first `offset` bytes: the kept text from there, or (when some of it was
  /// dropped) a marker line saying how much, then the kept text. "" once `offset` >= total().
  std::string after(std::size_t offset) const;
  /// A log read back from its stored form: `text` as str() gave it, `dropped` as dropped() said
  /// then; total() is again what it was (the marker line is not counted as output).
  void restore(std::string_view text, std::size_t dropped);

 private:
  std::size_t cut_point() const;  // where the kept text starts now
  std::size_t cap_;
  std::string tail_;
  std::size_t dropped_ = 0;
};

}  // namespace pikoci::model
