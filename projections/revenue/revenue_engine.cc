// Design note: one `Call` object per engine call bundles the rules, the
// context, the lead and the effects, so each rule is a short method. The
// state remembers the stage and owner it last saw; every call first syncs
// them with the lead (so changes made by anyone — lifecycle, flows, ops, our
// own requests — stop and start clocks the same way), then acts, then
// recomputes the stall and stale deadlines. Timers are validated against the
// due times kept in the state, so a stale timer is harmless.
#include "projections/revenue/revenue_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

constexpr absl::string_view kPrefix = kRevenueTimerPrefix;
constexpr int64_t kNever = BusinessCalendarClock::kNever;

std::string OwnerLabel(absl::string_view owner) {
  return owner.empty() ? "unassigned" : std::string(owner);
}

v1::StageKind KindOf(const v1::LifecycleModel& model, absl::string_view stage) {
  for (const v1::LifecycleStage& s : model.stages()) {
    if (s.id() == stage) return s.kind();
  }
  return v1::STAGE_KIND_UNSPECIFIED;
}

bool Allowed(const v1::LifecycleModel& model, absl::string_view from, absl::string_view to) {
  for (const v1::LifecycleTransition& t : model.transitions()) {
    if (t.from_stage() == from && t.to_stage() == to) return true;
  }
  return false;
}

template <typename List>
bool Contains(const List& list, absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}
bool ContainsEnum(const google::protobuf::RepeatedField<int>& list, int value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Activity classes of a record (bit 1 << ActivityClass).
uint32_t Classify(const v1::LogRecord& record) {
  if (!record.has_event()) return 0;
  const v1::Event& e = record.event();
  const v1::SalesFactKind kind = e.sales().kind();
  uint32_t classes = 0;
  if (kind != v1::SALES_FACT_KIND_UNSPECIFIED) {
    classes |= 1u << v1::ACTIVITY_CLASS_CRM_UPDATE;
    if (kind == v1::SALES_FACT_KIND_LEAD_CONTACTED) classes |= 1u << v1::ACTIVITY_CLASS_SALES_CONTACT;
  } else if (e.type() == v1::CALL_TYPE_PAGE || e.type() == v1::CALL_TYPE_TRACK) {
    classes |= 1u << v1::ACTIVITY_CLASS_ENGAGEMENT;
  }
  return classes;
}

// Re-contact instant from the rejection fact: a number (epoch ms) or
// "YYYY-MM-DD" (00:00 UTC); nullopt when absent or unreadable.
std::optional<int64_t> RecontactFromFact(const v1::Event& event, const std::string& property) {
  if (property.empty()) return std::nullopt;
  auto it = event.properties().fields().find(property);
  if (it == event.properties().fields().end()) return std::nullopt;
  const google::protobuf::Value& v = it->second;
  if (v.kind_case() == google::protobuf::Value::kNumberValue) {
    const double ms = v.number_value();
    if (ms >= 0 && ms <= static_cast<double>(kCalendarTimeMsMax)) return static_cast<int64_t>(ms);
    return std::nullopt;
  }
  absl::CivilDay day;
  if (v.kind_case() == google::protobuf::Value::kStringValue &&
      v.string_value().size() == 10 && absl::ParseCivilTime(v.string_value(), &day) &&
      day.year() >= 1970 && day.year() <= 9999) {
    return absl::ToUnixMillis(absl::FromCivil(day, absl::UTCTimeZone()));
  }
  return std::nullopt;
}

}  // namespace

// ----------------------------------------------------------------- timer ids

std::string RevenueTimerId(RevenueTimerKind kind, absl::string_view lead_key,
                           absl::string_view sla_id) {
  switch (kind) {
    case RevenueTimerKind::kStall:
      return absl::StrCat(kPrefix, "stall/", lead_key);
    case RevenueTimerKind::kSla:
      return absl::StrCat(kPrefix, "sla/", sla_id, "/", lead_key);
    case RevenueTimerKind::kStale:
      return absl::StrCat(kPrefix, "stale/", lead_key);
    case RevenueTimerKind::kRecontact:
      return absl::StrCat(kPrefix, "recontact/", lead_key);
  }
  return "";
}

