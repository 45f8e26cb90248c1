#include "node/secret_access.hpp"

#include "connectors/http_client/http_client.hpp"

namespace pikoci::node {

namespace {

std::string url_escape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

worker::secret_store_fn gateway_secret_store(proto::gateway gate) {
  return [gate](const std::string& pipeline, const std::string& name) {
    worker::secret_answer a;
    auto r = gate.call_and_wait(proto::read_secret{pipeline, name});
    if (r.failed()) {
      a.error = r.failure->message;
    } else if (r.value.contains("value") && r.value["value"].is_string()) {
      a.value = r.value["value"].get<std::string>();
    }
    return a;
  };
}

worker::secret_store_fn http_secret_store(std::string server_url, std::string worker_token) {
  while (!server_url.empty() && server_url.back() == '/') server_url.pop_back();
  return [server_url, worker_token](const std::string& pipeline, const std::string& name) {
    worker::secret_answer a;
    auto url =
        server_url + "/api/v1/workers/secrets/" + url_escape(pipeline) + "/" + url_escape(name);
    auto r = http_client::request("GET", url, {}, {{"Authorization", "Bearer " + worker_token}},
                                  std::chrono::seconds(10), 1024 * 1024);
    if (!r.error.empty()) {
      a.error = "cannot reach the server at " + server_url + ": " + r.error;
      return a;
    }
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status == 200 && j.is_object() && j.contains("value") && j["value"].is_string()) {
      a.value = j["value"].get<std::string>();
    } else if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      a.error = j["error"].value("message", "HTTP " + std::to_string(r.status));
    } else {
      a.error = "the server answered HTTP " + std::to_string(r.status);
    }
    return a;
  };
}

}  // namespace pikoci::node
