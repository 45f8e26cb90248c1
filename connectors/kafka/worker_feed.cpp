#include "connectors/kafka/worker_feed.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "connectors/kafka/admin.hpp"

namespace pikoci::kafka {

struct worker_feed::threads {
  std::atomic<bool> stop{false};
  mutable std::mutex mu;
  std::vector<std::pair<std::string, int>> partitions;  // the jobs consumer's
  hop_meter hops;                        // of the messages read from the work and control topics
  std::atomic<std::int64_t> dropped{0};  // messages that did not decode or named a foreign reply
  std::vector<std::thread> running;
  // wake(): a slot freed, the jobs thread looks at its held work now
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool woken = false;
  /// Up to `most`, or until wake().
  void nap(std::chrono::milliseconds most) {
    std::unique_lock<std::mutex> lock(wake_mu);
    wake_cv.wait_for(lock, most, [this] { return woken || stop.load(); });
    woken = false;
  }
};

namespace {

/// How often the hops of the messages read are logged (when there are new ones).
constexpr auto hops_log_every = std::chrono::seconds(10);

/// How often taken work is committed. A worker that dies within this time after taking a
/// build leaves its message to another worker, whose `accepted` the server answers with a cancel
/// (the build is the first worker's), as for a message delivered twice around a rebalance.
constexpr auto commit_every = std::chrono::milliseconds(100);

/// A fetched message and when it was read.
struct fetched {
  message m;
  std::int64_t read_at_ms = 0;
};

/// Polls `c` until `stop`: hands messages to `take` in order; each taken one is committed (in
/// batches, `commit_every`). `open` says whether the owner may take more now; when it may not,
/// what was fetched waits here, uncommitted, and `nap` waits (for a slot: the owner wakes it)
/// before the next look.
template <class Take, class Open, class Every, class Nap>
void consume_loop(consumer& c, const std::atomic<bool>& stop, Take take, Open open,
                  Every every_second, Nap nap) {
  std::deque<fetched> held;
  offset_batch taken(commit_every);
  auto next = std::chrono::steady_clock::now();
  while (!stop) {
    if (auto now = std::chrono::steady_clock::now(); now >= next) {
      every_second();
      next = now + std::chrono::seconds(1);
    }
    taken.commit(c);
    if (!held.empty() && open()) {
      auto f = std::move(held.front());
      held.pop_front();
      // its partition moved to another worker, who gets it now
      if (!c.assigned(f.m.topic, f.m.partition)) continue;
      if (take(f)) {
        taken.done(f.m);
      } else {
        held.push_front(std::move(f));  // refused for now (draining): never committed here
      }
      continue;
    }
    // idle: block in the poll; waiting for a slot: until the owner says one is free (or 5 ms
    // passed), fetching whatever came meanwhile
    if (held.empty()) {
      if (auto m = c.poll(std::chrono::milliseconds(100))) held.push_back({std::move(*m), wire::now_ms()});
      continue;
    }
    nap();
    while (auto m = c.poll(std::chrono::milliseconds(0))) held.push_back({std::move(*m), wire::now_ms()});
  }
  taken.commit(c, true);
}

/// Counts and logs a message nobody will act on; a flood logs the first ones and then every
/// 1000th.
void drop(std::atomic<std::int64_t>& dropped, const std::string& topic, const std::string& why) {
  auto n = ++dropped;
  if (n <= 10 || n % 1000 == 0)
    spdlog::warn("event=kafka.message_dropped topic={} reason=\"{}\" dropped_total={}", topic, why,
                 n);
}

std::optional<wire::envelope> decode_or_drop(const message& m, std::atomic<std::int64_t>& dropped) {
  try {
    return wire::decode(m.payload);
  } catch (const wire::decode_error& e) {
    drop(dropped, m.topic, e.what());
    return std::nullopt;
  }
}

/// A reply must stay under the worker's own topic prefix: a forged message must not make the
/// worker write its events into any other topic of the brokers.
template <class Work>
bool foreign_reply(const Work& w, const std::string& prefix) {
  return w.reply && w.reply->topic.compare(0, prefix.size() + 1, prefix + ".") != 0;
}

/// A consumed message of type `Work` goes to `take`, which takes it or not. A message of another
/// type, or one that does not decode or replies outside `prefix`, is not ours to run: consumed.
/// Its hop is counted once.
template <class Work>
bool hand_over(const std::function<bool(Work&)>& take, const fetched& f, hop_meter& hops,
               std::atomic<std::int64_t>& dropped, const std::string& prefix) {
  auto e = decode_or_drop(f.m, dropped);
  if (e && f.read_at_ms != 0) hops.observe(f.m.topic, e->sent_at_ms, f.read_at_ms);
  auto* work = e ? std::get_if<Work>(&e->body) : nullptr;
  if (work != nullptr && foreign_reply(*work, prefix)) {
    drop(dropped, f.m.topic,
         "reply to " + work->reply->topic + ", outside the topic prefix " + prefix);
    return true;
  }
  return work == nullptr || take(*work);
}

/// Logs the hops seen so far, when there are new ones: `event=kafka.hops` per topic.
void log_hops(const hop_meter& hops, std::map<std::string, std::uint64_t>& logged) {
  for (const auto& [topic, h] : hops.snapshot()) {
    if (logged[topic] == h.count()) continue;
    logged[topic] = h.count();
    spdlog::info("event=kafka.hops topic={} count={} p50_ms={:.1f} p99_ms={:.1f}", topic, h.count(),
                 quantile(h, 0.5) * 1000, quantile(h, 0.99) * 1000);
  }
}

std::shared_ptr<consumer> subscribed(const std::string& brokers, const std::string& group,
                                     bool from_start, const std::vector<std::string>& topics,
                                     const std::string& what) {
  auto c = std::make_shared<consumer>(brokers, group, from_start);
  if (auto err = c->subscribe(topics); !err.empty())
    throw std::runtime_error("cannot subscribe to " + what + ": " + err);
  return c;
}

}  // namespace

worker_feed::worker_feed(worker_feed_options opts)
    : opts_(std::move(opts)), threads_(std::make_unique<threads>()) {
  opts_.tags = normalize_tags(opts_.tags);
  if (auto err = check_brokers(opts_.brokers, std::chrono::seconds(10)); !err.empty())
    throw std::runtime_error("Kafka brokers " + opts_.brokers + " unreachable: " + err);
  if (opts_.jobs) job_topics_ = topics::consumed(opts_.names.jobs(), opts_.tags);
  if (opts_.checks) check_topics_ = topics::consumed(opts_.names.checks(), opts_.tags);
  std::vector<std::string> all{opts_.names.events(), opts_.names.control()};
  all.insert(all.end(), job_topics_.begin(), job_topics_.end());
  all.insert(all.end(), check_topics_.begin(), check_topics_.end());
  if (auto err = ensure_topics(opts_.brokers, all, 8, std::chrono::seconds(15)); !err.empty())
    throw std::runtime_error("cannot create the Kafka topics: " + err);
  out_ = std::make_unique<producer>(opts_.brokers);
  out_->prepare({opts_.names.events()}, std::chrono::seconds(5));
}

worker_feed::~worker_feed() {
  stop();
}

void worker_feed::start(worker_feed_handlers h) {
  const auto& prefix = opts_.names.prefix;
  std::shared_ptr<consumer> jobs, checks, control;
  if (opts_.jobs)
    jobs =
        subscribed(opts_.brokers, prefix + ".workers.jobs", true, job_topics_, "the jobs topics");
  if (opts_.checks)
    checks = subscribed(opts_.brokers, prefix + ".workers.checks", true, check_topics_,
                        "the checks topics");
  control = subscribed(opts_.brokers,
                       prefix + ".control." + opts_.name + "." + std::to_string(wire::now_ms()),
                       false, {opts_.names.control()}, opts_.names.control());
  auto& t = *threads_;
  if (jobs)
    t.running.emplace_back([c = jobs, &t, h, prefix] {
      std::map<std::string, std::uint64_t> logged;
      auto last_log = std::chrono::steady_clock::now();
      consume_loop(
          *c, t.stop,
          [&](const fetched& f) { return hand_over(h.build, f, t.hops, t.dropped, prefix); },
          h.builds_open, [&] {  // where the server should write work meant for this worker
            auto parts = c->assignment();
            {
              std::lock_guard<std::mutex> lock(t.mu);
              t.partitions = std::move(parts);
            }
            if (std::chrono::steady_clock::now() - last_log < hops_log_every) return;
            last_log = std::chrono::steady_clock::now();
            log_hops(t.hops, logged);
          },
          [&t] { t.nap(std::chrono::milliseconds(5)); });
    });
  if (checks)
    t.running.emplace_back([c = checks, &t, h, prefix] {
      consume_loop(
          *c, t.stop,
          [&](const fetched& f) { return hand_over(h.check, f, t.hops, t.dropped, prefix); },
          h.checks_open, [] {}, [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); });
    });
  t.running.emplace_back([c = control, &t, h, name = opts_.name] {
    while (!t.stop) {
      auto m = c->poll(std::chrono::milliseconds(100));
      if (!m) continue;
      auto e = decode_or_drop(*m, t.dropped);
      if (e) t.hops.observe(m->topic, e->sent_at_ms, wire::now_ms());
      if (!e || (!e->worker.empty() && e->worker != name)) continue;  // for another worker
      h.control(e->body);
    }
  });
}

