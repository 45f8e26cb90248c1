#include "actors/model/build.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "config/pipeline/utf8.hpp"

namespace pikoci::model {

namespace {
nlohmann::json time_or_null(const std::optional<time_point>& t) {
  return t ? nlohmann::json(format_time(*t)) : nlohmann::json(nullptr);
}

step_record* find_in(std::vector<step_record>& steps, const std::string& id) {
  for (auto& s : steps) {
    if (s.id == id) return &s;
    if (auto* child = find_in(s.steps, id)) return child;
  }
  return nullptr;
}

nlohmann::json approvals_json(const std::vector<approval_record>& approvals) {
  auto out = nlohmann::json::array();
  for (const auto& a : approvals)
    out.push_back({{"username", a.username},
                   {"action", a.approved ? "approved" : "rejected"},
                   {"message", a.message},
                   {"created_at", format_time(a.created_at)}});
  return out;
}

std::vector<approval_record> approvals_from(const nlohmann::json& j) {
  std::vector<approval_record> out;
  if (!j.is_array()) return out;  // records written before approval gates
  for (const auto& a : j)
    out.push_back({a.at("username").get<std::string>(), a.at("action") == "approved",
                   a.at("message").get<std::string>(),
                   parse_time(a.at("created_at").get<std::string>())});
  return out;
}

nlohmann::json step_json(const step_record& s) {
  nlohmann::json j{{"type", s.type},
                   {"name", s.name},
                   {"status", to_string(s.status)},
                   {"started_at", time_or_null(s.started_at)},
                   {"finished_at", time_or_null(s.finished_at)},
                   {"logs", s.logs.str()}};
  // groups show their records: in_parallel's children, a conditional step's branches and the
  // steps of the branch that ran
  if (s.type == "in_parallel" || s.type == "if" || s.type == "else_if" || s.type == "else") {
    j["steps"] = nlohmann::json::array();
    for (const auto& c : s.steps) j["steps"].push_back(step_json(c));
  }
  return j;
}

std::int64_t ms_of(time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

nlohmann::json step_record_json(const step_record& s) {
  auto j = step_json(s);
  j["id"] = s.id;
  j["seq"] = s.seq;
  if (auto d = s.logs.dropped()) j["log_dropped"] = d;
  j["steps"] = nlohmann::json::array();
  for (const auto& c : s.steps) j["steps"].push_back(step_record_json(c));
  return j;
}

std::optional<time_point> time_from(const nlohmann::json& j) {
  if (j.is_null()) return std::nullopt;
  return parse_time(j.get<std::string>());
}

build_status status_from(const nlohmann::json& j) {
  auto st = parse_build_status(j.get<std::string>());
  if (!st) throw std::invalid_argument("unknown build status " + j.dump());
  return *st;
}

step_record step_from(const nlohmann::json& j) {
  step_record s;
  s.id = j.at("id").get<std::string>();
  s.type = j.at("type").get<std::string>();
  s.name = j.at("name").get<std::string>();
  s.status = status_from(j.at("status"));
  s.started_at = time_from(j.at("started_at"));
  s.finished_at = time_from(j.at("finished_at"));
  s.seq = j.value("seq", -1);  // records written before steps had one are numbered on use
  s.logs.restore(j.at("logs").get<std::string>(), j.value("log_dropped", std::size_t{0}));
  for (const auto& c : j.at("steps")) s.steps.push_back(step_from(c));
  return s;
}

}  // namespace

std::string format_time(time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

time_point parse_time(const std::string& text) {
  // exactly the shape format_time writes: YYYY-MM-DDTHH:MM:SS.mmmZ (hot at restart: no sscanf)
  auto bad = [&] { return std::invalid_argument("not an RFC 3339 UTC time: \"" + text + "\""); };
  if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != '.' || text[23] != 'Z')
    throw bad();
  auto num = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') throw bad();
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (m < 1 || m > 12 || d < 1 || d > 31) throw bad();
  // days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(m + (m > 2 ? -3 : 9)) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  std::int64_t secs = days * 86400 + num(11, 2) * 3600 + num(14, 2) * 60 + num(17, 2);
  return time_point(std::chrono::seconds(secs)) + std::chrono::milliseconds(num(20, 3));
}

namespace {
/// What the steps line of a stored build holds.
struct step_lists {
  std::vector<step_record> steps, hooks;
  std::vector<attempt_record> attempts;
};

/// A damaged steps line (the summary line parsed) reads as no steps rather than failing the
/// actor that shows the build; RocksDB's checksums make it very unlikely.
step_lists steps_from_line(std::string_view line) {
  step_lists out;
  try {
    auto j = nlohmann::json::parse(line);
    for (const auto& st : j.at("steps")) out.steps.push_back(step_from(st));
    for (const auto& h : j.at("hooks")) out.hooks.push_back(step_from(h));
    for (const auto& a : j.value("attempts", nlohmann::json::array())) {
      attempt_record r{a.at("attempt").get<int>(),
                       a.at("worker").get<std::string>(),
                       a.at("ended").get<std::string>(),
                       {},
                       {}};
      for (const auto& st : a.at("steps")) r.steps.push_back(step_from(st));
      for (const auto& h : a.at("hooks")) r.hooks.push_back(step_from(h));
      out.attempts.push_back(std::move(r));
    }
  } catch (const std::exception&) {
    return {};
  }
  return out;
}

/// How attempt `a` started: its worker (the first), or why the one before ended.
std::string opened_by(const std::vector<attempt_record>& earlier, std::size_t index,
                      const std::string& worker) {
  if (index > 0) return earlier[index - 1].ended;
  return worker.empty() ? "no worker" : "worker " + worker;
}
}  // namespace

std::string attempt_marker(int n, const std::string& why) {
  return "--- attempt " + std::to_string(n) + " (" + why + ") ---";
}

void build_record::load_steps() {
  if (stored_steps_.empty()) return;
  auto lists = steps_from_line(stored_steps_);
  steps = std::move(lists.steps);
  hooks = std::move(lists.hooks);
  attempts = std::move(lists.attempts);
  stored_steps_.clear();
  stored_steps_.shrink_to_fit();
}

void build_record::begin_attempt(int next, const std::string& ended) {
  load_steps();
  attempts.push_back({attempt, worker, ended, std::move(steps), std::move(hooks)});
  steps.clear();
  hooks.clear();
  attempt = next;
  worker.clear();
}

nlohmann::json build_record::attempt_event() const {
  if (attempts.empty()) return nullptr;
  return {{"attempt", attempt}, {"marker", attempt_marker(attempt, attempts.back().ended)}};
}

step_record* build_record::find(const work::step_ref& ref) {
  load_steps();
  if (auto* s = find_in(steps, ref.id)) return s;
  return find_in(hooks, ref.id);
}

namespace {
std::size_t count_steps(const std::vector<step_record>& steps) {
  std::size_t n = steps.size();
  for (const auto& s : steps) n += count_steps(s.steps);
  return n;
}
}  // namespace

void build_record::step_started(const work::step_ref& ref, time_point now) {
  load_steps();
  step_record rec;
  rec.seq = static_cast<int>(count_steps(steps) + count_steps(hooks));
  rec.id = ref.id;
  rec.type = ref.type;
  rec.name = ref.name;
  rec.started_at = now;
  if (ref.job_hook) {
    hooks.push_back(std::move(rec));
    return;
  }
  if (!ref.parent.empty()) {
    if (auto* parent = find_in(steps, ref.parent)) {
      parent->steps.push_back(std::move(rec));
      return;
    }
  }
  steps.push_back(std::move(rec));
}

void build_record::step_log(const work::step_ref& ref, std::string_view chunk) {
  if (auto* s = find(ref)) s->logs.append(chunk);
}

const step_record* build_record::step_finished(const work::step_ref& ref, work::status st,
                                               time_point now) {
  auto* s = find(ref);
  if (s != nullptr) {
    s->status = st;
    s->finished_at = now;
  }
  return s;
}

namespace {
/// A step's `step` event (SPEC §3.1 events): its state without the logs.
nlohmann::json step_event_of(const step_record& s, const std::string& parent, bool job_hook) {
  return {{"id", s.id},
          {"parent", parent},
          {"type", s.type},
          {"name", s.name},
          {"job_hook", job_hook},
          {"status", to_string(s.status)},
          {"started_at", time_or_null(s.started_at)},
          {"finished_at", time_or_null(s.finished_at)}};
}

/// One step of an attempt in start order, with where it sits.
struct flat_step {
  const step_record* step;
  const std::string* parent;
  bool job_hook;
};

void flatten_into(std::vector<step_record>& steps, const std::string& parent, bool job_hook,
                  std::vector<std::pair<step_record*, flat_step>>& out) {
  for (auto& s : steps) {
    out.push_back({&s, {&s, &parent, job_hook}});
    flatten_into(s.steps, s.id, job_hook, out);
  }
}

/// The steps and hooks of one attempt by `seq`. Steps without a usable `seq` (records stored
/// before they had one) are numbered in the record's order first, the same on every node.
std::vector<flat_step> flatten(std::vector<step_record>& steps, std::vector<step_record>& hooks) {
  static const std::string none;
  std::vector<std::pair<step_record*, flat_step>> all;
  flatten_into(steps, none, false, all);
  flatten_into(hooks, none, true, all);
  std::vector<flat_step> out(all.size(), flat_step{nullptr, nullptr, false});
  bool whole = true;
  for (auto& [rec, f] : all) {
    if (rec->seq < 0 || static_cast<std::size_t>(rec->seq) >= all.size() ||
        out[static_cast<std::size_t>(rec->seq)].step != nullptr) {
      whole = false;
      break;
    }
    out[static_cast<std::size_t>(rec->seq)] = f;
  }
  if (!whole) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      all[i].first->seq = static_cast<int>(i);
      out[i] = all[i].second;
    }
  }
  return out;
}

bool finished(const step_record& s) {
  return s.finished_at.has_value();
}

/// Whether `from` (in this attempt) names steps and output this attempt has.
bool within(const std::vector<flat_step>& flat, const stream_position& from) {
  if (from.started < 0 || static_cast<std::size_t>(from.started) > flat.size()) return false;
  for (int i = 0; i < from.started; ++i) {
    const auto& s = *flat[static_cast<std::size_t>(i)].step;
    auto p = from.partials.find(i);
    if (p == from.partials.end()) {
      if (!finished(s)) return false;
    } else if (p->second.bytes > s.logs.total() || (p->second.finished && !finished(s))) {
      return false;
    }
  }
  return true;
}

/// Sends what one attempt has after `at` (updated as it goes: each event's id is `at` after it).
void walk(const std::vector<flat_step>& flat, stream_position& at,
          const build_record::event_fn& visit) {
  for (std::size_t i = 0; i < flat.size(); ++i) {
    const auto& f = flat[i];
    const auto& s = *f.step;
    int seq = static_cast<int>(i);
    auto total = s.logs.total();
    if (seq < at.started) {
      auto p = at.partials.find(seq);
      if (p == at.partials.end()) continue;
      if (total > p->second.bytes) {
        auto chunk = s.logs.after(p->second.bytes);
        p->second.bytes = total;
        if (p->second.finished) at.partials.erase(p);
        visit("log", {{"step", s.id}, {"chunk", std::move(chunk)}}, at.str());
      }
      p = at.partials.find(seq);
      if (p != at.partials.end() && finished(s)) {
        at.partials.erase(p);
        visit("step", step_event_of(s, *f.parent, f.job_hook), at.str());
      }
      continue;
    }
    at.started = seq + 1;
    if (!finished(s) || total > 0) at.partials[seq] = {0, finished(s)};
    visit("step", step_event_of(s, *f.parent, f.job_hook), at.str());
    if (total > 0) {
      if (finished(s)) {
        at.partials.erase(seq);
      } else {
        at.partials[seq].bytes = total;
      }
      visit("log", {{"step", s.id}, {"chunk", s.logs.str()}}, at.str());
    }
  }
}
}  // namespace

