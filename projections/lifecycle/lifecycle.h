// Lifecycle: the pure transition logic of the lifecycle projection. Given one
// log record of a lead, the lead's score and grade after that record, and the
// lead's LifecycleState, it moves the lead through the stages of one validated
// LifecycleModel version and reports what happened.
//
// Thread-safe: Apply is const and touches only its arguments, so one
// Lifecycle may serve many threads (each with its own state). A Lifecycle
// owns a copy of its model. Nothing here is durable: the caller (the
// projection runtime) persists the state together with its checkpoint.
// Pure (DESIGN.md invariant 5): no clock, no randomness, no I/O; time is the
// record's log_time_ms.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Lifecycle> lifecycle,
//                    Lifecycle::Create(DefaultLifecycleModel()));
//   LeadSignals signals{.score = 120, .grade = "A"};  // from scoring
//   ASSIGN_OR_RETURN(LifecycleOutcome out, lifecycle->Apply(record, signals, &state));
//   if (out.handoff_due) AssignOwnerAndWriteOutbox(out.handoff_cause);
//
// One record is applied in this order; each step may move the lead:
//   1. Idempotency: a record with sequence < state.next_sequence was already
//      applied; Apply returns `skipped` and leaves the state untouched.
//   2. A fresh state (empty current_stage) starts in the initial stage,
//      entered at the record's log time (not a transition).
//   3. Identify: an event with a non-empty user_id moves a lead in one of
//      identify.from_stages to identify.to_stage (actor engine).
//   4. Sales fact (event.sales.kind set): the first rule of that kind whose
//      from_stages holds the current stage gives the target. Target == current
//      stage: no-op. Move not in transitions, a target that requires a reason
//      and none given, or rules for the kind but none for this stage: recorded
//      in state.rejected and NOT applied. Kinds without rules are ignored.
//   5. Sales-ready: if score >= score_min and grade >= grade_min (A best) and
//      the lead is in one of sales_ready.from_stages, it moves to
//      sales_ready.to_stage (actor engine) and `handoff_due` is set. Leaving
//      the stage again needs a sales fact: a score that drops back never
//      un-MQLs a lead. After entering a recycled stage the rule is disarmed
//      until signals are seen below it (state.sales_ready_rearm_pending).
//
// Invariants (of a state only ever passed to Apply of validated models):
//   - state.current_stage is a stage of the model that applied the last record;
//   - history[i].to_stage == history[i+1].from_stage, and the last to_stage is
//     current_stage (unless history was truncated to kLifecycleHistoryMax);
//   - every applied transition is in the model's transitions;
//   - log times in history never decrease (the log's own guarantee).
#ifndef LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_H_
#define LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "leadlog/v1/record.pb.h"

namespace leadlog {

// The lead's scoring signals after the record being applied. Computed by the
// scoring projection; passed in so that lifecycle stays independent of it.
struct LeadSignals {
  // Total score in scoring points, after this record (decay applied).
  double score = 0;
  // Fit grade "A".."F" (A best); empty when the lead is not graded yet, which
  // meets only a sales-ready rule without grade_min.
  std::string grade;
  // Optional: sequences of the records that contributed to the score. Kept in
  // the sales-ready cause (the highest kLifecycleCauseSequencesMax - 1).
  std::vector<uint64_t> evidence_sequences;
};

// What applying one record did. Transitions are also appended to the state.
struct LifecycleOutcome {
  // The record's sequence was already applied; nothing changed.
  bool skipped = false;
  // Transitions applied by this record, in order (at most three: identify,
  // sales fact, sales-ready).
  std::vector<v1::StageTransition> applied;
  // Transitions this record attempted that the model does not allow.
  std::vector<v1::RejectedTransition> rejected;
  // The lead just met the sales-ready rule: the caller assigns an owner and
  // writes the hand-off action; `handoff_cause` says which rule, model version
  // and records (the outbox id can use the last record sequence).
  bool handoff_due = false;
  v1::TransitionCause handoff_cause;
};

class Lifecycle {
 public:
  // Validates `model` (ValidateLifecycleModel) and keeps a copy of it.
  static absl::StatusOr<std::unique_ptr<Lifecycle>> Create(v1::LifecycleModel model);

  // Applies one record to `state` (see the steps above) and returns what
  // happened. FailedPrecondition, with `state` untouched, when the state's
  // current stage is not a stage of this model (a model version dropped it).
  // `state` must be non-null; `record` and `signals` are only read.
  absl::StatusOr<LifecycleOutcome> Apply(const v1::LogRecord& record, const LeadSignals& signals,
                                         v1::LifecycleState* state) const;

  const v1::LifecycleModel& model() const { return model_; }

 private:
  explicit Lifecycle(v1::LifecycleModel model) : model_(std::move(model)) {}

  v1::LifecycleModel model_;
};

// Serializes `state` deterministically: identical states give identical bytes
// (DESIGN.md invariant 5), the form the runtime stores and hashes.
std::string SerializeLifecycleState(const v1::LifecycleState& state);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_H_
