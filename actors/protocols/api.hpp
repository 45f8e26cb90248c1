#pragma once
// The user-facing operations of the node (SPEC §3.1) as typed requests, and the one reply shape.
// The HTTP edge turns a route into one of these (after auth and body checks), the registry routes
// it to the actor that owns the state, and the reply goes back as an HTTP status and JSON body.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/model/build.hpp"
#include "actors/protocols/events.hpp"
#include "http/errors.hpp"

namespace pikoci::api {

// ---- pipelines
struct list_pipelines {};
struct set_pipeline {
  std::string pipeline;
  std::string config;                              // HCL text
  nlohmann::json vars = nlohmann::json::object();  // typed values of `variable` blocks
};
struct get_pipeline {
  std::string pipeline;
};
struct delete_pipeline {
  std::string pipeline;
};
struct pause_pipeline {
  std::string pipeline;
  bool paused = true;
};

/// PUT /pipelines/{p}/concurrency (SPEC §6.1).
struct set_concurrency {
  std::string pipeline;
  std::string mode;  // "", "serial", "group", "skip-if-running"
  std::string group_template;
  bool cancel_running = false;
};

// ---- jobs
struct list_jobs {
  std::string pipeline;
};
struct get_job {
  std::string pipeline, job;
};
struct trigger_job {
  std::string pipeline, job;
  std::map<std::string, std::string> inputs;
  std::vector<std::string> args;
};
struct pause_job {
  std::string pipeline, job;
  bool paused = true;
};

// ---- builds
/// A job's builds (pipeline and job set) or builds across pipelines (both empty).
struct list_builds {
  std::string pipeline, job;
  std::set<model::build_status> statuses;  // empty: all
  std::size_t limit = 50;                  // 0: all
};
/// By pipeline/job/number, or by global id when `pipeline` is empty.
struct get_build {
  std::string pipeline, job, number;
  std::int64_t id = 0;
};
struct cancel_build {
  std::string pipeline, job, number;
  std::string by;       // the user, for the reason
  std::int64_t id = 0;  // instead of `number` (the pipeline cancelling on its own)
};
struct retry_build {
  std::string pipeline, job, number;
};
/// GET .../builds/{n}/events: the build's events so far, then live until it ends, pushed to
/// `sink`; the reply is an error (404) or 200 once the stream started (its body is unused).
struct watch_build {
  std::string pipeline, job, number;
  event_sink_ptr sink;
};

// ---- resources
struct list_resources {
  std::string pipeline;
};
struct check_resource {
  std::string pipeline, resource;  // canonical or unique bare name
};
struct list_versions {
  std::string pipeline, resource;
  std::size_t limit = 50;
};
struct trigger_version {
  std::string pipeline, resource;
  std::int64_t version_id = 0;
};
/// Pin to `version_id`, or unpin when it is empty.
struct pin_resource {
  std::string pipeline, resource;
  std::optional<std::int64_t> version_id;
};
struct webhook {
  std::string token;
};
/// POST .../resources/{rc}/webhook-token: a new token; the old one answers 404 from then on.
struct regenerate_webhook_token {
  std::string pipeline, resource;
};
/// PUT .../webhooks/git sets the pipeline's git webhook secret; DELETE (no secret) removes it.
struct set_git_webhook {
  std::string pipeline;
  std::optional<std::string> secret;
};
/// POST .../webhooks/git: a delivery from GitHub or GitLab. The pipeline holds the secret, so it
/// verifies the signature over the raw body (http/webhook_sig.hpp).
struct git_webhook {
  std::string pipeline;
  std::string body;                            // raw bytes, as signed
  std::map<std::string, std::string> headers;  // lower-case names
  std::map<std::string, std::string> query;
};

// ---- node
struct get_queue {};
struct list_workers {};
/// GET /admin/export: the store as a RocksDB directory in a ustar archive (SPEC §8).
struct export_store {};
/// GET /metrics: the node's figures in Prometheus text format (the HTTP edge adds its own).
struct get_metrics {};
/// GET /api/v1/stats: dashboard figures (queue, workers, latency, throughput, contention).
struct get_stats {};
/// GET /api/v1/events: every build's status changes from now on, pushed to `sink`.
struct watch_events {
  event_sink_ptr sink;
};

// ---- notifications (the outbox, docs/notifications.md)
/// GET /notifications?status=pending,failed&limit=50: newest first.
struct list_notifications {
  std::set<std::string> statuses;  // pending, delivered, failed; empty: all
  std::size_t limit = 50;          // 0: all
};
/// POST /notifications/{id}/retry: a failed message is pending again, its attempts from zero.
struct retry_notification {
  std::string id;
};

using request =
    std::variant<list_pipelines, set_pipeline, get_pipeline, delete_pipeline, pause_pipeline,
                 set_concurrency, list_jobs, get_job, trigger_job, pause_job, list_builds,
                 get_build, cancel_build, retry_build, list_resources, check_resource,
                 list_versions, trigger_version, pin_resource, webhook, regenerate_webhook_token,
                 set_git_webhook, git_webhook, get_queue, list_workers, export_store, get_metrics,
                 watch_build, watch_events, get_stats, list_notifications, retry_notification>;

/// The pipeline a request is about ("" for node-wide ones).
const std::string& pipeline_of(const request& r);

/// An HTTP status, a JSON body (null: no body) and extra headers.
struct response {
  int status = 200;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string raw;  // a body that is not JSON (its Content-Type is among `headers`)
};

inline response ok(nlohmann::json body, int status = 200) {
  return {status, std::move(body), {}, {}};
}
inline response fail(http::errc e, const std::string& message) {
  return {http::status_of(e), http::error_body(e, message), {}, {}};
}
/// Seconds a client is asked to wait (Retry-After) when the store takes no writes.
constexpr int store_retry_after_seconds = 5;

/// 503 store_unavailable with Retry-After: the change was not made because the store cannot
/// take writes now (a full or read-only disk); it recovers by itself once writes succeed again.
inline response store_unavailable(const std::string& message) {
  auto r = fail(http::errc::store_unavailable, message);
  r.headers.emplace_back("Retry-After", std::to_string(store_retry_after_seconds));
  return r;
}

/// Whether the request changes state that is written to the store (a trigger, a pipeline change,
/// a cancel, a webhook, a check...). These are refused while the store takes no writes; the
/// others (reads, watches, metrics, export) are served.
bool writes_store(const request& r);

inline bool is_error(const response& r) {
  return r.status >= 400;
}

}  // namespace pikoci::api