nlohmann::json build_record::step_event(const work::step_ref& ref) {
  auto* s = find(ref);
  if (s == nullptr) return nullptr;
  return step_event_of(*s, ref.parent, ref.job_hook);
}

stream_position build_record::position() {
  load_steps();
  stream_position out;
  out.attempt = attempt;
  auto flat = flatten(steps, hooks);
  out.started = static_cast<int>(flat.size());
  for (std::size_t i = 0; i < flat.size(); ++i)
    if (!finished(*flat[i].step)) out.partials[static_cast<int>(i)] = {flat[i].step->logs.total(), false};
  return out;
}

bool build_record::resume(const stream_position& from, const event_fn& visit) {
  load_steps();
  // the attempt `from` is in: 0 (nothing seen), an earlier one, or the current one
  std::size_t first = 0;  // index in `attempts` of the first attempt to walk
  if (from.attempt == 0) {
    if (from.started != 0 || !from.partials.empty()) return false;
  } else if (from.attempt == attempt) {
    first = attempts.size();
  } else {
    first = attempts.size();
    for (std::size_t i = 0; i < attempts.size(); ++i)
      if (attempts[i].attempt == from.attempt) first = i;
    if (first == attempts.size()) return false;
  }
  auto flat_of = [&](std::size_t i) {
    return i < attempts.size() ? flatten(attempts[i].steps, attempts[i].hooks)
                               : flatten(steps, hooks);
  };
  stream_position at = from;
  if (from.attempt != 0) {
    auto flat = flat_of(first);
    if (!within(flat, from)) return false;
    // a step seen finished with all of its output has nothing left to send
    for (auto p = at.partials.begin(); p != at.partials.end();) {
      bool done = p->second.finished &&
                  p->second.bytes == flat[static_cast<std::size_t>(p->first)].step->logs.total();
      p = done ? at.partials.erase(p) : std::next(p);
    }
    walk(flat, at, visit);
    ++first;
  }
  for (std::size_t i = first; i <= attempts.size(); ++i) {
    nlohmann::json opened;
    if (i < attempts.size()) {
      opened = {{"attempt", attempts[i].attempt},
                {"marker", attempt_marker(attempts[i].attempt,
                                          opened_by(attempts, i, attempts[i].worker))}};
    } else {
      opened = attempt_event();
    }
    at = stream_position{};
    at.attempt = i < attempts.size() ? attempts[i].attempt : attempt;
    if (!opened.is_null()) visit("attempt", std::move(opened), at.str());
    walk(flat_of(i), at, visit);
  }
  return true;
}

