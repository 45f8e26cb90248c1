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

/// Levenshtein distance (bytes).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The closest candidate within `max_distance` edits (ties: first in order), if any.
std::optional<std::string> suggest(std::string_view given,
                                   const std::vector<std::string>& candidates,
                                   std::size_t max_distance = 2);

/// Environment-style key: uppercase, non-alphanumerics → '_' ("my-repo" → "MY_REPO").
std::string env_key(std::string_view text);

}  // namespace pikoci::pipeline
