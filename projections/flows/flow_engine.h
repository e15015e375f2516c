// FlowEngine: executes one nurture flow version for one lead at a time
// (DESIGN.md §5 "Nurture"). Pure: it reads the lead and its enrollment and
// returns what happened as effects (actions, timers, lead changes, stats);
// the lead projection (projections/lead/lead_fold.cc) persists them with
// its state and checkpoint, so everything is deterministic on rebuild.
//
// One enrollment per (lead, flow) at a time; it holds at most one pending
// timer (a wait, a stream cadence, a deferred send, a parked run), named by
// TimerId().
//
// Semantics (README.md "Semantics" has the full list):
// - Enrollment: the first trigger (in order) that fires for the record
//   enrolls the lead when the entry filter holds, no suppression applies and
//   the re-enrollment policy allows it (NEVER: never enrolled; AFTER_EXIT:
//   the previous enrollment ended; AFTER_INTERVAL: ended and now >= its
//   enrolled_ms + interval_ms). A record that ends an enrollment never also
//   starts the next one.
// - Running: steps run until one pauses (a wait, a stream send or
//   exhaustion, a deferred send) or the flow ends. After
//   kFlowStepsPerRunMax steps in one call the run parks: the next step is
//   entered, a timer is set kFlowParkDelayMs ahead and OnTimer resumes it.
// - Conditions evaluated during a run (branches, stream transitions) see the
//   lead with the stage, owner and score changes of earlier steps of the
//   same run applied, although the caller applies them to the real lead.
// - A send checks, in order: suppression (suppressed: the enrollment exits
//   "suppressed: <reason>"), content already sent (skipped, the run goes on),
//   the send gate (deferred: a timer at the gate's retry time, the step is
//   retried then). Already-sent is checked before the gate so that a piece
//   that will never be sent does not hold the lead back for a cap window.
// - OnTimer continues from the waiting step: a wait is done (an event wait
//   takes timeout_next), any other step is executed again (stream cadence,
//   deferred send, parked run). A timer for an ended enrollment, or one
//   that is not yet due, is ignored.
//
// Invariants:
// - enrollment.timer_id is set iff enrollment.timer_due_ms is and the
//   enrollment is ACTIVE with a pending timer; every change of it is
//   reported in FlowEffects (schedule_timer_ms / cancel_timer).
// - an ended enrollment (COMPLETED, CONVERTED, EXITED) has ended_ms set and
//   no timer; the engine never changes it again.
// - journey size <= kFlowJourneyMax; journey_dropped counts the rest.
//
// Thread-safety: immutable after Create(); const methods may run
// concurrently on different leads.
//
//   ASSIGN_OR_RETURN(auto engine, FlowEngine::Create(flow));
//   FlowEffects fx;
//   RETURN_IF_ERROR(engine->OnRecord(ctx, before, &lead, &enrollment, &fx));
//   // persist lead + enrollment; schedule/cancel fx.timers; write fx.actions
#ifndef LEADLOG_PROJECTIONS_FLOWS_FLOW_ENGINE_H_
#define LEADLOG_PROJECTIONS_FLOWS_FLOW_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/action.pb.h"
#include "leadlog/v1/flow.pb.h"
#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "leadlog/v1/record.pb.h"
#include "projections/flows/conditions.h"

namespace leadlog {

// What the engine sees besides the lead.
struct FlowContext {
  // The record being applied (or, for a timer, the record whose log time
  // made it due). Its sequence and log time stamp journeys and actions.
  const v1::LogRecord* record = nullptr;
  int64_t now_ms = 0;  // record->log_time_ms()
  // The lifecycle model in force (stage kinds for suppression, stage ids for
  // set_stage validation). Never null.
  const v1::LifecycleModel* lifecycle = nullptr;
  // The governance in force; null = no caps, no quiet hours.
  const SendGate* gate = nullptr;
};

// Changes to make besides the enrollment itself.
struct FlowEffects {
  // Actions for the outbox, in order: type "send_content" (body: content id,
  // channel, flow, step), "notify_owner", "webhook". The caller assigns
  // action ids and indexes.
  std::vector<v1::Action> actions;
  // The enrollment's timer after this call: set = (re)schedule at due ms;
  // cancel_timer = remove the pending one.
  std::optional<int64_t> schedule_timer_ms;
  bool cancel_timer = false;
  // Lead changes requested by steps, applied by the caller in this order.
  // The last set_stage step of the call wins; the caller applies it with
  // actor ACTOR_OPS and rule `set_stage_rule` ("flow:<flow id>/<step id>").
  std::optional<std::pair<std::string, std::string>> set_stage;  // (stage, reason)
  std::string set_stage_rule;
  // Sum of add_score steps (milli-points, for LeadState.score_adjustment_milli).
  int64_t add_score_milli = 0;
  std::optional<std::string> set_owner;  // last set_owner step of the call
  // Stats deltas of this flow (per shard, summed by readers): "enrolled",
  // "converted", "completed", "exited:<reason>", "step:<id>" (entries into a
  // step), "sent", "deferred", "skipped_sent" (piece already sent),
  // "exhausted" (a stream ran out), "not_enrolled:<filter|suppressed|
  // reenrollment>" (a trigger fired but the lead was not enrolled),
  // "parked" (kFlowStepsPerRunMax reached).
  std::map<std::string, int64_t> stats;
};

class FlowEngine {
 public:
  // Validates `flow` (ValidateNurtureFlow) and compiles it.
  static absl::StatusOr<std::unique_ptr<FlowEngine>> Create(const v1::NurtureFlow& flow);
  ~FlowEngine();

