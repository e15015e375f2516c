// The nurture part of the lead projection: flow definitions in force, the
// enrollments of each lead, flow timers, and the effects of flow steps
// (DESIGN.md §5 "Nurture"). The flow logic itself is FlowEngine
// (projections/flows/); this file persists what it decides, in the same
// chunk as the lead state and checkpoint.
//
// State keys (fold keys, see lead_fold.h):
//   "d/f/nurture_flow/<id>"       DefinitionRecord of the version in force
//   "d/flows"                     the ids of the flows in force, '\n'-joined, sorted
//   "e/<flow id>/<lead key>"      FlowEnrollment (the latest one)
//   "fs/<flow id>/<stat>"         BE64 two's-complement counter (per shard)
//   "t/..."                       timers (engine/timers.h), id "flow/<flow>/<lead>",
//                                 payload "<flow id>\n<lead key>"
#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "engine/timers.h"
#include "projections/definitions/definition.h"
#include "projections/flows/conditions.h"
#include "projections/flows/flow_engine.h"
#include "projections/lead/lead_fold.h"
#include "projections/lifecycle/lifecycle.h"
#include "projections/revenue/revenue_engine.h"

namespace leadlog {
namespace {

using lead_internal::BigEndian64;
using lead_internal::FromBigEndian64;
using lead_internal::BigEndian32;

constexpr absl::string_view kFlowIndexKey = "d/flows";

std::string EnrollmentKey(absl::string_view flow_id, absl::string_view lead_key) {
  return absl::StrCat("e/", flow_id, "/", lead_key);
}


}  // namespace

std::string FlowStatKey(absl::string_view flow_id, absl::string_view stat) {
  return absl::StrCat("fs/", flow_id, "/", stat);
}

std::string FlowEnrollmentKey(absl::string_view flow_id, absl::string_view lead_key) {
  return EnrollmentKey(flow_id, lead_key);
}

int64_t DecodeFlowStat(absl::string_view value) {
  return static_cast<int64_t>(FromBigEndian64(value));
}

absl::StatusOr<std::vector<std::string>> LeadFold::FlowsInForce(ProjectionTxn& txn) {
  return MemoInChunk(Definitions(txn).flow_ids, [&]() -> absl::StatusOr<std::vector<std::string>> {
    ASSIGN_OR_RETURN(std::optional<std::string> index, txn.Get(kFlowIndexKey));
    std::vector<std::string> ids;
    if (!index.has_value() || index->empty()) return ids;
    for (absl::string_view id : absl::StrSplit(*index, '\n')) ids.emplace_back(id);
    return ids;
  });
}

absl::StatusOr<const FlowEngine*> LeadFold::EngineFor(ProjectionTxn& txn, absl::string_view flow_id,
                                                      uint32_t version) {
  auto& memo = Definitions(txn).engines;
  const auto key = std::make_pair(std::string(flow_id), version);
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  absl::StatusOr<const FlowEngine*> engine = [&]() -> absl::StatusOr<const FlowEngine*> {
    // The version in force, or an older one from the history (FINISH_ON_OLD).
    // Engines are cached by the definition record's bytes: the record is
    // parsed only when an engine is compiled.
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     txn.Get(absl::StrCat("d/f/nurture_flow/", flow_id)));
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt == 1) {
        if (version == 0) return nullptr;
        ASSIGN_OR_RETURN(bytes, txn.Get(absl::StrCat(kDefinitionHistoryPrefix, "nurture_flow/",
                                                     flow_id, "/", BigEndian32(version))));
      }
      if (!bytes.has_value()) continue;
      const FlowEngine* engine = nullptr;
      {
        absl::MutexLock lock(&mu_);
        auto it = flow_engines_.find(*bytes);
        if (it != flow_engines_.end()) engine = it->second.get();
      }
      if (engine == nullptr) {
        v1::DefinitionRecord record;
        if (!record.ParseFromString(*bytes)) {
          return absl::DataLossError(absl::StrCat("lead projection: flow definition ", flow_id));
        }
        ASSIGN_OR_RETURN(std::unique_ptr<FlowEngine> compiled,
                         FlowEngine::Create(record.definition().nurture_flow()));
        absl::MutexLock lock(&mu_);
        engine = flow_engines_.emplace(*bytes, std::move(compiled)).first->second.get();
      }
      if (version == 0 || engine->flow().version() == version) return engine;
    }
    return nullptr;
  }();
  if (engine.ok()) memo.emplace(key, *engine);
  return engine;
}

