#pragma once
// How the node fetches a type definition's `source = "http(s)://..."`: one GET, bounded in time
// and size, used when a pipeline is set, restored and by `pikoci-node validate`.

#include <chrono>
#include <cstddef>
#include <string>

#include "config/pipeline/load.hpp"

namespace pikoci::http_client {

inline constexpr std::chrono::seconds source_timeout{10};
inline constexpr std::size_t max_source_bytes = 1024 * 1024;

/// The body of a 200 answer, else why there is none (transport error, other status, too big).
pipeline::fetched fetch_source(const std::string& url);

}  // namespace pikoci::http_client
