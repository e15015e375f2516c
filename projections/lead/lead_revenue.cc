// The revenue part of the lead projection: the revenue ops rules and the
// business calendar in force, and the effects of RevenueEngine (stall
// recycling, rejection reasons, SLA clocks, stale reminders) applied in the
// same chunk as the lead state (projections/revenue/README.md "Wiring").
//
// State keys (fold keys, see lead_fold.h):
//   "r/<lead key>"   v1::LeadRevenueEntry: the lead's RevenueLeadState and a
//                    copy of the lead fields the engine reads (owner, stage,
//                    stage entry time) as of the lead's last write
//   "d/f/revenue_rules", "d/f/business_calendar"   DefinitionRecord in force
//   "t/..."          timers "rev/<kind>/..." (RevenueTimerId), payload the lead key
//   "rs/<counter>"   BE64 two's-complement report counter (per shard), named
//                    as RevenueEffects::counters
//   "rm/<metric>"    the latest kRevenueSamplesKept samples of a metric, each
//                    BE64 value_ms, oldest first (bounded)
//   ("rs/" and "rm/" are summed per chunk and written once at its end:
//   LeadFold::ChunkRevenueReports.)
//
// Design note: a tick may fire tens of thousands of revenue timers
// (bench/tick_bench). Most of them (SLA warnings, stale reminders, re-contact
// notices) change only the revenue state and write an action, so a timer of
// a lead that is not decoded in the chunk fires from its "r/" entry alone
// (FireRevenueTimerFromEntry): the engine sees a LeadState holding just the
// lead key and the entry's copy of the owner, stage and stage entry time.
// Every write of a lead refreshes that copy (ChunkLeads::Flush), and the
// engine reads nothing else of the lead unless it asks for a score change;
// when the effects change the lead (stage, score, enrollment, owner) the
// call is discarded and made again on the whole lead. So the state is the
// same either way, whatever the chunk boundaries (rebuild-equality), and
// lead_fold_test folds a workload both ways and compares digests.
#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "engine/timers.h"
#include "projections/calendar/business_calendar.h"
#include "projections/definitions/definition.h"
#include "projections/definitions/owner_routing.h"
#include "projections/lead/lead_fold.h"
#include "projections/lifecycle/lifecycle.h"
#include "projections/revenue/revenue_engine.h"

