#include "domain/metrics.hpp"

#include <cmath>
#include <locale>
#include <sstream>

namespace pikoci::domain {
namespace {

/// Label values escape backslash, double quote and newline; HELP text backslash and newline.
std::string escape(const std::string& text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

/// `{a="x",b="y"}` (plus `extra` last), or "" without any label.
std::string braces(const metric_labels& labels, const std::string& extra = {}) {
  if (labels.empty() && extra.empty()) return "";
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    out += name + "=\"" + escape(value, true) + "\"";
  }
  if (!extra.empty()) out += (out.size() > 1 ? "," : "") + extra;
  return out + "}";
}

const char* type_name(metric_family::kind k) {
  switch (k) {
    case metric_family::kind::counter:
      return "counter";
    case metric_family::kind::gauge:
      return "gauge";
    case metric_family::kind::histogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size(), 0) {}

void histogram::observe(double value) {
  for (std::size_t i = 0; i < bounds_.size(); ++i)
    if (value <= bounds_[i]) ++buckets_[i];
  sum_ += value;
  ++count_;
}

metric_family::metric_family(std::string name, std::string help, kind k)
    : name_(std::move(name)), help_(std::move(help)), kind_(k) {}

std::string metric_family::number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream o;
  o.imbue(std::locale::classic());
  o << v;
  return o.str();
}

metric_family& metric_family::add_text(metric_labels labels, std::string value) {
  series_.push_back({std::move(labels), std::move(value)});
  return *this;
}

metric_family& metric_family::add(metric_labels labels, const histogram& h) {
  series_.push_back({std::move(labels), h});
  return *this;
}

void metric_family::render(std::string& out) const {
  out += "# HELP " + name_ + " " + escape(help_, false) + "\n";
  out += "# TYPE " + name_ + " " + type_name(kind_) + "\n";
  for (const auto& s : series_) {
    if (const auto* text = std::get_if<std::string>(&s.value)) {
      out += name_ + braces(s.labels) + " " + *text + "\n";
      continue;
    }
    const auto& h = std::get<histogram>(s.value);
    for (std::size_t i = 0; i < h.bounds().size(); ++i)
      out += name_ + "_bucket" + braces(s.labels, "le=\"" + number(h.bounds()[i]) + "\"") + " " +
             std::to_string(h.buckets()[i]) + "\n";
    out += name_ + "_bucket" + braces(s.labels, "le=\"+Inf\"") + " " + std::to_string(h.count()) +
           "\n";
    out += name_ + "_sum" + braces(s.labels) + " " + number(h.sum()) + "\n";
    out += name_ + "_count" + braces(s.labels) + " " + std::to_string(h.count()) + "\n";
  }
}

metric_family& metrics::add_counter(std::string name, std::string help) {
  return families_.emplace_back(std::move(name), std::move(help), metric_family::kind::counter);
}

metric_family& metrics::add_gauge(std::string name, std::string help) {
  return families_.emplace_back(std::move(name), std::move(help), metric_family::kind::gauge);
}

metric_family& metrics::add_histogram(std::string name, std::string help) {
  return families_.emplace_back(std::move(name), std::move(help), metric_family::kind::histogram);
}

std::string metrics::render() const {
  std::string out;
  for (const auto& f : families_) f.render(out);
  return out;
}

}  // namespace pikoci::domain
