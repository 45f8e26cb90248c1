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

std::string capped_log::str() const {
  std::size_t cut = cut_point();
  if (dropped_ + cut == 0) return tail_;
  return "[... " + std::to_string(dropped_ + cut) + " bytes of earlier output dropped ...]\n" +
         tail_.substr(cut);
}

}  // namespace pikoci::model
