#include "projections/lifecycle/merge.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

// Position of stage `id` in the model and its kind; position -1 when the
// model has no such stage.
struct StageRef {
  int position = -1;
  v1::StageKind kind = v1::STAGE_KIND_UNSPECIFIED;
};

StageRef Find(const v1::LifecycleModel& model, const std::string& id) {
  for (int i = 0; i < model.stages_size(); ++i) {
    if (model.stages(i).id() == id) return {i, model.stages(i).kind()};
  }
  return {};
}

// Latest position of a funnel stage the survivor's kept history shows it
// at; -1 when none.
int FurthestFunnelInHistory(const v1::LifecycleModel& model, const v1::LifecycleState& state) {
  int furthest = -1;
  for (const v1::StageTransition& t : state.history()) {
    for (const std::string* id : {&t.from_stage(), &t.to_stage()}) {
      const StageRef ref = Find(model, *id);
      if (ref.kind == v1::STAGE_KIND_FUNNEL && ref.position > furthest) furthest = ref.position;
    }
  }
  return furthest;
}

// The stage rule of merge.h: whether the merged lead takes the absorbed
// lead's stage.
bool TakesAbsorbedStage(const v1::LifecycleModel& model, const v1::LifecycleState& s,
                        const v1::LifecycleState& a) {
  if (a.current_stage().empty() || a.current_stage() == s.current_stage()) return false;
  if (s.current_stage().empty()) return true;
  const StageRef ss = Find(model, s.current_stage()), as = Find(model, a.current_stage());
  if (ss.position < 0 || as.kind != v1::STAGE_KIND_FUNNEL) return false;
  switch (ss.kind) {
    case v1::STAGE_KIND_FUNNEL:
      return as.position > ss.position;
    case v1::STAGE_KIND_RECYCLED: {
      const int furthest = FurthestFunnelInHistory(model, s);
      return furthest >= 0 && as.position > furthest;
    }
    default:
      return false;  // disqualified (or unspecified) stays
  }
}

// Both rejected lists by log time, the survivor's first on a tie; the oldest
// kLifecycleRejectedMax kept.
void MergeRejected(const v1::LifecycleState& a, v1::LifecycleState* s) {
  std::vector<v1::RejectedTransition> merged;
  merged.reserve(static_cast<size_t>(s->rejected_size() + a.rejected_size()));
  int i = 0, j = 0;
  while (i < s->rejected_size() || j < a.rejected_size()) {
    const bool take_s =
        j == a.rejected_size() ||
        (i < s->rejected_size() && s->rejected(i).log_time_ms() <= a.rejected(j).log_time_ms());
    merged.push_back(take_s ? s->rejected(i++) : a.rejected(j++));
  }
  uint64_t dropped = s->rejected_dropped() + a.rejected_dropped();
  if (merged.size() > static_cast<size_t>(kLifecycleRejectedMax)) {
    dropped += merged.size() - kLifecycleRejectedMax;
    merged.resize(kLifecycleRejectedMax);
  }
  s->clear_rejected();
  for (v1::RejectedTransition& r : merged) *s->add_rejected() = std::move(r);
  s->set_rejected_dropped(dropped);
}

}  // namespace

v1::StageTransition MergeLifecycleStates(const Lifecycle& lifecycle,
                                         const v1::LifecycleState& absorbed,
                                         v1::LifecycleState* survivor, uint64_t sequence,
                                         int64_t log_time_ms) {
  LEADLOG_CHECK(survivor != nullptr);
  const v1::LifecycleModel& model = lifecycle.model();
  const bool take = TakesAbsorbedStage(model, *survivor, absorbed);
  v1::StageTransition t;
  t.set_from_stage(survivor->current_stage());
  t.set_to_stage(take ? absorbed.current_stage() : survivor->current_stage());
  t.set_log_time_ms(log_time_ms);
  t.mutable_cause()->set_rule_id(std::string(kIdentityMergeRuleId));
  t.mutable_cause()->set_definition_id(model.id());
  t.mutable_cause()->set_definition_version(model.version());
  t.mutable_cause()->add_record_sequences(sequence);
  t.set_actor(v1::ACTOR_ENGINE);

  MergeRejected(absorbed, survivor);
  survivor->set_next_sequence(std::max(survivor->next_sequence(), absorbed.next_sequence()));
  if (!take) return t;
  if (survivor->current_stage().empty()) {
    survivor->set_model_id(absorbed.model_id());
    survivor->set_model_version(absorbed.model_version());
  }
  if (survivor->history_size() >= kLifecycleHistoryMax) {
    survivor->mutable_history()->DeleteSubrange(0, 1);
    survivor->set_history_dropped(survivor->history_dropped() + 1);
  }
  *survivor->add_history() = t;
  survivor->set_current_stage(t.to_stage());
  survivor->set_entered_at_ms(log_time_ms);
  survivor->set_sales_ready_rearm_pending(absorbed.sales_ready_rearm_pending());
  return t;
}

}  // namespace leadlog
