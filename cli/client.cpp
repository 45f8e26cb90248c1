#include "cli/client.hpp"

#include <cctype>
#include <chrono>
#include <iostream>

#include "cli/login.hpp"
#include "cli/reply.hpp"

namespace pikoci::cli {

using nlohmann::json;

api::api(const node::client_flags& f, std::ostream& o, std::ostream& e)
    : flags(f), out(o), err(e), base_(f.url) {
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  token_ = f.token;
  if (token_.empty() && f.group != "login" && f.group != "logout") {
    token_ = stored_token(base_).value_or("");
    kept_token_ = !token_.empty();
  }
}

std::map<std::string, std::string> api::with_token(
    std::map<std::string, std::string> headers) const {
  if (!token_.empty()) headers["Authorization"] = "Bearer " + token_;
  return headers;
}

http_client::response api::send(const std::string& method, const std::string& path,
                                const std::optional<json>& body) const {
  auto headers = with_token({{"Accept", "application/json"}});
  std::string payload;
  if (body) {
    headers["Content-Type"] = "application/json";
    payload = body->dump();
  }
  return http_client::request(method, base_ + "/api/v1" + path, payload, headers);
}

http_client::response api::stream(const std::string& path,
                                  const std::function<bool(std::string_view)>& feed,
                                  const std::string& last_event_id) const {
  std::map<std::string, std::string> headers{{"Accept", "text/event-stream"}};
  if (!last_event_id.empty()) headers["Last-Event-ID"] = last_event_id;
  return http_client::stream(base_ + "/api/v1" + path, with_token(std::move(headers)), feed,
                             std::chrono::milliseconds(0));
}

http_client::response api::download(const std::string& path) const {
  return http_client::request("GET", base_ + "/api/v1" + path, {}, with_token({}),
                              std::chrono::minutes(10), std::size_t{4} << 30);
}

bool api::succeeded(const http_client::response& r, json& reply) {
  if (!r.ok() || r.status < 200 || r.status >= 300) return false;
  reply = r.body.empty() ? json() : decode_reply(r.body);
  return !reply.is_discarded();
}

int api::report(const http_client::response& r) const {
  if (!r.ok()) {
    err << "pikoci-node: cannot reach " << base_ << ": " << r.error << "\n";
    return 1;
  }
  json reply = decode_reply(r.body);
  if (reply.is_discarded() || !reply.is_object() || !reply.contains("error")) {
    if (r.status >= 200 && r.status < 300)
      err << "pikoci-node: unexpected reply from " << base_ << " (not JSON)\n";
    else
      err << "pikoci-node: HTTP " << r.status << " from " << base_ << "\n";
    return 1;
  }
  if (flags.json) out << reply.dump(2) << "\n";
  const json& e = reply["error"];
  err << "pikoci-node: " << text(e, "code") << ": " << text(e, "message");
  if (r.status == 401 && kept_token_)
    err << " (the token kept by `client login` was refused: log in again)";
  else if (r.status == 401 && token_.empty() && flags.group != "login")
    err << " (no token: use `client login`, --token or PIKOCI_TOKEN)";
  if (auto ra = r.headers.find("retry-after"); ra != r.headers.end())
    err << " (retry after " << ra->second << "s)";
  err << "\n";
  std::string file = flags.file.empty() ? flags.pipeline : flags.file;
  for (const auto& d : list(reply, "diagnostics"))
    err << file << ":" << text(d, "line") << ":" << text(d, "column") << ": " << text(d, "message")
        << "\n";
  return 1;
}

}  // namespace pikoci::cli