namespace leadlog {
namespace {

using lead_internal::BigEndian64;
using lead_internal::FromBigEndian64;

// A stage change or reassignment makes the engine look again; its own
// effects may change the lead again (a breach that returns the lead to
// marketing): bounded.
constexpr int kRevenueFollowUpsMax = 4;

}  // namespace

std::string RevenueCounterKey(absl::string_view counter) {
  return absl::StrCat(kRevenueCounterPrefix, counter);
}
std::string RevenueSamplesKey(absl::string_view metric) {
  return absl::StrCat(kRevenueSamplesPrefix, metric);
}
int64_t DecodeRevenueCounter(absl::string_view value) {
  return static_cast<int64_t>(FromBigEndian64(value));
}
std::vector<int64_t> DecodeRevenueSamples(absl::string_view value) {
  std::vector<int64_t> out;
  for (size_t i = 0; i + 8 <= value.size(); i += 8) {
    out.push_back(static_cast<int64_t>(FromBigEndian64(value.substr(i, 8))));
  }
  return out;
}

absl::StatusOr<const RevenueEngine*> LeadFold::RevenueInForce(ProjectionTxn& txn) {
  return MemoInChunk(Definitions(txn).revenue, [&]() -> absl::StatusOr<const RevenueEngine*> {
    ASSIGN_OR_RETURN(std::optional<std::string> rules_bytes,
                     txn.Get(DefinitionInForceKey("revenue_rules")));
    if (!rules_bytes.has_value()) return nullptr;
    ASSIGN_OR_RETURN(std::optional<std::string> calendar_bytes,
                     txn.Get(DefinitionInForceKey("business_calendar")));
    std::string cache_key = *rules_bytes;
    cache_key.push_back('\0');
    if (calendar_bytes.has_value()) cache_key += *calendar_bytes;
    absl::MutexLock lock(&mu_);
    auto it = revenue_engines_.find(cache_key);
    if (it != revenue_engines_.end()) return it->second.get();
    v1::DefinitionRecord rules;
    if (!rules.ParseFromString(*rules_bytes)) {
      return absl::DataLossError("lead projection: d/f/revenue_rules");
    }
    std::shared_ptr<const BusinessCalendarClock> clock;
    const std::string& calendar_id = rules.definition().revenue_rules().calendar_id();
    if (!calendar_id.empty() && calendar_bytes.has_value()) {
      v1::DefinitionRecord calendar;
      if (!calendar.ParseFromString(*calendar_bytes)) {
        return absl::DataLossError("lead projection: d/f/business_calendar");
      }
      if (calendar.definition().business_calendar().id() == calendar_id) {
        absl::StatusOr<std::unique_ptr<BusinessCalendarClock>> created =
            BusinessCalendarClock::Create(calendar.definition().business_calendar());
        if (created.ok()) clock = *std::move(created);
      }
    }
    // Rules naming a calendar that is not in force do nothing until it is
    // (cached as null, so the check is made once per pair of versions).
    std::unique_ptr<RevenueEngine> engine;
    if (calendar_id.empty() || clock != nullptr) {
      absl::StatusOr<std::unique_ptr<RevenueEngine>> created =
          RevenueEngine::Create(rules.definition().revenue_rules(), std::move(clock));
      if (created.ok()) engine = *std::move(created);
    }
    return revenue_engines_.emplace(std::move(cache_key), std::move(engine)).first->second.get();
  });
}

absl::Status LeadFold::ReassignToQueue(const v1::LogRecord& record, ProjectionTxn& txn,
                                       const std::string& queue_id, const std::string& cause,
                                       v1::LeadState* lead) {
  ASSIGN_OR_RETURN(const OwnerRouter* router, RouterInForce(txn));
  if (router == nullptr) return absl::OkStatus();
  const v1::OwnerRouting& routing = router->routing();
  for (const v1::OwnerQueue& queue : routing.queues()) {
    if (queue.id() != queue_id || queue.owners_size() == 0) continue;
    // The hand-off's per-queue round-robin counter.
    const std::string counter_key = absl::StrCat("q/", routing.id(), "/", queue.id());
    ASSIGN_OR_RETURN(std::optional<std::string> counter_bytes, txn.Get(counter_key));
    const uint64_t counter = counter_bytes.has_value() ? FromBigEndian64(*counter_bytes) : 0;
    txn.Put(counter_key, BigEndian64(counter + 1));
    const std::string& owner =
        queue.owners(static_cast<int>(counter % static_cast<uint64_t>(queue.owners_size())));
    if (owner != lead->owner_id()) lead_internal::SetOwner(lead, owner, cause, record);
    return absl::OkStatus();
  }
  return absl::OkStatus();  // no such queue in the routing in force
}

absl::Status LeadFold::ApplyRevenueOutputs(ShardId shard, const v1::LogRecord& record,
                                           ProjectionTxn& txn, TimerIndex& timers,
                                           const std::string& lead_key,
                                           const RevenueEffects& effects) {
  for (const auto& [id, due] : effects.timers) {
    if (due.has_value()) {
      RETURN_IF_ERROR(ScheduleTimer(txn, timers, *due, id, lead_key));
    } else {
      RETURN_IF_ERROR(timers.Cancel(id).status());
    }
  }
  for (const v1::RevenueAction& a : effects.actions) {
    v1::Action action;
    action.set_sequence(record.sequence());
    action.set_log_time_ms(record.log_time_ms());
    action.set_lead_key(lead_key);
    action.set_type(a.type());
    *action.mutable_revenue() = a;
    RETURN_IF_ERROR(Emit(txn, shard, std::move(action)));
  }
  return absl::OkStatus();
}

absl::Status LeadFold::ApplyRevenueReports(ProjectionTxn& txn, const RevenueEffects& effects) {
  if (effects.counters.empty() && effects.samples.empty()) return absl::OkStatus();
  ChunkRevenueReports& reports = RevenueReports(txn);
  for (const auto& [counter, delta] : effects.counters) {
    if (delta != 0) reports.counters[counter] += delta;
  }
  for (const RevenueSample& sample : effects.samples) {
    reports.samples[sample.metric] += BigEndian64(static_cast<uint64_t>(sample.value_ms));
  }
  return absl::OkStatus();
}

absl::Status LeadFold::FlushRevenueReports(ProjectionTxn& txn,
                                           const ChunkRevenueReports& reports) {
  // Puts land in the txn's ordered buffer: the maps' order does not matter.
  for (const auto& [counter, delta] : reports.counters) {
    const std::string key = RevenueCounterKey(counter);
    ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(key));
    const int64_t value = (old.has_value() ? DecodeRevenueCounter(*old) : 0) + delta;
    txn.Put(key, BigEndian64(static_cast<uint64_t>(value)));
  }
  for (const auto& [metric, added] : reports.samples) {
    const std::string key = RevenueSamplesKey(metric);
    ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(key));
    std::string value = old.value_or("");
    value += added;
    if (value.size() > 8 * kRevenueSamplesKept) {
      value.erase(0, value.size() - 8 * kRevenueSamplesKept);  // oldest first
    }
    txn.Put(key, std::move(value));
  }
  return absl::OkStatus();
}