absl::StatusOr<RevenueTimer> ParseRevenueTimerId(absl::string_view id) {
  RevenueTimer t;
  absl::string_view rest = id;
  auto take = [&rest](absl::string_view p) {
    if (!absl::StartsWith(rest, p)) return false;
    rest.remove_prefix(p.size());
    return true;
  };
  if (take("rev/stall/")) {
    t.kind = RevenueTimerKind::kStall;
  } else if (take("rev/stale/")) {
    t.kind = RevenueTimerKind::kStale;
  } else if (take("rev/recontact/")) {
    t.kind = RevenueTimerKind::kRecontact;
  } else if (take("rev/sla/")) {
    t.kind = RevenueTimerKind::kSla;
    const size_t slash = rest.find('/');
    if (slash == absl::string_view::npos || slash == 0) {
      return absl::InvalidArgumentError(absl::StrCat("revenue timer id \"", id, "\": no sla id"));
    }
    t.sla_id = std::string(rest.substr(0, slash));
    rest.remove_prefix(slash + 1);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("revenue timer id \"", id, "\": unknown kind"));
  }
  if (rest.empty()) return absl::InvalidArgumentError(absl::StrCat("revenue timer id \"", id, "\": no lead key"));
  t.lead_key = std::string(rest);
  return t;
}

// ----------------------------------------------------------------- the call

class RevenueEngine::Call {
 public:
  Call(const RevenueEngine& engine, const RevenueContext& ctx, const v1::LeadState& lead,
       v1::RevenueLeadState* state, RevenueEffects* fx)
      : rules_(engine.rules_), calendar_(engine.calendar_.get()), ctx_(ctx),
        model_(*ctx.lifecycle), lead_(lead), state_(*state), fx_(*fx) {
    state_.set_rules_id(rules_.id());
    state_.set_rules_version(rules_.version());
  }

  void ApplyRecord();
  void FireTimer(const RevenueTimer& timer);
  void Sync();
  void Reschedule();

 private:
  // Timers and counters.
  void SetTimer(const std::string& id, int64_t due) {
    fx_.timers[id] = due == 0 || due == kNever ? std::nullopt : std::optional<int64_t>(due);
  }
  void Count(const std::string& key, int64_t delta = 1) { fx_.counters[key] += delta; }
  std::string Id(RevenueTimerKind kind, absl::string_view sla = "") const {
    return RevenueTimerId(kind, lead_.lead_key(), sla);
  }
  int64_t Now() const { return ctx_.now_ms; }
  std::string RecycledStage() const {
    const std::string& s = rules_.recycle_policy().recycled_stage();
    return s.empty() ? "recycled" : s;
  }
  std::string DisqualifiedStage() const {
    const std::string& s = rules_.recycle_policy().disqualified_stage();
    return s.empty() ? "disqualified" : s;
  }
  v1::RevenueAction* AddAction(absl::string_view type, absl::string_view rule_id, int64_t due_ms);

  // Working-time helpers (elapsed time without a calendar).
  int64_t AddWorking(int64_t start, int64_t working) const {
    return calendar_ != nullptr ? calendar_->AddWorkingMs(start, working) : start + working;
  }
  int64_t WorkingBetween(int64_t from, int64_t to) const {
    if (calendar_ != nullptr) return calendar_->WorkingMsBetween(from, to);
    return std::max<int64_t>(0, to - from);
  }

  // Recycling.
  bool RequestStage(const std::string& stage, const std::string& reason, const std::string& rule);
  // Recycles (or disqualifies at the limit); true when the lead is recycled.
  bool Recycle(const std::string& reason, const std::string& rule, const std::string& from_stage);
  void Disqualify(const std::string& reason, const std::string& rule, const std::string& from_stage);
  void ApplyScorePolicy(const v1::ScorePolicy& policy);
  void Notify(absl::string_view type, const std::string& rule, const std::string& tmpl,
              const std::string& reason, int64_t due_ms);
  void HandleRejection(const v1::SalesFact& fact);
  const v1::RejectionReasonRule* RejectionRuleFor(const std::string& reason) const;
  // The stall rule due first for the current stage (nullptr: none) and its due time.
  const v1::RecycleRule* StallRule(int64_t* due) const;

