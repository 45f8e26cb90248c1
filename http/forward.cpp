#include "http/forward.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

namespace pikoci::http {

namespace {

bool same_caseless(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  for (auto n : names)
    if (same_caseless(name, n)) return true;
  return false;
}

bool hop_by_hop(std::string_view name) {
  return one_of(name, {"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                       "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding",
                       "upgrade", "content-length"});
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

bool forwarded_request_field(std::string_view name) {
  return !hop_by_hop(name) &&
         !one_of(name, {"host", "expect", "x-pikoci-forwarded-by", "x-pikoci-local"});
}

bool forwarded_answer_field(std::string_view name) {
  return !hop_by_hop(name) && !one_of(name, {"date", "server"});
}

/// One transfer: an easy handle and what it collects. Lives on the forwarder's thread.
struct transfer {
  CURL* easy = nullptr;
  curl_slist* fields = nullptr;
  forward_request request;
  forward_handlers handlers;
  forward_options const* opts = nullptr;
  int status = 0;
  header_list headers;
  bool head_done = false;   // the answer's head is complete
  bool too_many_headers = false;
  std::string body;
  bool too_large = false;
  std::shared_ptr<stream_sink> sink;  // the answer became a relayed stream
  bool sink_gone = false;
  bool paused = false;
  char error[CURL_ERROR_SIZE] = {0};

  ~transfer() {
    if (fields != nullptr) curl_slist_free_all(fields);
    if (easy != nullptr) curl_easy_cleanup(easy);
  }

  bool is_event_stream() const {
    if (status != 200) return false;
    for (const auto& [k, v] : headers)
      if (same_caseless(k, "content-type"))
        return same_caseless(std::string_view(v).substr(0, 17), "text/event-stream");
    return false;
  }

  /// The head is complete (the first body bytes, or the end): does it become a stream?
  void finish_head() {
    if (head_done) return;
    head_done = true;
    if (request.stream && handlers.stream && is_event_stream()) {
      sink = handlers.stream();
      if (sink && !sink->open(status, headers)) sink_gone = true;
    }
  }

  static size_t on_header(char* data, size_t size, size_t n, void* self_) {
    auto* self = static_cast<transfer*>(self_);
    std::string_view line(data, size * n);
    if (line.substr(0, 5) == "HTTP/") {  // a new answer (after a 100 Continue): start over
      self->headers.clear();
      self->too_many_headers = false;
      auto sp = line.find(' ');
      self->status = 0;
      if (sp != std::string_view::npos) {
        for (std::size_t i = sp + 1; i < line.size() && i < sp + 4; ++i) {
          char c = line[i];
          if (c < '0' || c > '9') break;
          self->status = self->status * 10 + (c - '0');
        }
      }
      return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      // the blank line after a final answer's head: a stream's head goes out at once
      if (trimmed(line).empty() && self->status >= 200) self->finish_head();
      return size * n;
    }
    auto name = trimmed(line.substr(0, colon));
    if (!forwarded_answer_field(name)) return size * n;
    if (self->headers.size() >= self->opts->max_answer_headers) {
      self->too_many_headers = true;
      return 0;  // abort
    }
    self->headers.emplace_back(std::move(name), trimmed(line.substr(colon + 1)));
    return size * n;
  }

  static size_t on_body(char* data, size_t size, size_t n, void* self_) {
    auto* self = static_cast<transfer*>(self_);
    std::size_t len = size * n;
    self->finish_head();
    if (self->sink) {
      if (self->sink_gone) return 0;
      // the bytes come again when the transfer goes on (curl keeps them)
      if (self->sink->pending() > self->opts->stream_high_water) {
        self->paused = true;
        return CURL_WRITEFUNC_PAUSE;
      }
      if (!self->sink->push(std::string_view(data, len))) {
        self->sink_gone = true;
        return 0;
      }
      return len;
    }
    if (self->body.size() + len > self->opts->max_answer_bytes) {
      self->too_large = true;
      return 0;
    }
    self->body.append(data, len);
    return len;
  }
};

struct forwarder::impl {
  std::string self_id;
  forward_options opts;
  CURLM* multi = nullptr;
  std::thread thread;

  mutable std::mutex mu;
  std::deque<std::unique_ptr<transfer>> incoming;
  bool stopping = false;
  std::atomic<std::size_t> requests{0}, streams{0};

  // the forwarder's thread only
  std::list<std::unique_ptr<transfer>> running;

  ~impl() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  void release(transfer& t) {
    --(t.request.stream ? streams : requests);
  }

  /// Sets up `t`'s easy handle; false when libcurl cannot.
  bool prepare(transfer& t) {
    t.easy = curl_easy_init();
    if (t.easy == nullptr) return false;
    CURL* e = t.easy;
    curl_easy_setopt(e, CURLOPT_URL, t.request.url.c_str());
    // an advertise URL comes from a hello anyone on the topic may write: web URLs only
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
    if (t.request.stream) {
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(opts.stream_idle.count()));
    } else {
      auto limit = t.request.timeout.count() > 0 ? t.request.timeout : opts.request_timeout;
      curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(limit.count()));
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &transfer::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &transfer::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, nullptr);  // bytes as the owner sends them
    const auto& m = t.request.method;
    if (m == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (m != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m.c_str());
      if (!t.request.body.empty() || m == "POST" || m == "PUT") {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t.request.body.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(t.request.body.size()));
      }
    }
    bool has_accept = false, has_type = false;
    for (const auto& [k, v] : t.request.headers) {
      if (!forwarded_request_field(k)) continue;
      has_accept = has_accept || same_caseless(k, "accept");
      has_type = has_type || same_caseless(k, "content-type");
      t.fields = curl_slist_append(t.fields, (k + ": " + v).c_str());
    }
    // what the client did not send, libcurl must not add either
    if (!has_accept) t.fields = curl_slist_append(t.fields, "Accept:");
    if (!has_type) t.fields = curl_slist_append(t.fields, "Content-Type:");
    t.fields = curl_slist_append(t.fields, "Expect:");
    t.fields = curl_slist_append(t.fields, ("X-Pikoci-Forwarded-By: " + self_id).c_str());
    if (t.request.local_only) t.fields = curl_slist_append(t.fields, "X-Pikoci-Local: 1");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.fields);
    curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
    return true;
  }

  /// `t` is over with `code`: its answer, or why there is none.
  void complete(transfer& t, CURLcode code) {
    if (t.sink) {
      if (code != CURLE_OK && !t.sink_gone)
        spdlog::info("event=forward.stream_ended url={} error=\"{}\"", t.request.url,
                     t.error[0] != 0 ? t.error : curl_easy_strerror(code));
      t.sink->close();
      return;
    }
    if (code == CURLE_OK) t.finish_head();
    if (t.sink) {  // an event stream with no bytes at all
      t.sink->close();
      return;
    }
    forward_answer a;
    if (code == CURLE_OK) {
      a.what = forward_answer::kind::answered;
      a.status = t.status;
      a.headers = std::move(t.headers);
      a.body = std::move(t.body);
    } else {
      a.error = t.error[0] != 0 ? t.error : curl_easy_strerror(code);
      if (t.too_large) a.error = "the owner's answer is larger than the forwarder takes";
      if (t.too_many_headers) a.error = "the owner's answer has too many header fields";
      // sent: some of the request went out (a timeout on a reused connection counts too)
      long request_bytes = 0;
      curl_easy_getinfo(t.easy, CURLINFO_REQUEST_SIZE, &request_bytes);
      bool sent = request_bytes > 0;
      if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
          code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_URL_MALFORMAT)
        sent = false;
      a.what = sent ? forward_answer::kind::failed : forward_answer::kind::unreachable;
    }
    if (t.handlers.done) t.handlers.done(std::move(a));
  }

  void loop() {
    for (;;) {
      std::deque<std::unique_ptr<transfer>> added;
      bool stop_now;
      {
        std::lock_guard<std::mutex> lock(mu);
        added.swap(incoming);
        stop_now = stopping;
      }
      for (auto& t : added) {
        if (stop_now) {
          finish_stopped(*t);
          continue;
        }
        if (!prepare(*t) || curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
          forward_answer a;
          a.what = forward_answer::kind::failed;
          a.error = "libcurl could not start the transfer";
          release(*t);
          if (t->handlers.done) t->handlers.done(std::move(a));
          continue;
        }
        running.push_back(std::move(t));
      }
      if (stop_now) {
        for (auto& t : running) {
          curl_multi_remove_handle(multi, t->easy);
          finish_stopped(*t);
        }
        running.clear();
        return;
      }
      int still = 0;
      curl_multi_perform(multi, &still);
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        transfer* t = nullptr;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
        CURLcode code = msg->data.result;
        curl_multi_remove_handle(multi, msg->easy_handle);
        auto it = std::find_if(running.begin(), running.end(),
                               [t](const auto& p) { return p.get() == t; });
        if (it == running.end()) continue;
        auto owned = std::move(*it);
        running.erase(it);
        release(*owned);
        complete(*owned, code);
      }
      bool any_paused = resume_drained();
      // a paused stream is looked at again soon; otherwise wait for sockets or a wakeup
      curl_multi_poll(multi, nullptr, 0, any_paused ? 20 : 1000, nullptr);
    }
  }

  /// Paused streams whose client caught up go on; those whose client is gone end. True when
  /// some stay paused.
  bool resume_drained() {
    bool any = false;
    for (auto it = running.begin(); it != running.end();) {
      transfer& t = **it;
      if (!t.paused) {
        ++it;
        continue;
      }
      if (t.sink->pending() <= opts.stream_high_water / 2) {
        t.paused = false;
        curl_easy_pause(t.easy, CURLPAUSE_CONT);  // may call on_body at once
      }
      any = any || t.paused;
      ++it;
    }
    return any;
  }

  void finish_stopped(transfer& t) {
    release(t);
    if (t.sink) {
      t.sink->close();
      return;
    }
    forward_answer a;
    a.what = forward_answer::kind::stopped;
    a.error = "the server is stopping";
    if (t.handlers.done) t.handlers.done(std::move(a));
  }
};

