// Cluster mode: the records of the global topic every node keeps in memory. The secret store
// takes a replicated entry or its deletion and refuses anything else; `apply_replicated` sends
// each key to the copy it names; the registry applies what the global tail hands it.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/server/registry.hpp"
#include "actors/server/replicated.hpp"
#include "persistence/keys.hpp"

using namespace pikoci;
using nlohmann::json;

namespace {

std::shared_ptr<const auth::secret_box> box() {
  static auto b = std::make_shared<const auth::secret_box>("the cluster's secret key");
  return b;
}

/// The write the owner's store makes for `name` = `value` in `scope`.
persistence::write_op sealed(server::secret_store& owner, const std::string& scope,
                             const std::string& name, const std::string& value) {
  auto op = owner.set(scope, name, value);
  REQUIRE(std::holds_alternative<persistence::write_op>(op));
  return std::get<persistence::write_op>(op);
}

std::string read(const server::secret_store& s, const std::string& pipeline,
                 const std::string& name) {
  auto v = s.read(pipeline, name);
  if (auto* e = std::get_if<domain::error>(&v)) return "error: " + e->message;
  return std::get<std::string>(v);
}

std::string summary_text(int partition, bool paused) {
  domain::cluster::pipeline_summary s;
  s.partition = partition;
  s.paused = paused;
  s.jobs = {"build", "test"};
  s.created_at = s.updated_at = "2026-01-01T00:00:00Z";
  return domain::cluster::encode(s);
}

std::string user_record(const std::string& name) {
  auth::user_store owner("admin-password");
  auto h = auth::user_store::hash_password(name + "-password");
  REQUIRE(h);
  auto r = owner.create(name, auth::role::write, *h, 1700000000);
  REQUIRE(std::holds_alternative<std::string>(r));
  return std::get<std::string>(r);
}

}  // namespace