  // SLAs.
  void StopClocks(v1::SalesFactKind kind);
  void StartClocks();
  void CloseClock(v1::SlaClock* clock, v1::SlaClock::Status status, int64_t at_ms);
  void ScheduleClock(const v1::SlaClock& clock);
  void FireSla(const RevenueTimer& timer);
  void Breach(const v1::SlaDefinition& sla, v1::SlaClock* clock);
  const v1::SlaDefinition* FindSla(absl::string_view id) const;
  void TrimClocks();

  // Timer handlers.
  void FireStall(const RevenueTimer& timer);
  void FireStale(const RevenueTimer& timer);
  void FireRecontact(const RevenueTimer& timer);
  bool StaleApplies() const;
  void ResetStale();

  const v1::RevenueOpsRules& rules_;
  const BusinessCalendarClock* calendar_;
  const RevenueContext& ctx_;
  const v1::LifecycleModel& model_;
  const v1::LeadState& lead_;
  v1::RevenueLeadState& state_;
  RevenueEffects& fx_;
};

v1::RevenueAction* RevenueEngine::Call::AddAction(absl::string_view type, absl::string_view rule_id,
                                                  int64_t due_ms) {
  v1::RevenueAction* a = &fx_.actions.emplace_back();
  a->set_type(std::string(type));
  a->set_rule_id(std::string(rule_id));
  a->set_owner_id(lead_.owner_id());
  a->set_stage(state_.stage());
  a->set_due_ms(due_ms);
  return a;
}

void RevenueEngine::Call::Notify(absl::string_view type, const std::string& rule,
                                 const std::string& tmpl, const std::string& reason, int64_t due_ms) {
  v1::RevenueAction* a = AddAction(type, rule, due_ms);
  a->set_template_id(tmpl);
  a->set_reason(reason);
}

// ----------------------------------------------------------------- record

void RevenueEngine::Call::ApplyRecord() {
  const v1::LogRecord& record = *ctx_.record;
  const uint32_t classes = Classify(record);
  if (classes & (1u << v1::ACTIVITY_CLASS_SALES_CONTACT)) {
    state_.set_last_sales_contact_ms(Now());
    state_.set_contact_attempts(state_.contact_attempts() + 1);
  }
  if (classes & (1u << v1::ACTIVITY_CLASS_ENGAGEMENT)) state_.set_last_engagement_ms(Now());
  if (classes & (1u << v1::ACTIVITY_CLASS_CRM_UPDATE)) {
    state_.set_last_crm_update_ms(Now());
    ResetStale();
  }
  const v1::SalesFact& fact = record.event().sales();
  // Stop facts first: "Lead Accepted" meets the MQL clock although the same
  // record moves the lead out of MQL (which would otherwise cancel it).
  if (fact.kind() != v1::SALES_FACT_KIND_UNSPECIFIED) StopClocks(fact.kind());
  if (fact.kind() == v1::SALES_FACT_KIND_LEAD_REJECTED) HandleRejection(fact);
  Sync();
  Reschedule();
}

// ----------------------------------------------------------------- sync

void RevenueEngine::Call::Sync() {
  if (lead_.owner_id() != state_.owner_id()) {
    state_.set_owner_id(lead_.owner_id());
    state_.set_owner_since_ms(Now());
    ResetStale();
  }
  const std::string& stage = lead_.lifecycle().current_stage();
  const int64_t entered = lead_.lifecycle().entered_at_ms();
  if (stage == state_.stage() && entered == state_.stage_entered_ms()) return;
  for (v1::SlaClock& c : *state_.mutable_sla_clocks()) {
    if (c.status() == v1::SlaClock::OPEN) CloseClock(&c, v1::SlaClock::CANCELLED, Now());
  }
  const v1::StageKind old_kind = KindOf(model_, state_.stage());
  const v1::StageKind new_kind = KindOf(model_, stage);
  if (old_kind == v1::STAGE_KIND_RECYCLED && new_kind == v1::STAGE_KIND_FUNNEL) {
    state_.mutable_recycle()->set_re_entries(state_.recycle().re_entries() + 1);
    state_.set_contact_attempts(0);
    Count(absl::StrCat("re_entries:", stage));
  }
  state_.set_stage(stage);
  state_.set_stage_entered_ms(entered);
  StartClocks();
  TrimClocks();
}

