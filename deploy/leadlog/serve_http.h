// The HTTP read API inside `leadlog serve` (projections/api): its flags, the
// ingest status it reports (consumer counters, consumer lag from the
// brokers' watermarks, outbox backlog), definition publishing through
// Kafka, and the server's lifetime.
//
// Thread-safety: Notify from the projector thread (after each shard's
// catch-up) and the rebuild thread; Start/Stop from serve's main thread.
// Lifetime: everything in ServeHttpDeps is borrowed and must outlive the
// ServeHttp; Stop before destroying them.
//
//   DeclareHttpFlags(args);
//   RETURN_IF_ERROR(SetBackgroundNiceFromFlags(args));  // before any thread starts
//   ASSIGN_OR_RETURN(auto http, ServeHttp::Start(args, deps));  // nullptr: --no-http
//   LiveProjectorCallbacks callbacks; callbacks.progress = [&] { http->Notify(); };
//   http->Stop();
#ifndef LEADLOG_DEPLOY_LEADLOG_SERVE_HTTP_H_
#define LEADLOG_DEPLOY_LEADLOG_SERVE_HTTP_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "consumers/kafka_ingest.h"
#include "consumers/outbox_emitter.h"
#include "engine/live_projector.h"
#include "deploy/leadlog/cli_args.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {

void DeclareHttpFlags(CliArgs& args);
// --background-nice (engine/thread_priority.h): sets the value serve's
// background threads apply at start. InvalidArgument naming the flag.
absl::Status SetBackgroundNiceFromFlags(const CliArgs& args);

struct ServeHttpDeps {
  LeadProjection* projection = nullptr;
  EventLog* log = nullptr;
  const KafkaIngest* ingest = nullptr;
  const OutboxEmitter* emitter = nullptr;  // may be null (no actions topic)
  const LiveProjector* projector = nullptr;  // may be null
  std::string brokers;
  std::string topic;
  KafkaProperties properties;
};

class ServeHttp {
 public:
  // nullptr when disabled (--no-http or --http ''). Errors name the flag.
  static absl::StatusOr<std::unique_ptr<ServeHttp>> Start(const CliArgs& args, ServeHttpDeps deps);
  ~ServeHttp();
  // Wakes requests waiting for a min_position.
  void Notify();
  void Stop();

  class Impl;

 private:
  explicit ServeHttp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadlog::cli

#endif  // LEADLOG_DEPLOY_LEADLOG_SERVE_HTTP_H_
