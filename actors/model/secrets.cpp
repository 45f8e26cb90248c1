#include "actors/model/secrets.hpp"

#include <algorithm>

namespace pikoci::work {

std::string placeholder(const secret_variable& v) {
  return std::string(secret_prefix) + v.type + ":" + v.path + ":" + v.key + "__";
}

masker::masker(const std::vector<std::string>& values) {
  for (const auto& v : values)
    if (v.size() >= min_masked_length) values_.push_back(v);
  std::sort(values_.begin(), values_.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  values_.erase(std::unique(values_.begin(), values_.end()), values_.end());
  for (const auto& v : values_) first_[static_cast<unsigned char>(v[0])] = true;
}

std::string masker::mask(std::string_view text) const {
  if (empty()) return std::string(text);
  mask_stream s;
  std::string out = s.feed(*this, text);
  return out + s.finish(*this);
}

nlohmann::json masker::mask_json(const nlohmann::json& j) const {
  if (empty()) return j;
  if (j.is_string()) return mask(std::string_view(j.get_ref<const std::string&>()));
  if (!j.is_structured()) return j;
  nlohmann::json out = j;
  for (auto it = out.begin(); it != out.end(); ++it) *it = mask_json(*it);
  return out;
}

std::string mask_stream::feed(const masker& m, std::string_view chunk) {
  std::string buf = std::move(pending_);
  pending_.clear();
  buf.append(chunk);
  return run(m, std::move(buf), false);
}

std::string mask_stream::finish(const masker& m) {
  std::string buf = std::move(pending_);
  pending_.clear();
  return run(m, std::move(buf), true);
}

// At the end of the stream (`last`), a tail that only starts a value is no value: shorter
// values are tried there instead of holding it back.
std::string mask_stream::run(const masker& m, std::string buf, bool last) {
  if (m.empty()) return buf;
  std::string out;
  out.reserve(buf.size());
  std::size_t i = 0;
  const std::size_t n = buf.size();
  while (i < n) {
    if (!m.first_[static_cast<unsigned char>(buf[i])]) {
      out.push_back(buf[i++]);
      continue;
    }
    // longest first: a longer value that may still complete wins over a shorter one here
    bool matched = false, maybe = false;
    for (const auto& v : m.values_) {
      if (n - i >= v.size()) {
        if (buf.compare(i, v.size(), v) == 0) {
          out += "***";
          i += v.size();
          matched = true;
          break;
        }
      } else if (!last && v.compare(0, n - i, buf, i, n - i) == 0) {
        maybe = true;
        break;
      }
    }
    if (matched) continue;
    if (maybe) {
      pending_ = buf.substr(i);
      return out;
    }
    out.push_back(buf[i++]);
  }
  return out;
}

}  // namespace pikoci::work