void RevenueEngine::Call::Reschedule() {
  int64_t due = 0;
  const v1::RecycleRule* rule = fx_.stage_change.has_value() ? nullptr : StallRule(&due);
  v1::RecycleState* r = state_.mutable_recycle();
  const std::string rule_id = rule != nullptr ? rule->id() : "";
  if (rule == nullptr) due = 0;
  if (due != r->stall_due_ms() || rule_id != r->stall_rule_id()) {
    r->set_stall_due_ms(due);
    r->set_stall_rule_id(rule_id);
    SetTimer(Id(RevenueTimerKind::kStall), due);
  }
  v1::StaleState* s = state_.mutable_stale();
  if (!StaleApplies()) {
    if (s->next_due_ms() != 0) SetTimer(Id(RevenueTimerKind::kStale), 0);
    s->set_next_due_ms(0);
    return;
  }
  if (s->next_due_ms() == 0) {
    const int64_t base = std::max(state_.last_crm_update_ms(), state_.owner_since_ms());
    s->set_next_due_ms(base + rules_.stale_record().no_update_ms());
    SetTimer(Id(RevenueTimerKind::kStale), s->next_due_ms());
  }
}

// ----------------------------------------------------------------- recycling

const v1::RecycleRule* RevenueEngine::Call::StallRule(int64_t* due) const {
  const v1::RecycleRule* best = nullptr;
  int64_t best_due = 0;
  const int64_t entered = state_.stage_entered_ms();
  for (const v1::RecycleRule& rule : rules_.recycle_rules()) {
    if (!Contains(rule.stages(), state_.stage())) continue;
    int64_t rule_due = kNever;
    if (rule.no_activity_ms() > 0) {
      int64_t base = entered;
      auto watches = [&rule](v1::ActivityClass c) {
        return rule.activity_classes().empty() || ContainsEnum(rule.activity_classes(), c);
      };
      if (watches(v1::ACTIVITY_CLASS_SALES_CONTACT)) base = std::max(base, state_.last_sales_contact_ms());
      if (watches(v1::ACTIVITY_CLASS_ENGAGEMENT)) base = std::max(base, state_.last_engagement_ms());
      if (watches(v1::ACTIVITY_CLASS_CRM_UPDATE)) base = std::max(base, state_.last_crm_update_ms());
      rule_due = base + rule.no_activity_ms();
    }
    if (rule.stage_age_max_ms() > 0) rule_due = std::min(rule_due, entered + rule.stage_age_max_ms());
    const int64_t fired = state_.recycle().stall_fired_due_ms();
    if (fired != 0 && entered <= fired && rule_due <= fired) continue;  // already fired
    if (best == nullptr || rule_due < best_due) {
      best = &rule;
      best_due = rule_due;
    }
  }
  if (best == nullptr) return nullptr;
  const v1::RecycleState& r = state_.recycle();
  if (r.recycles() > 0 && rules_.recycle_policy().cooldown_ms() > 0) {
    best_due = std::max(best_due, r.last_recycled_ms() + rules_.recycle_policy().cooldown_ms());
  }
  *due = best_due;
  return best;
}

bool RevenueEngine::Call::RequestStage(const std::string& stage, const std::string& reason,
                                       const std::string& rule) {
  const std::string& current = lead_.lifecycle().current_stage();
  if (current == stage) return true;
  if (!Allowed(model_, current, stage)) return false;
  fx_.stage_change = RevenueStageChange{stage, reason, rule};
  return true;
}

bool RevenueEngine::Call::Recycle(const std::string& reason, const std::string& rule,
                                  const std::string& from_stage) {
  const v1::RecyclePolicy& policy = rules_.recycle_policy();
  v1::RecycleState* r = state_.mutable_recycle();
  if (policy.recycles_max() > 0 && r->recycles() + 1 > policy.recycles_max()) {
    Disqualify(policy.limit_reason().empty() ? "recycle_limit" : policy.limit_reason(), rule,
               from_stage);
    return false;
  }
  if (!RequestStage(RecycledStage(), reason, rule)) {
    Count(absl::StrCat("recycle_blocked:", rule));
    return false;
  }
  r->set_recycles(r->recycles() + 1);
  r->set_last_recycled_ms(Now());
  r->set_last_reason(reason);
  Count(absl::StrCat("recycles:", reason, ":", from_stage));
  return true;
}