absl::Status LeadFold::ApplyRevenueEffects(ShardId shard, const v1::LogRecord& record,
                                           ProjectionTxn& txn, TimerIndex& timers,
                                           const RevenueEngine& engine, const RevenueContext& ctx,
                                           RevenueEffects effects, v1::RevenueLeadState* state,
                                           v1::LeadState* lead) {
  for (int round = 0;; ++round) {
    RETURN_IF_ERROR(ApplyRevenueOutputs(shard, record, txn, timers, lead->lead_key(), effects));
    bool changed = false;
    if (effects.stage_change.has_value()) {
      ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
      const std::string stage_before = lead->lifecycle().current_stage();
      lead_internal::ApplyOpsStage(*lifecycle, record, effects.stage_change->stage,
                                   effects.stage_change->reason,
                                   absl::StrCat("revenue:", effects.stage_change->rule_id),
                                   lead->mutable_lifecycle());
      changed = lead->lifecycle().current_stage() != stage_before;
    }
    if (effects.score_change.has_value()) {
      lead->set_score_adjustment_milli(lead->score_adjustment_milli() +
                                       effects.score_change->delta_milli);
    }
    if (!effects.enroll_flow_id.empty()) {
      RETURN_IF_ERROR(EnrollInFlow(shard, record, txn, timers, effects.enroll_flow_id,
                                   "revenue recycle", lead));
    }
    if (effects.reassign.has_value()) {
      const std::string owner_before = lead->owner_id();
      RETURN_IF_ERROR(ReassignToQueue(record, txn, effects.reassign->queue,
                                      absl::StrCat("revenue:", effects.reassign->sla_id), lead));
      changed = changed || lead->owner_id() != owner_before;
    }
    RETURN_IF_ERROR(ApplyRevenueReports(txn, effects));
    if (!changed || round >= kRevenueFollowUpsMax) return absl::OkStatus();
    effects = RevenueEffects();
    RETURN_IF_ERROR(engine.OnLeadChanged(ctx, *lead, state, &effects));
  }
}

absl::StatusOr<const RevenueEngine*> LeadFold::RevenueCallFor(const v1::LogRecord& record,
                                                              ProjectionTxn& txn,
                                                              RevenueContext* ctx) {
  ASSIGN_OR_RETURN(const RevenueEngine* engine, RevenueInForce(txn));
  if (engine == nullptr) return engine;
  ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
  ctx->record = &record;
  ctx->now_ms = record.log_time_ms();
  ctx->lifecycle = &lifecycle->model();
  return engine;
}

absl::Status LeadFold::RunRevenue(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                                  v1::LeadState* lead) {
  RevenueContext ctx;
  ASSIGN_OR_RETURN(const RevenueEngine* engine, RevenueCallFor(record, txn, &ctx));
  if (engine == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::RevenueLeadState * state, RevenueStateOf(txn, *lead));
  RevenueEffects effects;
  RETURN_IF_ERROR(engine->OnRecord(ctx, *lead, state, &effects));
  TimerIndex timers(txn);
  return ApplyRevenueEffects(shard, record, txn, timers, *engine, ctx, std::move(effects), state,
                             lead);
}

absl::Status LeadFold::SyncRevenue(ShardId shard, const v1::LogRecord& record,
                                   ProjectionTxn& txn, TimerIndex& timers, v1::LeadState* lead) {
  RevenueContext ctx;
  ASSIGN_OR_RETURN(const RevenueEngine* engine, RevenueCallFor(record, txn, &ctx));
  if (engine == nullptr) return absl::OkStatus();
  ASSIGN_OR_RETURN(v1::RevenueLeadState * state, RevenueStateOf(txn, *lead));
  RevenueEffects effects;
  RETURN_IF_ERROR(engine->OnLeadChanged(ctx, *lead, state, &effects));
  return ApplyRevenueEffects(shard, record, txn, timers, *engine, ctx, std::move(effects), state,
                             lead);
}

