// Cluster mode: the outbox sends the messages of the partitions this node owns. Gaining a
// partition takes its stored messages (picked by their pipeline's partition); losing it forgets
// them here without deleting them, for the new owner to send. On CAF's deterministic scheduler;
// every message is due in an hour, so nothing is sent.
#include <doctest/doctest.h>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/server/outbox.hpp"
#include "persistence/partitioning.hpp"

using namespace pikoci;
using nlohmann::json;

namespace {

constexpr int partitions = 12;

/// Every write the outbox makes.
proto::store_writer_actor::behavior_type fake_store(proto::store_writer_actor::pointer,
                                                    std::shared_ptr<persistence::batch> seen) {
  return {
      [seen](proto::write_atom, persistence::batch& ops) {
        seen->insert(seen->end(), ops.begin(), ops.end());
        return true;
      },
      [seen](proto::put_atom, persistence::batch& ops) {
        seen->insert(seen->end(), ops.begin(), ops.end());
      },
      [](proto::flush_atom, bool, persistence::batch&) {},
      [](proto::tick_atom) {},
  };
}

/// `n` pipeline names of partition k.
std::vector<std::string> pipelines_of(int k, int n) {
  std::vector<std::string> out;
  for (int i = 0; static_cast<int>(out.size()) < n; ++i) {
    auto name = "pipeline-" + std::to_string(i);
    if (persistence::partition_of(name, partitions) == k) out.push_back(name);
  }
  return out;
}

model::notification_message message(
    const std::string& id, const std::string& pipeline,
    model::delivery_status status = model::delivery_status::pending) {
  model::notification_message m;
  m.id = id;
  m.pipeline = pipeline;
  m.job = "ship";
  m.notification = "http.hook";
  m.kind = "http";
  m.url = "http://127.0.0.1:9/never";
  m.body = "{}";
  m.created_at = std::chrono::system_clock::now();
  m.status = status;
  if (status == model::delivery_status::pending)
    m.next_attempt_at = m.created_at + std::chrono::hours(1);
  return m;
}

struct outbox_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<persistence::batch> writes = std::make_shared<persistence::batch>();
  proto::outbox_figures_ptr figures = std::make_shared<proto::outbox_figures>();
  proto::outbox_actor outbox;

  explicit outbox_fixture(int p = partitions) {
    spdlog::set_level(spdlog::level::warn);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    proto::outbox_options opts;
    opts.partitions = p;
    opts.senders = 1;
    outbox = server::spawn_outbox(*sys, opts, sys->spawn(fake_store, writes), {}, figures);
    sched->run();
  }
  ~outbox_fixture() {
    caf::anon_send_exit(outbox, caf::exit_reason::kill);
    sched->run();
  }

  void gain(int k, std::vector<model::notification_message> stored) {
    caf::anon_send(outbox, proto::gain_atom::value, k, std::move(stored));
    sched->run();
  }
  void drop(int k) {
    caf::anon_send(outbox, proto::drop_atom::value, k);
    sched->run();
  }

  /// The ids GET /notifications lists, sorted.
  std::vector<std::string> listed() {
    auto out = std::make_shared<std::optional<domain::reply>>();
    sys->spawn([out, o = outbox](caf::event_based_actor* self) {
      self->request(o, caf::infinite, proto::list_notifications{{}, 0})
          .then([out](domain::reply& r) { *out = std::move(r); });
    });
    sched->run();
    REQUIRE(out->has_value());
    std::vector<std::string> ids;
    for (const auto& m : (*out)->value["notifications"]) ids.push_back(m["id"]);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
};

using strings = std::vector<std::string>;

}  // namespace

TEST_SUITE("server.outbox") {
  TEST_CASE("gain: only the stored messages of the gained partition's pipelines, once") {
    outbox_fixture f;
    auto in3 = pipelines_of(3, 2), in4 = pipelines_of(4, 1);
    std::vector<model::notification_message> stored{
        message("a", in3[0]), message("b", in3[1], model::delivery_status::failed),
        message("c", in4[0])};
    f.gain(3, stored);
    CHECK(f.listed() == strings{"a", "b"});
    CHECK(f.figures->pending_now == 1);
    CHECK(f.figures->failed_now == 1);
    f.gain(3, stored);  // again (a second load): nothing twice
    CHECK(f.listed() == strings{"a", "b"});
    f.gain(4, stored);
    CHECK(f.listed() == strings{"a", "b", "c"});
    f.gain(7, stored);  // a partition with none of these
    CHECK(f.listed() == strings{"a", "b", "c"});
    CHECK(f.writes->empty());
  }

  TEST_CASE("drop: the partition's undelivered messages are forgotten here, never deleted") {
    outbox_fixture f;
    auto in3 = pipelines_of(3, 2), in4 = pipelines_of(4, 1);
    std::vector<model::notification_message> stored{
        message("a", in3[0]), message("b", in3[1], model::delivery_status::failed),
        message("c", in4[0]), message("d", in3[0], model::delivery_status::delivered)};
    f.gain(3, stored);
    f.gain(4, stored);
    CHECK(f.listed() == strings{"a", "b", "c", "d"});
    f.drop(3);
    CHECK(f.listed() == strings{"c", "d"});  // a delivered one stays listed
    CHECK(f.figures->pending_now == 1);
    CHECK(f.figures->failed_now == 0);
    f.drop(3);  // nothing left of it
    f.drop(9);  // never held
    CHECK(f.listed() == strings{"c", "d"});
    // nothing was written: the stored records stay for the new owner
    CHECK(f.writes->empty());
    // its timers find nothing to send
    f.sched->trigger_timeouts();
    f.sched->run();
    CHECK(f.writes->empty());
    // the partition comes back: its messages are loaded again
    f.gain(3, stored);
    CHECK(f.listed() == strings{"a", "b", "c", "d"});
  }

  TEST_CASE("a dropped partition's failed message cannot be retried here") {
    outbox_fixture f;
    auto in5 = pipelines_of(5, 1);
    f.gain(5, {message("x", in5[0], model::delivery_status::failed)});
    f.drop(5);
    auto out = std::make_shared<std::optional<domain::reply>>();
    f.sys->spawn([out, o = f.outbox](caf::event_based_actor* self) {
      self->request(o, caf::infinite, proto::retry_notification{"x"}).then([out](domain::reply& r) {
        *out = std::move(r);
      });
    });
    f.sched->run();
    REQUIRE(out->has_value());
    REQUIRE((*out)->failed());
    CHECK((*out)->code() == domain::errc::not_found);
    CHECK(f.writes->empty());
  }

  TEST_CASE("single mode (no partitions): gain and drop take nothing") {
    outbox_fixture f(0);
    f.gain(0, {message("a", "p")});
    CHECK(f.listed().empty());
    caf::anon_send(f.outbox, proto::enqueue_atom::value,
                   std::vector<model::notification_message>{message("b", "p")});
    f.sched->run();
    f.drop(0);
    CHECK(f.listed() == strings{"b"});
  }
}
