#include "actors/model/capped_log.hpp"

namespace pikoci::model {

void capped_log::append(std::string_view chunk) {
  tail_.append(chunk);
  // trimmed in steps of a quarter of the cap, not at every chunk: a step printing hundreds of
  // megabytes must not move 4 MiB for each 64 KiB it reads
  if (tail_.size() > cap_ + cap_ / 4) {
    std::size_t cut = cut_point();
    dropped_ += cut;
    tail_.erase(0, cut);
  }
}

std::size_t capped_log::cut_point() const {
  if (tail_.size() <= cap_) return 0;
  std::size_t cut = tail_.size() - cap_;
  // cut at a line start when one is near, so the kept text starts with a whole line; else at a
  // character start, so the kept text stays UTF-8
  std::size_t nl = tail_.find('\n', cut);
  if (nl != std::string::npos && nl - cut < 4096) return nl + 1;
  while (cut < tail_.size() && (static_cast<unsigned char>(tail_[cut]) & 0xC0) == 0x80) ++cut;
  return cut;
}

std::size_t capped_log::dropped() const {
  return dropped_ + cut_point();
}

namespace {
std::string marker(std::size_t n) {
  return "[... " + std::to_string(n) + " bytes of earlier output dropped ...]\n";
}
}  // namespace

std::string capped_log::after(std::size_t offset) const {
  if (offset >= total()) return {};
  std::size_t kept_from = dropped();  // the offset of the first byte str() keeps
  if (offset >= kept_from) return tail_.substr(offset - dropped_);
  return marker(kept_from - offset) + tail_.substr(kept_from - dropped_);
}

void capped_log::restore(std::string_view text, std::size_t dropped) {
  auto line = marker(dropped);
  if (dropped > 0 && tail_.empty() && dropped_ == 0 && text.substr(0, line.size()) == line) {
    dropped_ = dropped;
    text.remove_prefix(line.size());
  }
  append(text);
}

std::string capped_log::str() const {
  std::size_t cut = cut_point();
  if (dropped_ + cut == 0) return tail_;
  return marker(dropped_ + cut) + tail_.substr(cut);
}

}  // namespace pikoci::model