void RevenueEngine::Call::Disqualify(const std::string& reason, const std::string& rule,
                                     const std::string& from_stage) {
  if (!RequestStage(DisqualifiedStage(), reason, rule)) {
    Count(absl::StrCat("recycle_blocked:", rule));
    return;
  }
  Count(absl::StrCat("disqualified:", reason, ":", from_stage));
}

void RevenueEngine::Call::ApplyScorePolicy(const v1::ScorePolicy& policy) {
  const int64_t score = lead_.score().score_milli() + lead_.score_adjustment_milli();
  int64_t target = score;
  switch (policy.kind()) {
    case v1::ScorePolicy::MULTIPLY:
      target = score * static_cast<int64_t>(policy.multiply_permille()) / 1000;
      break;
    case v1::ScorePolicy::SET:
      target = policy.set_points() * 1000;
      break;
    default:
      return;
  }
  fx_.score_change = RevenueScoreChange{policy, target - score};
}

const v1::RejectionReasonRule* RevenueEngine::Call::RejectionRuleFor(const std::string& reason) const {
  for (const v1::RejectionReasonRule& rule : rules_.rejection().rules()) {
    if (!Contains(rule.reasons(), reason)) continue;
    if (state_.contact_attempts() >= rule.attempts_min()) return &rule;
    return nullptr;
  }
  return nullptr;
}

void RevenueEngine::Call::HandleRejection(const v1::SalesFact& fact) {
  const std::string from = state_.stage();  // before this record's move
  // A rejection of a lead marketing already has back (recycled) or gave up
  // on (disqualified) is a late or repeated CRM fact: it decides nothing,
  // and counting it would inflate recycles and the recycle limit.
  if (from == RecycledStage() || from == DisqualifiedStage()) {
    Count(absl::StrCat("rejections_ignored:", from));
    return;
  }
  const v1::RejectionReasonRule* rule = RejectionRuleFor(fact.reason());
  const v1::RejectionReasonRule::Outcome outcome =
      rule != nullptr ? rule->outcome() : rules_.rejection().default_outcome();
  const std::string rule_id = rule != nullptr ? rule->id() : "rejection_default";
  const std::string reason = fact.reason().empty() ? "rejected" : fact.reason();
  if (outcome == v1::RejectionReasonRule::DISQUALIFY) {
    Disqualify(reason, rule_id, from);
    return;
  }
  if (outcome != v1::RejectionReasonRule::RECYCLE || !Recycle(reason, rule_id, from)) return;
  if (rule == nullptr) return;
  ApplyScorePolicy(rule->score_policy());
  fx_.enroll_flow_id = rule->nurture_flow_id();
  if (!rule->notify_template_id().empty()) {
    Notify("owner_notification", rule_id, rule->notify_template_id(), reason, Now());
  }
  int64_t recontact = 0;
  if (auto at = RecontactFromFact(ctx_.record->event(), rule->recontact_property())) {
    recontact = std::max(*at, Now());
  } else if (rule->recontact_after_ms() > 0) {
    recontact = Now() + rule->recontact_after_ms();
  }
  if (recontact != 0) {
    state_.mutable_recycle()->set_recontact_due_ms(recontact);
    state_.mutable_recycle()->set_recontact_rule_id(rule_id);
    SetTimer(Id(RevenueTimerKind::kRecontact), recontact);
  }
}

void RevenueEngine::Call::FireStall(const RevenueTimer& timer) {
  v1::RecycleState* r = state_.mutable_recycle();
  if (r->stall_due_ms() == 0 || r->stall_due_ms() != timer.due_ms) return;
  const std::string rule_id = r->stall_rule_id();
  r->set_stall_due_ms(0);
  r->set_stall_rule_id("");
  r->set_stall_fired_due_ms(timer.due_ms);
  const v1::RecycleRule* rule = nullptr;
  for (const v1::RecycleRule& candidate : rules_.recycle_rules()) {
    if (candidate.id() == rule_id) rule = &candidate;
  }
  if (rule == nullptr || !Contains(rule->stages(), state_.stage())) return;
  if (!Recycle(rule->reason_code(), rule->id(), state_.stage())) return;
  ApplyScorePolicy(rule->score_policy());
  fx_.enroll_flow_id = rule->nurture_flow_id();
  if (!rule->notify_template_id().empty()) {
    Notify("recycle_notice", rule->id(), rule->notify_template_id(), rule->reason_code(), timer.due_ms);
  }
}

