#include "http/server.hpp"

#include <atomic>
#include <future>
#include <stdexcept>

#include <restinio/all.hpp>

#include "build_info.hpp"
#include "http/errors.hpp"

namespace pikoci::http {
namespace {

using router_t = restinio::router::express_router_t<>;
using traits_t =
    restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t, router_t>;
using request_t = restinio::request_handle_t;

restinio::request_handling_status_t reply(const request_t& req, int status,
                                          const nlohmann::json& body) {
  return req
      ->create_response(restinio::http_status_line_t{
          restinio::http_status_code_t{static_cast<std::uint16_t>(status)}, ""})
      .append_header(restinio::http_field::content_type, "application/json")
      .set_body(body.dump() + "\n")
      .done();
}

restinio::request_handling_status_t reply_error(const request_t& req, errc e,
                                                const std::string& message) {
  return reply(req, status_of(e), error_body(e, message));
}

/// The one route table (SPEC §3.1). Known paths answer 405 for other methods.
std::unique_ptr<router_t> make_router(node_view node, std::size_t max_body) {
  auto router = std::make_unique<router_t>();
  auto guard = [max_body](auto handler) {
    return [handler, max_body](const request_t& req, restinio::router::route_params_t params) {
      if (req->body().size() > max_body) {
        return reply_error(req, errc::payload_too_large,
                           "request body larger than " + std::to_string(max_body) + " bytes");
      }
      return handler(req, std::move(params));
    };
  };
  router->http_get("/api/v1/health", guard([node](const request_t& req, auto) {
                     return reply(req, 200, node.health());
                   }));
  router->http_get(
      "/api/v1/version", guard([](const request_t& req, auto) {
        return reply(req, 200, {{"version", build_info::version}, {"commit", build_info::commit}});
      }));
  for (const char* path : {"/api/v1/health", "/api/v1/version"}) {
    router->add_handler(restinio::router::none_of_methods(restinio::http_method_get()), path,
                        [](const request_t& req, auto) {
                          return reply_error(
                              req, errc::method_not_allowed,
                              "method not allowed on " + std::string(req->header().path()));
                        });
  }
  router->non_matched_request_handler([](const request_t& req) {
    return reply_error(req, errc::not_found, "no route for " + std::string(req->header().path()));
  });
  return router;
}

class restinio_server final : public server {
 public:
  restinio_server(const server_options& opts, node_view node) {
    std::promise<std::uint16_t> bound;
    auto bound_future = bound.get_future();
    auto settings =
        restinio::server_settings_t<traits_t>{}
            .address(opts.host)
            .port(opts.port)
            .request_handler(make_router(std::move(node), opts.max_body_bytes))
            .read_next_http_message_timelimit(std::chrono::seconds(30))
            .handle_request_timeout(std::chrono::seconds(30))
            .max_pipelined_requests(16)
            .acceptor_post_bind_hook(
                [p = std::make_shared<std::promise<std::uint16_t>>(std::move(bound))](
                    asio::ip::tcp::acceptor& a) { p->set_value(a.local_endpoint().port()); });
    try {
      running_ = restinio::run_async<traits_t>(restinio::own_io_context(), std::move(settings), 1);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + opts.host + ":" + std::to_string(opts.port) +
                               ": " + e.what());
    }
    port_ = bound_future.get();
  }
  ~restinio_server() override { stop(); }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    running_->stop();
    running_->wait();
  }

 private:
  restinio::running_server_handle_t<traits_t> running_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<server> start_server(const server_options& opts, node_view node) {
  return std::make_unique<restinio_server>(opts, std::move(node));
}

}  // namespace pikoci::http