std::string stream_position::str() const {
  std::string out = std::to_string(attempt) + "." + std::to_string(started);
  for (const auto& [seq, p] : partials) {
    out += ":" + std::to_string(seq) + "." + std::to_string(p.bytes);
    if (p.finished) out += "f";
  }
  return out;
}

std::optional<stream_position> stream_position::parse(std::string_view text) {
  if (text.empty() || text.size() > max_text) return std::nullopt;
  std::size_t at = 0;
  // a decimal number of at most `digits` digits, no sign, no leading zero
  auto number = [&](std::size_t digits) -> std::optional<std::uint64_t> {
    std::size_t start = at;
    std::uint64_t v = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && at - start < digits)
      v = v * 10 + static_cast<std::uint64_t>(text[at++] - '0');
    if (at == start || (text[start] == '0' && at - start > 1)) return std::nullopt;
    if (at < text.size() && text[at] >= '0' && text[at] <= '9') return std::nullopt;
    return v;
  };
  auto expect = [&](char c) {
    if (at >= text.size() || text[at] != c) return false;
    ++at;
    return true;
  };
  stream_position out;
  auto a = number(6);
  if (!a || !expect('.')) return std::nullopt;
  auto n = number(7);
  if (!n) return std::nullopt;
  out.attempt = static_cast<int>(*a);
  out.started = static_cast<int>(*n);
  int last = -1;
  while (at < text.size()) {
    if (!expect(':')) return std::nullopt;
    auto seq = number(7);
    if (!seq || !expect('.')) return std::nullopt;
    auto bytes = number(15);
    if (!bytes) return std::nullopt;
    bool fin = at < text.size() && text[at] == 'f';
    if (fin) ++at;
    if (static_cast<int>(*seq) <= last || static_cast<int>(*seq) >= out.started) return std::nullopt;
    last = static_cast<int>(*seq);
    out.partials[last] = {static_cast<std::size_t>(*bytes), fin};
  }
  if (out.attempt == 0 && (out.started != 0)) return std::nullopt;
  return out;
}