void RevenueEngine::Call::FireRecontact(const RevenueTimer& timer) {
  v1::RecycleState* r = state_.mutable_recycle();
  if (r->recontact_due_ms() == 0 || r->recontact_due_ms() != timer.due_ms) return;
  const std::string rule_id = r->recontact_rule_id();
  r->set_recontact_due_ms(0);
  r->set_recontact_rule_id("");
  const v1::RejectionReasonRule* rule = nullptr;
  for (const v1::RejectionReasonRule& candidate : rules_.rejection().rules()) {
    if (candidate.id() == rule_id) rule = &candidate;
  }
  Notify("owner_notification", rule_id, rule != nullptr ? rule->notify_template_id() : "",
         "recontact_due", timer.due_ms);
  Count(absl::StrCat("recontacts:", rule_id));
  if (rule != nullptr && !rule->recontact_stage().empty()) {
    RequestStage(rule->recontact_stage(), "recontact_due", rule_id);
  }
}

// ----------------------------------------------------------------- SLAs

const v1::SlaDefinition* RevenueEngine::Call::FindSla(absl::string_view id) const {
  for (const v1::SlaDefinition& sla : rules_.slas()) {
    if (sla.id() == id) return &sla;
  }
  return nullptr;
}

void RevenueEngine::Call::StartClocks() {
  for (const v1::SlaDefinition& sla : rules_.slas()) {
    if (sla.stage() != state_.stage()) continue;
    v1::SlaClock* c = state_.add_sla_clocks();
    c->set_sla_id(sla.id());
    c->set_stage(sla.stage());
    c->set_started_ms(state_.stage_entered_ms());
    c->set_breach_due_ms(AddWorking(c->started_ms(), sla.target_working_ms()));
    if (sla.warn_before_working_ms() > 0) {
      c->set_warn_due_ms(AddWorking(c->started_ms(), sla.target_working_ms() - sla.warn_before_working_ms()));
    }
    c->set_status(v1::SlaClock::OPEN);
    c->set_owner_id(state_.owner_id());
    Count(absl::StrCat("sla_open:", sla.id(), ":", OwnerLabel(c->owner_id()), ":", c->stage()));
    ScheduleClock(*c);
  }
}

void RevenueEngine::Call::ScheduleClock(const v1::SlaClock& c) {
  const std::string id = Id(RevenueTimerKind::kSla, c.sla_id());
  if (c.status() != v1::SlaClock::OPEN) {
    SetTimer(id, 0);
    return;
  }
  const bool warn_pending = c.warn_due_ms() != 0 && !c.warned() && c.warn_due_ms() != kNever;
  SetTimer(id, warn_pending ? c.warn_due_ms() : c.breach_due_ms());
}

void RevenueEngine::Call::CloseClock(v1::SlaClock* c, v1::SlaClock::Status status, int64_t at_ms) {
  Count(absl::StrCat("sla_open:", c->sla_id(), ":", OwnerLabel(c->owner_id()), ":", c->stage()), -1);
  c->set_status(status);
  c->set_stopped_ms(at_ms);
  const char* what = status == v1::SlaClock::MET        ? "sla_met"
                     : status == v1::SlaClock::BREACHED ? "sla_breached"
                                                        : "sla_cancelled";
  Count(absl::StrCat(what, ":", c->sla_id(), ":", OwnerLabel(state_.owner_id()), ":", c->stage()));
  ScheduleClock(*c);
}

void RevenueEngine::Call::StopClocks(v1::SalesFactKind kind) {
  for (v1::SlaClock& c : *state_.mutable_sla_clocks()) {
    if (c.status() != v1::SlaClock::OPEN) continue;
    const v1::SlaDefinition* sla = FindSla(c.sla_id());
    if (sla == nullptr || !ContainsEnum(sla->stop_on(), kind)) continue;
    c.set_elapsed_working_ms(WorkingBetween(c.started_ms(), Now()));
    CloseClock(&c, v1::SlaClock::MET, Now());
    const std::string metric = sla->sample_metric().empty() ? sla->id() : sla->sample_metric();
    fx_.samples.push_back(RevenueSample{metric, lead_.owner_id(), c.stage(), c.elapsed_working_ms()});
  }
}