absl::Status LeadFold::FireRevenueTimer(ShardId shard, const v1::LogRecord& record,
                                        ProjectionTxn& txn, TimerIndex& timers,
                                        const Timer& timer) {
  absl::StatusOr<RevenueTimer> parsed = ParseRevenueTimerId(timer.id);
  if (!parsed.ok()) return absl::OkStatus();  // not one we can read: dropped
  RevenueContext ctx;
  ASSIGN_OR_RETURN(const RevenueEngine* engine, RevenueCallFor(record, txn, &ctx));
  if (engine == nullptr) return absl::OkStatus();  // rules withdrawn: nothing fires
  parsed->due_ms = timer.due_ms;
  if (options_.revenue_timers_from_entry) {
    ASSIGN_OR_RETURN(bool fired, FireRevenueTimerFromEntry(shard, record, txn, timers, *engine,
                                                           ctx, *parsed, timer.payload));
    if (fired) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(v1::LeadState * lead, LoadLead(txn, timer.payload));
  if (lead == nullptr) return absl::OkStatus();  // merged away
  ASSIGN_OR_RETURN(v1::RevenueLeadState * state, RevenueStateOf(txn, *lead));
  RevenueEffects effects;
  RETURN_IF_ERROR(engine->OnTimer(ctx, *parsed, *lead, state, &effects));
  RETURN_IF_ERROR(ApplyRevenueEffects(shard, record, txn, timers, *engine, ctx,
                                      std::move(effects), state, lead));
  MarkDirty(txn, lead->lead_key());
  return absl::OkStatus();
}

absl::StatusOr<bool> LeadFold::FireRevenueTimerFromEntry(
    ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn, TimerIndex& timers,
    const RevenueEngine& engine, const RevenueContext& ctx, const RevenueTimer& timer,
    const std::string& lead_key) {
  // A lead decoded in this chunk may have changed since its entry was
  // written: use it (it costs nothing more now).
  if (LeadLoaded(txn, lead_key)) return false;
  ASSIGN_OR_RETURN(v1::LeadRevenueEntry * entry, LoadRevenue(txn, lead_key));
  if (entry == nullptr) return false;  // the whole lead decides (absent: merged away)
  // Everything of the lead the engine reads except the score (read only to
  // request a score change, which goes to the whole lead below): the
  // entry's copy equals the lead's (ChunkLeads::Flush keeps it so).
  v1::LeadState lead;
  lead.set_lead_key(lead_key);
  lead.set_owner_id(entry->owner_id());
  lead.mutable_lifecycle()->set_current_stage(entry->stage());
  lead.mutable_lifecycle()->set_entered_at_ms(entry->stage_entered_ms());
  // The engine works on a copy (discarded when the whole lead must decide),
  // made on the entry's arena so that keeping it is a pointer swap: a swap
  // across arenas copies the message three times (≈ 4 % of bench/tick_bench).
  google::protobuf::Arena* arena = entry->GetArena();
  LEADLOG_CHECK(arena != nullptr) << "lead " << lead_key << ": \"r/\" entry off the chunk arena";
  v1::RevenueLeadState* state = google::protobuf::Arena::CreateMessage<v1::RevenueLeadState>(arena);
  *state = entry->state();
  RevenueEffects effects;
  RETURN_IF_ERROR(engine.OnTimer(ctx, timer, lead, state, &effects));
  if (effects.stage_change.has_value() || effects.score_change.has_value() ||
      !effects.enroll_flow_id.empty() || effects.reassign.has_value()) {
    return false;  // the effects change the lead: made again on the whole lead
  }
  entry->mutable_state()->Swap(state);
  RETURN_IF_ERROR(ApplyRevenueOutputs(shard, record, txn, timers, lead_key, effects));
  RETURN_IF_ERROR(ApplyRevenueReports(txn, effects));
  MarkRevenueDirty(txn, lead_key);
  revenue_timers_from_entry_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

absl::Status LeadFold::CancelRevenueTimers(ProjectionTxn& txn, const std::string& key) {
  TimerIndex timers(txn);
  for (RevenueTimerKind kind :
       {RevenueTimerKind::kStall, RevenueTimerKind::kStale, RevenueTimerKind::kRecontact}) {
    RETURN_IF_ERROR(timers.Cancel(RevenueTimerId(kind, key)).status());
  }
  ASSIGN_OR_RETURN(v1::LeadRevenueEntry * entry, LoadRevenue(txn, key));
  if (entry == nullptr) return absl::OkStatus();
  for (const v1::SlaClock& clock : entry->state().sla_clocks()) {
    RETURN_IF_ERROR(
        timers.Cancel(RevenueTimerId(RevenueTimerKind::kSla, key, clock.sla_id())).status());
  }
  return absl::OkStatus();  // the entry goes with the lead (DeleteLead)
}

}  // namespace leadlog