void worker_feed::wake() {
  {
    std::lock_guard<std::mutex> lock(threads_->wake_mu);
    threads_->woken = true;
  }
  threads_->wake_cv.notify_all();
}

void worker_feed::stop() {
  threads_->stop = true;
  wake();
  for (auto& t : threads_->running) t.join();
  if (!threads_->running.empty()) {
    std::map<std::string, std::uint64_t> none;
    log_hops(threads_->hops, none);  // the figures of the whole run
  }
  threads_->running.clear();
}

void worker_feed::emit(wire::message body, const std::optional<wire::route>& to) {
  auto e = wire::stamped(opts_.name, opts_.token, std::move(body));
  if (to)
    out_->produce(to->topic, wire::key_of(e.body), wire::encode(e), to->partition);
  else
    out_->produce(opts_.names.events(), wire::key_of(e.body), wire::encode(e));
}

std::int64_t worker_feed::dropped() const {
  return threads_->dropped;
}

std::vector<std::pair<std::string, int>> worker_feed::partitions() const {
  std::lock_guard<std::mutex> lock(threads_->mu);
  return threads_->partitions;
}

const hop_meter& worker_feed::hops() const {
  return threads_->hops;
}

std::chrono::steady_clock::time_point worker_feed::last_delivered() const {
  return out_->last_delivered();
}

bool worker_feed::flush(std::chrono::milliseconds timeout) {
  return out_->flush(timeout);
}

}  // namespace pikoci::kafka
