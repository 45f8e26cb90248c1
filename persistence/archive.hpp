#pragma once
// A store snapshot on the wire (GET /api/v1/admin/export): the files of a RocksDB directory as
// one POSIX ustar archive, and back. Only plain files at the top level (what a RocksDB checkpoint
// holds); unpacking refuses anything else, so an archive can never write outside its directory.

#include <filesystem>
#include <string>
#include <string_view>

namespace pikoci::persistence {

/// The regular files of `dir` (not recursive) as a ustar archive. Throws store_error.
std::string pack_directory(const std::filesystem::path& dir);

/// Creates `dir` (it must not exist) and writes the archive's files into it. Throws store_error
/// for a malformed archive, a name with a path in it, or an entry that is not a plain file.
void unpack_directory(std::string_view archive, const std::filesystem::path& dir);

}  // namespace pikoci::persistence