void RevenueEngine::Call::FireSla(const RevenueTimer& timer) {
  for (v1::SlaClock& c : *state_.mutable_sla_clocks()) {
    if (c.status() != v1::SlaClock::OPEN || c.sla_id() != timer.sla_id) continue;
    const v1::SlaDefinition* sla = FindSla(c.sla_id());
    const bool warn_pending = c.warn_due_ms() != 0 && !c.warned();
    if (warn_pending && timer.due_ms == c.warn_due_ms()) {
      c.set_warned(true);
      v1::RevenueAction* a = AddAction("sla_warning", c.sla_id(), timer.due_ms);
      a->set_warn_due_ms(c.warn_due_ms());
      a->set_breach_due_ms(c.breach_due_ms());
      Count(absl::StrCat("sla_warned:", c.sla_id(), ":", OwnerLabel(state_.owner_id()), ":", c.stage()));
      ScheduleClock(c);
    } else if (timer.due_ms == c.breach_due_ms()) {
      CloseClock(&c, v1::SlaClock::BREACHED, c.breach_due_ms());
      if (sla != nullptr) Breach(*sla, &c);
    }
    return;
  }
}

void RevenueEngine::Call::Breach(const v1::SlaDefinition& sla, v1::SlaClock* clock) {
  for (int action : sla.on_breach()) {
    switch (action) {
      case v1::ESCALATE: {
        v1::RevenueAction* a = AddAction("sla_breach_escalation", sla.id(), clock->breach_due_ms());
        a->set_recipient(sla.escalate_to());
        a->set_warn_due_ms(clock->warn_due_ms());
        a->set_breach_due_ms(clock->breach_due_ms());
        break;
      }
      case v1::REASSIGN:
        fx_.reassign = RevenueReassignment{sla.reassign_queue(), lead_.owner_id(), sla.id()};
        break;
      case v1::RETURN_TO_MARKETING: {
        const std::string stage = sla.return_stage().empty() ? RecycledStage() : sla.return_stage();
        const std::string reason = sla.return_reason().empty() ? "sla_breached" : sla.return_reason();
        if (stage == RecycledStage()) {
          Recycle(reason, sla.id(), clock->stage());
        } else if (!RequestStage(stage, reason, sla.id())) {
          Count(absl::StrCat("recycle_blocked:", sla.id()));
        }
        break;
      }
      default:
        break;
    }
  }
}

void RevenueEngine::Call::TrimClocks() {
  auto* clocks = state_.mutable_sla_clocks();
  // Open clocks first (in start order), then closed ones, oldest first.
  std::stable_partition(clocks->begin(), clocks->end(),
                        [](const v1::SlaClock& c) { return c.status() == v1::SlaClock::OPEN; });
  int open = 0;
  while (open < clocks->size() && clocks->Get(open).status() == v1::SlaClock::OPEN) ++open;
  const int excess = clocks->size() - kRevenueSlaClocksKeptMax;
  if (excess > 0) clocks->DeleteSubrange(open, std::min(excess, clocks->size() - open));
}

// ----------------------------------------------------------------- stale

bool RevenueEngine::Call::StaleApplies() const {
  const v1::StaleRecordRule& rule = rules_.stale_record();
  if (rule.id().empty() || state_.owner_id().empty()) return false;
  return rule.stages().empty() || Contains(rule.stages(), state_.stage());
}

void RevenueEngine::Call::ResetStale() {
  v1::StaleState* s = state_.mutable_stale();
  s->set_reminders_since_update(0);
  if (s->next_due_ms() != 0) SetTimer(Id(RevenueTimerKind::kStale), 0);
  s->set_next_due_ms(0);  // Reschedule() sets the next one from the new base
}

