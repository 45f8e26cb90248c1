#include "tests/support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <vector>

namespace pikoci::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

int bound_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

/// Writes all of `data`; false when the peer is gone.
bool write_all(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    auto w = ::send(fd, data, static_cast<std::size_t>(n), MSG_NOSIGNAL);
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

}  // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  auto a = loopback(0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("free_port: cannot bind");
  int port = bound_port(fd);
  ::close(fd);
  return port;
}

tcp_proxy::tcp_proxy(int target_port) : target_(target_port) {
  listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto a = loopback(0);
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listener_, 64) != 0)
    throw std::runtime_error("tcp_proxy: cannot listen");
  port_ = bound_port(listener_);
  thread_ = std::thread([this] { serve(); });
}

tcp_proxy::~tcp_proxy() {
  stop_ = true;
  thread_.join();
  ::close(listener_);
}

void tcp_proxy::serve() {
  struct pair {
    int client, server;
  };
  std::vector<pair> pairs;
  auto close_pair = [](const pair& p) {
    ::close(p.client);
    ::close(p.server);
  };
  char buf[65536];
  while (!stop_) {
    if (cut_) {
      for (const auto& p : pairs) close_pair(p);
      pairs.clear();
    }
    std::vector<pollfd> fds{{listener_, POLLIN, 0}};
    for (const auto& p : pairs) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.server, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 50) <= 0) continue;
    std::vector<bool> dead(pairs.size(), false);
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      for (int side = 0; side < 2; ++side) {
        const auto& f = fds[1 + 2 * i + static_cast<std::size_t>(side)];
        if (dead[i] || (f.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        int to = side == 0 ? pairs[i].server : pairs[i].client;
        auto n = ::recv(f.fd, buf, sizeof buf, 0);
        if (n <= 0 || !write_all(to, buf, n)) dead[i] = true;
      }
    }
    for (std::size_t i = pairs.size(); i-- > 0;) {
      if (!dead[i]) continue;
      close_pair(pairs[i]);
      pairs.erase(pairs.begin() + static_cast<std::ptrdiff_t>(i));
    }
    if (fds[0].revents & POLLIN) {
      int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      if (cut_) {
        ::close(client);
        continue;
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      auto a = loopback(target_);
      if (server < 0 || ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        if (server >= 0) ::close(server);
        continue;
      }
      pairs.push_back({client, server});
    }
  }
  for (const auto& p : pairs) close_pair(p);
}

}  // namespace pikoci::test