absl::StatusOr<const SendGate*> LeadFold::GateInForce(ProjectionTxn& txn) {
  return MemoInChunk(Definitions(txn).gate, [&]() -> absl::StatusOr<const SendGate*> {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     txn.Get(DefinitionInForceKey("nurture_governance")));
    if (!bytes.has_value()) return nullptr;
    absl::MutexLock lock(&mu_);
    auto it = gates_.find(*bytes);
    if (it != gates_.end()) return it->second.get();
    v1::DefinitionRecord record;
    if (!record.ParseFromString(*bytes)) {
      return absl::DataLossError("lead projection: d/f/nurture_governance");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<SendGate> gate,
                     SendGate::Create(record.definition().nurture_governance()));
    return gates_.emplace(*bytes, std::move(gate)).first->second.get();
  });
}

// A flow version was accepted: index it, and migrate active enrollments of
// the previous version when it says MAP_STEPS.
absl::Status LeadFold::OnFlowPublished(ShardId shard, const v1::LogRecord& record,
                                       const v1::NurtureFlow& flow,
                                       const std::optional<v1::DefinitionRecord>& previous,
                                       ProjectionTxn& txn) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, FlowsInForce(txn));
  if (std::find(ids.begin(), ids.end(), flow.id()) == ids.end()) {
    ids.push_back(flow.id());
    std::sort(ids.begin(), ids.end());
    txn.Put(kFlowIndexKey, absl::StrJoin(ids, "\n"));
  }
  if (!previous.has_value() ||
      flow.migration().mode() != v1::VersionMigration::MAP_STEPS) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const FlowEngine* engine, EngineFor(txn, flow.id(), flow.version()));
  if (engine == nullptr) return absl::InternalError("lead projection: new flow version missing");
  const v1::NurtureFlow& old_flow = previous->definition().nurture_flow();
  const std::string prefix = absl::StrCat("e/", flow.id(), "/");
  std::string after;
  while (true) {
    FlushEnrollments(txn);  // the scan reads the txn
    ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page, txn.Scan(prefix, after, 256));
    for (const ProjectionEntry& entry : page) {
      v1::FlowEnrollment enrollment;
      if (!enrollment.ParseFromString(entry.value)) {
        return absl::DataLossError(absl::StrCat("lead projection: undecodable ", entry.key));
      }
      if (enrollment.status() != v1::FlowEnrollment::ACTIVE ||
          enrollment.flow_version() != old_flow.version()) {
        continue;
      }
      const std::string lead_key = entry.key.substr(prefix.size());
      ASSIGN_OR_RETURN(v1::LeadState * lead_ptr, LoadLead(txn, lead_key));
      if (lead_ptr == nullptr) continue;
      v1::LeadState& lead = *lead_ptr;
      FlowContext ctx;
      RETURN_IF_ERROR(MakeFlowContext(record, txn, &ctx));
      FlowEffects effects;
      RETURN_IF_ERROR(engine->Migrate(ctx, old_flow, &lead, &enrollment, &effects));
      TimerIndex timers(txn);
      RETURN_IF_ERROR(ApplyFlowEffects(shard, record, flow.id(), engine, effects, txn, timers,
                                       &lead, &enrollment));
      MarkDirty(txn, lead_key);
    }
    if (page.size() < 256) break;
    after = page.back().key;
  }
  return absl::OkStatus();
}

absl::Status LeadFold::MakeFlowContext(const v1::LogRecord& record, ProjectionTxn& txn,
                                       FlowContext* ctx) {
  ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
  ASSIGN_OR_RETURN(const SendGate* gate, GateInForce(txn));
  ctx->record = &record;
  ctx->now_ms = record.log_time_ms();
  ctx->lifecycle = &lifecycle->model();
  ctx->gate = gate;
  return absl::OkStatus();
}

