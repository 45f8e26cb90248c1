#include "persistence/changelog.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>

#include <nlohmann/json.hpp>

#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"

namespace pikoci::persistence::changelog {
namespace {

constexpr std::string_view chunk_mark("\0\x01", 2);
/// Longer than any key this node writes (names are at most 100 characters).
constexpr std::size_t max_key_bytes = 4096;

std::size_t chunks_of(std::size_t size) {
  return size > chunk_limit ? (size + chunk_limit - 1) / chunk_limit : 0;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// A key as a log or an error shows it: "/" for the separator, control bytes escaped, capped.
std::string shown(std::string_view key) {
  std::string out;
  for (unsigned char c : key.substr(0, 200)) {
    if (c == 0) {
      out += '/';
    } else if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (key.size() > 200) out += "...";
  return out;
}

/// Keys that only mean something on the node that wrote them: never in a changelog (the one
/// rule is partitioning's `local` route).
bool local_only(std::string_view key) {
  write_op op;
  op.key = std::string(key);
  return route_of(op, max_partitions).k == route::kind::local;
}

/// A decimal number of at most `digits` digits without a leading zero, or nullopt.
std::optional<std::size_t> number(std::string_view text, std::size_t digits) {
  if (text.empty() || text.size() > digits || (text.size() > 1 && text[0] == '0'))
    return std::nullopt;
  std::size_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

/// Builds the records of one batch: `overlay` is what the batch's earlier ops left (a value's
/// size, or nullopt when deleted), looked at before the store.
struct expander {
  const store& s;
  std::map<std::string, std::optional<std::size_t>, std::less<>> overlay;
  std::vector<record> out;

  std::size_t old_chunks(const std::string& key) const {
    if (auto it = overlay.find(key); it != overlay.end())
      return it->second ? chunks_of(*it->second) : 0;
    auto v = s.get(key);
    return v ? chunks_of(v->size()) : 0;
  }

  void erase_chunks(const std::string& key, std::size_t from, std::size_t to) {
    for (auto i = from; i < to; ++i) out.push_back({chunk_key(key, i), std::nullopt, {}});
  }

  void put(const std::string& key, const std::string& value) {
    auto old = old_chunks(key), n = chunks_of(value.size());
    for (std::size_t i = 0; i < n; ++i)
      out.push_back({chunk_key(key, i), value.substr(i * chunk_limit, chunk_limit), {}});
    erase_chunks(key, n, old);
    if (n == 0)
      out.push_back({key, value, {}});
    else
      out.push_back({key, std::string(), {{chunks_header, std::to_string(n)}}});
    overlay[key] = value.size();
  }

  void erase(const std::string& key, std::size_t old) {
    erase_chunks(key, 0, old);
    out.push_back({key, std::nullopt, {}});
    overlay[key] = std::nullopt;
  }

  void erase_prefix(const std::string& prefix) {
    std::map<std::string, std::size_t> live;  // key → value size, in key order
    s.scan(prefix, [&](std::string_view k, std::string_view v) {
      if (overlay.find(k) == overlay.end()) live.emplace(k, v.size());
    });
    for (auto it = overlay.lower_bound(prefix);
         it != overlay.end() && starts_with(it->first, prefix); ++it)
      if (it->second) live.emplace(it->first, *it->second);
    for (const auto& [k, size] : live) erase(k, chunks_of(size));
  }
};

}  // namespace

std::string chunk_key(std::string_view key, std::size_t i) {
  std::string out(key);
  out.append(chunk_mark);
  out += std::to_string(i);
  return out;
}

std::vector<record> expand(const batch& ops, const store& s) {
  expander e{s, {}, {}};
  for (const auto& op : ops) {
    if (op.whole_prefix)
      e.erase_prefix(op.key);
    else if (op.value)
      e.put(op.key, *op.value);
    else
      e.erase(op.key, e.old_chunks(op.key));
  }
  return std::move(e.out);
}

std::optional<decoded> decode(const record& r, std::string& error) {
  auto fail = [&](const std::string& why) -> std::optional<decoded> {
    error = "record \"" + shown(r.key) + "\": " + why;
    return std::nullopt;
  };
  error.clear();
  if (r.key.empty()) return fail("empty key");
  if (r.key.size() > max_key_bytes)
    return fail("key of " + std::to_string(r.key.size()) + " bytes (at most " +
                std::to_string(max_key_bytes) + ")");
  if (r.value && r.value->size() > chunk_limit)
    return fail("value of " + std::to_string(r.value->size()) + " bytes in one record (at most " +
                std::to_string(chunk_limit) + "; longer values come in chunks)");
  std::optional<std::string_view> count;
  for (const auto& [name, value] : r.headers) {
    if (name != chunks_header) continue;
    if (count) return fail("two chunk counts");
    count = value;
  }
  decoded d;
  auto mark = r.key.rfind(chunk_mark);
  if (mark != std::string::npos) {
    auto index = number(std::string_view(r.key).substr(mark + chunk_mark.size()), 4);
    if (!index || *index >= max_chunks) return fail("malformed chunk key");
    if (count) return fail("a chunk with a chunk count");
    d.what = r.value ? decoded::kind::chunk : decoded::kind::chunk_erase;
    d.key = r.key.substr(0, mark);
    d.index = *index;
  } else if (count) {
    auto n = number(*count, 4);
    if (!n || *n < 2 || *n > max_chunks)
      return fail("chunk count \"" + shown(*count) + "\" is not a number from 2 to " +
                  std::to_string(max_chunks));
    if (!r.value) return fail("a tombstone with a chunk count");
    if (!r.value->empty()) return fail("a chunked record with a value of its own");
    d.what = decoded::kind::chunked_put;
    d.key = r.key;
    d.index = *n;
  } else {
    d.what = r.value ? decoded::kind::put : decoded::kind::erase;
    d.key = r.key;
  }
  if (d.key.empty()) return fail("chunk of an empty key");
  if (local_only(d.key)) return fail("a key local to each node");
  if (r.value) d.value = *r.value;
  return d;
}

batch offset_ops(int k, std::int64_t offset) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return {{keys::changelog_offset(k), std::to_string(offset)},
          {keys::changelog_at(k), std::to_string(now)}};
}

position position_of(const store& s, int k) {
  auto read = [&](const std::string& key, std::int64_t none) {
    auto v = s.get(key);
    if (!v) return none;
    try {
      return static_cast<std::int64_t>(std::stoll(*v));
    } catch (const std::exception&) {
      return none;  // unreadable: as if never applied, so the partition is restored in full
    }
  };
  return {read(keys::changelog_offset(k), -1), read(keys::changelog_at(k), 0)};
}

applier::applier(store& s, int k, std::size_t batch_records)
    : store_(s), k_(k), batch_records_(batch_records == 0 ? 1 : batch_records) {}

std::string applier::add(const record& r, std::int64_t offset) {
  if (!error_.empty()) return error_;
  error_ = take(r, offset);
  if (!error_.empty()) return error_;
  last_ = offset;
  if (++taken_ >= batch_records_) flush();
  return {};
}

void applier::forget(std::string_view key) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  for (const auto& [i, bytes] : it->second.chunks) pending_bytes_ -= bytes.size();
  pending_.erase(it);
}

std::string applier::take(const record& r, std::int64_t offset) {
  std::string why;
  auto d = decode(r, why);
  auto at = "changelog offset " + std::to_string(offset) + ": ";
  if (!d) return at + why;
  switch (d->what) {
    case decoded::kind::chunk: {
      auto& p = pending_[d->key];
      if (p.chunks.empty()) p.first_offset = offset;
      auto& slot = p.chunks[d->index];
      pending_bytes_ = pending_bytes_ - slot.size() + d->value.size();
      slot.assign(d->value);
      if (pending_bytes_ > max_chunks * chunk_limit)
        return at + "more than " + std::to_string(max_chunks * chunk_limit) +
               " bytes of chunks wait for their record";
      return {};
    }
    case decoded::kind::chunk_erase: {
      auto it = pending_.find(d->key);
      if (it == pending_.end()) return {};
      if (auto c = it->second.chunks.find(d->index); c != it->second.chunks.end()) {
        pending_bytes_ -= c->second.size();
        it->second.chunks.erase(c);
      }
      if (it->second.chunks.empty()) pending_.erase(it);
      return {};
    }
    case decoded::kind::chunked_put: {
      auto it = pending_.find(d->key);
      std::size_t have = it == pending_.end() ? 0 : it->second.chunks.size();
      bool whole = have == d->index && it->second.chunks.rbegin()->first == d->index - 1;
      if (!whole)  // the chunks stay: the store's offset stays before them
        return at + "\"" + shown(d->key) + "\" has " + std::to_string(d->index) + " chunks, but " +
               std::to_string(have) + " came before it";
      std::string value;
      for (const auto& [i, bytes] : it->second.chunks) value += bytes;
      forget(d->key);
      ops_.push_back({d->key, std::move(value)});
      return {};
    }
    case decoded::kind::put:
      forget(d->key);  // chunks of a write that never finished (not committed)
      ops_.push_back({d->key, std::string(d->value)});
      return {};
    case decoded::kind::erase:
      forget(d->key);
      ops_.push_back({d->key, std::nullopt});
      return {};
  }
  return {};
}

std::int64_t applier::applied() const {
  auto at = last_;
  for (const auto& [key, p] : pending_) at = std::min(at, p.first_offset - 1);
  return at;
}

void applier::flush() {
  auto at = applied();
  taken_ = 0;
  if (ops_.empty() && at == written_) return;
  batch b = std::move(ops_);
  ops_.clear();
  if (at >= 0) {
    auto offsets = offset_ops(k_, at);
    b.insert(b.end(), offsets.begin(), offsets.end());
  }
  // unsynced: the changelog is the durable copy, and the restore syncs the store once at its end
  store_.write(b, false);
  written_ = at;
}

void wipe_partition(store& s, int k, const std::function<bool(std::string_view)>& in_partition) {
  std::set<std::string> names;
  for (const char* tag : {"pipeline", "version", "usage", "check"}) {
    const auto prefix = keys::prefix({tag});
    s.scan(prefix, [&](std::string_view key, std::string_view) {
      auto name = key.substr(prefix.size());
      name = name.substr(0, name.find('\0'));
      if (names.count(std::string(name)) == 0 && in_partition(name)) names.emplace(name);
    });
  }
  batch ops;
  for (const auto& name : names) {
    ops.push_back({keys::pipeline(name), std::nullopt});
    for (const char* tag : {"version", "usage", "check", "build"})
      ops.push_back({keys::prefix({tag, name}), std::nullopt, true});
  }
  // an outbox message's key names no pipeline: its record does (actors/model/notification.hpp)
  s.scan(keys::prefix({"outbox"}), [&](std::string_view key, std::string_view value) {
    auto j = nlohmann::json::parse(value, nullptr, false);
    auto p = j.is_object() ? j.find("pipeline") : j.end();
    if (p != j.end() && p->is_string() && in_partition(p->get_ref<const std::string&>()))
      ops.push_back({std::string(key), std::nullopt});
  });
  ops.push_back({keys::changelog_offset(k), std::nullopt});
  ops.push_back({keys::changelog_at(k), std::nullopt});
  s.write(ops);
}

}  // namespace pikoci::persistence::changelog
