// A build stream's event ids (stream_position) and resuming after one: what a subscriber that
// reconnects with the id of the last event it got is sent.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "actors/model/build.hpp"
#include "actors/model/capped_log.hpp"

using namespace pikoci;
using namespace pikoci::model;
using namespace std::chrono_literals;

namespace {

struct event {
  std::string type;
  nlohmann::json data;
  std::string id;
};

/// A build run event by event; `live` is what a subscriber from the start gets (each event
/// with the position the job gives it: the record's position once the event is applied).
struct live_build {
  build_record b;
  std::vector<event> live;
  time_point t0 = time_point{} + 1000h;

  void start(const work::step_ref& r) {
    b.step_started(r, t0);
    live.push_back({"step", b.step_event(r), b.position().str()});
  }
  void log(const work::step_ref& r, const std::string& chunk) {
    b.step_log(r, chunk);
    live.push_back({"log", {{"step", r.id}, {"chunk", chunk}}, b.position().str()});
  }
  void done(const work::step_ref& r) {
    b.step_finished(r, work::status::succeeded, t0 + 1s);
    live.push_back({"step", b.step_event(r), b.position().str()});
  }
};

std::vector<event> resumed(build_record& b, const std::string& id) {
  std::vector<event> out;
  auto from = stream_position::parse(id);
  REQUIRE(from);
  bool ok = b.resume(*from, [&](const char* t, nlohmann::json d, const std::string& i) {
    out.push_back({t, std::move(d), i});
  });
  REQUIRE(ok);
  return out;
}

/// Every step's output as the events carry it, in order.
std::map<std::string, std::string> output_of(const std::vector<event>& events) {
  std::map<std::string, std::string> out;
  for (const auto& e : events)
    if (e.type == "log") out[e.data["step"].get<std::string>()] += e.data["chunk"].get<std::string>();
  return out;
}

/// The steps whose `step` event said they finished.
std::map<std::string, int> finished_of(const std::vector<event>& events) {
  std::map<std::string, int> out;
  for (const auto& e : events)
    if (e.type == "step" && !e.data["finished_at"].is_null()) ++out[e.data["id"].get<std::string>()];
  return out;
}

const work::step_ref group{"g", "in_parallel", "both", "", false};
const work::step_ref a{"a", "task", "a", "g", false};
const work::step_ref b{"b", "task", "b", "g", false};
const work::step_ref c{"c", "task", "c", "", false};
const work::step_ref h{"h", "hook", "ensure", "", true};

/// Two steps in parallel with interleaved output, one after them, a job hook.
live_build parallel_build() {
  live_build l;
  l.start(group);
  l.start(a);
  l.start(b);
  l.log(a, "a1\n");
  l.log(b, "b1\n");
  l.log(a, "a2\n");
  l.done(a);
  l.log(b, "b2\n");
  l.done(b);
  l.done(group);
  l.start(c);
  l.log(c, "c1\n");
  l.log(c, "c2\n");
  l.done(c);
  l.start(h);
  l.log(h, "h1\n");
  return l;
}

}  // namespace

