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

/// Names become route segments, store keys and parts of paths, so they follow one rule: 1 to
/// `max_name_length` characters. Pipeline names may use letters, digits, '_', '.' and '-' and
/// must not start with '.' (so never "." or ".."); job, resource and resource type names must
/// also be slugs (is_slug), as the API's routes require.
constexpr std::size_t max_name_length = 100;

/// A valid pipeline name (see max_name_length).
bool is_valid_name(std::string_view name);
/// The pipeline name rule in words, for messages.
extern const char* const name_rule;

/// A valid job, resource or resource type name: a slug of at most max_name_length characters.
bool is_valid_block_name(std::string_view name);
/// The block name rule in words, for messages.
extern const char* const block_name_rule;

/// Levenshtein distance (bytes).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest candidate within `max_distance` edits (ties: first in order), if any.
std::optional<std::string> suggest(std::string_view given,
                                   const std::vector<std::string>& candidates,
                                   std::size_t max_distance = 2);

/// Environment-style key: uppercase, non-alphanumerics → '_' ("my-repo" → "MY_REPO").
std::string env_key(std::string_view text);

}  // namespace pikoci::pipeline
