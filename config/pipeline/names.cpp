#include "config/pipeline/names.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "config/pipeline/utf8.hpp"

namespace pikoci::pipeline {

namespace {

// unidecode's ASCII for U+00C0..U+017F (Latin-1 letters and Latin Extended-A), the accented
// letters that appear in team and pipeline names in practice.
constexpr const char* latin_ascii[] = {
    "A", "A", "A",  "A",  "A", "A", "AE", "C", "E", "E",  "E", "E", "I", "I", "I",  "I",
    "D", "N", "O",  "O",  "O", "O", "O",  "x", "O", "U",  "U", "U", "U", "Y", "Th", "ss",
    "a", "a", "a",  "a",  "a", "a", "ae", "c", "e", "e",  "e", "e", "i", "i", "i",  "i",
    "d", "n", "o",  "o",  "o", "o", "o",  "/", "o", "u",  "u", "u", "u", "y", "th", "y",
    "A", "a", "A",  "a",  "A", "a", "C",  "c", "C", "c",  "C", "c", "C", "c", "D",  "d",
    "D", "d", "E",  "e",  "E", "e", "E",  "e", "E", "e",  "E", "e", "G", "g", "G",  "g",
    "G", "g", "G",  "g",  "H", "h", "H",  "h", "I", "i",  "I", "i", "I", "i", "I",  "i",
    "I", "i", "IJ", "ij", "J", "j", "K",  "k", "q", "L",  "l", "L", "l", "L", "l",  "L",
    "l", "L", "l",  "N",  "n", "N", "n",  "N", "n", "'n", "N", "n", "O", "o", "O",  "o",
    "O", "o", "OE", "oe", "R", "r", "R",  "r", "R", "r",  "S", "s", "S", "s", "S",  "s",
    "S", "s", "T",  "t",  "T", "t", "T",  "t", "U", "u",  "U", "u", "U", "u", "U",  "u",
    "U", "u", "U",  "u",  "W", "w", "Y",  "y", "Y", "Z",  "z", "Z", "z", "Z", "z",  "s",
};
constexpr char32_t latin_first = 0xC0;
static_assert(std::size(latin_ascii) == 0x180 - latin_first);

// gosimple/slug's English and default substitutions followed by unidecode, restricted to what
// the Latin table covers; other non-ASCII characters are dropped.
std::string transliterate(char32_t cp) {
  switch (cp) {
    case '&':
      return "and";
    case '@':
      return "at";
    case '"':
    case '\'':
    case 0x2019:  // right single quotation mark
      return "";
    case 0x2012:  // figure dash
    case 0x2013:  // en dash
    case 0x2014:  // em dash
    case 0x2015:  // horizontal bar
      return "-";
    default:
      break;
  }
  if (cp < 0x80) return std::string(1, static_cast<char>(cp));
  if (cp >= latin_first && cp - latin_first < std::size(latin_ascii)) {
    return latin_ascii[cp - latin_first];
  }
  return "";
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_ascii_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::string make_slug(std::string_view text) {
  std::string ascii;
  for (std::size_t i = 0; i < text.size();) ascii += transliterate(hcl::decode_utf8(text, i));

  // Like gosimple: '_' survives, every other non-alphanumeric becomes '-', and '-' runs collapse.
  std::string slug;
  for (char c : ascii) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!is_lower_alnum(c) && c != '_') c = '-';
    if (c == '-' && !slug.empty() && slug.back() == '-') continue;
    slug += c;
  }
  const auto first = slug.find_first_not_of("-_");
  if (first == std::string::npos) return {};
  return slug.substr(first, slug.find_last_not_of("-_") - first + 1);
}

bool is_slug(std::string_view text) {
  constexpr std::size_t max_length = 255;
  if (text.empty() || text.size() > max_length) return false;
  auto is_edge = [](char c) { return c == '-' || c == '_'; };
  if (is_edge(text.front()) || is_edge(text.back())) return false;
  return std::all_of(text.begin(), text.end(),
                     [&](char c) { return is_lower_alnum(c) || is_edge(c); });
}

const char* const name_rule =
    "a name is 1 to 100 characters (letters, digits, spaces and punctuation), without control "
    "characters, '/', '\\' or '%', not starting with '.' and without spaces at either end";
const char* const block_name_rule =
    "use 1 to 100 characters of a-z, 0-9, '-' and '_', not starting or ending with '-' or '_'";

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.front() == ' ' || name.back() == ' ')
    return false;
  std::size_t characters = 0;
  for (std::size_t i = 0; i < name.size(); ++characters) {
    if (characters == max_name_length || hcl::utf8_sequence_length(name, i) == 0) return false;
    const char32_t c = hcl::decode_utf8(name, i);
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029) return false;
    if (c == '/' || c == '\\' || c == '%') return false;
  }
  return true;
}

bool is_valid_block_name(std::string_view name) {
  return name.size() <= max_name_length && is_slug(name);
}

std::optional<std::string> percent_decode(std::string_view text) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string decoded;
  decoded.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      decoded += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex(text[i + 1]) < 0 || hex(text[i + 2]) < 0) return std::nullopt;
    decoded += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
    i += 2;
  }
  return decoded;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // One row of the classic dynamic-programming table suffices.
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({above + 1, row[j - 1] + 1, substitution});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::optional<std::string> suggest(std::string_view given,
                                   const std::vector<std::string>& candidates,
                                   std::size_t max_distance) {
  // Nothing was typed: any short candidate would be "close", which is no real suggestion.
  if (given.empty()) return std::nullopt;
  const std::string* best = nullptr;
  std::size_t best_distance = max_distance + 1;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(given, candidate);
    if (d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  if (!best) return std::nullopt;
  return *best;
}

std::string env_key(std::string_view text) {
  std::string key(text);
  for (char& c : key) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!is_ascii_alnum(c)) c = '_';
  }
  return key;
}

}  // namespace pikoci::pipeline
