#pragma once
// Names, slugs and "did you mean" suggestions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pikoci::pipeline {

/// slug.Make: lowercase, runs of characters outside [a-z0-9] become one '-', trimmed of '-'.
/// "My New Team" → "my-new-team", "1.21" → "1-21". As in gosimple/slug, '_' is kept (but
/// trimmed from the ends), '&' → "and", '@' → "at", quotes vanish and accented Latin letters
/// are transliterated ("Café" → "cafe"); other non-ASCII characters are dropped.
std::string make_slug(std::string_view text);

/// slug.IsSlug: only [a-z0-9_-], not starting or ending with '-' or '_', 1..255 characters.
bool is_slug(std::string_view text);

/// Names become route segments, store keys, directory names and parts of log lines, so every
/// pipeline, job and resource name follows one rule: UTF-8 text of 1 to `max_name_length`
/// characters (letters of any script, digits, spaces, punctuation) without control characters
/// (U+0000-U+001F, U+007F-U+009F, U+2028, U+2029), '/', '\\' or '%', not starting with '.' (so
/// never "." or "..") and without a space at either end. Resource type names, tags and serial
/// groups are identifiers, not names: slugs (is_slug).
constexpr std::size_t max_name_length = 100;

/// A valid pipeline, job or resource name (see max_name_length).
bool is_valid_name(std::string_view name);
/// The name rule in words, for messages.
extern const char* const name_rule;

/// A valid resource type name: a slug of at most max_name_length characters.
bool is_valid_block_name(std::string_view name);
/// The resource type name rule in words, for messages.
extern const char* const block_name_rule;

/// `text` percent-decoded ('+' stays '+'), or nullopt when a '%' is not followed by two hex
/// digits. Names in API paths are decoded with it once, at the HTTP edge.
std::optional<std::string> percent_decode(std::string_view text);

/// Levenshtein distance (bytes).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest candidate within `max_distance` edits (ties: first in order), if any.
std::optional<std::string> suggest(std::string_view given,
                                   const std::vector<std::string>& candidates,
                                   std::size_t max_distance = 2);

/// Environment-style key: uppercase, non-alphanumerics → '_' ("my-repo" → "MY_REPO").
std::string env_key(std::string_view text);

}  // namespace pikoci::pipeline
