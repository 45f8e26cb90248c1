#include "tests/support/sse_client.hpp"

#include <curl/curl.h>

namespace pikoci::test {

std::size_t sse_on_data(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<sse_client*>(user)->feed(data, size * n);
  return size * n;
}

int sse_on_progress(void* user, long, long, long, long) {
  return static_cast<sse_client*>(user)->stop_ ? 1 : 0;
}

namespace {
int progress_thunk(void* user, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  return sse_on_progress(user, static_cast<long>(a), static_cast<long>(b), static_cast<long>(c),
                         static_cast<long>(d));
}
}  // namespace

sse_client::sse_client(std::string url, std::string token, std::chrono::milliseconds limit)
    : sse_client(std::move(url),
                 token.empty() ? std::vector<std::string>{}
                               : std::vector<std::string>{"Authorization: Bearer " + token},
                 limit) {}

sse_client::sse_client(std::string url, std::vector<std::string> headers,
                       std::chrono::milliseconds limit) {
  thread_ = std::thread([this, url = std::move(url), headers = std::move(headers), limit] {
    run(url, headers, limit);
  });
}

sse_client::~sse_client() {
  stop();
}

void sse_client::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void sse_client::run(std::string url, std::vector<std::string> lines,
                     std::chrono::milliseconds limit) {
  CURL* curl = curl_easy_init();
  curl_slist* headers = nullptr;
  for (const auto& line : lines) headers = curl_slist_append(headers, line.c_str());
  headers = curl_slist_append(headers, "Accept: text/event-stream");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(limit.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, sse_on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, progress_thunk);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  std::lock_guard<std::mutex> lock(mu_);
  status_ = code;
  closed_ = true;
  cv_.notify_all();
}

void sse_client::feed(const char* data, std::size_t n) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  raw_.append(data, std::min<std::size_t>(n, 4096 - std::min<std::size_t>(raw_.size(), 4096)));
  arrived_ = now;
  opened_ = true;
  cv_.notify_all();
  wall_ = std::chrono::system_clock::now();
  parser_.feed(std::string_view(data, n));
}

bool sse_client::wait(const std::function<bool(const std::vector<sse_event>&)>& pred,
                      std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return pred(events_) || closed_; });
  return pred(events_);
}

bool sse_client::wait_open(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return opened_ || closed_; }) && opened_;
}

bool sse_client::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return closed_; });
}

std::vector<sse_event> sse_client::events() {
  std::lock_guard<std::mutex> lock(mu_);
  return events_;
}

long sse_client::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::string sse_client::error_body() {
  std::lock_guard<std::mutex> lock(mu_);
  return raw_;
}

}  // namespace pikoci::test
