// Cluster mode at the HTTP edge (http/routes.cpp, http/server.cpp): the real server on port 0
// with a cluster view, a fake registry behind its gateway and a fake owner
// (tests/support/http_receiver). A request is served here, forwarded to the owner with the
// forwarding header, or waits for a partition that is moving and then gets 503 partition_moving
// with Retry-After; a request forwarded once is never forwarded again; a `not_owner` answer of
// the local node makes the edge decide again.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "actors/protocols/gateway.hpp"
#include "auth/auth.hpp"
#include "http/server.hpp"
#include "persistence/partitioning.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/http_receiver.hpp"

using namespace pikoci;
using namespace std::chrono_literals;
using domain::cluster::partition_state;

namespace {

constexpr int P = 12;
const std::string secret = "cluster-edge-test-secret";

/// What the fake registry answers, and how often it was asked.
struct script {
  std::mutex mu;
  std::function<domain::reply()> answer = [] { return domain::done({{"here", true}}); };
  std::atomic<int> calls{0};
};

caf::behavior fake_registry(caf::event_based_actor* self, std::shared_ptr<script> s) {
  self->set_default_handler([s](caf::scheduled_actor*,
                                caf::message_view&) -> caf::result<caf::message> {
    ++s->calls;
    std::function<domain::reply()> answer;
    {
      std::lock_guard<std::mutex> lock(s->mu);
      answer = s->answer;
    }
    return caf::make_message(answer());
  });
  return {[](caf::ok_atom) {}};
}

domain::member owner(const std::string& id, const std::string& url, int k) {
  domain::member m;
  m.last.member_id = id;
  m.last.mode = domain::member_mode::cluster;
  m.last.state = domain::member_state::running;
  m.last.advertise_url = url;
  m.last.owned[k] = {3, "active"};
  return m;
}

struct cluster_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<script> registry_script = std::make_shared<script>();
  std::shared_ptr<domain::cluster::partition_table> table =
      std::make_shared<domain::cluster::partition_table>();
  std::mutex members_mu;
  std::vector<domain::member> members;  // what `live` says
  test::http_receiver fake_owner;
  std::unique_ptr<http::server> server;
  std::string token;

  explicit cluster_fixture(std::chrono::milliseconds move_wait = 2000ms, bool cluster = true) {
    spdlog::set_level(spdlog::level::off);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    auto registry = sys->spawn(fake_registry, registry_script);
    http::node_view view;
    view.node = proto::gateway(sys->spawn(proto::bridge),
                               caf::actor_cast<proto::registry_actor>(registry));
    view.jwt_secret = secret;
    if (cluster) {
      auto c = std::make_shared<http::cluster_view>();
      c->name = "ci";
      c->partitions = P;
      c->self_id = "member-a";
      c->self_url = "http://127.0.0.1:1";
      c->table = table;
      c->live = [this](domain::wall_ms) {
        std::lock_guard<std::mutex> lock(members_mu);
        return members;
      };
      c->move_wait = move_wait;
      c->webhook_pipeline = [](const std::string& token) {
        return token == "hook-of-p1" ? std::string("p1") : std::string();
      };
      c->gather_wait = 1500ms;
      view.cluster = c;
    }
    http::server_options opts;
    opts.host = "127.0.0.1";
    opts.port = 0;
    server = http::start_server(opts, std::move(view));
    auth::claims who;
    who.subject = "admin";
    who.r = auth::role::admin;
    token = auth::sign(secret, who);
  }
  ~cluster_fixture() {
    server->stop();
    sys->await_actors_before_shutdown(false);
  }

  void set_members(std::vector<domain::member> m) {
    std::lock_guard<std::mutex> lock(members_mu);
    members = std::move(m);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  test::http_response call(const std::string& method, const std::string& path,
                           const std::string& body = {},
                           std::map<std::string, std::string> headers = {}) {
    headers.emplace("Authorization", "Bearer " + token);
    return test::http_request(method, url(path), body, headers, 10000);
  }
};

const int k_p1 = persistence::partition_of("p1", P);

}  // namespace

