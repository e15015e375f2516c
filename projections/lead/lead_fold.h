// LeadFold: the lead projection (DESIGN.md §5). One versioned pure fold over
// a shard's log records that keeps, per lead, identity (anonymous ids and
// user ids merged through identify/alias), profile traits, score and grade
// (projections/scoring), lifecycle stage (projections/lifecycle), owner and
// an engagement summary; applies definition events (scoring model,
// lifecycle model, owner routing) as the versions in force from the record
// that publishes them on (invariant 7); when a lead becomes sales-ready,
// assigns an owner and writes a hand-off action to the outbox (invariant 8);
// and applies erasure records by redacting the lead (RedactLeadState) and
// its hand-off actions with the log's rule (engine/redaction.h).
//
// State keys (fold keys inside proj_lead_v<N>, FORMAT.md "Lead projection"):
//   "l/<lead key>"                     v1::LeadState without `revenue`
//   "r/<lead key>"                     v1::LeadRevenueEntry: the lead's
//                                      revenue state (lead_revenue.cc);
//                                      readers merge it into
//                                      LeadState.revenue (FindLead,
//                                      MergeStoredRevenue)
//   "i/<identifier>"                   lead key the identifier resolves to
//                                      ("a:<anonymousId>", "u:<userId>")
//   "d/f/<kind>"                       v1::DefinitionRecord in force
//   "d/h/<kind>/<id>/" BE32(version)   v1::DefinitionRecord (every one seen,
//                                      accepted or rejected)
//   "q/<routing id>/<queue id>"        BE64 round-robin counter
//   "o/..."                            outbox actions (engine/outbox.h)
//   "c/" BE64(sequence) <lead key>     change entries (engine/changes.h):
//                                      record `sequence` changed the lead
//                                      (written by MarkDirty/NewLead/
//                                      DeleteLead, once per record and
//                                      lead); transient: pruned by the
//                                      change emitter, not in the digest
//   "d/f/nurture_flow/<id>", "d/flows", "e/<flow>/<lead>", "fs/<flow>/<stat>",
//   "t/..."                            nurture (lead_flows.cc)
//   "x/erasure"                        BE64 sequence of the latest erasure
//                                      applied (lead_erasure.cc)
//   "d/f/revenue_rules", "d/f/business_calendar", "rs/<counter>",
//   "rm/<metric>", "t/..." ids "rev/..."  revenue (lead_revenue.cc)
//
// Pure and deterministic: Apply depends only on the record and the state
// read through the txn; values are serialized deterministically. The
// compiled-definition caches are keyed by the definition's content, so they
// never change a result.
//
// Thread-safety: Applies of one chunk (one txn) come from one thread;
// chunks of different txns (shards, runners) may run concurrently: every
// piece of decoded chunk state lives in ChunkLeads, keyed by the txn under
// chunks_mu_ (each thread also remembers the last one it used; dropping any
// chunk invalidates every such memo); the compiled-definition caches are under mu_ (compiled
// objects are immutable and never freed while the fold lives); the counter
// is atomic. lead_fold_test folds four shards on four threads with one fold
// and compares the digests with a sequential fold.
//
//   LeadFold fold;
//   ASSIGN_OR_RETURN(auto runner, ProjectionRunner::Create(log, &fold, {}));
//   ASSIGN_OR_RETURN(Sequence next, runner->CatchUp(shard));
//   ASSIGN_OR_RETURN(std::optional<v1::LeadState> lead, FindLead(*runner, shards, "u-42"));
#ifndef LEADLOG_PROJECTIONS_LEAD_LEAD_FOLD_H_
#define LEADLOG_PROJECTIONS_LEAD_LEAD_FOLD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "engine/ids.h"
#include "engine/limits.h"
#include "engine/projection.h"
#include "leadlog/v1/action.pb.h"
#include "leadlog/v1/definition.pb.h"
#include "leadlog/v1/flow.pb.h"
#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/record.pb.h"
#include "projections/lead/decoded_leads.h"
#include "projections/lead/lead_limits.h"

