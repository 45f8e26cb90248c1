#include "persistence/artifact_store.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "config/pipeline/names.hpp"

namespace pikoci::persistence {

namespace fs = std::filesystem;

sha256::sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}

sha256::~sha256() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void sha256::feed(std::string_view bytes) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size());
}

std::string sha256::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md.data(), &n);
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

std::string file_sha256(const fs::path& p) {
  sha256 h;
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    h.feed(std::string_view(buf.data(), static_cast<std::size_t>(in.gcount())));
  return h.hex();
}

namespace {

bool all_of(std::string_view s, bool (*ok)(char)) {
  return std::all_of(s.begin(), s.end(), ok);
}

/// `nanos` since the epoch as YYYYMMDDhhmmss + 9 digits of nanoseconds, UTC.
std::string timestamp_of(std::int64_t nanos) {
  std::time_t secs = static_cast<std::time_t>(nanos / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(nanos % 1000000000));
  return std::string(buf) + frac;
}

}  // namespace

bool artifact_store::valid_name(std::string_view name) {
  return pipeline::is_valid_name(name);
}

bool artifact_store::valid_sha(std::string_view sha) {
  return sha.size() == 64 &&
         all_of(sha, [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool artifact_store::valid_timestamp(std::string_view ts) {
  return ts.size() == 23 && all_of(ts, [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<artifact_version> artifact_store::add(const std::string& pipeline,
                                                    const std::string& resource,
                                                    std::string_view archive, std::string& error) {
  if (!valid_name(pipeline) || !valid_name(resource)) {
    error = "invalid pipeline or resource name";
    return std::nullopt;
  }
  sha256 h;
  h.feed(archive);
  artifact_version v{h.hex(), ""};
  fs::path dir = root_ / pipeline / resource;
  std::error_code ec;
  fs::create_directories(dir / "data", ec);
  if (!ec) fs::create_directories(dir / "versions", ec);
  if (ec) {
    error = "cannot create " + dir.string() + ": " + ec.message();
    return std::nullopt;
  }
  fs::path data = dir / "data" / (v.sha + ".tar.gz");
  if (!fs::exists(data, ec)) {
    // written aside then renamed: a reader never sees half an archive
    fs::path part = dir / "data" /
                    (v.sha + ".part." + std::to_string(::getpid()) + "." +
                     std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
    {
      std::ofstream out(part, std::ios::binary | std::ios::trunc);
      out.write(archive.data(), static_cast<std::streamsize>(archive.size()));
      out.flush();
      if (!out) {
        fs::remove(part, ec);
        error = "cannot write " + data.string();
        return std::nullopt;
      }
    }
    fs::rename(part, data, ec);
    if (ec) {
      fs::remove(part, ec);
      error = "cannot write " + data.string() + ": " + ec.message();
      return std::nullopt;
    }
  }
  {
    // strictly increasing, so two puts in the same nanosecond are still two versions in order
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    v.timestamp = timestamp_of(now);
    while (v.timestamp <= last_timestamp_) v.timestamp = timestamp_of(++now);
    last_timestamp_ = v.timestamp;
  }
  std::ofstream mark(dir / "versions" / (v.timestamp + "-" + v.sha), std::ios::trunc);
  if (!mark) {
    error = "cannot record the version in " + (dir / "versions").string();
    return std::nullopt;
  }
  return v;
}

std::vector<artifact_version> artifact_store::list(const std::string& pipeline,
                                                   const std::string& resource,
                                                   const std::string& after,
                                                   std::size_t limit) const {
  std::vector<artifact_version> all;
  if (!valid_name(pipeline) || !valid_name(resource)) return all;
  std::error_code ec;
  for (fs::directory_iterator it(root_ / pipeline / resource / "versions", ec), end;
       !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.size() != 23 + 1 + 64 || name[23] != '-') continue;
    artifact_version v{name.substr(24), name.substr(0, 23)};
    if (!valid_timestamp(v.timestamp) || !valid_sha(v.sha)) continue;
    if (!after.empty() && v.timestamp <= after) continue;
    all.push_back(std::move(v));
  }
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.timestamp < b.timestamp; });
  if (after.empty() && all.size() > 1) all.erase(all.begin(), all.end() - 1);
  if (all.size() > limit) all.resize(limit);
  return all;
}

std::optional<fs::path> artifact_store::archive(const std::string& pipeline,
                                                const std::string& resource,
                                                const std::string& sha) const {
  if (!valid_name(pipeline) || !valid_name(resource) || !valid_sha(sha)) return std::nullopt;
  fs::path p = root_ / pipeline / resource / "data" / (sha + ".tar.gz");
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  return p;
}

void artifact_store::remove_pipeline(const std::string& pipeline) {
  if (!valid_name(pipeline)) return;
  std::error_code ec;
  fs::remove_all(root_ / pipeline, ec);
}

}  // namespace pikoci::persistence
