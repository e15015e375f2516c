// ReadApi: the HTTP read API's request handling, transport-free: routes a
// request (method, path, query, body, Authorization) to its handler over the
// lead projection and the log, and renders the response as JSON (protobuf's
// JSON mapping of leadlog.v1 api.proto messages). http_server.h puts it on a
// socket; tests call Handle directly too.
//
// Every /v1 response carries the projection position it reflects; a
// `min_position` parameter (position.h) makes the request wait up to
// options.min_position_wait_ms for the live catch-up, else 503 with
// Retry-After. Errors are {"code","message","field"} with 4xx for bad
// requests (the message and field name the parameter).
//
// Thread-safety: Handle is thread-safe and may run on many threads while the
// writer thread appends and catches the projection up: every handler reads
// through the runner snapshot LeadProjection::runner() returns (valid across
// a blue/green switch) with RocksDB iterators and point reads; no lock is
// held across a read. Lifetime: every pointer in ReadApiContext is borrowed
// and must outlive the ReadApi.
//
//   ReadApiContext context{projection.get(), log.get(), &waiter};
//   ReadApi api(context, ReadApiOptions{});
//   ApiResponse r = api.Handle({.method = "GET", .path = "/v1/leads/u-42"});
#ifndef LEADLOG_PROJECTIONS_API_READ_API_H_
#define LEADLOG_PROJECTIONS_API_READ_API_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/event_log.h"
#include "leadlog/v1/api.pb.h"
#include "leadlog/v1/event.pb.h"
#include "projections/api/limits.h"
#include "projections/api/metrics.h"
#include "projections/api/position.h"
#include "projections/lead/lead_projection.h"

namespace leadlog {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query
  std::multimap<std::string, std::string> query;
  std::string body;
  std::string authorization;  // the Authorization header ("" = none)
};

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  // The route pattern that answered ("/v1/leads/{id}"; "unmatched" for
  // 404s), the metric label.
  std::string route;
};

// What the process hosting the API knows about ingest (serve fills it from
// the Kafka consumer; absent in processes without ingest).
struct IngestStatus {
  // Counters for /metrics, e.g. {"messages", 12}, {"appended", 10}.
  std::vector<std::pair<std::string, uint64_t>> counters;
  // Events appended per second over the last measuring interval.
  double appended_per_second = 0;
  // Consumer lag per partition, from the brokers' high watermarks and the
  // offsets stored in the log; lag_known false until the first round (or
  // when it failed: lag_error says why).
  bool lag_known = false;
  std::string lag_error;
  std::vector<v1::PartitionLag> partitions;
  // Outbox: per shard, records folded but not yet emitted.
  std::vector<std::pair<uint32_t, uint64_t>> outbox_backlog;
};

class IngestStatusSource {
 public:
  virtual ~IngestStatusSource() = default;
  virtual IngestStatus Status() const = 0;
};

// Publishes a definition or erasure event the same way `leadlog definitions
// publish --brokers` does (one message per partition of the events topic);
// returns partition -> offset.
class DefinitionPublisher {
 public:
  virtual ~DefinitionPublisher() = default;
  virtual absl::StatusOr<std::map<int32_t, int64_t>> Publish(const v1::Event& event) = 0;
};

struct ReadApiContext {
  LeadProjection* projection = nullptr;   // required
  EventLog* log = nullptr;                // required
  PositionWaiter* waiter = nullptr;       // required
  IngestStatusSource* ingest = nullptr;   // optional
  // optional: POST /v1/definitions and /v1/leads/{id}/erase answer 503
  DefinitionPublisher* publisher = nullptr;
  ApiMetrics* metrics = nullptr;          // optional: /metrics has no request histograms
  // optional: the shard ingest puts a partition key in (serve: ShardForKey,
  // consumers/ingest.h). A lead lookup then tries that shard first
  // (FindLeadById's `first`), with the partition count taken as the highest
  // shard + 1 (definitions reach every partition); without it, shards in
  // order. A wrong guess costs one shard's reads, never a wrong lead.
  ShardId (*shard_for_key)(absl::string_view key, int partitions) = nullptr;
};

struct ReadApiOptions {
  // Bearer token admin endpoints require ("" = admin endpoints answer 403).
  std::string admin_token;
  // Bearer token every other /v1 endpoint requires ("" = none). The admin
  // token is accepted for reads too. /healthz, /readyz, /metrics are open.
  std::string read_token;
  // Longest wait for min_position (<= kApiMinPositionWaitMsMax).
  int min_position_wait_ms = kApiMinPositionWaitMsMax;
  // /readyz: ready when the summed consumer lag is at most this many
  // messages and the projection lags the log by at most this many records.
  int64_t ready_lag_messages_max = 1000;
  int64_t ready_projection_lag_max = 10'000;
};

class ReadApi {
 public:
  ReadApi(ReadApiContext context, ReadApiOptions options);

  // Never fails: every error is a JSON response. Safe for any input.
  ApiResponse Handle(const ApiRequest& request) const;

 private:
  ReadApiContext context_;
  ReadApiOptions options_;
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_READ_API_H_
