// /healthz, /readyz, /metrics.
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "projections/api/internal/handlers.h"

namespace leadlog::api_internal {
namespace {

uint64_t ProjectionLag(const Reader& reader, const EventLog& log) {
  uint64_t lag = 0;
  for (ShardId shard : reader.shards) {
    const uint64_t position = log.Position(shard).value();
    const uint64_t checkpoint = reader.runner->Checkpoint(shard).value();
    if (position > checkpoint) lag += position - checkpoint;
  }
  return lag;
}

std::string Shard(ShardId shard) { return absl::StrCat("shard=\"", shard.value(), "\""); }

void RenderLog(const Reader& reader, const EventLog& log, std::string* out) {
  absl::StrAppend(out, "# TYPE leadlog_log_position_records gauge\n",
                  "# TYPE leadlog_projection_checkpoint_records gauge\n",
                  "# TYPE leadlog_projection_lag_records gauge\n",
                  "# TYPE leadlog_log_events_appended_total counter\n",
                  "# TYPE leadlog_log_duplicates_total counter\n",
                  "# TYPE leadlog_log_dead_letters_total counter\n");
  for (ShardId shard : reader.shards) {
    const ShardStats s = log.Stats(shard);
    const uint64_t checkpoint = reader.runner->Checkpoint(shard).value();
    const uint64_t position = s.position.value();
    AppendSample(out, "leadlog_log_position_records", Shard(shard), position);
    AppendSample(out, "leadlog_projection_checkpoint_records", Shard(shard), checkpoint);
    AppendSample(out, "leadlog_projection_lag_records", Shard(shard),
                 position > checkpoint ? position - checkpoint : 0);
    AppendSample(out, "leadlog_log_events_appended_total", Shard(shard), s.events_appended);
    AppendSample(out, "leadlog_log_duplicates_total", Shard(shard), s.duplicates_skipped);
    AppendSample(out, "leadlog_log_dead_letters_total", Shard(shard), s.dead_letters);
  }
}

void RenderIngest(const IngestStatus& status, std::string* out) {
  for (const auto& [name, value] : status.counters) {
    const std::string metric = absl::StrCat("leadlog_ingest_", name, "_total");
    absl::StrAppend(out, "# TYPE ", metric, " counter\n");
    AppendSample(out, metric, "", static_cast<double>(value));
  }
  absl::StrAppend(out, "# TYPE leadlog_ingest_appended_per_second gauge\n");
  AppendSample(out, "leadlog_ingest_appended_per_second", "", status.appended_per_second);
  absl::StrAppend(out, "# TYPE leadlog_consumer_lag_known gauge\n");
  AppendSample(out, "leadlog_consumer_lag_known", "", status.lag_known ? 1 : 0);
  absl::StrAppend(out, "# TYPE leadlog_consumer_lag_messages gauge\n",
                  "# TYPE leadlog_consumer_end_offset gauge\n");
  for (const v1::PartitionLag& p : status.partitions) {
    const std::string label = absl::StrCat("partition=\"", p.partition(), "\"");
    AppendSample(out, "leadlog_consumer_lag_messages", label, static_cast<double>(p.lag()));
    AppendSample(out, "leadlog_consumer_end_offset", label, static_cast<double>(p.end_offset()));
  }
  absl::StrAppend(out, "# TYPE leadlog_outbox_backlog_records gauge\n");
  for (const auto& [shard, backlog] : status.outbox_backlog) {
    AppendSample(out, "leadlog_outbox_backlog_records", absl::StrCat("shard=\"", shard, "\""),
                 static_cast<double>(backlog));
  }
}

}  // namespace

absl::StatusOr<ApiResponse> Healthz(const Call& call) {
  (void)call;
  v1::HealthResponse out;
  out.set_status("ok");
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> Readyz(const Call& call) {
  Reader reader = OpenReader(call.context);
  v1::HealthResponse out;
  *out.mutable_position() = reader.position;
  out.set_projection_lag(ProjectionLag(reader, *call.context.log));
  std::string why;
  if (call.context.ingest != nullptr) {
    IngestStatus status = call.context.ingest->Status();
    int64_t lag = 0;
    for (v1::PartitionLag& p : status.partitions) {
      lag += p.lag();
      *out.add_partitions() = std::move(p);
    }
    if (!status.lag_known) {
      why = absl::StrCat("consumer lag unknown", status.lag_error.empty() ? "" : ": ", status.lag_error);
    } else if (lag > call.options.ready_lag_messages_max) {
      why = absl::StrCat("consumer lag ", lag, " > ", call.options.ready_lag_messages_max, " messages");
    }
  }
  if (why.empty() && out.projection_lag() > static_cast<uint64_t>(call.options.ready_projection_lag_max)) {
    why = absl::StrCat("projection lag ", out.projection_lag(), " > ",
                       call.options.ready_projection_lag_max, " records");
  }
  out.set_status(why.empty() ? "ready" : "not_ready");
  out.set_reason(why);
  return JsonResponse(out, why.empty() ? 200 : 503);
}

absl::StatusOr<ApiResponse> Metrics(const Call& call) {
  Reader reader = OpenReader(call.context);
  ApiResponse response;
  response.content_type = "text/plain; version=0.0.4";
  std::string& out = response.body;
  RenderLog(reader, *call.context.log, &out);
  if (call.context.ingest != nullptr) RenderIngest(call.context.ingest->Status(), &out);
  absl::StrAppend(&out, "# TYPE leadlog_http_min_position_waiters gauge\n");
  AppendSample(&out, "leadlog_http_min_position_waiters", "", call.context.waiter->waiters());
  if (call.context.metrics != nullptr) call.context.metrics->Render(&out);
  return response;
}

}  // namespace leadlog::api_internal
