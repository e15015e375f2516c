// RevenueEngine: stall recycling, the sales-rejection reason table, SLA
// clocks on a business calendar and stale-record reminders for one lead at a
// time (DESIGN.md §5 "Recycling and SLAs"), under one validated
// RevenueOpsRules version. Pure: it reads the lead and its RevenueLeadState
// and returns what happened as effects (actions, timers, stage change,
// score change, flow enrollment, owner reassignment, report deltas); the
// lead projection persists them with its state and checkpoint, so a rebuild
// reproduces every decision (invariants 5, 6, 8).
//
// Calls (the caller's order for one record; README.md "Wiring"):
//   1. the caller fires due timers first: for each timer PopDue returns
//      whose id ParseRevenueTimerId accepts, OnTimer(timer with its due_ms);
//   2. it applies the record to the lead (lifecycle, owner, flows, ...),
//      then OnRecord;
//   3. after applying a stage change or reassignment from the effects (or
//      any other change made outside a record), OnLeadChanged, so clocks of
//      the new stage start now rather than at the lead's next record.
//
// Semantics (README.md "Semantics" has the full list):
// - Activity: Lead Contacted = SALES_CONTACT (and CRM_UPDATE); any other
//   sales fact = CRM_UPDATE; a page call or a non-sales track = ENGAGEMENT.
//   Identify, alias, group, definitions and clock ticks are no activity.
// - Stall: per rule watching the lead's stage, due at the earliest of
//   max(stage entry, last activity of its classes) + no_activity_ms and
//   stage entry + stage_age_max_ms; the earliest rule (ties: first) owns
//   the one stall timer, deferred to the end of the cool-down after a
//   recycle. When it fires the lead is recycled by that rule.
// - Recycle: the recycle that would exceed recycles_max disqualifies instead
//   (limit_reason). A recycle requests the recycled stage (unless the lead
//   is there already, or the lifecycle model forbids the move: then nothing
//   happens and "recycle_blocked:<rule>" is counted), applies the score
//   policy, requests the nurture flow and notifies the owner.
// - Lead Rejected (unless the lead is already recycled or disqualified:
//   then it is only counted): the first table rule listing the reason whose
//   attempts_min is met decides (RECYCLE, counted as a recycle, with an
//   optional re-contact timer and notice; DISQUALIFY), else the table's
//   default_outcome (UNSPECIFIED: nothing).
// - SLA: entering an SLA's stage starts its clock at the stage entry time;
//   a stop fact before the breach = MET (sample of the working time taken),
//   the breach deadline first = BREACHED (escalate / reassign / return to
//   marketing), leaving the stage otherwise = CANCELLED. A warning fires
//   first when configured. Deadlines are computed once, at the start.
// - Stale: an owned lead without a CRM update (or owner change) for
//   no_update_ms gets a reminder, then every repeat_ms; reminders missed
//   during downtime are coalesced into one (the next falls due after now).
// - A timer whose due time no longer matches the state (rescheduled,
//   cancelled, or for another rules version) is ignored.
//
// Invariants:
// - every pending timer is in the state (stall_due_ms, recontact_due_ms,
//   an OPEN clock's next deadline, stale.next_due_ms) and every change of
//   one is reported in RevenueEffects::timers;
// - OPEN clocks are never dropped; closed ones beyond
//   kRevenueSlaClocksKeptMax are (oldest first);
// - "sla_open:*" counter deltas sum to the number of OPEN clocks.
//
// Thread-safety: immutable after Create(); const methods may run
// concurrently on different leads. Nothing here is durable.
//
//   ASSIGN_OR_RETURN(auto engine, RevenueEngine::Create(rules, calendar));
//   RevenueEffects fx;
//   RETURN_IF_ERROR(engine->OnRecord(ctx, lead, &revenue_state, &fx));
//   // persist revenue_state; apply fx.timers, fx.stage_change, fx.score...
#ifndef LEADLOG_PROJECTIONS_REVENUE_REVENUE_ENGINE_H_
#define LEADLOG_PROJECTIONS_REVENUE_REVENUE_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "leadlog/v1/record.pb.h"
#include "leadlog/v1/revenue_rules.pb.h"
#include "projections/calendar/business_calendar.h"