forwarder::forwarder(std::string self_id, forward_options opts)
    : impl_(std::make_shared<impl>()) {
  static std::once_flag curl_ready;
  std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->self_id = std::move(self_id);
  impl_->opts = opts;
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) throw std::runtime_error("libcurl: cannot make a multi handle");
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, 64L);
  impl_->thread = std::thread([i = impl_.get()] { i->loop(); });
}

forwarder::~forwarder() {
  stop();
}

void forwarder::send(forward_request r, forward_handlers h) {
  auto fail = [&h](forward_answer::kind k, std::string error) {
    forward_answer a;
    a.what = k;
    a.error = std::move(error);
    if (h.done) h.done(std::move(a));
  };
  auto& count = r.stream ? impl_->streams : impl_->requests;
  std::size_t cap = r.stream ? impl_->opts.max_streams : impl_->opts.max_requests;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return fail(forward_answer::kind::stopped, "the server is stopping");
    if (count.fetch_add(1) >= cap) {
      --count;
      return fail(forward_answer::kind::overloaded,
                  "too many requests are being forwarded to other nodes");
    }
    auto t = std::make_unique<transfer>();
    t->request = std::move(r);
    t->handlers = std::move(h);
    t->opts = &impl_->opts;
    impl_->incoming.push_back(std::move(t));
  }
  curl_multi_wakeup(impl_->multi);
}

void forwarder::stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::size_t forwarder::in_flight() const {
  return impl_->requests + impl_->streams;
}

}  // namespace pikoci::http