absl::Status LeadFold::ApplyFlowEffects(ShardId shard, const v1::LogRecord& record,
                                        absl::string_view flow_id, const FlowEngine* engine,
                                        const FlowEffects& effects, ProjectionTxn& txn,
                                        TimerIndex& timers, v1::LeadState* lead,
                                        v1::FlowEnrollment* enrollment) {
  for (const v1::Action& a : effects.actions) {
    v1::Action action = a;
    action.set_sequence(record.sequence());
    action.set_log_time_ms(record.log_time_ms());
    action.set_lead_key(lead->lead_key());
    RETURN_IF_ERROR(Emit(txn, shard, std::move(action)));
  }
  const std::string timer_id = engine->TimerId(lead->lead_key());
  if (effects.cancel_timer && !effects.schedule_timer_ms.has_value()) {
    RETURN_IF_ERROR(timers.Cancel(timer_id).status());
  }
  if (effects.schedule_timer_ms.has_value()) {
    RETURN_IF_ERROR(ScheduleTimer(txn, timers, *effects.schedule_timer_ms, timer_id,
                                  absl::StrCat(flow_id, "\n", lead->lead_key())));
  }
  if (effects.set_stage.has_value()) {
    ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
    lead_internal::ApplyOpsStage(*lifecycle, record, effects.set_stage->first, effects.set_stage->second,
                  effects.set_stage_rule.empty() ? absl::StrCat("flow:", flow_id)
                                                 : effects.set_stage_rule,
                  lead->mutable_lifecycle());
  }
  lead->set_score_adjustment_milli(lead->score_adjustment_milli() + effects.add_score_milli);
  if (effects.set_owner.has_value() && *effects.set_owner != lead->owner_id()) {
    lead_internal::SetOwner(lead, *effects.set_owner, absl::StrCat("flow:", flow_id), record);
  }
  for (const auto& [stat, delta] : effects.stats) {
    const std::string key = FlowStatKey(flow_id, stat);
    ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(key));
    const int64_t value = (old.has_value() ? DecodeFlowStat(*old) : 0) + delta;
    txn.Put(key, BigEndian64(static_cast<uint64_t>(value)));
  }
  ASSIGN_OR_RETURN(ChunkEnrollment * stored, LoadEnrollment(txn, flow_id, lead->lead_key()));
  if (!stored->value.has_value() || &*stored->value != enrollment) stored->value = *enrollment;
  stored->touched = true;
  return absl::OkStatus();
}

absl::StatusOr<LeadFold::ChunkEnrollment*> LeadFold::LoadEnrollment(ProjectionTxn& txn,
                                                                    absl::string_view flow_id,
                                                                    absl::string_view lead_key) {
  std::string key = EnrollmentKey(flow_id, lead_key);
  auto& enrollments = Enrollments(txn);
  auto it = enrollments.find(key);
  if (it != enrollments.end()) return &it->second;
  ChunkEnrollment entry;
  ASSIGN_OR_RETURN(entry.stored, txn.Get(key));
  if (entry.stored.has_value()) {
    entry.value.emplace();
    if (!entry.value->ParseFromString(*entry.stored)) {
      entry.value.reset();
      entry.undecodable = true;
    }
  }
  return &enrollments.emplace(std::move(key), std::move(entry)).first->second;
}

void LeadFold::FlushEnrollments(ProjectionTxn& txn) {
  // Puts land in the txn's ordered buffer: the map's order does not matter.
  for (auto& [key, entry] : Enrollments(txn)) {
    if (!entry.touched) continue;
    entry.touched = false;
    if (!entry.value.has_value()) {
      if (entry.stored.has_value()) txn.Delete(key);
      entry.stored.reset();
      entry.undecodable = false;
      continue;
    }
    std::string bytes = SerializeDeterministic(*entry.value);
    if (entry.stored == bytes) continue;  // unchanged: no write
    txn.Put(key, bytes);
    entry.stored = std::move(bytes);
    entry.undecodable = false;
  }
}

