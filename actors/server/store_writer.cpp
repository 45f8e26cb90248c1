#include "actors/server/store_writer.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "persistence/crash_point.hpp"

namespace pikoci::server {
namespace {

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
  void write(persistence::batch ops) {
    {
      std::lock_guard<std::mutex> l(mu_);
      next_ = std::move(ops);
      ready_ = true;
    }
    cv_.notify_one();
  }

 private:
  void loop() {
    for (;;) {
      persistence::batch ops;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [this] { return ready_ || stop_; });
        if (!ready_) return;
        ops = std::move(next_);
        ready_ = false;
      }
      bool ok = true;
      try {
        if (!ops.empty()) {
          store_->write(ops);
          persistence::crash_point("after_batch_write");
        }
      } catch (const persistence::store_error& e) {
        ok = false;
        spdlog::error("event=store.write_failed ops={} error=\"{}\"", ops.size(), e.what());
      }
      if (auto w = caf::actor_cast<caf::actor>(writer_))
        caf::anon_send(caf::actor_cast<proto::store_writer_actor>(w), proto::flush_atom::value, ok);
    }
  }

  std::shared_ptr<persistence::store> store_;
  caf::actor_addr writer_;  // weak: the thread never keeps the actor alive
  std::mutex mu_;
  std::condition_variable cv_;
  persistence::batch next_;
  bool ready_ = false, stop_ = false;
  std::thread thread_;
};

struct writer_state {
  std::unique_ptr<io_thread> io;
  persistence::batch pending;
  std::vector<caf::typed_response_promise<bool>> waiting, in_flight;
  bool busy = false;
};

using self_ptr = proto::store_writer_actor::stateful_pointer<writer_state>;

/// Hands everything gathered so far to the I/O thread, unless a batch is on its way already.
void start_write(self_ptr self) {
  auto& st = self->state;
  if (st.busy || (st.pending.empty() && st.waiting.empty())) return;
  st.busy = true;
  st.in_flight = std::move(st.waiting);
  st.waiting.clear();
  st.io->write(std::move(st.pending));
  st.pending.clear();
}

proto::store_writer_actor::behavior_type writer(self_ptr self,
                                                std::shared_ptr<persistence::store> store) {
  self->state.io = std::make_unique<io_thread>(std::move(store), self->address());
  return {
      [self](proto::write_atom, persistence::batch& ops) -> caf::result<bool> {
        auto& st = self->state;
        for (auto& op : ops) st.pending.push_back(std::move(op));
        auto rp = self->make_response_promise<bool>();
        st.waiting.push_back(rp);
        start_write(self);
        return rp;
      },
      [self](proto::put_atom, persistence::batch& ops) {
        for (auto& op : ops) self->state.pending.push_back(std::move(op));
        start_write(self);
      },
      [self](proto::flush_atom, bool ok) {
        auto& st = self->state;
        auto done = std::move(st.in_flight);
        st.in_flight.clear();
        st.busy = false;
        for (auto& rp : done) rp.deliver(ok);
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