namespace leadlog {

class Scorer;
class Lifecycle;
class OwnerRouter;
class FlowEngine;
class SendGate;
class TimerIndex;
class RevenueEngine;
struct FlowContext;
struct FlowEffects;
struct RevenueContext;
struct RevenueEffects;
struct Timer;
struct RevenueTimer;

inline constexpr absl::string_view kLeadProjectionName = "lead";
// Bump when Apply computes something different for the same records.
inline constexpr uint32_t kLeadProjectionVersion = 1;

// "x/erasure": BE64 of the sequence of the latest erasure record the fold
// applied in the shard (LeadProjection purges old bytes up to it).
inline constexpr absl::string_view kLastErasureKey = "x/erasure";

// Redacts a lead's state with the log's rule (engine/redaction.h): profile
// traits, the trait values fit rules read. The same function makes live
// state after an erasure equal to a rebuild of the rewritten log.
void RedactLeadState(v1::LeadState* lead);

// Fold key helpers (exposed for readers and tests).
std::string LeadStateKey(absl::string_view lead_key);
std::string IdentifierKey(absl::string_view identifier);
std::string DefinitionInForceKey(absl::string_view kind);
inline constexpr absl::string_view kLeadStatePrefix = "l/";
// A lead's revenue state (v1::LeadRevenueEntry), kept apart from its
// LeadState so that revenue timers need not decode the whole lead.
std::string LeadRevenueKey(absl::string_view lead_key);
inline constexpr absl::string_view kLeadRevenuePrefix = "r/";
inline constexpr absl::string_view kDefinitionHistoryPrefix = "d/h/";

// Deterministic serialization (identical messages give identical bytes).
std::string SerializeDeterministic(const google::protobuf::Message& message);

// Nurture keys (lead_flows.cc): a lead's enrollment in a flow, a flow's
// per-shard counter ("enrolled", "converted", "step:<id>", ...), decoded.
std::string FlowEnrollmentKey(absl::string_view flow_id, absl::string_view lead_key);
std::string FlowStatKey(absl::string_view flow_id, absl::string_view stat);
int64_t DecodeFlowStat(absl::string_view value);

// Revenue report keys (lead_revenue.cc): per-shard counters named as
// RevenueEffects::counters ("rs/<counter>", BE64) and the latest
// kRevenueSamplesKept samples of each metric ("rm/<metric>", BE64 each).
inline constexpr absl::string_view kRevenueCounterPrefix = "rs/";
inline constexpr absl::string_view kRevenueSamplesPrefix = "rm/";
inline constexpr size_t kRevenueSamplesKept = 512;
std::string RevenueCounterKey(absl::string_view counter);
std::string RevenueSamplesKey(absl::string_view metric);
int64_t DecodeRevenueCounter(absl::string_view value);
std::vector<int64_t> DecodeRevenueSamples(absl::string_view value);

namespace lead_internal {
// Fixed-width big-endian encodings of counters and versions in state keys
// and values (byte order == numeric order).
std::string BigEndian64(uint64_t v);
uint64_t FromBigEndian64(absl::string_view s);
std::string BigEndian32(uint32_t v);
// Changes the owner and records it in owner_history (bounded).
void SetOwner(v1::LeadState* lead, const std::string& owner, std::string cause,
              const v1::LogRecord& record);
// Moves the lead to `stage` as an ops transition with rule `rule` when the
// model allows it; otherwise records a rejected transition.
void ApplyOpsStage(const Lifecycle& lifecycle, const v1::LogRecord& record,
                   const std::string& stage, const std::string& reason, const std::string& rule,
                   v1::LifecycleState* state);
}  // namespace lead_internal

struct LeadFoldOptions {
  // A revenue timer of a lead not decoded in the chunk fires from its "r/"
  // entry alone (the revenue state and a copy of the lead's owner, stage and
  // stage entry time), and falls back to the whole lead when the effects
  // change the lead (stage, score, owner, enrollment). Same state either way
  // (lead_fold_test compares digests with it off); default on.
  bool revenue_timers_from_entry = true;
  // Bytes of decoded leads kept across chunks (decoded_leads.h; charged as
  // DecodedLeads::Charge; 0..kLeadDecodedCacheBytesMax, 0 disables): a lead
  // read in a chunk is taken from here instead of parsed when its committed
  // bytes equal the ones kept. Same state either way (lead_fold_test
  // compares digests with it off). Off, leads are parsed onto each chunk's
  // arena as before. Default kLeadDecodedCacheBytesDefault (off: it did not
  // pay, lead_limits.h).
  size_t decoded_cache_bytes = kLeadDecodedCacheBytesDefault;
};

class LeadFold final : public ProjectionFold {
 public:
  explicit LeadFold(LeadFoldOptions options = {});
  ~LeadFold() override;

