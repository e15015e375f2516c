// MergeLifecycleStates: folds the LifecycleState of a lead absorbed by an
// identity merge (identify/alias tying two leads of a shard together,
// DESIGN.md §5 "Identity") into the surviving lead's state, under the
// lifecycle model in force, and records a stage change it causes.
//
// Pure and deterministic (DESIGN.md invariant 5): the result depends only on
// the arguments; serialize with SerializeLifecycleState. Thread-safety: as
// Lifecycle (const; states not shared while being updated). `absorbed` is
// only read; `survivor` is updated in place and must be non-null.
//
//   // survivor: the lead created first; `record` is the identify/alias.
//   v1::StageTransition t = MergeLifecycleStates(*lifecycle, absorbed.lifecycle(),
//       survivor.mutable_lifecycle(), record.sequence(), record.log_time_ms());
//   if (t.from_stage() != t.to_stage()) ...;  // already in survivor's history
//
// The stage rule (S = survivor's stage, A = absorbed's, positions are the
// stages' order in the model):
//   - S empty (no record applied yet): the lead takes A.
//   - S is a funnel stage: the lead takes A if A is a funnel stage later
//     than S; otherwise keeps S.
//   - S is a recycled stage: the lead takes A only if A is a funnel stage
//     later than every funnel stage the survivor's kept history shows it at
//     (a recycled lead whose history shows no funnel stage keeps S).
//   - S is disqualified: kept. A detour (recycled or disqualified) of the
//     absorbed lead never moves the survivor; a stage unknown to the model on
//     either side changes nothing.
// A change is appended to the survivor's history (oldest dropped beyond
// kLifecycleHistoryMax, counted in history_dropped) as a StageTransition at
// `log_time_ms`, actor ACTOR_ENGINE, cause rule_id "identity_merge" with the
// model's id and version and record_sequences {sequence}, no reason; the
// move is NOT checked against the model's transitions (the merged lead is
// where its absorbed history took it): identity merges are the one exception
// to lifecycle.h's "every applied transition is in the model's transitions".
// entered_at_ms becomes `log_time_ms` and sales_ready_rearm_pending the
// absorbed lead's; without a change both stay the survivor's.
// The absorbed lead's own history is not copied (it would break the chain
// history[i].to_stage == history[i+1].from_stage); the lead projection keeps
// the merge in LeadState.merges. Rejected transitions of both are merged by
// log time (the survivor's first on a tie), the oldest kLifecycleRejectedMax
// kept, the rest counted in rejected_dropped with both sides' drops.
// next_sequence is the larger of the two (not sequence + 1: the caller still
// applies the merging record with Lifecycle::Apply). model_id/version stay
// the survivor's (they name the model that applied its last record), except
// for an empty survivor, which takes the absorbed lead's.
//
// Returns the transition; from_stage == to_stage when the stage did not
// change (then nothing was appended).
#ifndef LEADLOG_PROJECTIONS_LIFECYCLE_MERGE_H_
#define LEADLOG_PROJECTIONS_LIFECYCLE_MERGE_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "projections/lifecycle/lifecycle.h"

namespace leadlog {

// Rule id recorded as the cause of a stage change made by an identity merge.
inline constexpr absl::string_view kIdentityMergeRuleId = "identity_merge";

v1::StageTransition MergeLifecycleStates(const Lifecycle& lifecycle,
                                         const v1::LifecycleState& absorbed,
                                         v1::LifecycleState* survivor, uint64_t sequence,
                                         int64_t log_time_ms);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LIFECYCLE_MERGE_H_