absl::Status LeadFold::RunFlows(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn,
                                const v1::LeadState& before, v1::LeadState* lead) {
  ASSIGN_OR_RETURN(std::vector<std::string> flow_ids, FlowsInForce(txn));
  if (flow_ids.empty()) return absl::OkStatus();
  FlowContext ctx;
  RETURN_IF_ERROR(MakeFlowContext(record, txn, &ctx));
  TimerIndex timers(txn);
  for (const std::string& flow_id : flow_ids) {
    ASSIGN_OR_RETURN(ChunkEnrollment * entry, LoadEnrollment(txn, flow_id, lead->lead_key()));
    if (entry->undecodable) {
      return absl::DataLossError(absl::StrCat("lead projection: undecodable enrollment ",
                                              flow_id, "/", lead->lead_key()));
    }
    std::optional<v1::FlowEnrollment>& enrollment = entry->value;  // updated in place
    const bool existed = enrollment.has_value();
    // An active enrollment on an older version finishes on it
    // (FINISH_ON_OLD); everything else runs on the version in force.
    const uint32_t version =
        enrollment.has_value() && enrollment->status() == v1::FlowEnrollment::ACTIVE
            ? enrollment->flow_version()
            : 0;
    ASSIGN_OR_RETURN(const FlowEngine* engine, EngineFor(txn, flow_id, version));
    if (engine == nullptr) continue;
    FlowEffects effects;
    RETURN_IF_ERROR(engine->OnRecord(ctx, before, lead, &enrollment, &effects));
    if (existed && !enrollment.has_value()) {
      return absl::InternalError(absl::StrCat("lead projection: flow ", flow_id,
                                              " dropped the enrollment of ", lead->lead_key()));
    }
    if (!enrollment.has_value()) continue;
    RETURN_IF_ERROR(ApplyFlowEffects(shard, record, flow_id, engine, effects, txn, timers, lead,
                                     &*enrollment));
  }
  return absl::OkStatus();
}

absl::Status LeadFold::EnrollInFlow(ShardId shard, const v1::LogRecord& record,
                                    ProjectionTxn& txn, TimerIndex& timers,
                                    const std::string& flow_id, absl::string_view why,
                                    v1::LeadState* lead) {
  ASSIGN_OR_RETURN(std::vector<std::string> flow_ids, FlowsInForce(txn));
  if (std::find(flow_ids.begin(), flow_ids.end(), flow_id) == flow_ids.end()) {
    return absl::OkStatus();  // not in force: nothing to enroll in
  }
  ASSIGN_OR_RETURN(ChunkEnrollment * entry, LoadEnrollment(txn, flow_id, lead->lead_key()));
  if (entry->undecodable) {
    return absl::DataLossError(absl::StrCat("lead projection: undecodable enrollment ", flow_id,
                                            "/", lead->lead_key()));
  }
  std::optional<v1::FlowEnrollment>& enrollment = entry->value;  // updated in place
  const bool existed = enrollment.has_value();
  ASSIGN_OR_RETURN(const FlowEngine* engine, EngineFor(txn, flow_id, 0));
  if (engine == nullptr) return absl::OkStatus();
  FlowContext ctx;
  RETURN_IF_ERROR(MakeFlowContext(record, txn, &ctx));
  FlowEffects effects;
  RETURN_IF_ERROR(engine->Enroll(ctx, why, lead, &enrollment, &effects));
  if (existed && !enrollment.has_value()) {
    return absl::InternalError(absl::StrCat("lead projection: flow ", flow_id,
                                            " dropped the enrollment of ", lead->lead_key()));
  }
  if (!enrollment.has_value()) {
    // Not enrolled and never was: only the "not_enrolled:*" stats.
    for (const auto& [stat, delta] : effects.stats) {
      const std::string key = FlowStatKey(flow_id, stat);
      ASSIGN_OR_RETURN(std::optional<std::string> old, txn.Get(key));
      const int64_t value = (old.has_value() ? DecodeFlowStat(*old) : 0) + delta;
      txn.Put(key, BigEndian64(static_cast<uint64_t>(value)));
    }
    return absl::OkStatus();
  }
  return ApplyFlowEffects(shard, record, flow_id, engine, effects, txn, timers, lead,
                          &*enrollment);
}