  std::string name() const override { return std::string(kLeadProjectionName); }
  uint32_t version() const override { return kLeadProjectionVersion; }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override;
  // Leads are decoded once per chunk and written back at its end.
  absl::Status EndChunk(ShardId shard, ProjectionTxn& txn) override;
  void AbortChunk(ShardId shard, ProjectionTxn& txn) override;
  // The change entries ("c/").
  std::vector<std::string> transient_prefixes() const override;

  // Revenue timers fired from their "r/" entry alone since construction
  // (LeadFoldOptions::revenue_timers_from_entry), for tests and metrics.
  uint64_t revenue_timers_fired_from_entry() const {
    return revenue_timers_from_entry_.load(std::memory_order_relaxed);
  }
  // The decoded-lead cache's counters (LeadFoldOptions::decoded_cache_bytes).
  DecodedLeadsStats decoded_leads_stats() const { return decoded_.stats(); }

 private:
  struct ChunkLeads;
  ChunkLeads& Chunk(ProjectionTxn& txn);
  // Names the record that change entries written from now on belong to,
  // and the chunk's shard.
  void BeginRecord(ShardId shard, ProjectionTxn& txn, const v1::LogRecord& record);
  // The compiled definitions in force, looked up once per chunk instead of
  // once per record and flow (each lookup copied and hashed the
  // definition's bytes). Definition keys change only in ApplyDefinition,
  // which clears this before and after; EndChunk/AbortChunk drop it.
  struct ChunkDefinitions {
    std::optional<const Scorer*> scorer;
    std::optional<const Lifecycle*> lifecycle;
    std::optional<const OwnerRouter*> router;
    std::optional<const SendGate*> gate;
    std::optional<const RevenueEngine*> revenue;
    std::optional<std::vector<std::string>> flow_ids;
    absl::flat_hash_map<std::pair<std::string, uint32_t>, const FlowEngine*> engines;
  };
  ChunkDefinitions& Definitions(ProjectionTxn& txn);
  // Within a chunk, no timer is due before this log time (unset: unknown),
  // so FireDueTimers scans the timer index only when one may be due. Every
  // Schedule in the fold lowers it (ScheduleTimer); cancelling and popping
  // only make it conservative.
  std::optional<int64_t>& TimersDueBound(ProjectionTxn& txn);
  // Flow enrollments decoded once per chunk and written at its end only when
  // their bytes changed (lead_flows.cc); every read and write of "e/" keys
  // in the fold goes through here (FlushEnrollments before a Scan of them).
  struct ChunkEnrollment {
    std::optional<v1::FlowEnrollment> value;  // nullopt: absent, deleted or undecodable
    std::optional<std::string> stored;        // the txn's bytes when loaded or flushed
    bool undecodable = false;                 // `stored` does not parse
    bool touched = false;                     // written since: Put (or Delete) at flush
  };
  absl::node_hash_map<std::string, ChunkEnrollment>& Enrollments(ProjectionTxn& txn);
  absl::StatusOr<ChunkEnrollment*> LoadEnrollment(ProjectionTxn& txn, absl::string_view flow_id,
                                                  absl::string_view lead_key);
  void FlushEnrollments(ProjectionTxn& txn);
  absl::Status ScheduleTimer(ProjectionTxn& txn, TimerIndex& timers, int64_t due_ms,
                             absl::string_view id, std::string payload);
  // Revenue report counters and samples of the chunk (ApplyRevenueReports),
  // written once per key at EndChunk (FlushRevenueReports) instead of read
  // and written per effect: a tick firing 50 k SLA warnings bumps one
  // counter 50 k times. Only the fold writes "rs/" and "rm/" keys and it
  // never reads them back within a chunk, so the result is the same.
  struct ChunkRevenueReports {
    // Counter -> summed delta; a counter any non-zero delta touched is
    // written even when the sum is 0 (as the per-effect writes did), so the
    // state does not depend on chunk boundaries.
    absl::flat_hash_map<std::string, int64_t> counters;
    // Metric -> the chunk's samples, BE64 each, in fold order.
    absl::flat_hash_map<std::string, std::string> samples;
  };
  ChunkRevenueReports& RevenueReports(ProjectionTxn& txn);
  absl::Status FlushRevenueReports(ProjectionTxn& txn, const ChunkRevenueReports& reports);
  // `slot` when set, else compute(), kept in `slot` when it succeeds.
  template <typename T, typename F>
  static absl::StatusOr<T> MemoInChunk(std::optional<T>& slot, F compute) {
    if (slot.has_value()) return *slot;
    absl::StatusOr<T> value = compute();
    if (value.ok()) slot = *value;
    return value;
  }
  // The chunk's decoded lead (nullptr when absent); stays valid for the
  // chunk. Changes through it must be followed by MarkDirty.
  absl::StatusOr<v1::LeadState*> LoadLead(ProjectionTxn& txn, const std::string& key);
  v1::LeadState* NewLead(ProjectionTxn& txn, const std::string& key);
  void MarkDirty(ProjectionTxn& txn, const std::string& key);
  void DeleteLead(ProjectionTxn& txn, const std::string& key);
  // The chunk's decoded "r/" entry of lead `key` (nullptr when absent);
  // stays valid for the chunk. Changes through it must be followed by
  // MarkRevenueDirty.
  absl::StatusOr<v1::LeadRevenueEntry*> LoadRevenue(ProjectionTxn& txn, const std::string& key);
  // The revenue state of `lead` (created empty when it has none), marked
  // dirty: the engine is about to run on it.
  absl::StatusOr<v1::RevenueLeadState*> RevenueStateOf(ProjectionTxn& txn,
                                                       const v1::LeadState& lead);
  void MarkRevenueDirty(ProjectionTxn& txn, const std::string& key);
  // True when lead `key` was read (or created or deleted) in this chunk.
  bool LeadLoaded(ProjectionTxn& txn, const std::string& key);
  // WriteAction with the chunk's index hint (a tick may fire thousands).
  absl::Status Emit(ProjectionTxn& txn, ShardId shard, v1::Action action);
  // `direct` (optional): the value of the identifier's own "i/" entry
  // (nullopt when absent), before any hop.
  absl::StatusOr<std::optional<std::string>> Resolve(ProjectionTxn& txn, std::string identifier,
                                                     std::optional<std::string>* direct = nullptr);
  // Points "i/<identifier>" at `lead_key` unless it already does (`known`:
  // its current value when the caller read it; else it is read): a Put of
  // the same bytes is still a memtable insert at commit.
  absl::Status IndexIdentifier(ProjectionTxn& txn, const std::string& identifier,
                               const std::string& lead_key,
                               const std::optional<std::string>* known = nullptr);