nlohmann::json build_record::to_json(bool full) const {
  nlohmann::json inputs_json = nlohmann::json::array();
  for (const auto& in : inputs)
    inputs_json.push_back({{"name", in.name},
                           {"resource", in.resource},
                           {"version_id", in.version_id},
                           {"version", in.version}});
  nlohmann::json duration = nullptr;
  if (started_at && finished_at)
    // from the millisecond timestamps shown (and stored), so it reads the same after a restore
    duration = ms_of(*finished_at) - ms_of(*started_at);
  nlohmann::json j{{"id", id},
                   {"pipeline", pipeline},
                   {"job", job},
                   {"number", number},
                   {"status", to_string(status)},
                   {"reason", reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(reason)},
                   {"trigger", trigger},
                   {"attempt", attempt},
                   {"worker", worker.empty() ? nlohmann::json(nullptr) : nlohmann::json(worker)},
                   {"concurrency_group", concurrency_group ? nlohmann::json(*concurrency_group)
                                                           : nlohmann::json(nullptr)},
                   {"created_at", format_time(created_at)},
                   {"started_at", time_or_null(started_at)},
                   {"finished_at", time_or_null(finished_at)},
                   {"duration_ms", duration},
                   {"inputs", inputs_json},
                   {"approvals_required", approvals_required},
                   {"approvals", approvals_json(approvals)}};
  if (full) {
    step_lists parsed;
    if (!stored_steps_.empty()) parsed = steps_from_line(stored_steps_);
    const auto& shown_steps = stored_steps_.empty() ? steps : parsed.steps;
    const auto& shown_hooks = stored_steps_.empty() ? hooks : parsed.hooks;
    const auto& shown_attempts = stored_steps_.empty() ? attempts : parsed.attempts;
    j["steps"] = nlohmann::json::array();
    for (const auto& s : shown_steps) j["steps"].push_back(step_json(s));
    j["hooks"] = nlohmann::json::array();
    for (const auto& h : shown_hooks) j["hooks"].push_back(step_json(h));
    // earlier attempts, each under its marker; the current one's marker opens `steps`
    j["attempts"] = nlohmann::json::array();
    for (std::size_t i = 0; i < shown_attempts.size(); ++i) {
      const auto& a = shown_attempts[i];
      nlohmann::json aj{
          {"attempt", a.attempt},
          {"worker", a.worker.empty() ? nlohmann::json(nullptr) : nlohmann::json(a.worker)},
          {"ended", a.ended},
          {"marker", attempt_marker(a.attempt, opened_by(shown_attempts, i, a.worker))},
          {"steps", nlohmann::json::array()},
          {"hooks", nlohmann::json::array()}};
      for (const auto& s : a.steps) aj["steps"].push_back(step_json(s));
      for (const auto& h : a.hooks) aj["hooks"].push_back(step_json(h));
      j["attempts"].push_back(std::move(aj));
    }
    if (!shown_attempts.empty())
      j["attempt_marker"] = attempt_marker(attempt, shown_attempts.back().ended);
  }
  return j;
}