absl::Status LeadFold::FireDueTimers(ShardId shard, const v1::LogRecord& record,
                                     ProjectionTxn& txn) {
  std::optional<int64_t>& bound = TimersDueBound(txn);
  if (bound.has_value() && record.log_time_ms() < *bound) return absl::OkStatus();
  TimerIndex timers(txn);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Timer> timer,
                     timers.PopDue(record.log_time_ms(), kRevenueTimerPrefix));
    if (!timer.has_value()) {
      ASSIGN_OR_RETURN(std::optional<int64_t> next, timers.NextDue());
      TimersDueBound(txn) = next.value_or(std::numeric_limits<int64_t>::max());
      return absl::OkStatus();
    }
    if (absl::StartsWith(timer->id, kRevenueTimerPrefix)) {
      RETURN_IF_ERROR(FireRevenueTimer(shard, record, txn, timers, *timer));
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(timer->payload, absl::MaxSplits('\n', 1));
    if (parts.size() != 2) {
      return absl::DataLossError(absl::StrCat("lead projection: timer ", timer->id, " payload"));
    }
    const std::string& flow_id = parts[0];
    const std::string& lead_key = parts[1];
    ASSIGN_OR_RETURN(ChunkEnrollment * entry, LoadEnrollment(txn, flow_id, lead_key));
    ASSIGN_OR_RETURN(v1::LeadState * lead_ptr, LoadLead(txn, lead_key));
    if (!entry->value.has_value() || lead_ptr == nullptr ||
        entry->value->status() != v1::FlowEnrollment::ACTIVE) {
      continue;  // the lead merged away or the enrollment ended: nothing to do
    }
    v1::FlowEnrollment& enrollment = *entry->value;  // updated in place
    ASSIGN_OR_RETURN(const FlowEngine* engine,
                     EngineFor(txn, flow_id, enrollment.flow_version()));
    if (engine == nullptr) continue;
    FlowContext ctx;
    RETURN_IF_ERROR(MakeFlowContext(record, txn, &ctx));
    FlowEffects effects;
    v1::LeadState& lead = *lead_ptr;
    const std::string stage_before = lead.lifecycle().current_stage();
    const std::string owner_before = lead.owner_id();
    RETURN_IF_ERROR(engine->OnTimer(ctx, &lead, &enrollment, &effects));
    RETURN_IF_ERROR(ApplyFlowEffects(shard, record, flow_id, engine, effects, txn, timers, &lead,
                                     &enrollment));
    if (lead.lifecycle().current_stage() != stage_before || lead.owner_id() != owner_before) {
      RETURN_IF_ERROR(SyncRevenue(shard, record, txn, timers, &lead));
    }
    MarkDirty(txn, lead_key);
  }
}

// The absorbed lead's enrollments move to the survivor where it has none
// for that flow; otherwise they end ("merged"). Their timers follow.
absl::Status LeadFold::MergeEnrollments(ShardId shard, const v1::LogRecord& record,
                                        const v1::LeadState& absorbed, ProjectionTxn& txn,
                                        v1::LeadState* lead) {
  ASSIGN_OR_RETURN(std::vector<std::string> flow_ids, FlowsInForce(txn));
  for (const std::string& flow_id : flow_ids) {
    ASSIGN_OR_RETURN(ChunkEnrollment * theirs, LoadEnrollment(txn, flow_id, absorbed.lead_key()));
    if (!theirs->value.has_value() && !theirs->undecodable) continue;
    std::optional<v1::FlowEnrollment> taken = std::move(theirs->value);
    theirs->value.reset();  // deleted
    theirs->touched = true;
    if (!taken.has_value()) continue;  // undecodable
    v1::FlowEnrollment& enrollment = *taken;
    ASSIGN_OR_RETURN(const FlowEngine* engine, EngineFor(txn, flow_id, enrollment.flow_version()));
    if (engine == nullptr) continue;
    TimerIndex timers(txn);
    std::optional<Timer> timer;
    {
      ASSIGN_OR_RETURN(timer, timers.Find(engine->TimerId(absorbed.lead_key())));
      if (timer.has_value()) RETURN_IF_ERROR(timers.Cancel(timer->id).status());
    }
    ASSIGN_OR_RETURN(ChunkEnrollment * mine, LoadEnrollment(txn, flow_id, lead->lead_key()));
    if (mine->value.has_value() || mine->undecodable) continue;  // the survivor's enrollment wins
    v1::JourneyEntry* entry = enrollment.add_journey();
    entry->set_sequence(record.sequence());
    entry->set_log_time_ms(record.log_time_ms());
    entry->set_what(absl::StrCat("moved from merged lead ", absorbed.lead_key()));
    if (timer.has_value()) {
      const std::string id = engine->TimerId(lead->lead_key());
      enrollment.set_timer_id(id);
      RETURN_IF_ERROR(
          ScheduleTimer(txn, timers, timer->due_ms, id, absl::StrCat(flow_id, "\n", lead->lead_key())));
    }
    mine->value = std::move(enrollment);
    mine->touched = true;
  }
  (void)shard;
  return absl::OkStatus();
}

}  // namespace leadlog