  absl::Status ApplyDefinition(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn);
  absl::Status ApplyEvent(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn);
  // Erasure (lead_erasure.cc).
  absl::Status ApplyErasure(const v1::LogRecord& record, ProjectionTxn& txn);
  absl::StatusOr<v1::LeadState*> ResolveLead(const v1::LogRecord& record, ProjectionTxn& txn);
  // The compiled definition in force under "d/f/<kind>" (`none` when none
  // is): compiled once per distinct definition bytes into `compiled` (under
  // mu_), and memoized for the chunk in `slot`.
  template <typename T, typename Compile>
  absl::StatusOr<const T*> CompiledInForce(ProjectionTxn& txn, absl::string_view kind,
                                           std::optional<const T*>& slot,
                                           absl::flat_hash_map<std::string, std::unique_ptr<T>>& compiled,
                                           std::type_identity_t<const T*> none, Compile compile);
  absl::StatusOr<const Scorer*> ScorerInForce(ProjectionTxn& txn);
  absl::StatusOr<const Lifecycle*> LifecycleInForce(ProjectionTxn& txn);
  absl::StatusOr<const OwnerRouter*> RouterInForce(ProjectionTxn& txn);
  absl::Status Merge(const v1::LogRecord& record, const std::string& via,
                     const v1::LeadState& absorbed, ProjectionTxn& txn, v1::LeadState* lead);
  absl::Status MigrateStage(const Lifecycle& lifecycle, const v1::LogRecord& record,
                            v1::LifecycleState* state);
  // Nurture (lead_flows.cc).
  absl::StatusOr<std::vector<std::string>> FlowsInForce(ProjectionTxn& txn);
  absl::StatusOr<const FlowEngine*> EngineFor(ProjectionTxn& txn, absl::string_view flow_id,
                                              uint32_t version);
  absl::StatusOr<const SendGate*> GateInForce(ProjectionTxn& txn);
  absl::Status OnFlowPublished(ShardId shard, const v1::LogRecord& record,
                               const v1::NurtureFlow& flow,
                               const std::optional<v1::DefinitionRecord>& previous,
                               ProjectionTxn& txn);
  absl::Status MakeFlowContext(const v1::LogRecord& record, ProjectionTxn& txn, FlowContext* ctx);
  absl::Status ApplyFlowEffects(ShardId shard, const v1::LogRecord& record,
                                absl::string_view flow_id, const FlowEngine* engine,
                                const FlowEffects& effects, ProjectionTxn& txn, TimerIndex& timers,
                                v1::LeadState* lead, v1::FlowEnrollment* enrollment);
  absl::Status RunFlows(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                        const v1::LeadState& before, v1::LeadState* lead);
  absl::Status FireDueTimers(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn);
  absl::Status MergeEnrollments(ShardId shard, const v1::LogRecord& record,
                                const v1::LeadState& absorbed, ProjectionTxn& txn,
                                v1::LeadState* lead);

