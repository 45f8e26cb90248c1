#include "persistence/archive.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "persistence/store.hpp"

namespace pikoci::persistence {
namespace {

namespace fs = std::filesystem;
constexpr std::size_t block = 512;

void octal(char* field, std::size_t width, std::uint64_t value) {
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1),
                static_cast<unsigned long long>(value));
}

std::uint64_t read_octal(const char* field, std::size_t width) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < width && field[i] != '\0' && field[i] != ' '; ++i) {
    if (field[i] < '0' || field[i] > '7') throw store_error("archive: bad number in a header");
    v = v * 8 + static_cast<std::uint64_t>(field[i] - '0');
  }
  return v;
}

unsigned checksum(const char* header) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < block; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(header[i]);
  return sum;
}

}  // namespace

std::string pack_directory(const fs::path& dir) {
  std::string out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    auto name = e.path().filename().string();
    if (name.size() >= 100) throw store_error("archive: file name too long: " + name);
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    if (!in) throw store_error("archive: cannot read " + e.path().string());
    auto content = data.str();
    char h[block] = {};
    std::memcpy(h, name.data(), name.size());
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, content.size());
    octal(h + 136, 12, 0);
    h[156] = '0';
    std::memcpy(h + 257, "ustar", 6);
    std::memcpy(h + 263, "00", 2);
    std::snprintf(h + 148, 8, "%06o", checksum(h));
    out.append(h, block);
    out += content;
    out.append((block - content.size() % block) % block, '\0');
  }
  if (ec) throw store_error("archive: cannot list " + dir.string() + ": " + ec.message());
  out.append(2 * block, '\0');
  return out;
}

void unpack_directory(std::string_view archive, const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) throw store_error(dir.string() + " already exists");
  // check everything before writing anything
  struct entry {
    std::string name;
    std::string_view data;
  };
  std::vector<entry> files;
  std::size_t pos = 0;
  bool ended = false;
  while (pos + block <= archive.size()) {
    const char* h = archive.data() + pos;
    if (std::all_of(h, h + block, [](char c) { return c == '\0'; })) {
      ended = true;
      break;
    }
    if (read_octal(h + 148, 8) != checksum(h)) throw store_error("archive: bad header checksum");
    std::string name(h, strnlen(h, 100));
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      throw store_error("archive: refusing entry \"" + name + "\"");
    if (h[156] != '0' && h[156] != '\0')
      throw store_error("archive: \"" + name + "\" is not a plain file");
    auto size = read_octal(h + 124, 12);
    pos += block;
    if (size > archive.size() - pos) throw store_error("archive: truncated");
    files.push_back({name, archive.substr(pos, size)});
    pos += (size + block - 1) / block * block;
  }
  if (!ended) throw store_error("archive: truncated (no end marker)");
  fs::create_directories(dir, ec);
  if (ec) throw store_error("cannot create " + dir.string() + ": " + ec.message());
  for (const auto& f : files) {
    std::ofstream out(dir / f.name, std::ios::binary | std::ios::trunc);
    out.write(f.data.data(), static_cast<std::streamsize>(f.data.size()));
    if (!out) throw store_error("cannot write " + (dir / f.name).string());
  }
}

}  // namespace pikoci::persistence