std::string build_record::to_record() const {
  auto j = to_json(false);
  j["input_values"] = input_values;
  j["queue_seq"] = queue_seq;
  j["dispatched"] = dispatched;
  std::string out = hcl::to_json_text(j);
  out += '\n';  // dump() escapes newlines inside strings: the line break is unambiguous
  if (!stored_steps_.empty()) return out + stored_steps_;
  nlohmann::json d{{"steps", nlohmann::json::array()}, {"hooks", nlohmann::json::array()}};
  for (const auto& st : steps) d["steps"].push_back(step_record_json(st));
  for (const auto& h : hooks) d["hooks"].push_back(step_record_json(h));
  if (!attempts.empty()) {
    d["attempts"] = nlohmann::json::array();
    for (const auto& a : attempts) {
      nlohmann::json aj{{"attempt", a.attempt},
                        {"worker", a.worker},
                        {"ended", a.ended},
                        {"steps", nlohmann::json::array()},
                        {"hooks", nlohmann::json::array()}};
      for (const auto& st : a.steps) aj["steps"].push_back(step_record_json(st));
      for (const auto& h : a.hooks) aj["hooks"].push_back(step_record_json(h));
      d["attempts"].push_back(std::move(aj));
    }
  }
  return out + hcl::to_json_text(d);
}

