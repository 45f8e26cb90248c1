#include "actors/server/store_writer.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/server/write_queue.hpp"
#include "persistence/crash_point.hpp"

namespace pikoci::server {
namespace {

/// How often a store that failed a write is tried again (RocksDB's `Resume` and a probe write).
constexpr std::chrono::seconds retry_interval{1};

/// The thread that writes one batch at a time and reports back to the writer actor.
class io_thread {
 public:
  io_thread(std::shared_ptr<persistence::store> store, caf::actor_addr writer)
      : store_(std::move(store)), writer_(std::move(writer)), thread_([this] { loop(); }) {}
  ~io_thread() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  /// Writes `ops`; with `recover_first`, only once the store takes writes again.
  void write(persistence::batch ops, bool recover_first) {
    {
      std::lock_guard<std::mutex> l(mu_);
      next_ = std::move(ops);
      recover_ = recover_first;
      ready_ = true;
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      persistence::batch ops;
      bool recover = false;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return ready_ || stop_; });
        if (!ready_) return;
        ops = std::move(next_);
        recover = recover_;
        ready_ = false;
      }
      bool ok = true;
      try {
        if (recover && !store_->recover()) {
          ok = false;
        } else if (!ops.empty()) {
          store_->write(ops);
          persistence::crash_point("after_batch_write");
        }
      } catch (const persistence::store_error& e) {
        ok = false;
        spdlog::error("event=store.write_failed ops={} error=\"{}\"", ops.size(), e.what());
      }
      if (ok) ops.clear();  // a failed batch goes back: what nobody waited for is written later
      if (auto w = caf::actor_cast<caf::actor>(writer_))
        caf::anon_send(caf::actor_cast<proto::store_writer_actor>(w), proto::flush_atom::value, ok,
                       std::move(ops));
    }
  }

  std::shared_ptr<persistence::store> store_;
  caf::actor_addr writer_;  // weak: the thread never keeps the actor alive
  std::mutex mu_;
  std::condition_variable cv_;
  persistence::batch next_;
  bool ready_ = false, recover_ = false, stop_ = false;
  std::thread thread_;
};

struct writer_state {
  std::unique_ptr<io_thread> io;
  gathered_ops pending;
  std::vector<bool> in_flight_waited;  // per op of the batch in flight: someone waits for it
  std::vector<caf::typed_response_promise<bool>> waiting, in_flight;
  bool busy = false;
  /// The last batch failed: nothing is written until the next retry tick, which first makes the
  /// store take writes again.
  bool down = false;
  bool recover_next = false;
};

using self_ptr = proto::store_writer_actor::stateful_pointer<writer_state>;

/// Hands everything gathered so far to the I/O thread, unless a batch is on its way already or
/// the store is down (the retry tick starts the next one).
void start_write(self_ptr self) {
  auto& st = self->state;
  if (st.busy || st.down) return;
  if (st.pending.empty() && st.waiting.empty() && !st.recover_next) return;
  st.busy = true;
  st.in_flight = std::move(st.waiting);
  st.waiting.clear();
  st.in_flight_waited = std::move(st.pending.waited);
  st.io->write(std::move(st.pending.ops), st.recover_next);
  st.pending.clear();
  st.recover_next = false;
}

proto::store_writer_actor::behavior_type writer(self_ptr self,
                                                std::shared_ptr<persistence::store> store) {
  self->state.io = std::make_unique<io_thread>(std::move(store), self->address());
  return {
      [self](proto::write_atom, persistence::batch& ops) -> caf::result<bool> {
        auto& st = self->state;
        st.pending.add(ops, true);
        auto rp = self->make_response_promise<bool>();
        st.waiting.push_back(rp);
        start_write(self);
        return rp;
      },
      [self](proto::put_atom, persistence::batch& ops) {
        self->state.pending.add(ops, false);
        start_write(self);
      },
      [self](proto::flush_atom, bool ok, persistence::batch& failed) {
        auto& st = self->state;
        auto done = std::move(st.in_flight);
        st.in_flight.clear();
        st.busy = false;
        if (!ok) {
          keep_unwaited(std::move(failed), st.in_flight_waited, st.pending);
          if (!st.down)
            spdlog::warn("event=store.retrying every_ms={}",
                         std::chrono::milliseconds(retry_interval).count());
          st.down = true;
          self->delayed_send(self, retry_interval, proto::tick_atom::value);
        } else {
          st.down = false;
        }
        st.in_flight_waited.clear();
        for (auto& rp : done) rp.deliver(ok);
        start_write(self);
      },
      [self](proto::tick_atom) {
        // the store failed: try it again (what waits meanwhile is written if it recovers)
        auto& st = self->state;
        st.down = false;
        st.recover_next = true;
        start_write(self);
      },
  };
}

}  // namespace

proto::store_writer_actor spawn_store_writer(caf::actor_system& sys,
                                             std::shared_ptr<persistence::store> store) {
  return sys.spawn(writer, std::move(store));
}

}  // namespace pikoci::server
