#include "deploy/leadlog/serve_http.h"

#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "consumers/definition_publisher.h"
#include "consumers/ingest.h"
#include "consumers/kafka_lag.h"
#include "deploy/leadlog/commands.h"
#include "engine/clock.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"
#include "projections/api/http_server.h"
#include "projections/api/read_api.h"

namespace leadlog::cli {
namespace {

constexpr char kDefaultHttpAddress[] = "127.0.0.1:8080";

// Counters, consumer lag and outbox backlog for /readyz and /metrics.
class ServeIngestStatus final : public IngestStatusSource {
 public:
  ServeIngestStatus(const ServeHttpDeps& deps, const KafkaLagWatcher* lag) : deps_(deps), lag_(lag) {}

  IngestStatus Status() const override {
    IngestStatus out;
    const IngestCounters c = deps_.ingest->counters();
    out.counters = {{"messages", c.messages},       {"appended", c.appended},
                    {"duplicates", c.duplicates},   {"dead_letters", c.dead_letters},
                    {"batches", c.batches},         {"pauses", c.pauses},
                    {"rebalances", c.rebalances},   {"dropped_on_loss", c.dropped_on_loss},
                    {"consumer_errors", c.consumer_errors}, {"clock_ticks", c.clock_ticks},
                    {"after_append_errors", c.after_append_errors},
                    {"erasures", c.erasures}, {"erasure_records_rewritten", c.records_rewritten},
                    {"erasure_dead_letters_erased", c.dead_letters_erased}};
    if (deps_.projector != nullptr) {
      const LiveProjectorCounters p = deps_.projector->counters();
      out.counters.insert(out.counters.end(), {{"projection_catch_ups", p.catch_ups},
                                               {"projection_errors", p.errors},
                                               {"projection_lag_waits", p.waits},
                                               {"projection_lag_wait_ms", p.wait_ms}});
    }

    out.appended_per_second = Rate(c.appended);
    const KafkaLag lag = lag_->Snapshot();
    out.lag_known = lag.known;
    out.lag_error = lag.error;
    for (const KafkaLag::Partition& p : lag.partitions) {
      v1::PartitionLag& v = out.partitions.emplace_back();
      v.set_partition(p.partition);
      v.set_end_offset(p.end_offset);
      v.set_stored_offset(p.stored_offset);
      v.set_lag(p.lag);
    }
    if (deps_.emitter != nullptr) {
      auto runner = deps_.projection->runner();
      for (const OutboxEmitterCounters::Shard& s : deps_.emitter->counters().shards) {
        const uint64_t checkpoint = runner->Checkpoint(s.shard).value();
        const uint64_t emitted = s.has_cursor ? s.sequence.value() + 1 : 0;
        out.outbox_backlog.emplace_back(s.shard.value(), checkpoint > emitted ? checkpoint - emitted : 0);
      }
    }
    return out;
  }

 private:
  // Appended per second since the previous sample at least 1 s earlier.
  double Rate(uint64_t appended) const {
    const int64_t now = SystemClock::Get()->MonotonicMs();
    absl::MutexLock lock(&mu_);
    if (last_ms_ == 0 || now - last_ms_ >= 1000) {
      if (last_ms_ != 0) rate_ = 1000.0 * static_cast<double>(appended - last_appended_) / (now - last_ms_);
      last_ms_ = now;
      last_appended_ = appended;
    }
    return rate_;
  }

  const ServeHttpDeps deps_;
  const KafkaLagWatcher* const lag_;
  mutable absl::Mutex mu_;
  mutable int64_t last_ms_ ABSL_GUARDED_BY(mu_) = 0;
  mutable uint64_t last_appended_ ABSL_GUARDED_BY(mu_) = 0;
  mutable double rate_ ABSL_GUARDED_BY(mu_) = 0;
};

// POST /v1/definitions: the same Kafka path as `definitions publish
// --brokers`; the producer connects on the first publish.
class ServePublisher final : public DefinitionPublisher {
 public:
  explicit ServePublisher(const ServeHttpDeps& deps) : deps_(deps) {}
  absl::StatusOr<std::map<int32_t, int64_t>> Publish(const v1::Event& event) override {
    KafkaDefinitionPublisher* publisher = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (publisher_ == nullptr) {
        auto created = KafkaDefinitionPublisher::Create(deps_.brokers, deps_.properties);
        if (!created.ok()) return absl::UnavailableError(absl::StrCat("publisher: ", created.status().message()));
        publisher_ = *std::move(created);
      }
      publisher = publisher_.get();
    }
    return publisher->Publish(deps_.topic, event);
  }

