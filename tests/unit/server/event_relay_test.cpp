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

struct id_sink : proto::event_sink {
  std::vector<std::string> got;  // "type data id"
  bool push(const std::string& type, const std::string& data, const std::string& id) override {
    got.push_back(type + " " + data + " " + id);
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

  TEST_CASE("events numbered by the caller: ids alike on every hub, a reconnect resumes on another") {
    // two nodes' hubs, each following the status topic from where it was when it started
    const proto::event_hub::ring_limits three{3, 1 << 20};
    proto::event_hub a(three), b(three);
    a.deliver("p", "build", "before");  // a's own numbering until it follows the topic
    const auto own = a.last_id();
    a.number_events("topic", 11);       // offsets 10 on
    b.number_events("topic", 12);       // offsets 11 on
    CHECK(a.last_id() == "topic-10");
    auto on_a = std::make_shared<id_sink>();
    a.subscribe(on_a);
    a.deliver("p", "build", "x", 11);
    a.deliver("q", "build", "y", 12);
    b.deliver("q", "build", "y", 12);
    a.deliver("p", "job", "z", 14);  // 13 was a record nobody delivered
    b.deliver("p", "job", "z", 14);
    CHECK(on_a->got == std::vector<std::string>{"build x topic-11", "build y topic-12",
                                                "job z topic-14"});
    // the subscriber saw up to y on a; it reconnects to b, which has everything after it
    auto on_b = std::make_shared<id_sink>();
    b.subscribe(on_b, "", "topic-12");
    CHECK(on_b->got == std::vector<std::string>{"job z topic-14"});
    // b started after offset 10: an id before it cannot resume there
    auto early = std::make_shared<id_sink>();
    b.subscribe(early, "", "topic-10");
    CHECK(early->got == std::vector<std::string>{"reset {} topic-14"});
    auto just = std::make_shared<id_sink>();
    b.subscribe(just, "", "topic-11");  // everything after offset 10 is there
    CHECK(just->got == std::vector<std::string>{"build y topic-12", "job z topic-14"});
    // an id of a's own numbering from before, or of an event not yet seen: reset
    auto old = std::make_shared<id_sink>();
    a.subscribe(old, "", own);
    CHECK(old->got == std::vector<std::string>{"reset {} topic-14"});
    auto ahead = std::make_shared<id_sink>();
    a.subscribe(ahead, "", "topic-15");
    CHECK(ahead->got == std::vector<std::string>{"reset {} topic-14"});
    // the ring keeps 3: once 11 fell out, resuming after 10 is a reset, after 11 is not
    a.deliver("p", "build", "w", 15);
    auto late = std::make_shared<id_sink>();
    a.subscribe(late, "", "topic-10");
    CHECK(late->got == std::vector<std::string>{"reset {} topic-15"});
    auto fine = std::make_shared<id_sink>();
    a.subscribe(fine, "p", "topic-11");
    CHECK(fine->got == std::vector<std::string>{"job z topic-14", "build w topic-15"});
    // a number not above the last one is taken as the next
    a.deliver("p", "build", "v", 3);
    CHECK(on_a->got.back() == "build v topic-16");
  }
}
