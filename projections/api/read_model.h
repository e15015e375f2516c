// Read model: the queries over the lead projection's committed state that
// both the CLI read commands (deploy/leadlog) and the HTTP API use: lead
// iteration and pages, nurture flows and their counters, revenue counters
// and samples, the SLA and recycle reports, and definition summaries.
//
// Thread-safety: every function only reads through a ProjectionRunner
// (RocksDB iterators and point reads) and is safe to call from many threads
// while the writer thread catches the runner up; a page reflects each
// projection chunk whole or not at all. Arguments are borrowed for the call.
// Bounds: pages and scans take explicit limits (projections/api/limits.h).
//
//   auto runner = projection->runner();
//   RETURN_IF_ERROR(ForEachLead(*runner, log->Shards(),
//                               [&](ShardId s, const v1::LeadState& l) { ... }));
//   ASSIGN_OR_RETURN(v1::SlaReport report, BuildSlaReport(*runner, log->Shards()));
#ifndef LEADLOG_PROJECTIONS_API_READ_MODEL_H_
#define LEADLOG_PROJECTIONS_API_READ_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/ids.h"
#include "engine/projection.h"
#include "leadlog/v1/api.pb.h"
#include "leadlog/v1/event.pb.h"
#include "leadlog/v1/flow.pb.h"
#include "leadlog/v1/lead.pb.h"
#include "projections/lead/lead_fold.h"

namespace leadlog {

// Calls `visit` for every lead of every shard (key order within a shard);
// DataLoss for an undecodable lead.
absl::Status ForEachLead(const ProjectionRunner& runner, const std::vector<ShardId>& shards,
                         const std::function<void(ShardId, const v1::LeadState&)>& visit);

// FindLead (lead_fold.h), but an id given as a lead key ("a:..", "u:..") is
// first looked up with one point read per shard, so a lookup costs ~1 read
// per shard instead of 3 (FindLead tries every id form in each shard).
// With `first` (one of `shards`: the shard the id's partition key hashes to,
// LeadShardHint) that shard is tried before the others, in every id form:
// a lead keyed as the ingest rule says (one person's events in the
// partition of its anonymousId, README "Identity") is found with the reads
// of one shard, whatever the shard count. An id in no shard costs the same
// as without. Only when one identifier exists in several shards (events
// keyed against that rule) can the answer differ: it is `first`'s lead,
// not the lowest shard's.
absl::StatusOr<std::optional<FoundLead>> FindLeadById(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards,
                                                     absl::string_view id,
                                                     std::optional<ShardId> first = std::nullopt);

// The partition key of a lookup id: the id without its "a:" / "u:" prefix
// (a lead's key is the identifier of its first record, and the demo and
// Segment producers key messages by that anonymousId or userId).
absl::string_view LeadPartitionKey(absl::string_view id);

// Erasure requests (POST /v1/leads/{id}/erase, `leadlog leads erase`).
struct ErasureRequest {
  std::string id;          // the lead as the caller names it (any id form)
  std::string reason;      // required, at most kErasureReasonBytesMax bytes
  std::string request_id;  // required, at most kErasureRequestIdBytesMax bytes
};
// The erasure event of `request` (CALL_TYPE_ERASURE, event id
// "erasure:<request_id>") with every lead key of the lead in any of
// `shards` (the survivor's identifiers: its own keys and those merged into
// it), sorted. InvalidArgument naming "reason" or "request_id"; NotFound
// naming "id" when no shard has the lead.
absl::StatusOr<v1::Event> MakeErasureEvent(const ProjectionRunner& runner,
                                           const std::vector<ShardId>& shards,
                                           const ErasureRequest& request, int64_t now_ms);

// A lead page position: the shard and the last lead key returned. The
// opaque text form is "<shard>.<hex of the key>" ("" = the start).
struct LeadCursor {
  uint32_t shard = 0;
  std::string after_key;  // a full state key ("l/..."), "" = shard start
};
std::string EncodeLeadCursor(const LeadCursor& cursor);
// InvalidArgument naming "cursor" for anything EncodeLeadCursor can't give.
absl::StatusOr<LeadCursor> DecodeLeadCursor(absl::string_view text);

// Scans leads from `from` across `shards` (ascending), calling `match` for
// each; stops after `page` matches or `scan_max` leads examined. Returns the
// cursor to continue from, or nullopt when every shard was scanned.
absl::StatusOr<std::optional<LeadCursor>> ScanLeads(
    const ProjectionRunner& runner, const std::vector<ShardId>& shards, const LeadCursor& from,
    size_t page, uint64_t scan_max, uint64_t* scanned,
    const std::function<bool(ShardId, const v1::LeadState&)>& match);

// Nurture flows in force, by id: the highest version seen and on how many
// shards.
struct FlowRow {
  v1::NurtureFlow flow;
  int shards = 0;
};
absl::Status CollectFlows(const ProjectionRunner& runner, const std::vector<ShardId>& shards,
                          std::map<std::string, FlowRow>* flows);
// A flow's counters ("enrolled", "converted", "step:<id>", "exited:<why>")
// summed over shards.
absl::StatusOr<std::map<std::string, int64_t>> FlowCounters(const ProjectionRunner& runner,
                                                            const std::vector<ShardId>& shards,
                                                            const std::string& flow_id);
// enrolled minus every ended enrollment.
int64_t ActiveEnrollments(const std::map<std::string, int64_t>& counters);
// GET /v1/flows and `flows list` as one message (position unset).
absl::StatusOr<v1::FlowListResponse> BuildFlowList(const ProjectionRunner& runner,
                                                   const std::vector<ShardId>& shards);
// GET /v1/flows/{id}/stats and `flows stats` (position unset); NotFound
// "id: no flow ... in force".
absl::StatusOr<v1::FlowStatsResponse> BuildFlowStats(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards,
                                                     const std::string& flow_id);
// One row of GET /v1/leads and `leads list`.
v1::LeadSummary SummarizeLead(ShardId shard, const v1::LeadState& lead);
// The lead's enrollments (one per flow in force in `shard`).
absl::StatusOr<std::vector<v1::FlowEnrollment>> LeadEnrollments(const ProjectionRunner& runner,
                                                                ShardId shard,
                                                                const std::string& lead_key);

// The per-shard "rs/" revenue counters summed over shards.
absl::StatusOr<std::map<std::string, int64_t>> RevenueCounters(const ProjectionRunner& runner,
                                                               const std::vector<ShardId>& shards);
// The kept samples of a revenue metric over shards, ascending.
absl::StatusOr<std::vector<int64_t>> RevenueSamples(const ProjectionRunner& runner,
                                                    const std::vector<ShardId>& shards,
                                                    const std::string& metric);

// `leadlog sla report` / `recycle report` as messages (position unset).
absl::StatusOr<v1::SlaReport> BuildSlaReport(const ProjectionRunner& runner,
                                             const std::vector<ShardId>& shards);
absl::StatusOr<v1::RecycleReport> BuildRecycleReport(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards);

// One summary per (kind, id, version) over `shards`, sorted by them.
absl::StatusOr<std::vector<v1::DefinitionSummary>> DefinitionSummaries(
    const ProjectionRunner& runner, const std::vector<ShardId>& shards);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_READ_MODEL_H_