 private:
  const ServeHttpDeps deps_;
  absl::Mutex mu_;
  std::unique_ptr<KafkaDefinitionPublisher> publisher_ ABSL_GUARDED_BY(mu_);
};

absl::Status WritePortFile(const std::string& path, int port) {
  if (path.empty()) return absl::OkStatus();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << port << "\n";
    if (!out.good()) return absl::InternalError(absl::StrCat("--http-port-file: cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("--http-port-file: cannot rename ", tmp));
  }
  return absl::OkStatus();
}

}  // namespace

class ServeHttp::Impl {
 public:
  explicit Impl(const ServeHttpDeps& deps) : deps(deps), publisher(deps) {}
  ServeHttpDeps deps;
  PositionWaiter waiter;
  ApiMetrics metrics;
  ServePublisher publisher;
  std::unique_ptr<KafkaLagWatcher> lag;
  std::unique_ptr<ServeIngestStatus> status;
  std::unique_ptr<ReadApi> api;
  std::unique_ptr<HttpServer> server;
};

void DeclareHttpFlags(CliArgs& args) {
  args.String("http", "ADDR", "serve the HTTP read API on HOST:PORT (\"\" = off; port 0 = any)",
              kDefaultHttpAddress);
  args.Bool("no-http", "no HTTP read API");
  args.String("http-threads", "N", "HTTP server threads (one per open keep-alive connection)",
              std::to_string(kApiThreadsDefault));
  args.String("http-admin-token-file", "FILE",
              "bearer token for admin endpoints (POST /v1/definitions); without it they answer 403");
  args.String("http-read-token-file", "FILE", "bearer token the read endpoints require");
  args.String("http-port-file", "FILE", "write the bound HTTP port to FILE (for --http HOST:0)");
  args.String("background-nice", "N",
              absl::StrCat("nice value (", kBackgroundNiceMin, "..", kBackgroundNiceMax,
                           ") of serve's ingest, live projection and emitter threads, so HTTP "
                           "requests (at serve's own priority) go first; 0 = same priority"),
              std::to_string(kBackgroundNiceDefault));
}

absl::Status SetBackgroundNiceFromFlags(const CliArgs& args) {
  ASSIGN_OR_RETURN(int64_t nice, args.GetInt("background-nice", kBackgroundNiceMin, kBackgroundNiceMax));
  return SetBackgroundNice(static_cast<int>(nice));
}

absl::StatusOr<std::unique_ptr<ServeHttp>> ServeHttp::Start(const CliArgs& args, ServeHttpDeps deps) {
  const std::string address = args.Has("http") ? args.Get("http") : kDefaultHttpAddress;
  if (args.GetBool("no-http") || address.empty()) return std::unique_ptr<ServeHttp>();
  auto impl = std::make_unique<Impl>(deps);
  ReadApiOptions options;
  if (args.Has("http-admin-token-file")) {
    ASSIGN_OR_RETURN(options.admin_token, ReadTokenFile("http-admin-token-file", args.Get("http-admin-token-file")));
  }
  if (args.Has("http-read-token-file")) {
    ASSIGN_OR_RETURN(options.read_token, ReadTokenFile("http-read-token-file", args.Get("http-read-token-file")));
  }
  ASSIGN_OR_RETURN(int64_t threads, args.GetInt("http-threads", 1, kApiThreadsMax));
  KafkaLagOptions lag_options;
  lag_options.brokers = deps.brokers;
  lag_options.topic = deps.topic;
  lag_options.properties = deps.properties;
  ASSIGN_OR_RETURN(impl->lag, KafkaLagWatcher::Start(lag_options, deps.log));
  impl->status = std::make_unique<ServeIngestStatus>(deps, impl->lag.get());
  ReadApiContext context{deps.projection, deps.log, &impl->waiter, impl->status.get(),
                         &impl->publisher, &impl->metrics};
  context.shard_for_key = &ShardForKey;  // lookups go to the lead's shard first
  impl->api = std::make_unique<ReadApi>(context, options);
  HttpServerOptions server_options;
  server_options.address = address;
  server_options.threads = static_cast<int>(threads);
  auto server = HttpServer::Start(impl->api.get(), server_options);
  if (!server.ok()) {
    // The default address is taken (another serve on this machine): serve
    // ingest without the API rather than not at all; an explicit --http
    // that cannot be bound is an error.
    if (!args.Has("http")) {
      std::cerr << "leadlog serve: HTTP API off: " << server.status().message() << "\n";
      return std::unique_ptr<ServeHttp>();
    }
    return absl::Status(server.status().code(), absl::StrCat("--http: ", server.status().message()));
  }
  impl->server = *std::move(server);
  RETURN_IF_ERROR(WritePortFile(args.Get("http-port-file"), impl->server->port()));
  std::cerr << "leadlog serve: HTTP API on " << address.substr(0, address.rfind(':')) << ":"
            << impl->server->port() << "\n";
  return std::unique_ptr<ServeHttp>(new ServeHttp(std::move(impl)));
}

ServeHttp::ServeHttp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServeHttp::~ServeHttp() { Stop(); }

void ServeHttp::Notify() { impl_->waiter.Notify(); }

void ServeHttp::Stop() {
  if (impl_->server != nullptr) impl_->server->Stop();
  if (impl_->lag != nullptr) impl_->lag->Stop();
}

}  // namespace leadlog::cli