TEST_SUITE("model.stream_position") {
  TEST_CASE("an id reads back as the position it names; other text does not") {
    stream_position p;
    p.attempt = 2;
    p.started = 5;
    p.partials[1] = {1024, false};
    p.partials[4] = {0, true};
    CHECK(p.str() == "2.5:1.1024:4.0f");
    auto back = stream_position::parse(p.str());
    REQUIRE(back);
    CHECK(*back == p);
    CHECK(stream_position::parse("0.0"));
    CHECK(stream_position::parse("1.3"));
    for (const char* bad : {"", "1", "1.", ".1", "a.1", "1.2:", "1.2:1", "1.2:1.", "1.2:1.5x",
                            "01.2", "1.02", "1.2:2.0" /* seq not started */,
                            "1.3:1.0:1.0" /* twice */, "1.3:2.0:1.0" /* out of order */,
                            "0.3" /* nothing seen yet steps seen */, "-1.0", "1.2 ", " 1.2",
                            "1.2:1.99999999999999999999", "9999999.0"})
      CHECK_MESSAGE(!stream_position::parse(bad), bad);
    CHECK_FALSE(stream_position::parse(std::string(stream_position::max_text + 1, '1')));
  }

  TEST_CASE("a live id names what the subscriber has: started steps, partial output") {
    auto l = parallel_build();
    // after "a1": g, a, b started; a has 3 bytes, b none; nothing finished
    CHECK(l.live[3].id == "1.3:0.0:1.3:2.0");
    // a finished: no longer partial
    CHECK(l.live[6].id == "1.3:0.0:2.3");
    CHECK(l.live.back().id == "1.5:4.3");
    CHECK(l.b.position().str() == "1.5:4.3");
  }

  TEST_CASE("resuming after any live event sends exactly what came after it") {
    auto l = parallel_build();
    auto all = output_of(l.live);
    CHECK(all["a"] == "a1\na2\n");
    for (std::size_t k = 0; k < l.live.size(); ++k) {
      CAPTURE(k);
      std::vector<event> seen(l.live.begin(), l.live.begin() + static_cast<long>(k) + 1);
      auto rest = resumed(l.b, l.live[k].id);
      auto before = output_of(seen), after = output_of(rest);
      for (const auto& [step, text] : all) CHECK(before[step] + after[step] == text);
      // every finished step is seen finished, once
      auto fin = finished_of(seen);
      for (const auto& [step, n] : finished_of(rest)) fin[step] += n;
      CHECK(fin == std::map<std::string, int>{{"a", 1}, {"b", 1}, {"g", 1}, {"c", 1}});
      // and the subscriber ends where a live one is
      if (!rest.empty()) CHECK(rest.back().id == l.b.position().str());
    }
  }

  TEST_CASE("a replay, and a resume after any of its events, send everything once") {
    auto l = parallel_build();
    std::vector<event> replay;
    l.b.replay([&](const char* t, nlohmann::json d, const std::string& id) {
      replay.push_back({t, std::move(d), id});
    });
    // in start order: a parent before its children, output after its step
    std::vector<std::string> order;
    for (const auto& e : replay)
      order.push_back(e.type + ":" + (e.type == "step" ? e.data["id"] : e.data["step"]).get<std::string>());
    CHECK(order == std::vector<std::string>{"step:g", "step:a", "log:a", "step:b", "log:b",
                                            "step:c", "log:c", "step:h", "log:h"});
    CHECK(replay.back().id == l.b.position().str());
    auto all = output_of(l.live);
    for (std::size_t k = 0; k < replay.size(); ++k) {
      CAPTURE(k);
      std::vector<event> seen(replay.begin(), replay.begin() + static_cast<long>(k) + 1);
      auto rest = resumed(l.b, replay[k].id);
      auto before = output_of(seen), after = output_of(rest);
      for (const auto& [step, text] : all) CHECK(before[step] + after[step] == text);
      auto fin = finished_of(seen);
      for (const auto& [step, n] : finished_of(rest)) fin[step] += n;
      CHECK(fin == std::map<std::string, int>{{"a", 1}, {"b", 1}, {"g", 1}, {"c", 1}});
    }
  }

  TEST_CASE("a resumed step sends only the bytes after the offset, then its end") {
    live_build l;
    l.start(c);
    l.log(c, "one\n");
    auto id = l.live.back().id;  // "1.1:0.4"
    CHECK(id == "1.1:0.4");
    l.log(c, "two\n");
    l.log(c, "three\n");
    l.done(c);
    auto rest = resumed(l.b, id);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].type == "log");
    CHECK(rest[0].data["chunk"] == "two\nthree\n");
    CHECK(rest[1].type == "step");
    CHECK(rest[1].data["status"] == "succeeded");
    CHECK(rest[1].id == "1.1");
    // nothing after the newest id
    CHECK(resumed(l.b, l.live.back().id).empty());
  }

  TEST_CASE("a position the build does not have resumes nothing") {
    auto l = parallel_build();
    int visited = 0;
    auto count = [&](const char*, nlohmann::json, const std::string&) { ++visited; };
    for (const char* past : {"1.9" /* more steps */, "1.5:4.999" /* more output */,
                             "2.0" /* another attempt */, "1.5" /* h seen finished: it is not */,
                             "1.5:3.0f:4.3" /* c... fine */}) {
      auto p = stream_position::parse(past);
      REQUIRE(p);
      bool ok = l.b.resume(*p, count);
      if (std::string(past) == "1.5:3.0f:4.3") {
        CHECK(ok);  // c seen finished without output: its output comes
        continue;
      }
      CHECK_MESSAGE(!ok, past);
    }
    CHECK(visited == 1);  // c's log, from the one that was fine
  }

  TEST_CASE("a stored build gives the same ids, dropped output included") {
    auto l = parallel_build();
    auto restored = build_record::from_record(l.b.to_record());
    CHECK(restored.position().str() == l.b.position().str());
    for (const auto& e : l.live) {
      auto x = resumed(l.b, e.id), y = resumed(restored, e.id);
      REQUIRE(x.size() == y.size());
      for (std::size_t i = 0; i < x.size(); ++i) {
        CHECK(x[i].id == y[i].id);
        CHECK(x[i].data == y[i].data);
      }
    }
    // a step that printed more than its log keeps: the offset still counts every byte
    live_build big;
    big.start(c);
    std::string line(1023, 'x');
    line += '\n';
    for (int i = 0; i < 6 * 1024; ++i) big.b.step_log(c, line);  // 6 MiB, 4 MiB kept
    auto back = build_record::from_record(big.b.to_record());
    CHECK(back.position().str() == big.b.position().str());
    CHECK(back.position().str() == "1.1:0.6291456");
  }

  TEST_CASE("a record stored before steps had a place is numbered in its order") {
    auto l = parallel_build();
    auto text = l.b.to_record();
    // drop every "seq" field
    std::string old;
    for (std::size_t i = 0; i < text.size();) {
      auto at = text.find(",\"seq\":", i);
      if (at == std::string::npos) {
        old += text.substr(i);
        break;
      }
      old += text.substr(i, at - i);
      i = text.find_first_of(",}", at + 7);
    }
    CHECK(old.find("\"seq\"") == std::string::npos);
    auto restored = build_record::from_record(old);
    CHECK(restored.position().str() == "1.5:4.3");
    std::vector<event> replay;
    restored.replay([&](const char* t, nlohmann::json d, const std::string& id) {
      replay.push_back({t, std::move(d), id});
    });
    CHECK(output_of(replay) == output_of(l.live));
  }

  TEST_CASE("attempts: a resume in an earlier attempt sends its rest, then the later ones") {
    live_build l;
    l.b.worker = "w1";
    l.start(c);
    l.log(c, "first\n");
    auto id = l.live.back().id;
    l.log(c, "more\n");
    l.b.begin_attempt(2, "worker w1 lost: gone");
    l.live.push_back({"attempt", l.b.attempt_event(), l.b.position().str()});
    CHECK(l.live.back().id == "2.0");
    l.start(c);
    l.log(c, "again\n");
    auto rest = resumed(l.b, id);
    std::vector<std::string> got;
    for (const auto& e : rest)
      got.push_back(e.type + (e.type == "log" ? ":" + e.data["chunk"].get<std::string>() : ""));
    CHECK(got == std::vector<std::string>{"log:more\n", "attempt", "step", "log:again\n"});
    CHECK(rest.back().id == l.b.position().str());
    CHECK(resumed(l.b, "2.0").size() == 2);
    // the full replay opens with attempt 1's marker
    std::vector<event> replay;
    l.b.replay([&](const char* t, nlohmann::json d, const std::string& i) {
      replay.push_back({t, std::move(d), i});
    });
    REQUIRE(replay.size() == 6);
    CHECK(replay[0].type == "attempt");
    CHECK(replay[0].id == "1.0");
  }
}

TEST_CASE("capped log: what follows an offset, and the stored form read back") {
  capped_log log(8);
  log.append("0123456789");  // 10 bytes: kept as they are until 1.25 × cap
  log.append("abcdef");      // 16: the oldest 8 dropped
  CHECK(log.total() == 16);
  CHECK(log.dropped() == 8);
  CHECK(log.after(12) == "cdef");
  CHECK(log.after(16).empty());
  CHECK(log.after(99).empty());
  CHECK(log.after(5) == "[... 3 bytes of earlier output dropped ...]\n89abcdef");
  capped_log back(8);
  back.restore(log.str(), log.dropped());
  CHECK(back.total() == 16);
  CHECK(back.after(12) == "cdef");
  CHECK(back.str() == log.str());
  // a log whose text does not start with the marker it claims is taken as text
  capped_log odd(64);
  odd.restore("no marker", 5);
  CHECK(odd.total() == 9);
}