namespace leadlog {

// What the engine sees besides the lead.
struct RevenueContext {
  // The record being applied (for a timer: the record whose log time made
  // it due). Never null.
  const v1::LogRecord* record = nullptr;
  int64_t now_ms = 0;  // record->log_time_ms()
  // The lifecycle model in force: stage kinds (re-entries) and allowed
  // transitions (requests the model would reject are not made). Never null.
  const v1::LifecycleModel* lifecycle = nullptr;
};

// Timer ids (persisted in the timer index: do not change):
//   "rev/stall/<lead>", "rev/sla/<sla id>/<lead>", "rev/stale/<lead>",
//   "rev/recontact/<lead>".
// Every revenue timer fires only when its due equals the due the lead's
// revenue state holds for it (stall_due_ms, an SLA clock's warn or breach
// due, ...): the engine pairs its timers with its state, so the lead
// projection pops them without reading their id entries
// (TimerIndex::PopDue's caller_pairs_prefix).
inline constexpr absl::string_view kRevenueTimerPrefix = "rev/";
enum class RevenueTimerKind { kStall, kSla, kStale, kRecontact };

struct RevenueTimer {
  RevenueTimerKind kind = RevenueTimerKind::kStall;
  std::string sla_id;  // kSla only
  std::string lead_key;
  int64_t due_ms = 0;  // the due time the timer index stored
};

std::string RevenueTimerId(RevenueTimerKind kind, absl::string_view lead_key,
                           absl::string_view sla_id = "");
// Parses an id made by RevenueTimerId (due_ms left 0); InvalidArgument
// naming the id otherwise. Ids not starting with "rev/" are not ours.
absl::StatusOr<RevenueTimer> ParseRevenueTimerId(absl::string_view id);

// A stage change for the caller to apply through the lifecycle (ActorOps,
// cause rule "revenue:<rule_id>", reason code `reason`).
struct RevenueStageChange {
  std::string stage;
  std::string reason;
  std::string rule_id;
};

// Score change: add delta_milli to LeadState.score_adjustment_milli (the
// policy is reported for the record of it).
struct RevenueScoreChange {
  v1::ScorePolicy policy;
  int64_t delta_milli = 0;
};

// Give the lead to the next owner of `queue` (OwnerRouting queue, the
// caller's round-robin counter).
struct RevenueReassignment {
  std::string queue;
  std::string from_owner_id;
  std::string sla_id;
};

// One duration observation for the reports (e.g. "time_to_accept").
struct RevenueSample {
  std::string metric;
  std::string owner_id;
  std::string stage;
  int64_t value_ms = 0;  // working ms on the calendar (elapsed without one)
};

struct RevenueEffects {
  // Actions for the outbox, in order (the caller assigns ids and indexes).
  std::vector<v1::RevenueAction> actions;
  // Timers after this call, by id: a due time = (re)schedule, nullopt =
  // cancel. Only ids whose timer changed appear.
  std::map<std::string, std::optional<int64_t>> timers;
  // At most one stage change per call (the last requested wins).
  std::optional<RevenueStageChange> stage_change;
  std::optional<RevenueScoreChange> score_change;
  // Nurture flow to enroll the lead in ("" = none); the caller enrolls it
  // even without a trigger (subject to the flow's suppression/re-enrollment).
  std::string enroll_flow_id;
  std::optional<RevenueReassignment> reassign;
  // Report counter deltas (per shard, summed by readers):
  //   "recycles:<reason>:<from stage>", "disqualified:<reason>:<from stage>",
  //   "re_entries:<stage>", "recycle_blocked:<rule>",
  //   "sla_open|sla_met|sla_breached|sla_cancelled|sla_warned:<sla>:<owner>:<stage>"
  //   (owner "unassigned" when none; sla_open is +1 at start, -1 at stop
  //   under the owner at start), "stale_reminders:<owner>",
  //   "stale_reminders_coalesced", "recontacts:<rule>",
  //   "rejections_ignored:<stage>" (a Lead Rejected for a lead already in
  //   the recycled or disqualified stage decides nothing).
  std::map<std::string, int64_t> counters;
  std::vector<RevenueSample> samples;
};

class RevenueEngine {
 public:
  // Validates `rules` (ValidateRevenueOpsRules). `calendar` must be the
  // calendar named by rules.calendar_id (InvalidArgument "calendar_id: ..."
  // otherwise) and is ignored when calendar_id is empty.
  static absl::StatusOr<std::unique_ptr<RevenueEngine>> Create(
      const v1::RevenueOpsRules& rules, std::shared_ptr<const BusinessCalendarClock> calendar);
  ~RevenueEngine();