TEST_SUITE("http.cluster_edge") {
  TEST_CASE("a pipeline another node owns is answered by that owner, as it answered") {
    cluster_fixture f;
    f.fake_owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      return test::http_reply{201,
                              {{"Content-Type", "application/json"},
                               {"Location", "/api/v1/pipelines/p1"},
                               {"ETag", "\"v1\""}},
                              "{\"name\":\"p1\",\"from\":\"b\"}"};
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto r = f.call("PUT", "/api/v1/pipelines/p1?check=1", "pipeline \"p1\" {}",
                    {{"Content-Type", "text/plain"}});
    CHECK(r.status == 201);
    CHECK(r.body == "{\"name\":\"p1\",\"from\":\"b\"}");
    CHECK(r.headers["location"] == "/api/v1/pipelines/p1");
    CHECK(r.headers["etag"] == "\"v1\"");
    CHECK(r.headers["content-type"] == "application/json");
    auto got = f.fake_owner.requests();
    REQUIRE(got.size() == 1);
    CHECK(got[0].method == "PUT");
    CHECK(got[0].path == "/api/v1/pipelines/p1?check=1");
    CHECK(got[0].body == "pipeline \"p1\" {}");
    CHECK(got[0].headers["x-pikoci-forwarded-by"] == "member-a");
    CHECK(got[0].headers["authorization"] == "Bearer " + f.token);
    CHECK(f.registry_script->calls == 0);
  }

  TEST_CASE("a pipeline whose partition is active here is served here") {
    cluster_fixture f;
    f.table->set(k_p1, partition_state::active);
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});  // stale: the table rules
    auto r = f.call("GET", "/api/v1/pipelines/p1");
    CHECK(r.status == 200);
    CHECK(r.json()["here"] == true);
    CHECK(f.registry_script->calls == 1);
    CHECK(f.fake_owner.requests().empty());
  }

  TEST_CASE("routes of no partition are served here whatever the table says") {
    cluster_fixture f;
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto r = f.call("GET", "/api/v1/pipelines");
    CHECK(r.status == 200);
    CHECK(f.registry_script->calls == 1);
    CHECK(f.fake_owner.requests().empty());
  }

  TEST_CASE("user and team secret writes go to the owner of G") {
    cluster_fixture f;
    f.set_members({owner("member-b", f.fake_owner.url("/"), P)});
    auto r = f.call("DELETE", "/api/v1/secrets/token");
    CHECK(r.status == 200);
    r = f.call("POST", "/api/v1/users", R"({"username":"u","password":"long enough pass"})",
               {{"Content-Type", "application/json"}});
    CHECK(r.status == 200);
    auto got = f.fake_owner.requests();
    REQUIRE(got.size() == 2);
    CHECK(got[0].path == "/api/v1/secrets/token");
    CHECK(got[1].path == "/api/v1/users");
    CHECK(got[1].body == R"({"username":"u","password":"long enough pass"})");
    CHECK(f.registry_script->calls == 0);
  }

  TEST_CASE("a caller without a valid token is refused here, not forwarded") {
    cluster_fixture f;
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto r = test::http_request("GET", f.url("/api/v1/pipelines/p1"));
    CHECK(r.status == 401);
    CHECK(f.fake_owner.requests().empty());
  }

  TEST_CASE("a request already forwarded is served here; the node's not_owner becomes 503 "
            "partition_moving with Retry-After") {
    cluster_fixture f;
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    {
      std::lock_guard<std::mutex> lock(f.registry_script->mu);
      f.registry_script->answer = [] {
        return domain::fail(domain::errc::not_owner, "not the owner", {{"partition", 3}});
      };
    }
    auto r = f.call("POST", "/api/v1/pipelines/p1/pause", "", {{"X-Pikoci-Forwarded-By", "b"}});
    CHECK(r.status == 503);
    CHECK(r.headers["retry-after"] == "1");
    CHECK(r.json()["error"]["code"] == "partition_moving");
    CHECK(f.fake_owner.requests().empty());
    CHECK(f.registry_script->calls == 1);
  }

  TEST_CASE("when the node answers not_owner (the partition just moved), the edge decides again "
            "and forwards to the new owner") {
    cluster_fixture f;
    f.table->set(k_p1, partition_state::active);
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    {
      std::lock_guard<std::mutex> lock(f.registry_script->mu);
      f.registry_script->answer = [table = f.table] {
        table->set(k_p1, partition_state::idle);
        return domain::fail(domain::errc::not_owner, "not the owner", {{"partition", k_p1}});
      };
    }
    f.fake_owner.answer_with([](const test::received_request&) {
      return std::pair<int, std::string>{202, "{\"owner\":true}"};
    });
    auto r = f.call("POST", "/api/v1/pipelines/p1/jobs/j/trigger", "{}",
                    {{"Content-Type", "application/json"}});
    CHECK(r.status == 202);
    CHECK(r.body == "{\"owner\":true}");
    CHECK(f.registry_script->calls == 1);
    REQUIRE(f.fake_owner.requests().size() == 1);
    CHECK(f.fake_owner.requests()[0].body == "{}");
  }

  TEST_CASE("an owner that answers partition_moving (it just lost the partition) is asked again "
            "within move_wait, as the directory changes") {
    cluster_fixture f(5000ms);
    auto asked = std::make_shared<std::atomic<int>>(0);
    f.fake_owner.respond_with([asked](const test::received_request&)
                                  -> std::optional<test::http_reply> {
      if (++*asked <= 2)
        return test::http_reply{
            503,
            {{"Content-Type", "application/json"}, {"Retry-After", "1"}},
            R"({"error":{"code":"partition_moving","message":"moving"}})"};
      return test::http_reply{200, {{"Content-Type", "application/json"}}, "{\"ok\":2}"};
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto r = f.call("POST", "/api/v1/pipelines/p1/pause");
    CHECK(r.status == 200);
    CHECK(r.body == "{\"ok\":2}");
    CHECK(*asked == 3);
  }

  TEST_CASE("an owner's partition_moving after move_wait is passed on") {
    cluster_fixture f(300ms);
    f.fake_owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      return test::http_reply{503,
                              {{"Content-Type", "application/json"}, {"Retry-After", "1"}},
                              R"({"error":{"code":"partition_moving","message":"moving"}})"};
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto start = std::chrono::steady_clock::now();
    auto r = f.call("GET", "/api/v1/pipelines/p1");
    CHECK(r.status == 503);
    CHECK(r.headers["retry-after"] == "1");
    CHECK(r.json()["error"]["code"] == "partition_moving");
    CHECK(std::chrono::steady_clock::now() - start >= 300ms);
    CHECK(std::chrono::steady_clock::now() - start < 4s);
  }

  TEST_CASE("a partition nobody serves waits up to move_wait, then 503 partition_moving with "
            "Retry-After") {
    cluster_fixture f(400ms);
    f.set_members({});
    auto start = std::chrono::steady_clock::now();
    auto r = f.call("GET", "/api/v1/pipelines/p1/jobs");
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.status == 503);
    CHECK(r.headers["retry-after"] == "1");
    CHECK(r.json()["error"]["code"] == "partition_moving");
    CHECK(took >= 400ms);
    CHECK(took < 3s);
    CHECK(f.registry_script->calls == 0);
  }

  TEST_CASE("a request waiting for a moving partition goes on as soon as an owner is known") {
    cluster_fixture f(5000ms);
    f.fake_owner.answer_with(std::string("{\"ok\":1}"));
    std::thread later([&f] {
      std::this_thread::sleep_for(300ms);
      f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    });
    auto start = std::chrono::steady_clock::now();
    auto r = f.call("GET", "/api/v1/pipelines/p1");
    auto took = std::chrono::steady_clock::now() - start;
    later.join();
    CHECK(r.status == 200);
    CHECK(r.body == "{\"ok\":1}");
    CHECK(took >= 250ms);
    CHECK(took < 4s);
  }

  TEST_CASE("a partition that becomes active here while waiting is served here") {
    cluster_fixture f(5000ms);
    std::thread later([&f] {
      std::this_thread::sleep_for(200ms);
      f.table->set(k_p1, partition_state::active);
    });
    auto r = f.call("GET", "/api/v1/pipelines/p1");
    later.join();
    CHECK(r.status == 200);
    CHECK(r.json()["here"] == true);
  }

  TEST_CASE("an owner that cannot be reached is tried again within move_wait, then 503 "
            "partition_moving with Retry-After") {
    cluster_fixture f(500ms);
    int port;
    {
      test::http_receiver gone;
      port = gone.port();
    }
    f.set_members({owner("member-b", "http://127.0.0.1:" + std::to_string(port), k_p1)});
    auto start = std::chrono::steady_clock::now();
    auto r = f.call("POST", "/api/v1/pipelines/p1/pause");
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(r.status == 503);
    CHECK(r.headers["retry-after"] == "1");
    CHECK(r.json()["error"]["code"] == "partition_moving");
    CHECK(took >= 500ms);
    CHECK(took < 4s);
  }

  TEST_CASE("an owner's event stream comes through as an event stream") {
    cluster_fixture f;
    f.fake_owner.respond_with([](const test::received_request&) -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}, {"Cache-Control", "no-cache"}};
      r.chunks = {": stream open\n\n", "event: log\ndata: {\"n\":1}\n\n",
                  "event: end\ndata: {}\n\n"};
      r.before_chunk = [](std::size_t) {
        std::this_thread::sleep_for(50ms);
        return true;
      };
      return r;
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto r = f.call("GET", "/api/v1/pipelines/p1/jobs/j/builds/1/events", "",
                    {{"Accept", "text/event-stream"}});
    CHECK(r.status == 200);
    CHECK(r.headers["content-type"] == "text/event-stream");
    CHECK(r.body == ": stream open\n\nevent: log\ndata: {\"n\":1}\n\nevent: end\ndata: {}\n\n");
    REQUIRE(f.fake_owner.requests().size() == 1);
    CHECK(f.fake_owner.requests()[0].headers["accept"] == "text/event-stream");
  }

  TEST_CASE("an owner's event stream reaches the client piece by piece, not at its end") {
    cluster_fixture f;
    struct seen_t {
      std::mutex mu;
      std::condition_variable cv;
      std::string text;
    };
    auto seen = std::make_shared<seen_t>();
    const std::vector<std::string> pieces = {": stream open\n\n", "event: log\ndata: {\"n\":1}\n\n",
                                             "event: end\ndata: {}\n\n"};
    f.fake_owner.respond_with([seen, pieces](const test::received_request&)
                                  -> std::optional<test::http_reply> {
      test::http_reply r;
      r.headers = {{"Content-Type", "text/event-stream"}};
      r.chunks = pieces;
      // each piece is sent only once the client has the ones before it
      r.before_chunk = [seen, pieces](std::size_t i) {
        std::string before;
        for (std::size_t k = 0; k < i; ++k) before += pieces[k];
        std::unique_lock<std::mutex> lock(seen->mu);
        return seen->cv.wait_for(lock, 5s, [&] { return seen->text == before; });
      };
      return r;
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    CURL* curl = curl_easy_init();
    REQUIRE(curl != nullptr);
    auto url = f.url("/api/v1/pipelines/p1/jobs/j/builds/1/events");
    auto auth = "Authorization: Bearer " + f.token;
    curl_slist* fields = curl_slist_append(nullptr, auth.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, fields);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, seen.get());
    curl_easy_setopt(
        curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* user) {
          auto* s = static_cast<seen_t*>(user);
          std::lock_guard<std::mutex> lock(s->mu);
          s->text.append(data, size * n);
          s->cv.notify_all();
          return size * n;
        });
    auto code = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(fields);
    curl_easy_cleanup(curl);
    CHECK(code == CURLE_OK);
    CHECK(status == 200);
    CHECK(seen->text == pieces[0] + pieces[1] + pieces[2]);
  }

  TEST_CASE("many requests in a row are all forwarded and answered (time per request printed)") {
    cluster_fixture f;
    f.fake_owner.answer_with(std::string("{\"ok\":1}"));
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    std::vector<double> ms;
    for (int i = 0; i < 200; ++i) {
      auto start = std::chrono::steady_clock::now();
      auto r = f.call("GET", "/api/v1/pipelines/p1/jobs");
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                             start)
                       .count());
      REQUIRE(r.status == 200);
    }
    CHECK(f.fake_owner.requests().size() == 200);
    std::sort(ms.begin(), ms.end());
    MESSAGE("forwarded GET, client to owner and back: median " << ms[ms.size() / 2]
                                                               << " ms, min " << ms.front()
                                                               << " ms, max " << ms.back()
                                                               << " ms");
  }

  TEST_CASE("a single node serves everything itself, forwarding header or not") {
    cluster_fixture f(2000ms, false);
    auto r = f.call("GET", "/api/v1/pipelines/p1", "", {{"X-Pikoci-Forwarded-By", "b"}});
    CHECK(r.status == 200);
    r = f.call("GET", "/api/v1/pipelines/p1");
    CHECK(r.status == 200);
    CHECK(f.registry_script->calls == 2);
  }

  TEST_CASE("a build id goes to the owner of the partition it names; a webhook to its pipeline's") {
    cluster_fixture f;
    f.set_members({owner("member-b", f.fake_owner.url("/"), k_p1)});
    auto id = (std::int64_t{123456} << 6) | k_p1;
    auto r = f.call("GET", "/api/v1/builds/" + std::to_string(id));
    CHECK(r.status == 200);
    r = f.call("POST", "/api/v1/webhooks/hook-of-p1", "", {});
    CHECK(r.status == 200);
    auto got = f.fake_owner.requests();
    REQUIRE(got.size() == 2);
    CHECK(got[0].path == "/api/v1/builds/" + std::to_string(id));
    CHECK(got[1].path == "/api/v1/webhooks/hook-of-p1");
    CHECK(f.registry_script->calls == 0);
    // a token the catalog does not know, an id naming no partition: answered here
    r = f.call("POST", "/api/v1/webhooks/unknown", "", {});
    CHECK(r.status == 200);
    r = f.call("GET", "/api/v1/builds/" + std::to_string((std::int64_t{5} << 6) | 63));
    CHECK(r.status == 200);
    CHECK(f.registry_script->calls == 2);
    CHECK(f.fake_owner.requests().size() == 2);
  }

  TEST_CASE("a node-wide read asks every member for its own part and merges them") {
    cluster_fixture f;
    f.registry_script->answer = [] {
      return domain::done({{"max_in_flight", 64}, {"in_flight", 0}, {"max_queue_size", 10},
                           {"queued", 1}, {"started", nlohmann::json::array()},
                           {"pending", {{{"position", 1}, {"build", {{"id", 900}}},
                                         {"blocked_by", "no worker"}}}},
                           {"waiting", nlohmann::json::array()}});
    };
    f.fake_owner.answer_with(
        R"({"max_in_flight":64,"in_flight":1,"max_queue_size":10,"queued":1,
            "started":[{"id":50}],"pending":[{"position":1,"build":{"id":70},"blocked_by":"serial"}],
            "waiting":[]})");
    test::http_receiver gone;
    auto gone_url = gone.url("/");
    gone.stop();
    f.set_members({owner("member-a", f.url("/"), 0), owner("member-b", f.fake_owner.url("/"), 1),
                   owner("member-c", gone_url, 2)});
    auto r = f.call("GET", "/api/v1/queue");
    REQUIRE_MESSAGE(r.status == 200, r.body);
    auto q = r.json();
    CHECK(q["queued"] == 2);
    CHECK(q["in_flight"] == 1);
    REQUIRE(q["pending"].size() == 2);
    CHECK(q["pending"][0]["build"]["id"] == 70);
    CHECK(q["pending"][1]["build"]["id"] == 900);
    CHECK(q["started"][0]["id"] == 50);
    CHECK(q["partial"] == true);
    REQUIRE(q["missing"].size() == 1);
    CHECK(q["missing"][0]["member_id"] == "member-c");
    auto got = f.fake_owner.requests();
    REQUIRE(got.size() == 1);
    CHECK(got[0].path == "/api/v1/queue");
    CHECK(got[0].headers["x-pikoci-local"] == "1");
    CHECK(got[0].headers["authorization"] == "Bearer " + f.token);
    CHECK(f.registry_script->calls == 1);  // this node's own part, through its own URL

    // with the local header: this node's part only
    r = f.call("GET", "/api/v1/queue", "", {{"X-Pikoci-Local", "1"}});
    CHECK(r.status == 200);
    CHECK(r.json()["pending"].size() == 1);
    CHECK_FALSE(r.json().contains("partial"));
    CHECK(f.registry_script->calls == 2);
    CHECK(f.fake_owner.requests().size() == 1);
  }

  TEST_CASE("a node-wide read that a member refuses (4xx) is answered with the refusal") {
    cluster_fixture f;
    f.fake_owner.answer_with([](const test::received_request&) {
      return std::make_pair(400, std::string(R"({"error":{"code":"bad_request","message":"no"}})"));
    });
    f.set_members({owner("member-b", f.fake_owner.url("/"), 1)});
    auto r = f.call("GET", "/api/v1/builds?limit=x");
    CHECK(r.status == 400);
    CHECK(r.json()["error"]["message"] == "no");
  }
}
