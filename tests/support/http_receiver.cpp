#include "tests/support/http_receiver.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace pikoci::test {

http_receiver::http_receiver(int port) {
  listen_on(port);
}

http_receiver::~http_receiver() {
  stop();
}

void http_receiver::listen_on(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
    auto err = std::string(std::strerror(errno));
    ::close(fd);
    throw std::runtime_error("bind/listen 127.0.0.1:" + std::to_string(port) + ": " + err);
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  running_ = true;
  thread_ = std::thread([this] { serve(); });
}

void http_receiver::start() {
  if (running_) return;
  listen_on(port_);
}

void http_receiver::stop() {
  if (!running_.exchange(false)) return;
  thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void http_receiver::fail_next(int n, int status) {
  std::lock_guard<std::mutex> l(mu_);
  failures_left_ = n;
  failure_status_ = status;
}

void http_receiver::respond_with(responder r) {
  std::lock_guard<std::mutex> l(mu_);
  responder_ = std::move(r);
}

void http_receiver::answer_with(
    std::function<std::pair<int, std::string>(const received_request&)> fn) {
  respond_with([fn = std::move(fn)](const received_request& r) -> std::optional<http_reply> {
    auto [status, body] = fn(r);
    return http_reply{status, {}, std::move(body)};
  });
}

void http_receiver::answer_with(std::string body) {
  respond_with([body = std::move(body)](const received_request&) -> std::optional<http_reply> {
    return http_reply{200, {{"Content-Type", "application/json"}}, body};
  });
}

std::vector<received_request> http_receiver::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

void http_receiver::serve() {
  while (running_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    handle(fd);
    ::close(fd);
  }
}

void http_receiver::handle(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string data;
  char buf[4096];
  std::size_t head_end = std::string::npos;
  while (head_end == std::string::npos) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    data.append(buf, static_cast<std::size_t>(n));
    head_end = data.find("\r\n\r\n");
  }
  received_request r;
  std::size_t line_end = data.find("\r\n");
  std::string request_line = data.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.find(' ', sp1 + 1);
  r.method = request_line.substr(0, sp1);
  r.path = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::size_t pos = line_end + 2;
  while (pos < head_end) {
    auto end = data.find("\r\n", pos);
    auto line = data.substr(pos, end - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers[name] = value;
  }
  std::size_t length = 0;
  if (auto it = r.headers.find("content-length"); it != r.headers.end())
    length = std::stoul(it->second);
  r.body = data.substr(head_end + 4);
  while (r.body.size() < length) {
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    r.body.append(buf, static_cast<std::size_t>(n));
  }
  http_reply answer{200, {}, "ok"};
  responder respond;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (failures_left_ > 0) {
      --failures_left_;
      answer.status = failure_status_;
    } else {
      respond = responder_;
    }
  }
  if (respond)
    if (auto custom = respond(r)) answer = std::move(*custom);
  {
    std::lock_guard<std::mutex> l(mu_);
    r.answered = answer.status;
    requests_.push_back(r);
  }
  bool pieces = !answer.chunks.empty();
  std::string reply =
      "HTTP/1.1 " + std::to_string(answer.status) + (answer.status == 200 ? " OK" : " Error") +
      "\r\n" +
      (pieces ? std::string() : "Content-Length: " + std::to_string(answer.body.size()) + "\r\n") +
      "Connection: close\r\n";
  for (const auto& [k, v] : answer.headers) reply += k + ": " + v + "\r\n";
  reply += "\r\n";
  if (!pieces) reply += answer.body;
  auto send_all = [fd](const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  };
  if (!send_all(reply)) return;
  for (std::size_t i = 0; i < answer.chunks.size(); ++i) {
    if (answer.before_chunk && !answer.before_chunk(i)) return;
    if (!send_all(answer.chunks[i])) return;
  }
}

}  // namespace pikoci::test
