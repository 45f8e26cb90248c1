// Seeded random and mutation fuzzing of the changelog codec (persistence/changelog.hpp): random
// batches expanded into records must apply back to an equal store, and mutated, truncated,
// reordered or random records must never crash the decoder or the applier. Built with
// AddressSanitizer and UBSan, so a crash, an out-of-bounds access or undefined behaviour fails
// the run.
//
//   changelog-fuzz [--iterations N] [--seed S]
//
// Ends with "N passed, 0 failed"; exits 1 when a round trip gave a different store.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "persistence/changelog.hpp"
#include "persistence/keys.hpp"

using namespace pikoci::persistence;
namespace cl = pikoci::persistence::changelog;

namespace {

/// The store interface over a map: the codec needs nothing else (no RocksDB in this binary).
class map_store final : public store {
 public:
  std::map<std::string, std::string, std::less<>> data;
  using store::write;
  const char* kind() const override { return "fuzz"; }
  void write(const batch& ops, bool) override {
    for (const auto& op : ops) {
      if (op.whole_prefix) {
        auto it = data.lower_bound(op.key);
        while (it != data.end() && it->first.compare(0, op.key.size(), op.key) == 0)
          it = data.erase(it);
      } else if (op.value) {
        data[op.key] = *op.value;
      } else {
        data.erase(op.key);
      }
    }
  }
  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override {
    for (auto it = data.lower_bound(prefix);
         it != data.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix; ++it)
      fn(it->first, it->second);
  }
  std::optional<std::string> get(std::string_view key) const override {
    auto it = data.find(key);
    if (it == data.end()) return std::nullopt;
    return it->second;
  }
  void export_to(const std::filesystem::path&) const override {}
};

/// Whether two stores hold the same, but for the applier's own bookkeeping.
bool same(const map_store& a, const map_store& b) {
  const auto bookkeeping = keys::join({"meta", "changelog"});
  auto skip = [&](auto it, const map_store& s) {
    while (it != s.data.end() && it->first.rfind(bookkeeping, 0) == 0) ++it;
    return it;
  };
  auto i = skip(a.data.begin(), a), j = skip(b.data.begin(), b);
  for (; i != a.data.end() && j != b.data.end(); i = skip(++i, a), j = skip(++j, b))
    if (i->first != j->first || i->second != j->second) return false;
  return i == a.data.end() && j == b.data.end();
}

struct generator {
  std::mt19937_64 rng;
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); }

  std::string bytes(std::size_t n) {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(rng());
    return out;
  }

  std::string key() {
    return keys::build("p" + std::to_string(pick(3)), "j" + std::to_string(pick(2)),
                       static_cast<std::int64_t>(pick(5)));
  }

  std::string value() {
    // a value over the chunk limit now and then (they are slow under the sanitizers)
    if (pick(40) == 0) return std::string(cl::chunk_limit + pick(2 * cl::chunk_limit), 'v');
    return bytes(pick(300));
  }

  batch ops() {
    batch out;
    for (std::size_t i = 0, n = 1 + pick(6); i < n; ++i) {
      switch (pick(8)) {
        case 0:
          out.push_back(
              {keys::prefix({"build", "p" + std::to_string(pick(3))}), std::nullopt, true});
          break;
        case 1:
          out.push_back({key(), std::nullopt});
          break;
        default:
          out.push_back({key(), value()});
      }
    }
    return out;
  }

  /// A key made of the pieces the decoder looks at.
  std::string hostile_key() {
    static const std::vector<std::string> pieces = {std::string("\0\x01", 2),
                                                    std::string(1, '\0'),
                                                    "meta",
                                                    "changelog",
                                                    "changelog_at",
                                                    "epoch",
                                                    "format",
                                                    "admin",
                                                    "0",
                                                    "1",
                                                    "07",
                                                    "1023",
                                                    "1024",
                                                    "99999",
                                                    "build",
                                                    "p",
                                                    "x"};
    std::string out;
    for (std::size_t i = 0, n = pick(8); i < n; ++i)
      out += pick(4) == 0 ? bytes(1 + pick(4)) : pieces[pick(pieces.size())];
    return out;
  }

  void mutate(cl::record& r) {
    switch (pick(9)) {
      case 0:
        r.key.resize(pick(r.key.size() + 1));
        break;
      case 1:
        if (r.value) r.value->resize(pick(r.value->size() + 1));
        break;
      case 2:
        if (!r.key.empty()) r.key[pick(r.key.size())] = static_cast<char>(rng());
        break;
      case 3:
        r.headers = {{cl::chunks_header, pick(2) ? std::to_string(pick(1100)) : bytes(pick(6))}};
        break;
      case 4:
        r.headers.push_back({cl::chunks_header, std::to_string(pick(5))});
        break;
      case 5:
        r.value = pick(2) ? std::nullopt : std::optional<std::string>(bytes(pick(64)));
        break;
      case 6:
        r.key = cl::chunk_key(r.key, pick(1100));
        break;
      case 7:
        r.key += std::string("\0\x01", 2) + bytes(pick(5));
        break;
      default:
        r = {hostile_key(),
             pick(3) ? std::optional<std::string>(bytes(pick(32))) : std::nullopt,
             {}};
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t iterations = 20000;
  std::uint64_t seed = 20261203;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations"))
      iterations = std::stoull(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::stoull(argv[i + 1]);
  }
  generator gen{std::mt19937_64(seed)};
  map_store source, mirror;
  std::vector<cl::record> recent;
  std::int64_t offset = 0;
  std::size_t records = 0, refused = 0;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < iterations; ++i) {
    // the property: what the owner writes, a reader applies to an equal store
    auto ops = gen.ops();
    auto rs = cl::expand(ops, source);
    source.write(ops);
    cl::applier a(mirror, 1, 1 + gen.pick(8));
    for (const auto& r : rs) {
      auto error = a.add(r, offset++);
      if (!error.empty()) {
        std::printf(
            "changelog-fuzz: seed=%llu iteration=%zu: a record the codec wrote was "
            "refused: %s\n",
            static_cast<unsigned long long>(seed), i, error.c_str());
        return 1;
      }
    }
    a.flush();
    if (!same(mirror, source)) {
      std::printf("changelog-fuzz: seed=%llu iteration=%zu: the applied store differs\n",
                  static_cast<unsigned long long>(seed), i);
      return 1;
    }
    records += rs.size();
    for (auto& r : rs)
      if (!r.value || r.value->size() < 4096) recent.push_back(std::move(r));
    if (recent.size() > 200) recent.erase(recent.begin(), recent.begin() + 100);

    // hostile: mutated, dropped, repeated and reordered records into a scratch store
    map_store scratch;
    cl::applier h(scratch, 2, 1 + gen.pick(4));
    for (std::size_t n = 0, count = 1 + gen.pick(12); n < count && !recent.empty(); ++n) {
      auto r = recent[gen.pick(recent.size())];
      if (gen.pick(3) != 0) gen.mutate(r);
      std::string why;
      if (!cl::decode(r, why)) ++refused;
      (void)h.add(r, static_cast<std::int64_t>(gen.pick(1000)));
    }
    h.flush();
    (void)h.applied();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("changelog-fuzz: seed=%llu batches=%zu records=%zu refused=%zu seconds=%.1f\n",
              static_cast<unsigned long long>(seed), iterations, records, refused, secs);
  std::printf("%zu passed, 0 failed\n", iterations);
  return 0;
}
