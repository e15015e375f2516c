// RevenueEngine: stall rules (no activity, stage age), cool-down and the
// recycle limit, the rejection reason table, SLA clocks on a business
// calendar (warning, met, each breach action), stale-record reminders,
// overdue timers after downtime, determinism and validation. A small
// harness plays the lead projection's part: a timer index fired in due
// order before each record, stage/owner/score changes applied.
#include "projections/revenue/revenue_engine.h"

#include <google/protobuf/text_format.h>

#include <functional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/lifecycle/lifecycle_model.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone()));
}
// Monday 2026-01-05 10:00 UTC.
const int64_t kT0 = Utc(2026, 1, 5, 10);

template <typename M>
M ParseText(const std::string& text) {
  M m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

std::shared_ptr<const BusinessCalendarClock> Office() {
  // Monday to Friday 09:00-17:00 UTC; Friday 2026-01-09 is a holiday.
  auto clock = BusinessCalendarClock::Create(ParseText<v1::BusinessCalendar>(R"pb(
    id: "office" version: 1 time_zone: "UTC"
    windows { days: ["monday", "tuesday", "wednesday", "thursday", "friday"]
              start: "09:00" end: "17:00" }
    holidays: "2026-01-09"
  )pb"));
  EXPECT_OK(clock.status());
  return std::shared_ptr<const BusinessCalendarClock>(*std::move(clock));
}

// Everything the harness observed, in order, for determinism checks.
struct Fired {
  std::string what;
  int64_t due_ms;
};

// One lead; the caller's part of the contract (README.md "Wiring").
class Harness {
 public:
  explicit Harness(const std::string& rules_text, bool calendar = true) {
    v1::RevenueOpsRules rules = ParseText<v1::RevenueOpsRules>(rules_text);
    auto engine = RevenueEngine::Create(rules, calendar ? Office() : nullptr);
    EXPECT_OK(engine.status());
    engine_ = *std::move(engine);
    model_ = DefaultLifecycleModel();
    lead_.set_lead_key("u:1");
  }

  // Fires due timers at `now` (as the first tick / record would), then
  // applies a record built by `make` after `change` modified the lead.
  void Record(int64_t now, v1::SalesFactKind kind = v1::SALES_FACT_KIND_UNSPECIFIED,
              const std::function<void(v1::LeadState*)>& change = nullptr,
              const std::string& reason = "", v1::CallType type = v1::CALL_TYPE_TRACK) {
    Tick(now);
    v1::LogRecord record = MakeRecord(now);
    record.mutable_event()->set_type(type);
    record.mutable_event()->set_name(kind == v1::SALES_FACT_KIND_UNSPECIFIED ? "Page Viewed" : "sales");
    record.mutable_event()->mutable_sales()->set_kind(kind);
    record.mutable_event()->mutable_sales()->set_reason(reason);
    if (!recontact_property_.empty()) {
      (*record.mutable_event()->mutable_properties()->mutable_fields())["recontact_on"]
          .set_string_value(recontact_property_);
    }
    if (change) change(&lead_);
    RevenueEffects fx;
    ASSERT_OK(engine_->OnRecord(Ctx(record), lead_, &state_, &fx));
    Apply(record, fx);
  }

  // A ClockTick at `now`: every due timer fires, in (due, id) order.
  void Tick(int64_t now) {
    v1::LogRecord tick = MakeRecord(now);
    tick.mutable_clock_tick();
    while (!due_.empty() && due_.begin()->first <= now) {
      ASSERT_LT(fired_.size(), 10'000u) << "timers keep falling due: a reschedule loop";
      auto [due, id] = *due_.begin();
      due_.erase(due_.begin());
      by_id_.erase(id);
      auto timer = ParseRevenueTimerId(id);
      ASSERT_OK(timer.status());
      timer->due_ms = due;
      fired_.push_back(Fired{id, due});
      RevenueEffects fx;
      ASSERT_OK(engine_->OnTimer(Ctx(tick), *timer, lead_, &state_, &fx));
      Apply(tick, fx);
    }
  }

  void SetStage(const std::string& stage, int64_t at) {
    lead_.mutable_lifecycle()->set_current_stage(stage);
    lead_.mutable_lifecycle()->set_entered_at_ms(at);
  }

  std::optional<int64_t> TimerDue(const std::string& id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    return it->second;
  }

  const v1::SlaClock* Clock(const std::string& sla_id) const {
    const v1::SlaClock* last = nullptr;
    for (const v1::SlaClock& c : state_.sla_clocks()) {
      if (c.sla_id() == sla_id) last = &c;
    }
    return last;
  }

  std::vector<std::string> ActionTypes() const {
    std::vector<std::string> types;
    for (const v1::RevenueAction& a : actions_) types.push_back(a.type());
    return types;
  }

  std::string SerializedState() const {
    std::string out;
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    state_.SerializeToCodedStream(&coded);
    return out;
  }

  v1::LeadState lead_;
  v1::RevenueLeadState state_;
  std::vector<v1::RevenueAction> actions_;
  std::vector<RevenueStageChange> stage_changes_;
  std::vector<RevenueScoreChange> score_changes_;
  std::vector<std::string> flows_;
  std::vector<RevenueReassignment> reassignments_;
  std::map<std::string, int64_t> counters_;
  std::vector<RevenueSample> samples_;
  std::vector<Fired> fired_;
  std::string recontact_property_;

 private:
  RevenueContext Ctx(const v1::LogRecord& record) {
    return RevenueContext{&record, record.log_time_ms(), &model_};
  }
  v1::LogRecord MakeRecord(int64_t now) {
    v1::LogRecord r;
    r.set_sequence(++sequence_);
    r.set_log_time_ms(now);
    return r;
  }

  void Apply(const v1::LogRecord& record, const RevenueEffects& fx) {
    for (const auto& [id, due] : fx.timers) {
      auto it = by_id_.find(id);
      if (it != by_id_.end()) {
        due_.erase({it->second, id});
        by_id_.erase(it);
      }
      if (due.has_value()) {
        due_.insert({*due, id});
        by_id_[id] = *due;
      }
    }
    actions_.insert(actions_.end(), fx.actions.begin(), fx.actions.end());
    for (const auto& [k, v] : fx.counters) counters_[k] += v;
    samples_.insert(samples_.end(), fx.samples.begin(), fx.samples.end());
    if (!fx.enroll_flow_id.empty()) flows_.push_back(fx.enroll_flow_id);
    if (fx.score_change) {
      score_changes_.push_back(*fx.score_change);
      lead_.set_score_adjustment_milli(lead_.score_adjustment_milli() + fx.score_change->delta_milli);
    }
    bool changed = false;
    if (fx.stage_change) {
      stage_changes_.push_back(*fx.stage_change);
      SetStage(fx.stage_change->stage, record.log_time_ms());
      changed = true;
    }
    if (fx.reassign) {
      reassignments_.push_back(*fx.reassign);
      lead_.set_owner_id("next_rep");
      changed = true;
    }
    if (changed) {
      RevenueEffects more;
      ASSERT_OK(engine_->OnLeadChanged(Ctx(record), lead_, &state_, &more));
      Apply(record, more);
    }
  }

  std::unique_ptr<RevenueEngine> engine_;
  v1::LifecycleModel model_;
  std::set<std::pair<int64_t, std::string>> due_;
  std::map<std::string, int64_t> by_id_;
  uint64_t sequence_ = 0;
};

// MQL accepted within 8 business hours (warning 2 h before), escalating.
constexpr char kMqlSla[] = R"pb(
  id: "revops" version: 1 calendar_id: "office"
  slas { id: "mql_accept" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
         target_working_ms: 28800000 warn_before_working_ms: 7200000
         on_breach: ESCALATE escalate_to: "sales_manager" sample_metric: "time_to_accept" }
  slas { id: "sal_contact" stage: "sal" stop_on: SALES_FACT_KIND_LEAD_CONTACTED
         target_working_ms: 14400000 on_breach: ESCALATE sample_metric: "time_to_first_contact" }
)pb";

TEST(RevenueTimerIds, RoundTrip) {
  EXPECT_EQ(RevenueTimerId(RevenueTimerKind::kSla, "u:a/b", "mql_accept"), "rev/sla/mql_accept/u:a/b");
  auto t = ParseRevenueTimerId("rev/sla/mql_accept/u:a/b");
  ASSERT_OK(t.status());
  EXPECT_EQ(t->kind, RevenueTimerKind::kSla);
  EXPECT_EQ(t->sla_id, "mql_accept");
  EXPECT_EQ(t->lead_key, "u:a/b");
  EXPECT_EQ(ParseRevenueTimerId("rev/stall/u:1")->kind, RevenueTimerKind::kStall);
  EXPECT_EQ(ParseRevenueTimerId("rev/stale/u:1")->kind, RevenueTimerKind::kStale);
  EXPECT_EQ(ParseRevenueTimerId("rev/recontact/u:1")->kind, RevenueTimerKind::kRecontact);
  EXPECT_THAT(ParseRevenueTimerId("flow/x/u:1"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown kind")));
  EXPECT_THAT(ParseRevenueTimerId("rev/sla//u:1"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no sla id")));
  EXPECT_THAT(ParseRevenueTimerId("rev/stall/"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no lead key")));
}

TEST(RevenueSla, DeadlineSkipsHolidayAndWeekendAndWarnsBeforeBreach) {
  Harness h(kMqlSla);
  // Thursday 15:00: 2 h left that day, Friday is a holiday, then the weekend:
  // 6 more hours on Monday -> breach Monday 15:00, warning (6 h) Monday 13:00.
  const int64_t mql_at = Utc(2026, 1, 8, 15);
  h.lead_.set_owner_id("rep_a");
  h.Record(mql_at, v1::SALES_FACT_KIND_UNSPECIFIED, [&](v1::LeadState* l) {
    l->mutable_lifecycle()->set_current_stage("mql");
    l->mutable_lifecycle()->set_entered_at_ms(mql_at);
  });
  const v1::SlaClock* c = h.Clock("mql_accept");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status(), v1::SlaClock::OPEN);
  EXPECT_EQ(c->started_ms(), mql_at);
  EXPECT_EQ(c->warn_due_ms(), Utc(2026, 1, 12, 13));
  EXPECT_EQ(c->breach_due_ms(), Utc(2026, 1, 12, 15));
  EXPECT_EQ(h.TimerDue("rev/sla/mql_accept/u:1"), Utc(2026, 1, 12, 13));
  EXPECT_EQ(h.counters_["sla_open:mql_accept:rep_a:mql"], 1);

  h.Tick(Utc(2026, 1, 12, 12, 59));
  EXPECT_TRUE(h.actions_.empty());
  h.Tick(Utc(2026, 1, 12, 13));
  ASSERT_THAT(h.ActionTypes(), ElementsAre("sla_warning"));
  EXPECT_EQ(h.actions_[0].breach_due_ms(), Utc(2026, 1, 12, 15));
  EXPECT_EQ(h.TimerDue("rev/sla/mql_accept/u:1"), Utc(2026, 1, 12, 15));
  h.Tick(Utc(2026, 1, 12, 15));
  ASSERT_THAT(h.ActionTypes(), ElementsAre("sla_warning", "sla_breach_escalation"));
  EXPECT_EQ(h.actions_[1].recipient(), "sales_manager");
  EXPECT_EQ(h.actions_[1].owner_id(), "rep_a");
  EXPECT_EQ(h.Clock("mql_accept")->status(), v1::SlaClock::BREACHED);
  EXPECT_EQ(h.counters_["sla_breached:mql_accept:rep_a:mql"], 1);
  EXPECT_EQ(h.counters_["sla_open:mql_accept:rep_a:mql"], 0);
  EXPECT_FALSE(h.TimerDue("rev/sla/mql_accept/u:1").has_value());
}

TEST(RevenueSla, QualifyingFactStopsTheClockAsMetAndStartsTheNextStage) {
  Harness h(kMqlSla);
  h.lead_.set_owner_id("rep_a");
  h.Record(kT0, v1::SALES_FACT_KIND_UNSPECIFIED, [](v1::LeadState* l) {
    l->mutable_lifecycle()->set_current_stage("mql");
    l->mutable_lifecycle()->set_entered_at_ms(kT0);
  });
  // Accepted at 15:30, before the 16:00 warning: 5.5 working hours.
  const int64_t accepted = kT0 + 5 * kHour + 30 * kMinute;
  h.Record(accepted, v1::SALES_FACT_KIND_LEAD_ACCEPTED, [&](v1::LeadState* l) {
    l->mutable_lifecycle()->set_current_stage("sal");
    l->mutable_lifecycle()->set_entered_at_ms(accepted);
  });
  EXPECT_EQ(h.Clock("mql_accept")->status(), v1::SlaClock::MET);
  EXPECT_EQ(h.Clock("mql_accept")->elapsed_working_ms(), 5 * kHour + 30 * kMinute);
  ASSERT_EQ(h.samples_.size(), 1u);
  EXPECT_EQ(h.samples_[0].metric, "time_to_accept");
  EXPECT_EQ(h.samples_[0].owner_id, "rep_a");
  EXPECT_EQ(h.samples_[0].value_ms, 5 * kHour + 30 * kMinute);
  EXPECT_EQ(h.counters_["sla_met:mql_accept:rep_a:mql"], 1);
  EXPECT_EQ(h.counters_["sla_cancelled:mql_accept:rep_a:mql"], 0);
  EXPECT_EQ(h.counters_["sla_open:mql_accept:rep_a:mql"], 0);
  EXPECT_FALSE(h.TimerDue("rev/sla/mql_accept/u:1").has_value());
  // The SAL clock (4 working hours) started at acceptance: 1.5 h on Monday,
  // 2.5 h on Tuesday -> Tuesday 11:30.
  EXPECT_EQ(h.Clock("sal_contact")->breach_due_ms(), Utc(2026, 1, 6, 11, 30));
  // First contact Tuesday 10:00 (the work of the evening and night does not count).
  h.Record(Utc(2026, 1, 6, 10), v1::SALES_FACT_KIND_LEAD_CONTACTED);
  EXPECT_EQ(h.Clock("sal_contact")->status(), v1::SlaClock::MET);
  EXPECT_EQ(h.samples_.back().metric, "time_to_first_contact");
  EXPECT_EQ(h.samples_.back().value_ms, 150 * kMinute);
  h.Tick(Utc(2026, 1, 7, 10));
  EXPECT_TRUE(h.actions_.empty());
}

TEST(RevenueSla, LeavingTheStageOtherwiseCancelsTheClock) {
  Harness h(kMqlSla);
  h.SetStage("mql", kT0);
  h.Record(kT0);
  h.Record(kT0 + kHour, v1::SALES_FACT_KIND_LEAD_DISQUALIFIED,
           [&](v1::LeadState*) { h.SetStage("disqualified", kT0 + kHour); }, "spam");
  EXPECT_EQ(h.Clock("mql_accept")->status(), v1::SlaClock::CANCELLED);
  EXPECT_EQ(h.counters_["sla_cancelled:mql_accept:unassigned:mql"], 1);
  EXPECT_EQ(h.counters_["sla_open:mql_accept:unassigned:mql"], 0);
  EXPECT_FALSE(h.TimerDue("rev/sla/mql_accept/u:1").has_value());
}

TEST(RevenueSla, BreachReassignsToTheNextOwnerOfTheQueue) {
  Harness h(R"pb(
    id: "revops" version: 1
    slas { id: "mql_accept" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
           target_working_ms: 3600000 on_breach: REASSIGN reassign_queue: "emea" }
  )pb", /*calendar=*/false);
  h.lead_.set_owner_id("rep_a");
  h.SetStage("mql", kT0);
  h.Record(kT0);
  EXPECT_EQ(h.Clock("mql_accept")->breach_due_ms(), kT0 + kHour);  // elapsed time
  h.Tick(kT0 + kHour);
  ASSERT_EQ(h.reassignments_.size(), 1u);
  EXPECT_EQ(h.reassignments_[0].queue, "emea");
  EXPECT_EQ(h.reassignments_[0].from_owner_id, "rep_a");
  EXPECT_EQ(h.state_.owner_id(), "next_rep");
  EXPECT_EQ(h.counters_["sla_breached:mql_accept:rep_a:mql"], 1);
  EXPECT_TRUE(h.actions_.empty());
}

TEST(RevenueSla, BreachReturnsToMarketingAsARecycle) {
  Harness h(R"pb(
    id: "revops" version: 1
    slas { id: "mql_accept" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
           target_working_ms: 3600000 on_breach: [ESCALATE, RETURN_TO_MARKETING] }
  )pb", false);
  h.SetStage("mql", kT0);
  h.Record(kT0);
  h.Tick(kT0 + kHour);
  EXPECT_THAT(h.ActionTypes(), ElementsAre("sla_breach_escalation"));
  ASSERT_EQ(h.stage_changes_.size(), 1u);
  EXPECT_EQ(h.stage_changes_[0].stage, "recycled");
  EXPECT_EQ(h.stage_changes_[0].reason, "sla_breached");
  EXPECT_EQ(h.stage_changes_[0].rule_id, "mql_accept");
  EXPECT_EQ(h.state_.stage(), "recycled");
  EXPECT_EQ(h.state_.recycle().recycles(), 1u);
  EXPECT_EQ(h.counters_["recycles:sla_breached:mql"], 1);
}

constexpr char kStallRules[] = R"pb(
  id: "revops" version: 1
  recycle_rules { id: "sal_stalled" stages: "sal" activity_classes: ACTIVITY_CLASS_SALES_CONTACT
                  no_activity_ms: 259200000 reason_code: "stalled_in_sal"
                  nurture_flow_id: "recycle_nurture" notify_template_id: "recycled_tpl"
                  score_policy { kind: MULTIPLY multiply_permille: 500 } }
  recycle_rules { id: "mql_too_old" stages: "mql" stage_age_max_ms: 86400000
                  reason_code: "mql_aged" score_policy { kind: SET set_points: 10 } }
  recycle_policy { cooldown_ms: 864000000 recycles_max: 2 }
)pb";

TEST(RevenueRecycle, NoQualifyingActivityRecyclesWithFlowScoreAndNotice) {
  Harness h(kStallRules);
  h.lead_.set_owner_id("rep_a");
  h.lead_.mutable_score()->set_score_milli(80'000);
  h.SetStage("sal", kT0);
  h.Record(kT0);
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + 3 * kDay);
  // Engagement is not a class of the rule: no reset. A contact is.
  h.Record(kT0 + kDay, v1::SALES_FACT_KIND_UNSPECIFIED, nullptr, "", v1::CALL_TYPE_PAGE);
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + 3 * kDay);
  h.Record(kT0 + 2 * kDay, v1::SALES_FACT_KIND_LEAD_CONTACTED);
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + 5 * kDay);
  h.Tick(kT0 + 5 * kDay - 1);
  EXPECT_TRUE(h.stage_changes_.empty());
  h.Tick(kT0 + 5 * kDay);
  ASSERT_EQ(h.stage_changes_.size(), 1u);
  EXPECT_EQ(h.stage_changes_[0].stage, "recycled");
  EXPECT_EQ(h.stage_changes_[0].reason, "stalled_in_sal");
  EXPECT_EQ(h.stage_changes_[0].rule_id, "sal_stalled");
  ASSERT_EQ(h.score_changes_.size(), 1u);
  EXPECT_EQ(h.score_changes_[0].delta_milli, -40'000);
  EXPECT_THAT(h.flows_, ElementsAre("recycle_nurture"));
  ASSERT_THAT(h.ActionTypes(), ElementsAre("recycle_notice"));
  EXPECT_EQ(h.actions_[0].template_id(), "recycled_tpl");
  EXPECT_EQ(h.actions_[0].owner_id(), "rep_a");
  EXPECT_EQ(h.state_.recycle().recycles(), 1u);
  EXPECT_EQ(h.state_.recycle().last_reason(), "stalled_in_sal");
  EXPECT_EQ(h.counters_["recycles:stalled_in_sal:sal"], 1);
  EXPECT_FALSE(h.TimerDue("rev/stall/u:1").has_value());  // no rule watches "recycled"
}

TEST(RevenueRecycle, CooldownDefersAndTheLimitDisqualifies) {
  Harness h(kStallRules);
  h.lead_.mutable_score()->set_score_milli(120'000);
  h.SetStage("sal", kT0);
  h.Record(kT0);
  h.Tick(kT0 + 3 * kDay);  // recycle 1 (from sal)
  ASSERT_EQ(h.state_.stage(), "recycled");
  // Back to MQL a day later: a re-entry; "mql_too_old" would fire after one
  // day, but the cool-down (10 days after the recycle) defers it.
  const int64_t back = kT0 + 4 * kDay;
  h.Record(back, v1::SALES_FACT_KIND_UNSPECIFIED, [&](v1::LeadState*) { h.SetStage("mql", back); });
  EXPECT_EQ(h.state_.recycle().re_entries(), 1u);
  EXPECT_EQ(h.counters_["re_entries:mql"], 1);
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + 3 * kDay + 10 * kDay);
  h.Tick(kT0 + 13 * kDay);  // recycle 2, score SET 10
  EXPECT_EQ(h.state_.recycle().recycles(), 2u);
  EXPECT_EQ(h.counters_["recycles:mql_aged:mql"], 1);
  EXPECT_EQ(h.lead_.score().score_milli() + h.lead_.score_adjustment_milli(), 10'000);
  // Third time: beyond recycles_max 2 -> disqualified.
  const int64_t again = kT0 + 14 * kDay;
  h.Record(again, v1::SALES_FACT_KIND_UNSPECIFIED, [&](v1::LeadState*) { h.SetStage("mql", again); });
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + 23 * kDay);
  h.Tick(kT0 + 23 * kDay);
  ASSERT_EQ(h.stage_changes_.size(), 3u);
  EXPECT_EQ(h.stage_changes_[2].stage, "disqualified");
  EXPECT_EQ(h.stage_changes_[2].reason, "recycle_limit");
  EXPECT_EQ(h.state_.recycle().recycles(), 2u);
  EXPECT_EQ(h.counters_["disqualified:recycle_limit:mql"], 1);
  EXPECT_EQ(h.state_.recycle().re_entries(), 2u);
}

TEST(RevenueRecycle, StageAgeRuleAndAMoveTheModelForbidsIsCountedNotRequested) {
  Harness h(R"pb(
    id: "revops" version: 1
    recycle_rules { id: "known_old" stages: "known" stage_age_max_ms: 86400000 reason_code: "aged" }
  )pb");
  h.SetStage("known", kT0);
  h.Record(kT0);
  h.Record(kT0 + kHour, v1::SALES_FACT_KIND_RECORD_UPDATED);  // activity does not reset stage age
  EXPECT_EQ(h.TimerDue("rev/stall/u:1"), kT0 + kDay);
  h.Tick(kT0 + kDay);
  EXPECT_TRUE(h.stage_changes_.empty());  // known -> recycled is not a transition of the model
  EXPECT_EQ(h.counters_["recycle_blocked:known_old"], 1);
  EXPECT_EQ(h.state_.recycle().recycles(), 0u);
}

constexpr char kRejectionRules[] = R"pb(
  id: "revops" version: 1
  rejection {
    rules { id: "bad_timing" reasons: "bad_timing" outcome: RECYCLE
            recontact_property: "recontact_on" recontact_after_ms: 7776000000
            recontact_stage: "mql" notify_template_id: "recontact_tpl"
            nurture_flow_id: "later_nurture" }
    rules { id: "not_icp" reasons: ["not_icp", "competitor"] outcome: DISQUALIFY }
    rules { id: "no_response" reasons: "no_response" outcome: RECYCLE attempts_min: 3 }
    rules { id: "wrong_person" reasons: "wrong_person" outcome: RECYCLE
            notify_template_id: "find_right_person" }
    default_outcome: DISQUALIFY
  }
)pb";

// The lifecycle's own lead_rejected rule moves mql/sal/sql -> recycled.
void Reject(Harness& h, int64_t at, const std::string& reason) {
  h.Record(at, v1::SALES_FACT_KIND_LEAD_REJECTED,
           [&](v1::LeadState*) { h.SetStage("recycled", at); }, reason);
}

TEST(RevenueRejection, BadTimingRecyclesWithARecontactDateTimer) {
  Harness h(kRejectionRules);
  h.lead_.set_owner_id("rep_a");
  h.SetStage("sal", kT0);
  h.Record(kT0);
  h.recontact_property_ = "2026-03-02";
  Reject(h, kT0 + kHour, "bad_timing");
  EXPECT_TRUE(h.stage_changes_.empty());  // the lifecycle already recycled it
  EXPECT_EQ(h.state_.recycle().recycles(), 1u);
  EXPECT_EQ(h.counters_["recycles:bad_timing:sal"], 1);
  EXPECT_THAT(h.flows_, ElementsAre("later_nurture"));
  EXPECT_THAT(h.ActionTypes(), ElementsAre("owner_notification"));
  EXPECT_EQ(h.TimerDue("rev/recontact/u:1"), Utc(2026, 3, 2, 0));
  h.Tick(Utc(2026, 3, 2, 0));
  ASSERT_THAT(h.ActionTypes(), ElementsAre("owner_notification", "owner_notification"));
  EXPECT_EQ(h.actions_[1].reason(), "recontact_due");
  EXPECT_EQ(h.actions_[1].template_id(), "recontact_tpl");
  ASSERT_EQ(h.stage_changes_.size(), 1u);
  EXPECT_EQ(h.stage_changes_[0].stage, "mql");
  EXPECT_EQ(h.state_.recycle().re_entries(), 1u);
  EXPECT_EQ(h.counters_["recontacts:bad_timing"], 1);
}

TEST(RevenueRejection, BadTimingWithoutADateUsesTheDefaultDelay) {
  Harness h(kRejectionRules);
  h.SetStage("mql", kT0);
  h.Record(kT0);
  Reject(h, kT0 + kHour, "bad_timing");
  EXPECT_EQ(h.TimerDue("rev/recontact/u:1"), kT0 + kHour + 90 * kDay);
}

TEST(RevenueRejection, NotIcpDisqualifies) {
  Harness h(kRejectionRules);
  h.SetStage("mql", kT0);
  h.Record(kT0);
  Reject(h, kT0 + kHour, "competitor");
  ASSERT_EQ(h.stage_changes_.size(), 1u);
  EXPECT_EQ(h.stage_changes_[0].stage, "disqualified");
  EXPECT_EQ(h.stage_changes_[0].reason, "competitor");
  EXPECT_EQ(h.stage_changes_[0].rule_id, "not_icp");
  EXPECT_EQ(h.counters_["disqualified:competitor:mql"], 1);
  EXPECT_EQ(h.state_.recycle().recycles(), 0u);
}

// A late or repeated Lead Rejected for a lead marketing already has back:
// no second recycle (it would count toward the limit), no disqualification.
TEST(RevenueRejection, RejectingARecycledOrDisqualifiedLeadDecidesNothing) {
  for (const std::string stage : {"recycled", "disqualified"}) {
    SCOPED_TRACE(stage);
    Harness h(kRejectionRules);
    h.SetStage(stage, kT0);
    h.Record(kT0);
    h.Record(kT0 + kHour, v1::SALES_FACT_KIND_LEAD_REJECTED, nullptr, "competitor");
    h.Record(kT0 + 2 * kHour, v1::SALES_FACT_KIND_LEAD_REJECTED, nullptr, "bad_timing");
    EXPECT_TRUE(h.stage_changes_.empty());
    EXPECT_EQ(h.state_.recycle().recycles(), 0u);
    EXPECT_TRUE(h.flows_.empty());
    EXPECT_EQ(h.counters_["rejections_ignored:" + stage], 2);
    EXPECT_EQ(h.counters_["disqualified:competitor:" + stage], 0);
  }
}

TEST(RevenueRejection, NoResponseRecyclesOnlyAfterEnoughAttempts) {
  {
    Harness h(kRejectionRules);
    h.SetStage("sal", kT0);
    h.Record(kT0);
    h.Record(kT0 + kHour, v1::SALES_FACT_KIND_LEAD_CONTACTED);
    h.Record(kT0 + 2 * kHour, v1::SALES_FACT_KIND_LEAD_CONTACTED);
    Reject(h, kT0 + 3 * kHour, "no_response");  // 2 < 3 attempts: default (disqualify)
    ASSERT_EQ(h.stage_changes_.size(), 1u);
    EXPECT_EQ(h.stage_changes_[0].stage, "disqualified");
    EXPECT_EQ(h.stage_changes_[0].rule_id, "rejection_default");
  }
  Harness h(kRejectionRules);
  h.SetStage("sal", kT0);
  h.Record(kT0);
  for (int i = 1; i <= 3; ++i) h.Record(kT0 + i * kHour, v1::SALES_FACT_KIND_LEAD_CONTACTED);
  EXPECT_EQ(h.state_.contact_attempts(), 3u);
  Reject(h, kT0 + 4 * kHour, "no_response");
  EXPECT_TRUE(h.stage_changes_.empty());
  EXPECT_EQ(h.counters_["recycles:no_response:sal"], 1);
}

TEST(RevenueRejection, WrongPersonRecyclesAndNotifies) {
  Harness h(kRejectionRules);
  h.lead_.set_owner_id("rep_b");
  h.SetStage("sql", kT0);
  h.Record(kT0);
  Reject(h, kT0 + kHour, "wrong_person");
  ASSERT_THAT(h.ActionTypes(), ElementsAre("owner_notification"));
  EXPECT_EQ(h.actions_[0].template_id(), "find_right_person");
  EXPECT_EQ(h.actions_[0].reason(), "wrong_person");
  EXPECT_EQ(h.actions_[0].owner_id(), "rep_b");
  EXPECT_EQ(h.counters_["recycles:wrong_person:sql"], 1);
  EXPECT_FALSE(h.TimerDue("rev/recontact/u:1").has_value());
}

constexpr char kStaleRules[] = R"pb(
  id: "revops" version: 1
  stale_record { id: "stale" no_update_ms: 259200000 template_id: "update_crm" }
)pb";

TEST(RevenueStale, RemindsEveryNDaysUntilACrmUpdate) {
  Harness h(kStaleRules);
  h.SetStage("sal", kT0);
  h.Record(kT0);
  EXPECT_FALSE(h.TimerDue("rev/stale/u:1").has_value());  // no owner: no reminders
  h.Record(kT0 + kHour, v1::SALES_FACT_KIND_UNSPECIFIED,
           [](v1::LeadState* l) { l->set_owner_id("rep_a"); }, "", v1::CALL_TYPE_PAGE);
  EXPECT_EQ(h.TimerDue("rev/stale/u:1"), kT0 + kHour + 3 * kDay);
  for (int day = 1; day <= 7; ++day) h.Tick(kT0 + kHour + day * kDay);
  ASSERT_THAT(h.ActionTypes(), ElementsAre("stale_record_reminder", "stale_record_reminder"));
  EXPECT_EQ(h.actions_[0].due_ms(), kT0 + kHour + 3 * kDay);
  EXPECT_EQ(h.actions_[1].due_ms(), kT0 + kHour + 6 * kDay);
  EXPECT_EQ(h.actions_[0].template_id(), "update_crm");
  EXPECT_EQ(h.state_.stale().reminders_since_update(), 2u);
  // A CRM update restarts the count: the next reminder is 3 days after it.
  const int64_t updated = kT0 + kHour + 7 * kDay + kMinute;
  h.Record(updated, v1::SALES_FACT_KIND_RECORD_UPDATED);
  EXPECT_EQ(h.state_.stale().reminders_since_update(), 0u);
  EXPECT_EQ(h.TimerDue("rev/stale/u:1"), updated + 3 * kDay);
  h.Tick(updated + 3 * kDay);
  EXPECT_EQ(h.actions_.size(), 3u);
  EXPECT_EQ(h.state_.stale().reminders(), 3u);
  EXPECT_EQ(h.counters_["stale_reminders:rep_a"], 3);
}

TEST(RevenueStale, RemindersMissedDuringDowntimeAreCoalesced) {
  Harness h(kStaleRules);
  h.lead_.set_owner_id("rep_a");
  h.SetStage("sal", kT0);
  h.Record(kT0);
  h.Tick(kT0 + 10 * kDay);  // due at 3, 6, 9 days: one reminder, next at 12
  EXPECT_EQ(h.actions_.size(), 1u);
  EXPECT_EQ(h.counters_["stale_reminders_coalesced"], 2);
  EXPECT_EQ(h.TimerDue("rev/stale/u:1"), kT0 + 12 * kDay);
}

TEST(RevenueTimers, OverdueTimersFireInDueOrderOnTheFirstTickAfterDowntime) {
  Harness h(R"pb(
    id: "revops" version: 1 calendar_id: "office"
    slas { id: "mql_accept" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
           target_working_ms: 28800000 warn_before_working_ms: 3600000
           on_breach: [ESCALATE, RETURN_TO_MARKETING] }
    recycle_rules { id: "mql_quiet" stages: "mql" no_activity_ms: 432000000 reason_code: "quiet" }
    stale_record { id: "stale" no_update_ms: 86400000 template_id: "t" }
  )pb");
  h.lead_.set_owner_id("rep_a");
  h.SetStage("mql", kT0);
  h.Record(kT0);
  // Warning: 7 working hours from Monday 10:00 = Monday 17:00; breach (8 h)
  // Tuesday 10:00; stale reminder Tuesday 10:00; stall Saturday 10:00.
  EXPECT_EQ(h.Clock("mql_accept")->warn_due_ms(), Utc(2026, 1, 5, 17));
  EXPECT_EQ(h.Clock("mql_accept")->breach_due_ms(), Utc(2026, 1, 6, 10));
  // Down until Thursday: one tick.
  h.Tick(Utc(2026, 1, 8, 12));
  std::vector<std::string> ids;
  for (const Fired& f : h.fired_) ids.push_back(f.what);
  // Warning, then breach and stale at Tue 10:00 (ties by id: "rev/sla" <
  // "rev/stale"). The breach recycled the lead: the stall timer of MQL was
  // cancelled before it fell due. The stale reminders of Wednesday and
  // Thursday are coalesced into Tuesday's; the next is Friday 10:00.
  EXPECT_THAT(ids, ElementsAre("rev/sla/mql_accept/u:1", "rev/sla/mql_accept/u:1",
                               "rev/stale/u:1"));
  for (size_t i = 1; i < h.fired_.size(); ++i) EXPECT_LE(h.fired_[i - 1].due_ms, h.fired_[i].due_ms);
  EXPECT_THAT(h.ActionTypes(), ElementsAre("sla_warning", "sla_breach_escalation",
                                           "stale_record_reminder"));
  EXPECT_EQ(h.counters_["stale_reminders_coalesced"], 2);
  EXPECT_EQ(h.state_.stage(), "recycled");
  EXPECT_FALSE(h.TimerDue("rev/stall/u:1").has_value());
  EXPECT_EQ(h.TimerDue("rev/stale/u:1"), Utc(2026, 1, 9, 10));
}

// A scenario touching every rule kind; returns the state bytes and a digest
// of the effects.
std::pair<std::string, std::string> RunScenario() {
  Harness h(absl::StrCat(kMqlSla, R"pb(
    recycle_rules { id: "sal_stalled" stages: "sal" no_activity_ms: 259200000 reason_code: "stalled" }
    stale_record { id: "stale" no_update_ms: 86400000 }
    rejection { rules { id: "bad_timing" reasons: "bad_timing" outcome: RECYCLE recontact_after_ms: 864000000 } }
  )pb"));
  h.lead_.set_owner_id("rep_a");
  h.SetStage("mql", kT0);
  h.Record(kT0);
  const int64_t accepted = kT0 + 3 * kHour;
  h.Record(accepted, v1::SALES_FACT_KIND_LEAD_ACCEPTED, [&](v1::LeadState*) { h.SetStage("sal", accepted); });
  h.Tick(kT0 + 6 * kDay);
  Reject(h, kT0 + 7 * kDay, "bad_timing");
  h.Tick(kT0 + 30 * kDay);
  std::string digest;
  for (const v1::RevenueAction& a : h.actions_) digest += a.SerializeAsString();
  for (const Fired& f : h.fired_) absl::StrAppend(&digest, f.what, "@", f.due_ms, ";");
  for (const auto& [k, v] : h.counters_) absl::StrAppend(&digest, k, "=", v, ";");
  return {h.SerializedState(), digest};
}

TEST(RevenueDeterminism, SameInputsGiveIdenticalStateAndEffects) {
  auto a = RunScenario();
  auto b = RunScenario();
  EXPECT_FALSE(a.first.empty());
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.second, b.second);
}

TEST(RevenueEngineCreate, CalendarMustMatchCalendarId) {
  v1::RevenueOpsRules rules = ParseText<v1::RevenueOpsRules>(kMqlSla);
  EXPECT_THAT(RevenueEngine::Create(rules, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("calendar_id: calendar \"office\" not available (got none)")));
  rules.set_calendar_id("berlin");
  EXPECT_THAT(RevenueEngine::Create(rules, Office()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("(got \"office\")")));
}

TEST(RevenueEngineCreate, TimerDueInTheFutureIsRefused) {
  auto engine = RevenueEngine::Create(ParseText<v1::RevenueOpsRules>(kStaleRules), nullptr);
  ASSERT_OK(engine.status());
  v1::LifecycleModel model = DefaultLifecycleModel();
  v1::LogRecord tick;
  tick.set_log_time_ms(kT0);
  v1::RevenueLeadState state;
  RevenueEffects fx;
  RevenueTimer timer{RevenueTimerKind::kStale, "", "u:1", kT0 + 1};
  EXPECT_THAT((*engine)->OnTimer(RevenueContext{&tick, kT0, &model}, timer, v1::LeadState(), &state, &fx),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after now")));
}

// ----------------------------------------------------------------- validation

void ExpectInvalid(const std::string& text, absl::StatusCode code, const std::string& message) {
  v1::RevenueOpsRules rules = ParseText<v1::RevenueOpsRules>(absl::StrCat("id: \"r\" version: 1 ", text));
  EXPECT_THAT(ValidateRevenueOpsRules(rules), StatusIs(code, HasSubstr(message))) << text;
}
void ExpectInvalid(const std::string& text, const std::string& message) {
  ExpectInvalid(text, absl::StatusCode::kInvalidArgument, message);
}

TEST(RevenueValidation, ErrorsNameTheFieldPath) {
  EXPECT_THAT(ValidateRevenueOpsRules(v1::RevenueOpsRules()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id: \"\" is not 1..64 bytes")));
  EXPECT_THAT(ValidateRevenueOpsRules(ParseText<v1::RevenueOpsRules>("id: \"r\"")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version: must be >= 1")));
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "" no_activity_ms: 60000 reason_code: "x" })",
                "recycle_rules[0].stages[0]: \"\" is not 1..64 bytes of [a-z0-9_]");
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "sal" reason_code: "x" })",
                "recycle_rules[0]: neither no_activity_ms nor stage_age_max_ms is set");
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "sal" no_activity_ms: 1000 reason_code: "x" })",
                "recycle_rules[0].no_activity_ms: 1000 is outside [60000, 31622400000] ms");
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "sal" no_activity_ms: 60000 reason_code: "x"
                                   activity_classes: [ACTIVITY_CLASS_ENGAGEMENT, ACTIVITY_CLASS_ENGAGEMENT] })",
                "recycle_rules[0].activity_classes[1]: duplicate");
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "sal" no_activity_ms: 60000 reason_code: "x" }
                   recycle_rules { id: "a" stages: "sql" no_activity_ms: 60000 reason_code: "y" })",
                "recycle_rules[1].id: duplicate \"a\" (recycle_rules[0])");
  ExpectInvalid(R"(recycle_rules { id: "a" stages: "sal" no_activity_ms: 60000 reason_code: "x"
                                   score_policy { kind: MULTIPLY multiply_permille: 1500 } })",
                "recycle_rules[0].score_policy.multiply_permille: 1500 is outside [0, 1000]");
  ExpectInvalid("recycle_policy { recycles_max: 101 }", "recycle_policy.recycles_max: 101 is above 100");
  ExpectInvalid(R"(rejection { rules { id: "a" reasons: "not_icp" outcome: DISQUALIFY }
                               rules { id: "b" reasons: "not_icp" outcome: RECYCLE } })",
                "rejection.rules[1].reasons[0]: \"not_icp\" is already handled by rejection.rules[0].reasons[0]");
  ExpectInvalid(R"(rejection { rules { id: "a" reasons: "x" } })", "rejection.rules[0].outcome: must be RECYCLE or DISQUALIFY");
  ExpectInvalid(R"(rejection { rules { id: "a" reasons: "x" outcome: DISQUALIFY recontact_after_ms: 60000 } })",
                "rejection.rules[0].outcome: a re-contact needs RECYCLE");
  ExpectInvalid(R"(slas { id: "s" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
                          target_working_ms: 28800000 warn_before_working_ms: 28800000 on_breach: ESCALATE })",
                "slas[0].warn_before_working_ms: 28800000 is not below target_working_ms 28800000");
  ExpectInvalid(R"(slas { id: "s" stage: "mql" target_working_ms: 28800000 on_breach: ESCALATE })",
                "slas[0].stop_on: no stop facts");
  ExpectInvalid(R"(slas { id: "s" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
                          target_working_ms: 28800000 on_breach: REASSIGN })",
                "slas[0].reassign_queue: REASSIGN needs a queue");
  ExpectInvalid(R"(slas { id: "s" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
                          target_working_ms: 28800000 })",
                "slas[0].on_breach: 0 actions, expected 1..3");
  ExpectInvalid(R"(slas { id: "s" stage: "mql" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
                          target_working_ms: 31622400001 on_breach: ESCALATE })",
                "slas[0].target_working_ms: 31622400001 is outside");
  ExpectInvalid("stale_record { no_update_ms: 60000 }", "stale_record.id: empty, but the rule has settings");
  ExpectInvalid(R"(stale_record { id: "s" no_update_ms: 0 })", "stale_record.no_update_ms: 0 is outside");
}