TEST_SUITE("server.replicated") {
  TEST_CASE("secret store: replicated entries open like local ones; deletions remove them") {
    server::secret_store owner(box()), replica(box());
    auto team = sealed(owner, "", "TOKEN", "team-value");
    auto mine = sealed(owner, "deploy", "TOKEN", "pipeline-value");
    CHECK(replica.apply(team.key, team.value));
    CHECK(replica.apply(mine.key, mine.value));
    CHECK(read(replica, "deploy", "TOKEN") == "pipeline-value");  // the pipeline's shadows
    CHECK(read(replica, "other", "TOKEN") == "team-value");
    CHECK(replica.list("deploy") == owner.list("deploy"));
    // deletions: the pipeline's goes, the team's shows through; deleting twice changes nothing
    CHECK(replica.apply(mine.key, std::nullopt));
    CHECK(read(replica, "deploy", "TOKEN") == "team-value");
    CHECK_FALSE(replica.apply(mine.key, std::nullopt));
    CHECK(replica.apply(team.key, std::nullopt));
    CHECK(replica.list("")["secrets"].empty());
    CHECK(read(replica, "deploy", "TOKEN").rfind("error: ", 0) == 0);
  }

  TEST_CASE("secret store: keys of no entry and malformed records change nothing") {
    server::secret_store owner(box()), replica(box());
    auto good = sealed(owner, "deploy", "TOKEN", "v");
    namespace keys = persistence::keys;
    for (const auto& key :
         {keys::join({"secret", "team"}), keys::join({"secret", "team", "A", "B"}),
          keys::join({"secret", "pipeline", "", "A"}), keys::join({"secret", "pipeline", "p"}),
          keys::join({"secret", "other", "A"}), keys::join({"secret", "team", "1bad"}),
          keys::join({"secret", "team", "A",
                      "\x01"
                      "0"}),
          keys::join({"user", "A"}), std::string("secret"), std::string()})
      CHECK_FALSE(replica.apply(key, good.value));
    auto record = json::parse(*good.value);
    auto with = [&](const char* field, json v) {
      auto r = record;
      if (v.is_null())
        r.erase(field);
      else
        r[field] = v;
      return r.dump();
    };
    for (const auto& bad :
         {std::string("not json"), std::string("[]"), std::string("\xff\xfe"),
          with("scope", nullptr), with("scope", ""), with("scope", "other"), with("scope", 7),
          with("sealed", nullptr), with("sealed", ""), with("sealed", json::array()),
          with("sealed", std::string(300 * 1024, 'v'))})
      CHECK_FALSE_MESSAGE(replica.apply(good.key, bad), bad.substr(0, 80));
    CHECK(replica.list("deploy")["secrets"].empty());
  }

  TEST_CASE("secret store: sealed bytes that do not open are kept, and reading says so") {
    server::secret_store owner(box()), replica(box());
    auto good = sealed(owner, "", "TOKEN", "v");
    auto record = json::parse(*good.value);
    std::mt19937 rng(22);
    for (int i = 0; i < 200; ++i) {
      std::string bytes(rng() % 64, '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      record["sealed"] = i % 2 == 0 ? "v1." + auth::base64url_encode(bytes) : "v1." + bytes;
      auto text = record.dump(-1, ' ', false, json::error_handler_t::replace);
      replica.apply(good.key, text);
      auto v = replica.read("", "TOKEN");
      if (auto* e = std::get_if<domain::error>(&v)) CHECK(e->code == domain::errc::internal);
    }
    // another key sealed it: kept, and the read says why it cannot open
    server::secret_store stranger(std::make_shared<const auth::secret_box>("another key"));
    auto theirs = sealed(stranger, "", "OTHER", "x");
    CHECK(replica.apply(theirs.key, theirs.value));
    CHECK(read(replica, "", "OTHER").find("another --secret-key") != std::string::npos);
    // a record sealed for another entry does not open under this one
    auto moved = json::parse(*good.value);
    CHECK(replica.apply(persistence::keys::secret("", "MOVED"), moved.dump()));
    CHECK(read(replica, "", "MOVED").rfind("error: ", 0) == 0);
  }

  TEST_CASE("apply_replicated: each key goes to the copy it names") {
    auth::user_store users("admin-password");
    server::secret_store secrets(box()), owner(box());
    domain::cluster::catalog catalog;
    server::replicated_targets to{&users, &secrets, &catalog};
    namespace keys = persistence::keys;
    using kind = server::replicated_kind;

    auto r = server::apply_replicated(keys::user("alice"), user_record("alice"), to);
    CHECK(r.kind == kind::user);
    CHECK(r.changed);
    CHECK(users.list().size() == 2);

    auto s = sealed(owner, "deploy", "TOKEN", "v");
    r = server::apply_replicated(s.key, s.value, to);
    CHECK(r.kind == kind::secret);
    CHECK(r.changed);
    CHECK(read(secrets, "deploy", "TOKEN") == "v");

    r = server::apply_replicated(keys::catalog("deploy"), summary_text(3, true), to);
    CHECK(r.kind == kind::catalog);
    CHECK(r.changed);
    REQUIRE(catalog.get("deploy"));
    CHECK(catalog.get("deploy")->partition == 3);
    CHECK(catalog.get("deploy")->paused);

    // kept only in the store, or of no known layout: nothing in memory changes
    for (const auto& key : {keys::cluster(), keys::epoch(2), keys::pipeline("deploy"),
                            keys::join({"user", "alice",
                                        "\x01"
                                        "0"}),
                            keys::join({"catalog", "deploy",
                                        "\x01"
                                        "0"}),
                            keys::join({"user"}), std::string("garbage"), std::string()}) {
      r = server::apply_replicated(key, std::string("{}"), to);
      CHECK(r.kind == kind::none);
      CHECK_FALSE(r.changed);
    }

    // malformed values: refused with why, the copies unchanged
    r = server::apply_replicated(keys::catalog("deploy"), std::string("{\"partition\":\"x\"}"), to);
    CHECK(r.kind == kind::catalog);
    CHECK_FALSE(r.changed);
    CHECK_FALSE(r.error.empty());
    CHECK(catalog.get("deploy")->partition == 3);
    r = server::apply_replicated(keys::user("bob"), user_record("alice"), to);
    CHECK_FALSE(r.changed);
    CHECK_FALSE(r.error.empty());
    CHECK(users.list().size() == 2);

    // tombstones
    r = server::apply_replicated(keys::catalog("deploy"), std::nullopt, to);
    CHECK(r.changed);
    CHECK_FALSE(catalog.get("deploy"));
    r = server::apply_replicated(keys::catalog("deploy"), std::nullopt, to);
    CHECK_FALSE(r.changed);
    CHECK(r.error.empty());
    CHECK(server::apply_replicated(keys::user("alice"), std::nullopt, to).changed);
    CHECK(users.list().size() == 1);
    CHECK(server::apply_replicated(s.key, std::nullopt, to).changed);
    CHECK(secrets.list("deploy")["secrets"].empty());

    // no copy to change (a node without a catalog): routed, nothing done
    r = server::apply_replicated(keys::catalog("x"), summary_text(1, false),
                                 server::replicated_targets{});
    CHECK(r.kind == kind::catalog);
    CHECK_FALSE(r.changed);
  }

  TEST_CASE("the registry applies the records the global tail hands it") {
    spdlog::set_level(spdlog::level::off);
    caf::actor_system_config cfg;
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system sys(cfg);
    sys.await_actors_before_shutdown(false);
    auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
    server::context ctx;
    ctx.secret_box = box();
    ctx.users = std::make_shared<auth::user_store>("admin-password");
    ctx.catalog = std::make_shared<domain::cluster::catalog>();
    auto registry = server::spawn_registry(sys, ctx);
    sched.run();
    auto call = [&](auto op) {
      auto out = std::make_shared<std::optional<domain::reply>>();
      sys.spawn([out, op, registry](caf::event_based_actor* self) {
        self->request(registry, caf::infinite, op).then([out](domain::reply& r) { *out = r; });
      });
      sched.run();
      REQUIRE(out->has_value());
      REQUIRE_MESSAGE(!(*out)->failed(), (*out)->failure->message);
      return (*out)->value;
    };
    auto replicate = [&](const std::string& key, std::optional<std::string> value) {
      caf::anon_send(registry, proto::replicated_atom::value, key, std::move(value));
      sched.run();
    };

    server::secret_store owner(box());
    auto team = sealed(owner, "", "TOKEN", "from-the-owner");
    replicate(team.key, team.value);
    replicate(persistence::keys::user("carol"), user_record("carol"));
    replicate(persistence::keys::catalog("deploy"), summary_text(5, false));
    replicate(persistence::keys::catalog("broken"), std::string("\x01 not json"));
    CHECK(call(proto::read_secret{"deploy", "TOKEN"})["value"] == "from-the-owner");
    CHECK(call(proto::list_users{})["users"].size() == 2);
    CHECK(ctx.catalog->get("deploy"));
    CHECK_FALSE(ctx.catalog->get("broken"));

    replicate(team.key, std::nullopt);
    replicate(persistence::keys::user("carol"), std::nullopt);
    replicate(persistence::keys::catalog("deploy"), std::nullopt);
    CHECK(call(proto::list_secrets{""})["secrets"].empty());
    CHECK(call(proto::list_users{})["users"].size() == 1);
    CHECK(ctx.catalog->size() == 0);
    caf::anon_send_exit(registry, caf::exit_reason::kill);
    sched.run();
  }
}
