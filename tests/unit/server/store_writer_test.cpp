// The store writer when the store fails (a full or read-only disk): waiting writers hear false,
// what nobody waited for is kept and written in order once the store takes writes again, and
// the writer tries the store again by itself.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/server/store_writer.hpp"

using namespace pikoci;
using namespace std::chrono_literals;

namespace {

/// A store that fails every write while `failing` is set; `recover` succeeds once it is cleared.
class flaky_store final : public persistence::store {
 public:
  std::atomic<bool> failing{false};
  std::atomic<int> recoveries{0};

  const char* kind() const override { return "flaky"; }
  void write(const persistence::batch& ops, bool) override {
    if (failing) throw persistence::store_error("no space left on device");
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& op : ops) writes_.push_back(op.key + "=" + op.value.value_or("-"));
  }
  void scan(std::string_view,
            const std::function<void(std::string_view, std::string_view)>&) const override {}
  std::optional<std::string> get(std::string_view) const override { return std::nullopt; }
  void export_to(const std::filesystem::path&) const override {}
  persistence::store_status status() const override {
    return failing ? persistence::store_status{false, "no space left on device"}
                   : persistence::store_status{};
  }
  bool recover() override {
    ++recoveries;
    return !failing;
  }
  std::vector<std::string> writes() const {
    std::lock_guard<std::mutex> l(mu_);
    return writes_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> writes_;
};

persistence::batch set(const std::string& key, const std::string& value) {
  return {{key, value, false}};
}

bool write_and_wait(caf::scoped_actor& self, const proto::store_writer_actor& w,
                    persistence::batch ops) {
  bool result = false;
  self->request(w, 10s, proto::write_atom::value, std::move(ops))
      .receive([&](bool ok) { result = ok; }, [&](caf::error&) { result = false; });
  return result;
}

}  // namespace

TEST_SUITE("server.store_writer") {
  TEST_CASE("a failing store: waiters hear false, unwaited writes are kept and land in order") {
    spdlog::set_level(spdlog::level::off);
    caf::actor_system_config cfg;
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys{cfg};
    auto store = std::make_shared<flaky_store>();
    auto w = server::spawn_store_writer(sys, store);
    caf::scoped_actor self{sys};

    CHECK(write_and_wait(self, w, set("a", "1")));
    store->failing = true;
    self->send(w, proto::put_atom::value, set("progress", "1"));
    CHECK_FALSE(write_and_wait(self, w, set("created", "x")));    // not recorded: told so
    self->send(w, proto::put_atom::value, set("progress", "2"));  // only the last one is kept
    self->send(w, proto::put_atom::value, set("other", "1"));
    // still failing: the retry (about once a second) fails too
    CHECK_FALSE(write_and_wait(self, w, set("created", "y")));
    CHECK(store->recoveries >= 1);
    store->failing = false;
    // the next retry recovers the store and writes what was kept, then this
    CHECK(write_and_wait(self, w, set("b", "2")));
    auto writes = store->writes();
    CHECK(writes == std::vector<std::string>{"a=1", "progress=2", "other=1", "b=2"});
    anon_send_exit(w, caf::exit_reason::user_shutdown);
  }
}