  // Enrolls the lead in flow `flow_id` when it is in force (FlowEngine::Enroll).
  absl::Status EnrollInFlow(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                            TimerIndex& timers, const std::string& flow_id, absl::string_view why,
                            v1::LeadState* lead);
  // Revenue (lead_revenue.cc).
  absl::StatusOr<const RevenueEngine*> RevenueInForce(ProjectionTxn& txn);
  // The engine in force (null: none) with `ctx` filled for `record`.
  absl::StatusOr<const RevenueEngine*> RevenueCallFor(const v1::LogRecord& record,
                                                      ProjectionTxn& txn, RevenueContext* ctx);
  absl::Status ReassignToQueue(const v1::LogRecord& record, ProjectionTxn& txn,
                               const std::string& queue_id, const std::string& cause,
                               v1::LeadState* lead);
  absl::Status ApplyRevenueEffects(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                                   TimerIndex& timers, const RevenueEngine& engine,
                                   const RevenueContext& ctx, RevenueEffects effects,
                                   v1::RevenueLeadState* state, v1::LeadState* lead);
  // The effects that never touch the lead: timers and actions
  // (ApplyRevenueOutputs), report counters and samples (ApplyRevenueReports).
  absl::Status ApplyRevenueOutputs(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                                   TimerIndex& timers, const std::string& lead_key,
                                   const RevenueEffects& effects);
  absl::Status ApplyRevenueReports(ProjectionTxn& txn, const RevenueEffects& effects);
  // Fires `timer` of lead `lead_key` from its "r/" entry alone (see
  // LeadFoldOptions); false when the whole lead is needed.
  absl::StatusOr<bool> FireRevenueTimerFromEntry(ShardId shard, const v1::LogRecord& record,
                                                 ProjectionTxn& txn, TimerIndex& timers,
                                                 const RevenueEngine& engine,
                                                 const RevenueContext& ctx,
                                                 const RevenueTimer& timer,
                                                 const std::string& lead_key);
  absl::Status RunRevenue(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                          v1::LeadState* lead);
  absl::Status FireRevenueTimer(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                                TimerIndex& timers, const Timer& timer);
  // Cancels the timers of the absorbed lead `key` and deletes its revenue
  // state.
  absl::Status CancelRevenueTimers(ProjectionTxn& txn, const std::string& key);
  // A flow timer changed the lead's stage or owner: the revenue rules see it
  // now (clocks of the new stage start at this record), through `timers`.
  absl::Status SyncRevenue(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                           TimerIndex& timers, v1::LeadState* lead);

