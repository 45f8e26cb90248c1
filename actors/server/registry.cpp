#include "actors/server/registry.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "actors/server/gather.hpp"
#include "actors/server/pipeline.hpp"
#include "config/pipeline/load.hpp"

namespace pikoci::server {
namespace {

using nlohmann::json;

struct registry_state {
  context ctx;
  std::map<std::string, proto::pipeline_actor> pipelines;
};

using self_ptr = proto::registry_actor::stateful_pointer<registry_state>;
using reply_fn = std::function<void(api::response)>;

std::vector<proto::pipeline_actor> all(self_ptr self) {
  std::vector<proto::pipeline_actor> out;
  for (const auto& [name, p] : self->state.pipelines) out.push_back(p);
  return out;
}

caf::result<api::response> set(self_ptr self, api::set_pipeline& req) {
  pipeline::load_options opts;
  opts.vars = req.vars;
  auto loaded = pipeline::load(req.pipeline + ".hcl", req.config, opts);
  if (!loaded.config) {
    spdlog::info("event=pipeline.rejected pipeline={} errors={}", req.pipeline,
                 loaded.diags.size());
    return invalid_pipeline(req.pipeline, loaded.diags);
  }
  auto cfg = std::make_shared<const pipeline::pipeline_config>(std::move(*loaded.config));
  auto& pipelines = self->state.pipelines;
  auto it = pipelines.find(req.pipeline);
  if (it == pipelines.end())
    it = pipelines
             .emplace(req.pipeline, spawn_pipeline(self->system(), req.pipeline, self->state.ctx))
             .first;
  return self->delegate(it->second, proto::config_atom::value, std::move(cfg),
                        std::move(req.config), std::move(req.vars));
}

/// Asks every pipeline and merges the builds: newest first, then the limit.
void all_builds(self_ptr self, const api::list_builds& req, reply_fn done) {
  gather<api::response>(
      self, all(self),
      [req, done](std::vector<std::optional<api::response>> replies) {
        std::vector<json> builds;
        for (auto& r : replies)
          if (r && !api::is_error(*r))
            for (auto& b : r->body["builds"]) builds.push_back(std::move(b));
        std::sort(builds.begin(), builds.end(), [](const json& a, const json& b) {
          return a["id"].get<std::int64_t>() > b["id"].get<std::int64_t>();
        });
        if (req.limit != 0 && builds.size() > req.limit) builds.resize(req.limit);
        done(api::ok({{"builds", builds}}));
      },
      proto::api_atom::value, api::request{req});
}

/// Asks every pipeline; the first answer that is not a 404 wins (lookups by global id or token).
void first_found(self_ptr self, const api::request& req, api::response not_found, reply_fn done) {
  gather<api::response>(
      self, all(self),
      [not_found, done](std::vector<std::optional<api::response>> replies) {
        for (auto& r : replies)
          if (r && r->status != 404) return done(std::move(*r));
        done(not_found);
      },
      proto::api_atom::value, req);
}

caf::result<api::response> handle(self_ptr self, api::request& r) {
  auto& st = self->state;
  auto later = [self](auto start) -> caf::result<api::response> {
    auto rp = self->make_response_promise<api::response>();
    start([rp](api::response resp) mutable { rp.deliver(std::move(resp)); });
    return rp;
  };
  if (std::holds_alternative<api::list_pipelines>(r))
    return later([self](reply_fn done) {
      gather<json>(
          self, all(self),
          [done](std::vector<std::optional<json>> summaries) {
            auto out = json::array();
            for (auto& s : summaries)
              if (s) out.push_back(std::move(*s));
            done(api::ok({{"pipelines", out}}));
          },
          proto::summary_atom::value);
    });
  if (auto* s = std::get_if<api::set_pipeline>(&r)) return set(self, *s);
  if (auto* l = std::get_if<api::list_builds>(&r); l && l->pipeline.empty())
    return later([self, l = *l](reply_fn done) { all_builds(self, l, done); });
  if (auto* g = std::get_if<api::get_build>(&r); g && g->pipeline.empty())
    return later([self, r](reply_fn done) {
      first_found(
          self, r,
          api::fail(http::errc::not_found,
                    "build " + std::to_string(std::get<api::get_build>(r).id) + " not found"),
          done);
    });
  if (std::holds_alternative<api::webhook>(r))
    return later([self, r](reply_fn done) {
      first_found(self, r, api::fail(http::errc::not_found, "unknown webhook token"), done);
    });
  if (std::holds_alternative<api::get_queue>(r))
    return later([self](reply_fn done) {
      self->request(self->state.ctx.queue, caf::infinite, proto::queue_atom::value)
          .then([done](json& q) { done(api::ok(std::move(q))); },
                [done](caf::error& e) {
                  done(api::fail(http::errc::internal, "queue: " + caf::to_string(e)));
                });
    });
  if (std::holds_alternative<api::list_workers>(r))
    return later([self](reply_fn done) {
      self->request(self->state.ctx.dispatcher, caf::infinite, proto::workers_atom::value)
          .then([done](json& w) { done(api::ok(std::move(w))); },
                [done](caf::error& e) {
                  done(api::fail(http::errc::internal, "workers: " + caf::to_string(e)));
                });
    });
  // everything else is about one pipeline
  const auto& name = api::pipeline_of(r);
  auto it = st.pipelines.find(name);
  if (it == st.pipelines.end())
    return api::fail(http::errc::not_found, "pipeline \"" + name + "\" not found");
  if (std::holds_alternative<api::delete_pipeline>(r)) {
    self->send(it->second, proto::shutdown_atom::value);
    st.pipelines.erase(it);
    spdlog::info("event=pipeline.deleted pipeline={}", name);
    return api::response{204, nullptr, {}};
  }
  return self->delegate(it->second, proto::api_atom::value, std::move(r));
}

proto::registry_actor::behavior_type registry_behavior(self_ptr self, context ctx) {
  self->state.ctx = std::move(ctx);
  return {
      [self](proto::api_atom, api::request& r) { return handle(self, r); },
      [self](proto::shutdown_atom) -> caf::result<int> {
        return self->delegate(self->state.ctx.dispatcher, proto::shutdown_atom::value);
      },
  };
}

}  // namespace

api::response invalid_pipeline(const std::string& name, const hcl::diagnostics& diags) {
  auto list = json::array();
  std::string first;
  for (const auto& d : diags) {
    list.push_back(
        {{"line", d.rng.start.line}, {"column", d.rng.start.column}, {"message", d.message()}});
    if (first.empty()) first = d.message();
  }
  auto r = api::fail(
      http::errc::invalid_pipeline,
      "pipeline \"" + name + "\" is invalid: " + first +
          (diags.size() > 1 ? " (and " + std::to_string(diags.size() - 1) + " more)" : ""));
  r.body["diagnostics"] = std::move(list);
  return r;
}

proto::registry_actor spawn_registry(caf::actor_system& sys, context ctx) {
  return sys.spawn(registry_behavior, std::move(ctx));
}

}  // namespace pikoci::server
