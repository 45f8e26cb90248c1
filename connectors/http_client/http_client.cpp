#include "connectors/http_client/http_client.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>

namespace pikoci::http_client {
namespace {

/// Where libcurl's callbacks write. Callbacks never throw: an exception must not cross C frames.
struct sink {
  response* r;
  std::size_t max_bytes;
  const std::function<bool(std::string_view)>* on_data = nullptr;  // streamed 2xx bodies
  CURL* curl = nullptr;
  bool too_large = false;
  bool out_of_memory = false;
  bool stopped = false;  // on_data asked to stop
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  std::size_t len = size * n;
  if (s->on_data != nullptr) {
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      try {
        if ((*s->on_data)(std::string_view(data, len))) return len;
      } catch (...) {
        s->out_of_memory = true;
        return 0;
      }
      s->stopped = true;
      return 0;
    }
  }
  if (s->r->body.size() + len > s->max_bytes) {
    s->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  try {
    s->r->body.append(data, len);
  } catch (...) {
    s->out_of_memory = true;
    return 0;
  }
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  std::size_t len = size * n;
  try {
    std::string line(data, len);
    // A new status line starts another response (100 Continue, ...): keep the last one's headers.
    if (line.rfind("HTTP/", 0) == 0) {
      s->r->headers.clear();
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) return len;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r\n") + 1);
    s->r->headers[name] = value;
  } catch (...) {
    s->out_of_memory = true;
    return 0;
  }
  return len;
}

bool global_init() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  return ok;
}

struct easy_deleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

response perform(const std::string& method, const std::string& url, const std::string& body,
                 const std::map<std::string, std::string>& headers,
                 std::chrono::milliseconds timeout, std::size_t max_response_bytes,
                 const std::function<bool(std::string_view)>* on_data = nullptr) {
  response r;
  if (!global_init()) {
    r.error = "cannot initialize libcurl";
    return r;
  }
  std::unique_ptr<CURL, easy_deleter> curl(curl_easy_init());
  if (!curl) {
    r.error = "cannot initialize libcurl";
    return r;
  }
  std::unique_ptr<curl_slist, slist_deleter> list;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(list.get(), line.c_str());
    if (next != nullptr) {
      list.release();
      list.reset(next);
    }
  };
  for (const auto& [k, v] : headers) add_header(k + ": " + v);
  // RESTinio does not send 100 Continue: without this, curl waits a second before large bodies.
  bool has_expect = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return h.first.size() == 6 && strncasecmp(h.first.c_str(), "expect", 6) == 0;
  });
  if (!has_expect) add_header("Expect:");

  CURL* c = curl.get();
  sink s{&r, max_response_bytes, on_data, c};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
  if (on_data != nullptr) {  // a stream: give up when nothing (not even a ping) came for a minute
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  }

  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK || s.stopped) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status == 0) r.error = "no HTTP status in the reply";
    return r;
  }
  r.status = 0;
  r.body.clear();
  r.headers.clear();
  if (s.too_large)
    r.error = "response larger than " + std::to_string(max_response_bytes) + " bytes";
  else if (s.out_of_memory)
    r.error = "out of memory reading the response";
  else
    r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  return r;
}

}  // namespace

response request(const std::string& method, const std::string& url, const std::string& body,
                 const std::map<std::string, std::string>& headers,
                 std::chrono::milliseconds timeout, std::size_t max_response_bytes) {
  try {
    return perform(method, url, body, headers, timeout, max_response_bytes);
  } catch (const std::exception& e) {
    response r;
    r.error = e.what();
    return r;
  }
}

response stream(const std::string& url, const std::map<std::string, std::string>& headers,
                const std::function<bool(std::string_view)>& on_data,
                std::chrono::milliseconds timeout) {
  try {
    return perform("GET", url, {}, headers, timeout, default_max_response_bytes, &on_data);
  } catch (const std::exception& e) {
    response r;
    r.error = e.what();
    return r;
  }
}

void sse_parser::feed(std::string_view bytes) {
  pending_.append(bytes.data(), bytes.size());
  std::size_t start = 0;
  for (;;) {
    auto nl = pending_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(pending_.data() + start, nl - start);
    start = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto value = [&](std::size_t name_size) {
      auto v = line.substr(name_size);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    };
    if (line.empty()) {  // the end of one event
      last_id_ = id_buffer_;
      if (has_data_) on_event_(type_.empty() ? "message" : type_, data_);
      type_.clear();
      data_.clear();
      has_data_ = false;
    } else if (line.rfind("event:", 0) == 0) {
      type_ = value(6);
    } else if (line.rfind("id:", 0) == 0 || line == "id") {
      auto v = line == "id" ? std::string() : value(3);
      if (v.find('\0') == std::string::npos) id_buffer_ = std::move(v);
    } else if (line.rfind("data:", 0) == 0) {
      if (has_data_) data_ += '\n';
      data_ += value(5);
      has_data_ = true;
    }
  }
  pending_.erase(0, start);
}

std::string percent_encode(std::string_view s, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string url_segment(std::string_view s) { return percent_encode(s, false); }

}  // namespace pikoci::http_client