  absl::Status HandOff(ShardId shard, const v1::LogRecord& record,
                       const v1::TransitionCause& cause, ProjectionTxn& txn, v1::LeadState* lead);

  const LeadFoldOptions options_;
  std::atomic<uint64_t> revenue_timers_from_entry_{0};
  DecodedLeads decoded_;
  absl::Mutex mu_;
  // Compiled definitions by serialized definition bytes.
  absl::flat_hash_map<std::string, std::unique_ptr<Scorer>> scorers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Lifecycle>> lifecycles_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<OwnerRouter>> routers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<FlowEngine>> flow_engines_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<SendGate>> gates_ ABSL_GUARDED_BY(mu_);
  // By rules bytes + '\0' + calendar bytes; null = rules inactive (their
  // calendar is not in force).
  absl::flat_hash_map<std::string, std::unique_ptr<RevenueEngine>> revenue_engines_
      ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Lifecycle> default_lifecycle_;
  absl::Mutex chunks_mu_;
  absl::flat_hash_map<const ProjectionTxn*, std::unique_ptr<ChunkLeads>> chunks_
      ABSL_GUARDED_BY(chunks_mu_);
};

// The committed state of the lead `id` resolves to in one of `shards`: `id`
// is a lead key ("a:..", "u:.."), a user id or an anonymous id (tried in that
// order per shard). nullopt when no shard knows it.
struct FoundLead {
  ShardId shard;
  v1::LeadState state;
};
absl::StatusOr<std::optional<FoundLead>> FindLead(const ProjectionRunner& runner,
                                                  const std::vector<ShardId>& shards,
                                                  absl::string_view id);

// Sets lead->revenue from the committed "r/" entry of lead->lead_key() in
// `shard` (clears it when there is none): what every reader of "l/" values
// does before showing a lead. DataLoss for an undecodable entry.
absl::Status MergeStoredRevenue(const ProjectionRunner& runner, ShardId shard,
                                v1::LeadState* lead);

// Every definition record of `shard` (accepted and rejected), by kind, id
// and version.
absl::StatusOr<std::vector<v1::DefinitionRecord>> ListDefinitions(const ProjectionRunner& runner,
                                                                  ShardId shard);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LEAD_LEAD_FOLD_H_