void RevenueEngine::Call::FireStale(const RevenueTimer& timer) {
  v1::StaleState* s = state_.mutable_stale();
  if (s->next_due_ms() == 0 || s->next_due_ms() != timer.due_ms) return;
  if (!StaleApplies()) return;  // Reschedule() cancels it
  const v1::StaleRecordRule& rule = rules_.stale_record();
  Notify("stale_record_reminder", rule.id(), rule.template_id(), "no_crm_update", timer.due_ms);
  s->set_reminders_since_update(s->reminders_since_update() + 1);
  s->set_reminders(s->reminders() + 1);
  Count(absl::StrCat("stale_reminders:", OwnerLabel(state_.owner_id())));
  const int64_t repeat = rule.repeat_ms() > 0 ? rule.repeat_ms() : rule.no_update_ms();
  int64_t next = timer.due_ms + repeat;
  if (next <= Now()) {
    const int64_t skipped = (Now() - next) / repeat + 1;
    next += skipped * repeat;
    Count("stale_reminders_coalesced", skipped);
  }
  s->set_next_due_ms(next);
  SetTimer(Id(RevenueTimerKind::kStale), next);
}

void RevenueEngine::Call::FireTimer(const RevenueTimer& timer) {
  Sync();
  switch (timer.kind) {
    case RevenueTimerKind::kStall:
      FireStall(timer);
      break;
    case RevenueTimerKind::kSla:
      FireSla(timer);
      break;
    case RevenueTimerKind::kStale:
      FireStale(timer);
      break;
    case RevenueTimerKind::kRecontact:
      FireRecontact(timer);
      break;
  }
  TrimClocks();
  Reschedule();
}

// ----------------------------------------------------------------- engine

RevenueEngine::RevenueEngine(v1::RevenueOpsRules rules,
                             std::shared_ptr<const BusinessCalendarClock> calendar)
    : rules_(std::move(rules)), calendar_(std::move(calendar)) {}

RevenueEngine::~RevenueEngine() = default;

absl::StatusOr<std::unique_ptr<RevenueEngine>> RevenueEngine::Create(
    const v1::RevenueOpsRules& rules, std::shared_ptr<const BusinessCalendarClock> calendar) {
  RETURN_IF_ERROR(ValidateRevenueOpsRules(rules));
  if (rules.calendar_id().empty()) {
    calendar = nullptr;
  } else if (calendar == nullptr || calendar->id() != rules.calendar_id()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calendar_id: calendar \"", rules.calendar_id(), "\" not available (got ",
        calendar == nullptr ? "none" : absl::StrCat("\"", calendar->id(), "\""), ")"));
  }
  return std::unique_ptr<RevenueEngine>(new RevenueEngine(rules, std::move(calendar)));
}

const v1::RevenueOpsRules& RevenueEngine::rules() const { return rules_; }

namespace {
absl::Status CheckArgs(const RevenueContext& ctx, const v1::RevenueLeadState* state,
                       const RevenueEffects* effects) {
  LEADLOG_CHECK(ctx.record != nullptr && ctx.lifecycle != nullptr && state != nullptr &&
                effects != nullptr)
      << "RevenueEngine: null argument";
  return absl::OkStatus();
}
}  // namespace

absl::Status RevenueEngine::OnRecord(const RevenueContext& ctx, const v1::LeadState& lead,
                                     v1::RevenueLeadState* state, RevenueEffects* effects) const {
  RETURN_IF_ERROR(CheckArgs(ctx, state, effects));
  Call(*this, ctx, lead, state, effects).ApplyRecord();
  return absl::OkStatus();
}

absl::Status RevenueEngine::OnTimer(const RevenueContext& ctx, const RevenueTimer& timer,
                                    const v1::LeadState& lead, v1::RevenueLeadState* state,
                                    RevenueEffects* effects) const {
  RETURN_IF_ERROR(CheckArgs(ctx, state, effects));
  if (timer.due_ms > ctx.now_ms) {
    return absl::InvalidArgumentError(absl::StrCat("revenue timer ", RevenueTimerId(timer.kind, timer.lead_key, timer.sla_id),
                                                   ": due ", timer.due_ms, " after now ", ctx.now_ms));
  }
  Call(*this, ctx, lead, state, effects).FireTimer(timer);
  return absl::OkStatus();
}

absl::Status RevenueEngine::OnLeadChanged(const RevenueContext& ctx, const v1::LeadState& lead,
                                          v1::RevenueLeadState* state,
                                          RevenueEffects* effects) const {
  RETURN_IF_ERROR(CheckArgs(ctx, state, effects));
  Call call(*this, ctx, lead, state, effects);
  call.Sync();
  call.Reschedule();
  return absl::OkStatus();
}

}  // namespace leadlog