  const v1::NurtureFlow& flow() const;

  // The timer id of a lead's enrollment in this flow: "flow/<flow id>/<lead key>".
  std::string TimerId(const std::string& lead_key) const;

  // A record of the lead was applied (lead state already updated; `before`
  // is the state before this record, empty lead_key for a new lead). In
  // order: an active enrollment checks suppression, the goal, exit criteria,
  // a wait-for-event step; otherwise a trigger that fires (comparing
  // `before` and `lead`) enrolls the lead when the entry filter holds, it is
  // not suppressed and the re-enrollment policy allows it, and the engine
  // runs steps until one waits. `enrollment` is the current one for this
  // flow (nullopt if never enrolled) and is updated in place; the caller
  // applies `nurture` changes made through `lead->mutable_nurture()`.
  absl::Status OnRecord(const FlowContext& ctx, const v1::LeadState& before, v1::LeadState* lead,
                        std::optional<v1::FlowEnrollment>* enrollment, FlowEffects* effects) const;

  // Enrolls the lead without a trigger (a request from another part of the
  // projection, e.g. a recycle: journey "enrolled by <why>") when it is not
  // active in the flow and suppression and the re-enrollment policy allow it
  // (else the "not_enrolled:*" stat). The entry filter is not applied: it
  // says who may enter on a trigger of their own, and the rule that names
  // this flow has already chosen the lead (a recycled lead keeps a score
  // above an early-stage filter's maximum when its policy keeps the score).
  absl::Status Enroll(const FlowContext& ctx, absl::string_view why, v1::LeadState* lead,
                      std::optional<v1::FlowEnrollment>* enrollment, FlowEffects* effects) const;

  // The enrollment's timer fell due: continue from the waiting step (wait
  // done, wait-for-event timeout, next stream piece, deferred send).
  absl::Status OnTimer(const FlowContext& ctx, v1::LeadState* lead,
                       v1::FlowEnrollment* enrollment, FlowEffects* effects) const;

  // A new version of this flow was published (`this` is the NEW version):
  // applies its migration to an ACTIVE enrollment of `old_flow`: MAP_STEPS
  // moves it (journey entry "migrated from v<old> step <a> to <b>"),
  // FINISH_ON_OLD leaves it (the caller keeps running it with the old
  // version's engine until it ends).
  absl::Status Migrate(const FlowContext& ctx, const v1::NurtureFlow& old_flow,
                       v1::LeadState* lead, v1::FlowEnrollment* enrollment,
                       FlowEffects* effects) const;

 private:
  struct Compiled;
  class Run;
  explicit FlowEngine(std::unique_ptr<Compiled> compiled);
  // Enrolls the lead if a trigger fires and everything allows it.
  // Enrolls unless suppression or the re-enrollment policy forbids it (the
  // "not_enrolled:*" stat), then runs steps until one waits. `trigger` is
  // the firing trigger's index (-1: a direct enrollment), `what` the reason.
  absl::Status StartEnrollment(const FlowContext& ctx, int trigger, const std::string& what,
                               v1::LeadState* lead, std::optional<v1::FlowEnrollment>* enrollment,
                               FlowEffects* effects) const;
  absl::Status MaybeEnroll(const FlowContext& ctx, const v1::LeadState& before,
                           v1::LeadState* lead, std::optional<v1::FlowEnrollment>* enrollment,
                           FlowEffects* effects) const;
  // The index of the first trigger that fires for this record, with a
  // description, or -1.
  int FiringTrigger(const FlowContext& ctx, const v1::LeadState& before,
                    const v1::LeadState& lead, std::string* what) const;
  std::unique_ptr<Compiled> compiled_;
};

// Whether a grade is at least as good as another: rank "A" 0 .. "F" 4, -1
// for anything else (no grade).
int GradeRank(absl::string_view grade);

// The split hash: FNV-1a 64 of `bytes` followed by MurmurHash3's fmix64
// finalizer. Persisted behaviour (a rebuild must put every lead on the same
// split path): do not change.
uint64_t StableHash64(absl::string_view bytes);

// The split bucket 0..99 of a lead: StableHash64("<lead key>|<flow id>|<step
// id>|<enrollment number>") % 100.
uint32_t SplitBucket(absl::string_view lead_key, absl::string_view flow_id,
                     absl::string_view step_id, uint32_t enrollment_number);

// Checks a flow definition; errors name the path ("steps[2].next: unknown
// step \"foo\"", "steps[4]: unreachable from the first step", "steps[1..3]:
// cycle without a wait", "steps[0].wait.duration_ms: 0 is outside [1 min,
// 365 days]", "streams[0].content[2].content_id: ...").
absl::Status ValidateNurtureFlow(const v1::NurtureFlow& flow);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_FLOWS_FLOW_ENGINE_H_
