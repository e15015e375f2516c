#include "projections/lifecycle/lifecycle.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/lifecycle/lifecycle_model.h"

namespace leadlog {
namespace {

using StageIds = google::protobuf::RepeatedPtrField<std::string>;

const v1::LifecycleStage* FindStage(const v1::LifecycleModel& model, const std::string& id) {
  for (const v1::LifecycleStage& stage : model.stages()) {
    if (stage.id() == id) return &stage;
  }
  return nullptr;
}

bool Allowed(const v1::LifecycleModel& model, const std::string& from, const std::string& to) {
  for (const v1::LifecycleTransition& t : model.transitions()) {
    if (t.from_stage() == from && t.to_stage() == to) return true;
  }
  return false;
}

bool Contains(const StageIds& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Cuts an external reason code to kLifecycleReasonBytesMax without splitting
// a UTF-8 sequence (proto3 strings must stay valid UTF-8).
std::string CutReason(const std::string& reason) {
  if (reason.size() <= kLifecycleReasonBytesMax) return reason;
  size_t end = kLifecycleReasonBytesMax;
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xC0) == 0x80) --end;
  return reason.substr(0, end);
}

v1::TransitionCause MakeCause(const v1::LifecycleModel& model, const std::string& rule_id,
                              uint64_t sequence, std::vector<uint64_t> evidence) {
  v1::TransitionCause cause;
  cause.set_rule_id(rule_id);
  cause.set_definition_id(model.id());
  cause.set_definition_version(model.version());
  std::sort(evidence.begin(), evidence.end());
  evidence.erase(std::unique(evidence.begin(), evidence.end()), evidence.end());
  evidence.erase(std::remove(evidence.begin(), evidence.end(), sequence), evidence.end());
  const size_t keep = static_cast<size_t>(kLifecycleCauseSequencesMax - 1);
  const size_t first = evidence.size() > keep ? evidence.size() - keep : 0;
  for (size_t i = first; i < evidence.size(); ++i) cause.add_record_sequences(evidence[i]);
  cause.add_record_sequences(sequence);
  return cause;
}

// One stage change being decided for one record.
struct Attempt {
  std::string to_stage;
  v1::TransitionCause cause;
  v1::Actor actor = v1::ACTOR_ENGINE;
  std::string reason;
  v1::SalesFactKind fact_kind = v1::SALES_FACT_KIND_UNSPECIFIED;
};

void Commit(const v1::LifecycleModel& model, const v1::LogRecord& record, Attempt attempt,
            v1::LifecycleState* state, LifecycleOutcome* outcome) {
  v1::StageTransition t;
  t.set_from_stage(state->current_stage());
  t.set_to_stage(attempt.to_stage);
  t.set_log_time_ms(record.log_time_ms());
  *t.mutable_cause() = std::move(attempt.cause);
  t.set_actor(attempt.actor);
  t.set_reason(std::move(attempt.reason));
  if (state->history_size() >= kLifecycleHistoryMax) {
    state->mutable_history()->DeleteSubrange(0, 1);
    state->set_history_dropped(state->history_dropped() + 1);
  }
  *state->add_history() = t;
  state->set_current_stage(t.to_stage());
  state->set_entered_at_ms(record.log_time_ms());
  const v1::LifecycleStage* stage = FindStage(model, t.to_stage());
  LEADLOG_CHECK(stage != nullptr) << "validated model lacks stage " << t.to_stage();
  if (stage->kind() == v1::STAGE_KIND_RECYCLED) state->set_sales_ready_rearm_pending(true);
  outcome->applied.push_back(std::move(t));
}

void Reject(const v1::LogRecord& record, Attempt attempt, std::string why,
            v1::LifecycleState* state, LifecycleOutcome* outcome) {
  v1::RejectedTransition r;
  r.set_from_stage(state->current_stage());
  r.set_attempted_to_stage(std::move(attempt.to_stage));
  r.set_log_time_ms(record.log_time_ms());
  *r.mutable_cause() = std::move(attempt.cause);
  r.set_actor(attempt.actor);
  r.set_reason(std::move(attempt.reason));
  r.set_why(std::move(why));
  r.set_fact_kind(attempt.fact_kind);
  if (state->rejected_size() < kLifecycleRejectedMax) {
    *state->add_rejected() = r;
  } else {
    state->set_rejected_dropped(state->rejected_dropped() + 1);
  }
  outcome->rejected.push_back(std::move(r));
}

void ApplyIdentify(const v1::LifecycleModel& model, const v1::LogRecord& record,
                   v1::LifecycleState* state, LifecycleOutcome* outcome) {
  const v1::IdentifyRule& rule = model.identify();
  if (!record.has_event() || record.event().user_id().empty()) return;
  if (!Contains(rule.from_stages(), state->current_stage())) return;
  Attempt attempt;
  attempt.to_stage = rule.to_stage();
  attempt.cause = MakeCause(model, rule.id(), record.sequence(), {});
  Commit(model, record, std::move(attempt), state, outcome);
}

// The rule for `kind` in the current stage; nullptr with *has_rules telling
// whether the kind has rules at all.
const v1::SalesFactRule* FindSalesFactRule(const v1::LifecycleModel& model, v1::SalesFactKind kind,
                                           const std::string& stage, bool* has_rules) {
  *has_rules = false;
  for (const v1::SalesFactRule& rule : model.sales_facts()) {
    if (rule.kind() != kind) continue;
    *has_rules = true;
    if (rule.from_stages().empty() || Contains(rule.from_stages(), stage)) return &rule;
  }
  return nullptr;
}

void ApplySalesFact(const v1::LifecycleModel& model, const v1::LogRecord& record,
                    v1::LifecycleState* state, LifecycleOutcome* outcome) {
  if (!record.has_event() || !record.event().has_sales()) return;
  const v1::SalesFact& fact = record.event().sales();
  if (fact.kind() == v1::SALES_FACT_KIND_UNSPECIFIED) return;
  const std::string& from = state->current_stage();
  bool has_rules = false;
  const v1::SalesFactRule* rule = FindSalesFactRule(model, fact.kind(), from, &has_rules);
  if (!has_rules) return;
  Attempt attempt;
  attempt.actor = v1::ACTOR_SALES;
  attempt.reason = CutReason(fact.reason());
  attempt.fact_kind = fact.kind();
  const std::string kind_name = v1::SalesFactKind_Name(fact.kind());
  if (rule == nullptr) {
    attempt.cause = MakeCause(model, "", record.sequence(), {});
    Reject(record, std::move(attempt),
           absl::StrCat("no rule for ", kind_name, " in stage \"", from, "\""), state, outcome);
    return;
  }
  if (rule->actor() != v1::ACTOR_UNSPECIFIED) attempt.actor = rule->actor();
  attempt.to_stage = rule->to_stage();
  attempt.cause = MakeCause(model, rule->id(), record.sequence(), {});
  if (attempt.to_stage == from) return;  // already there
  if (!Allowed(model, from, attempt.to_stage)) {
    std::string why =
        absl::StrCat("transition \"", from, "\" -> \"", attempt.to_stage, "\" not allowed");
    Reject(record, std::move(attempt), std::move(why), state, outcome);
    return;
  }
  if (attempt.reason.empty() && FindStage(model, attempt.to_stage)->requires_reason()) {
    std::string why = absl::StrCat("stage \"", attempt.to_stage, "\" requires a reason code");
    Reject(record, std::move(attempt), std::move(why), state, outcome);
    return;
  }
  Commit(model, record, std::move(attempt), state, outcome);
}

bool MeetsSalesReady(const v1::SalesReadyRule& rule, const LeadSignals& signals) {
  if (!(signals.score >= rule.score_min())) return false;  // NaN never meets
  if (rule.grade_min().empty()) return true;
  if (signals.grade.size() != 1 || signals.grade[0] < 'A' || signals.grade[0] > 'F') return false;
  return signals.grade[0] <= rule.grade_min()[0];  // 'A' is best
}

void ApplySalesReady(const v1::LifecycleModel& model, const v1::LogRecord& record,
                     const LeadSignals& signals, v1::LifecycleState* state,
                     LifecycleOutcome* outcome) {
  const v1::SalesReadyRule& rule = model.sales_ready();
  const bool meets = MeetsSalesReady(rule, signals);
  if (state->sales_ready_rearm_pending()) {
    if (meets) return;
    state->set_sales_ready_rearm_pending(false);
  }
  if (!meets || !Contains(rule.from_stages(), state->current_stage())) return;
  Attempt attempt;
  attempt.to_stage = rule.to_stage();
  attempt.cause = MakeCause(model, rule.id(), record.sequence(), signals.evidence_sequences);
  outcome->handoff_due = true;
  outcome->handoff_cause = attempt.cause;
  Commit(model, record, std::move(attempt), state, outcome);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Lifecycle>> Lifecycle::Create(v1::LifecycleModel model) {
  RETURN_IF_ERROR(ValidateLifecycleModel(model));
  return std::unique_ptr<Lifecycle>(new Lifecycle(std::move(model)));
}

absl::StatusOr<LifecycleOutcome> Lifecycle::Apply(const v1::LogRecord& record,
                                                  const LeadSignals& signals,
                                                  v1::LifecycleState* state) const {
  LEADLOG_CHECK(state != nullptr);
  LifecycleOutcome outcome;
  if (record.sequence() < state->next_sequence()) {
    outcome.skipped = true;
    return outcome;
  }
  if (!state->current_stage().empty() && FindStage(model_, state->current_stage()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("lifecycle state: stage \"", state->current_stage(), "\" is not in model \"",
                     model_.id(), "\" version ", model_.version()));
  }
  if (state->current_stage().empty()) {
    state->set_current_stage(model_.initial_stage());
    state->set_entered_at_ms(record.log_time_ms());
  }
  ApplyIdentify(model_, record, state, &outcome);
  ApplySalesFact(model_, record, state, &outcome);
  ApplySalesReady(model_, record, signals, state, &outcome);
  state->set_model_id(model_.id());
  state->set_model_version(model_.version());
  state->set_next_sequence(record.sequence() + 1);
  return outcome;
}

std::string SerializeLifecycleState(const v1::LifecycleState& state) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    LEADLOG_CHECK(state.SerializeToCodedStream(&coded)) << "LifecycleState serialization failed";
  }
  return bytes;
}

}  // namespace leadlog