build_record build_record::from_record(std::string_view text) {
  auto nl = text.find('\n');
  if (nl == std::string_view::npos)
    throw std::invalid_argument("build record without its steps line");
  auto j = nlohmann::json::parse(text.substr(0, nl));
  build_record b;
  b.id = j.at("id").get<std::int64_t>();
  b.pipeline = j.at("pipeline").get<std::string>();
  b.job = j.at("job").get<std::string>();
  b.number = j.at("number").get<std::string>();
  b.status = status_from(j.at("status"));
  if (!j.at("reason").is_null()) b.reason = j.at("reason").get<std::string>();
  b.trigger = j.at("trigger");
  b.attempt = j.at("attempt").get<int>();
  if (!j.at("worker").is_null()) b.worker = j.at("worker").get<std::string>();
  if (!j.at("concurrency_group").is_null())
    b.concurrency_group = j.at("concurrency_group").get<std::string>();
  b.created_at = parse_time(j.at("created_at").get<std::string>());
  b.started_at = time_from(j.at("started_at"));
  b.finished_at = time_from(j.at("finished_at"));
  for (const auto& in : j.at("inputs"))
    b.inputs.push_back({in.at("name").get<std::string>(), in.at("resource").get<std::string>(),
                        in.at("version_id").get<std::int64_t>(), in.at("version")});
  b.stored_steps_ = std::string(text.substr(nl + 1));
  b.input_values = j.at("input_values").get<std::map<std::string, std::string>>();
  b.queue_seq = j.at("queue_seq").get<std::uint64_t>();
  b.dispatched = j.value("dispatched", false);
  b.approvals_required = j.value("approvals_required", 0);
  b.approvals = approvals_from(j.value("approvals", nlohmann::json()));
  return b;
}

bool build_record::approved_by(const std::string& username) const {
  return std::any_of(approvals.begin(), approvals.end(), [&](const approval_record& a) {
    return a.approved && a.username == username;
  });
}

bool build_record::passed_gate() const {
  if (approvals_required == 0) return false;
  int approved = 0;
  for (const auto& a : approvals) {
    if (!a.approved) return false;
    ++approved;
  }
  return approved >= approvals_required;
}

std::string build_numbering::next() {
  return std::to_string(++last_);
}

std::string build_numbering::next_retry(const std::string& parent) {
  std::string base = parent.substr(0, parent.find('.'));
  return base + "." + std::to_string(++retries_[base]);
}

void build_numbering::forget(const std::string& number) {
  auto dot = number.find('.');
  if (dot == std::string::npos) {
    if (number == std::to_string(last_)) --last_;
    return;
  }
  auto it = retries_.find(number.substr(0, dot));
  if (it != retries_.end() && number.substr(dot + 1) == std::to_string(it->second)) --it->second;
}

void build_numbering::observe(const std::string& number) {
  auto dot = number.find('.');
  std::string base = number.substr(0, dot);
  std::int64_t n = 0;
  for (char c : base) {
    if (c < '0' || c > '9') return;
    n = n * 10 + (c - '0');
  }
  if (dot == std::string::npos) {
    last_ = std::max(last_, n);
    return;
  }
  std::int64_t sub = 0;
  for (char c : number.substr(dot + 1)) {
    if (c < '0' || c > '9') return;
    sub = sub * 10 + (c - '0');
  }
  auto& r = retries_[base];
  r = std::max(r, sub);
}

}  // namespace pikoci::model
