#include "config/pipeline/inputs.hpp"

#include <vector>

namespace pikoci::pipeline {
namespace {

bool is_decimal(const std::string& s) {
  std::size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  auto digits = [&] {
    std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i > start;
  };
  if (!digits()) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  return i == s.size();
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

/// The options as text, for membership and for messages.
std::vector<std::string> option_texts(const job_input& in) {
  std::vector<std::string> out;
  for (const auto& o : in.options) {
    std::string t;
    if (hcl::to_string(o, t)) out.push_back(std::move(t));
  }
  return out;
}

std::string allowed(const job_input& in, const std::vector<std::string>& options) {
  std::string out;
  if (!options.empty()) {
    out = "one of ";
    for (std::size_t i = 0; i < options.size(); ++i)
      out += (i == 0 ? "" : ", ") + quoted(options[i]);
  } else if (in.type == value_type::boolean) {
    out = "true or false";
  } else if (in.type == value_type::number) {
    out = "a decimal number such as 3 or -1.5";
  } else {
    out = "any text";
  }
  if (in.multiple) out += " (several allowed, comma-separated)";
  return out;
}

/// Whether one item fits the type and the options.
bool item_fits(const job_input& in, const std::vector<std::string>& options,
               const std::string& item) {
  if (in.type == value_type::boolean && item != "true" && item != "false") return false;
  if (in.type == value_type::number && !is_decimal(item)) return false;
  if (options.empty()) return true;
  for (const auto& o : options)
    if (o == item) return true;
  return false;
}

}  // namespace

std::string check_input(const job_input& in, const std::string& raw, std::string& value) {
  auto options = option_texts(in);
  auto refuse = [&](const std::string& what) {
    return "input " + quoted(in.name) + ": " + what +
           " is not allowed; allowed: " + allowed(in, options);
  };
  if (!in.multiple) {
    if (!item_fits(in, options, raw)) return refuse(quoted(raw));
    value = raw;
    return "";
  }
  std::string joined;
  std::size_t start = 0;
  while (true) {
    auto comma = raw.find(',', start);
    auto item = trim(raw.substr(start, comma == std::string::npos ? comma : comma - start));
    if (item.empty()) return refuse("an empty item in " + quoted(raw));
    if (!item_fits(in, options, item)) return refuse(quoted(item));
    joined += (joined.empty() ? "" : ",") + item;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  value = std::move(joined);
  return "";
}

std::string default_text(const job_input& in) {
  if (!in.default_value) return "";
  std::string out;
  if (in.default_value->is_sequence()) {
    for (const auto& item : in.default_value->items()) {
      std::string t;
      hcl::to_string(item, t);
      out += (out.empty() ? "" : ",") + t;
    }
    return out;
  }
  hcl::to_string(*in.default_value, out);
  return out;
}

std::variant<std::map<std::string, std::string>, std::string> trigger_values(
    const job& job, const std::map<std::string, std::string>& given) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : given) {
    const job_input* declared = nullptr;
    for (const auto& in : job.inputs)
      if (in.name == k) declared = &in;
    if (declared == nullptr) return "job " + quoted(job.name) + " has no input " + quoted(k);
    std::string error = check_input(*declared, v, out[k]);
    if (!error.empty()) return error;
  }
  for (const auto& in : job.inputs)
    if (!in.default_value && given.count(in.name) == 0)
      return "input " + quoted(in.name) + " is required";
  return out;
}

}  // namespace pikoci::pipeline
