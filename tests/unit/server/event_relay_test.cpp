// The event hub's seam for cluster mode: with a relay, published events go to the relay (the
// status topic) and reach this node's subscribers only when they come back through `deliver`;
// without one, the hub publishes to its subscribers as a single node does.
#include <doctest/doctest.h>

#include <thread>

#include "actors/protocols/events.hpp"

using namespace pikoci;

namespace {

struct sink : proto::event_sink {
  std::vector<std::string> got;
  bool push(const std::string& type, const std::string& data, const std::string&) override {
    got.push_back(type + " " + data);
    return true;
  }
  void close() override {}
};

struct relay : proto::event_relay {
  std::mutex mu;
  std::vector<std::string> sent;
  void publish(const std::string& pipeline, const std::string& type,
               const std::string& data) override {
    std::lock_guard<std::mutex> l(mu);
    sent.push_back(pipeline + " " + type + " " + data);
  }
};

}  // namespace

TEST_SUITE("server.events") {
  TEST_CASE("a relayed hub hands events to the relay; delivered ones reach its subscribers") {
    proto::event_hub hub;
    auto r = std::make_shared<relay>();
    hub.relay_to(r);
    CHECK(hub.wanted());  // other nodes may want them even when nobody here does
    hub.publish("p", "build", "1");
    CHECK(r->sent == std::vector<std::string>{"p build 1"});
    auto all = std::make_shared<sink>(), only_q = std::make_shared<sink>();
    hub.subscribe(all);
    hub.subscribe(only_q, "q");
    hub.publish("q", "build", "2");
    CHECK(all->got.empty());  // not until it comes back from the cluster
    hub.deliver("q", "build", "2");
    hub.deliver("p", "job", "3");
    CHECK(all->got == std::vector<std::string>{"build 2", "job 3"});
    CHECK(only_q->got == std::vector<std::string>{"build 2"});
    // back to single mode: published events go straight to the subscribers
    hub.relay_to(nullptr);
    hub.publish("q", "build", "4");
    CHECK(all->got.back() == "build 4");
    CHECK(r->sent.size() == 2);
  }

  TEST_CASE("without subscribers or a relay nothing is wanted") {
    proto::event_hub hub;
    CHECK_FALSE(hub.wanted());
    hub.relay_to(std::make_shared<relay>());
    CHECK(hub.wanted());
    hub.relay_to(nullptr);
    CHECK_FALSE(hub.wanted());
  }

  TEST_CASE("publishing from many threads while the relay is set and cleared") {
    proto::event_hub hub;
    auto r = std::make_shared<relay>();
    auto s = std::make_shared<sink>();
    hub.subscribe(s);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&hub] {
        for (int i = 0; i < 2000; ++i) hub.publish("p", "build", std::to_string(i));
      });
    for (int i = 0; i < 200; ++i) hub.relay_to(i % 2 == 0 ? r : nullptr);
    for (auto& t : threads) t.join();
    CHECK(r->sent.size() + s->got.size() == 8000);
  }
}
