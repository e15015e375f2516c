// Reports: funnel, flows and flow stats, SLA, recycle, log stats.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/status_macros.h"
#include "projections/api/internal/handlers.h"
#include "projections/api/read_model.h"
#include "projections/lead/lead_fold.h"
#include "projections/lifecycle/lifecycle_model.h"

namespace leadlog::api_internal {
namespace {

// Stage ids in model order: the lifecycle model in force on the first shard
// that has one, else the default model.
absl::StatusOr<std::vector<std::string>> StageOrder(const Reader& reader) {
  v1::LifecycleModel model = DefaultLifecycleModel();
  for (ShardId shard : reader.shards) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     reader.runner->Get(shard, DefinitionInForceKey("lifecycle_model")));
    v1::DefinitionRecord r;
    if (bytes.has_value() && r.ParseFromString(*bytes) && r.definition().has_lifecycle_model()) {
      model = r.definition().lifecycle_model();
      break;
    }
  }
  std::vector<std::string> order;
  for (const v1::LifecycleStage& s : model.stages()) order.push_back(s.id());
  return order;
}

struct StageAcc {
  uint64_t current = 0, reached = 0, exits = 0;
  int64_t time_sum_ms = 0;
  std::vector<int64_t> samples;
};

std::string Month(int64_t ms) {
  return absl::FormatTime("%Y-%m", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// Folds one lead into the per-stage accumulators and its cohort.
void AddLead(const v1::LeadState& lead, std::map<std::string, StageAcc>* stages,
             v1::Cohort* cohort) {
  const v1::LifecycleState& lc = lead.lifecycle();
  std::set<std::string> reached = {lc.current_stage()};
  ++(*stages)[lc.current_stage()].current;
  int64_t entered_ms = lead.created_ms();
  for (const v1::StageTransition& t : lc.history()) {
    reached.insert(t.from_stage());
    reached.insert(t.to_stage());
    StageAcc& from = (*stages)[t.from_stage()];
    const int64_t spent = std::max<int64_t>(0, t.log_time_ms() - entered_ms);
    ++from.exits;
    from.time_sum_ms += spent;
    if (from.samples.size() < kApiFunnelSamplesMax) from.samples.push_back(spent);
    entered_ms = t.log_time_ms();
  }
  reached.erase("");
  cohort->set_leads(cohort->leads() + 1);
  for (const std::string& s : reached) {
    ++(*stages)[s].reached;
    ++(*cohort->mutable_reached())[s];
  }
}

void FillStages(const std::vector<std::string>& order, std::map<std::string, StageAcc>& stages,
                v1::FunnelReport* out) {
  std::vector<std::string> ids = order;
  for (const auto& [id, acc] : stages) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    StageAcc& acc = stages[ids[i]];
    v1::StageFunnel* f = out->add_stages();
    f->set_stage(ids[i]);
    f->set_current(acc.current);
    f->set_reached(acc.reached);
    if (i + 1 < ids.size() && acc.reached > 0) {
      f->set_conversion_to_next(static_cast<double>(stages[ids[i + 1]].reached) / acc.reached);
    }
    f->set_exits(acc.exits);
    if (acc.exits > 0) f->set_mean_time_in_stage_ms(acc.time_sum_ms / static_cast<int64_t>(acc.exits));
    if (!acc.samples.empty()) {
      auto mid = acc.samples.begin() + acc.samples.size() / 2;
      std::nth_element(acc.samples.begin(), mid, acc.samples.end());
      f->set_median_time_in_stage_ms(*mid);
    }
  }
}

}  // namespace

absl::StatusOr<ApiResponse> GetFunnel(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {"from", "to"}));
  ASSIGN_OR_RETURN(int64_t from_ms, q.TimeMs("from", 0));
  ASSIGN_OR_RETURN(int64_t to_ms, q.TimeMs("to", 0));
  if (to_ms != 0 && to_ms <= from_ms) {
    return absl::InvalidArgumentError("to: must be after from");
  }
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(std::vector<std::string> order, StageOrder(reader));
  v1::FunnelReport out;
  *out.mutable_position() = reader.position;
  out.set_from_ms(from_ms);
  out.set_to_ms(to_ms);
  std::map<std::string, StageAcc> stages;
  std::map<std::string, v1::Cohort> cohorts;
  uint64_t folded = 0;
  RETURN_IF_ERROR(ForEachLead(*reader.runner, reader.shards, [&](ShardId, const v1::LeadState& lead) {
    if (lead.created_ms() < from_ms || (to_ms != 0 && lead.created_ms() >= to_ms)) return;
    if (folded >= kApiReportLeadsMax) {
      out.set_truncated(true);
      return;
    }
    ++folded;
    const std::string month = Month(lead.created_ms());
    v1::Cohort& cohort = cohorts[month];
    cohort.set_month(month);
    AddLead(lead, &stages, &cohort);
  }));
  out.set_leads(folded);
  FillStages(order, stages, &out);
  for (auto& [month, cohort] : cohorts) *out.add_cohorts() = std::move(cohort);
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> ListFlows(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(v1::FlowListResponse out, BuildFlowList(*reader.runner, reader.shards));
  *out.mutable_position() = reader.position;
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetFlowStats(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  const std::string& id = call.params[0];
  if (id.size() > kApiParamBytesMax) return absl::InvalidArgumentError("id: too long");
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(v1::FlowStatsResponse out, BuildFlowStats(*reader.runner, reader.shards, id));
  *out.mutable_position() = reader.position;
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetSlaReport(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(v1::SlaReport out, BuildSlaReport(*reader.runner, reader.shards));
  *out.mutable_position() = reader.position;
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetRecycleReport(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(v1::RecycleReport out, BuildRecycleReport(*reader.runner, reader.shards));
  *out.mutable_position() = reader.position;
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetStats(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  Reader reader = OpenReader(call.context);
  v1::StatsResponse out;
  *out.mutable_position() = reader.position;
  out.set_projection_version(call.context.projection->active_version());
  for (ShardId shard : reader.shards) {
    const ShardStats s = call.context.log->Stats(shard);
    v1::ShardStatsView* v = out.add_shards();
    v->set_shard(shard.value());
    v->set_position(s.position.value());
    v->set_projection_checkpoint(reader.runner->Checkpoint(shard).value());
    v->set_events_appended(s.events_appended);
    v->set_duplicates_skipped(s.duplicates_skipped);
    v->set_dead_letters(s.dead_letters);
    v->set_last_log_time_ms(s.last_log_time_ms);
    for (const auto& [topic, offset] : s.offsets) (*v->mutable_offsets())[topic] = offset.value();
  }
  return JsonResponse(out);
}

}  // namespace leadlog::api_internal