  const v1::RevenueOpsRules& rules() const;

  // A record of the lead was applied (`lead` is the state after it, with
  // every stage/owner change of the record already made). In order: the
  // record's activity classes, SLA stop facts, a Lead Rejected decision,
  // stage/owner sync (clocks stop and start), stall and stale deadlines.
  absl::Status OnRecord(const RevenueContext& ctx, const v1::LeadState& lead,
                        v1::RevenueLeadState* state, RevenueEffects* effects) const;

  // A revenue timer fell due (timer.due_ms <= ctx.now_ms). Of `lead` it
  // reads only lead_key, owner_id, lifecycle.current_stage and
  // lifecycle.entered_at_ms, and the score only to set score_change: the
  // lead projection fires most timers on a LeadState holding just those
  // (projections/lead/lead_revenue.cc); reading another field here needs a
  // change there.
  absl::Status OnTimer(const RevenueContext& ctx, const RevenueTimer& timer,
                       const v1::LeadState& lead, v1::RevenueLeadState* state,
                       RevenueEffects* effects) const;

  // The lead changed outside a record (a stage change or reassignment from
  // effects was applied): sync stage and owner, recompute deadlines.
  absl::Status OnLeadChanged(const RevenueContext& ctx, const v1::LeadState& lead,
                             v1::RevenueLeadState* state, RevenueEffects* effects) const;

 private:
  class Call;
  RevenueEngine(v1::RevenueOpsRules rules, std::shared_ptr<const BusinessCalendarClock> calendar);
  v1::RevenueOpsRules rules_;
  std::shared_ptr<const BusinessCalendarClock> calendar_;  // null: elapsed time
};

// Checks a rules definition; errors start with the field path
// ("recycle_rules[1].stages[0]: \"\" is not 1..64 bytes of [a-z0-9_]",
// "slas[0].warn_before_working_ms: 28800000 is not below
// target_working_ms 28800000", "rejection.rules[2].reasons[0]: \"not_icp\"
// is already handled by rejection.rules[0]"); ResourceExhausted beyond a
// count bound.
absl::Status ValidateRevenueOpsRules(const v1::RevenueOpsRules& rules);

// Checks the stage ids of `rules` against a lifecycle model: every stage
// exists, recycled_stage is of kind RECYCLED and disqualified_stage of kind
// DISQUALIFIED. Run when publishing; the engine tolerates mismatches (a
// request the model cannot apply is not made).
absl::Status CheckRevenueRulesAgainstLifecycle(const v1::RevenueOpsRules& rules,
                                               const v1::LifecycleModel& model);

// Parses rules from protobuf JSON ('{' first) or text format and validates
// them. ResourceExhausted beyond kRevenueRulesBytesMax.
absl::StatusOr<v1::RevenueOpsRules> ParseRevenueOpsRules(absl::string_view text);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_REVENUE_REVENUE_ENGINE_H_