TEST(RevenueValidation, CountBoundsAreResourceExhausted) {
  std::string text;
  for (int i = 0; i <= kRevenueSlasMax; ++i) {
    absl::StrAppend(&text, "slas { id: \"s", i, "\" stage: \"mql\" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED "
                    "target_working_ms: 3600000 on_breach: ESCALATE } ");
  }
  ExpectInvalid(text, absl::StatusCode::kResourceExhausted, "slas: 33 entries, at most 32");
  // At the limit: accepted.
  text = text.substr(0, text.rfind("slas {"));
  v1::RevenueOpsRules rules = ParseText<v1::RevenueOpsRules>(absl::StrCat("id: \"r\" version: 1 ", text));
  EXPECT_EQ(rules.slas_size(), kRevenueSlasMax);
  EXPECT_OK(ValidateRevenueOpsRules(rules));
}

TEST(RevenueValidation, StagesAreCheckedAgainstTheLifecycleModel) {
  v1::LifecycleModel model = DefaultLifecycleModel();
  EXPECT_OK(CheckRevenueRulesAgainstLifecycle(ParseText<v1::RevenueOpsRules>(kStallRules), model));
  EXPECT_THAT(CheckRevenueRulesAgainstLifecycle(
                  ParseText<v1::RevenueOpsRules>(R"pb(id: "r" version: 1
                    slas { id: "s" stage: "mqll" stop_on: SALES_FACT_KIND_LEAD_ACCEPTED
                           target_working_ms: 3600000 on_breach: ESCALATE })pb"), model),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("slas[0].stage: stage \"mqll\" is not in lifecycle model demand_waterfall v1")));
  EXPECT_THAT(CheckRevenueRulesAgainstLifecycle(
                  ParseText<v1::RevenueOpsRules>(R"pb(id: "r" version: 1
                    recycle_policy { recycled_stage: "mql" })pb"), model),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("recycle_policy.recycled_stage: stage \"mql\" is not of kind STAGE_KIND_RECYCLED")));
}

TEST(RevenueValidation, ParsesJson) {
  auto rules = ParseRevenueOpsRules(R"({"id": "revops", "version": 2,
    "slas": [{"id": "mql_accept", "stage": "mql", "stop_on": ["SALES_FACT_KIND_LEAD_ACCEPTED"],
              "target_working_ms": "28800000", "on_breach": ["ESCALATE"]}]})");
  ASSERT_OK(rules.status());
  EXPECT_EQ(rules->slas(0).target_working_ms(), 8 * kHour);
  EXPECT_THAT(ParseRevenueOpsRules(R"({"id": "revops", "version": 2, "bogus": 1})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("revenue ops rules")));
  EXPECT_THAT(ParseRevenueOpsRules(std::string(kRevenueRulesBytesMax + 1, ' ')),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
}

}  // namespace
}  // namespace leadlog
