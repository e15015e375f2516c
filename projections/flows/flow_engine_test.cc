// FlowEngine: enrollment (triggers, entry filter, suppression,
// re-enrollment), every step kind, waits, governance at send time, streams,
// migration, bounds and stats. Deterministic: log times are given, no sleeps.
#include "projections/flows/flow_engine.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using Status = v1::FlowEnrollment;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

int64_t Utc(int y, int mo, int d, int h, int mi = 0) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone()));
}
// Monday 2026-01-05 12:00 UTC.
const int64_t kT0 = Utc(2026, 1, 5, 12);

template <typename M>
M ParseText(const std::string& text) {
  M m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

v1::LifecycleModel Lifecycle() {
  return ParseText<v1::LifecycleModel>(R"pb(
    id: "waterfall" version: 1 initial_stage: "known"
    stages { id: "known" name: "Known" kind: STAGE_KIND_FUNNEL }
    stages { id: "mql" name: "MQL" kind: STAGE_KIND_FUNNEL }
    stages { id: "customer" name: "Customer" kind: STAGE_KIND_FUNNEL }
    stages { id: "disq" name: "Disqualified" kind: STAGE_KIND_DISQUALIFIED }
  )pb");
}

void SetTrait(v1::LeadState* lead, const std::string& name, google::protobuf::Value value) {
  for (v1::ProfileTrait& t : *lead->mutable_traits()) {
    if (t.name() == name) {
      *t.mutable_value() = value;
      return;
    }
  }
  v1::ProfileTrait* t = lead->add_traits();
  t->set_name(name);
  *t->mutable_value() = value;
}
google::protobuf::Value Str(const std::string& s) {
  google::protobuf::Value v;
  v.set_string_value(s);
  return v;
}
google::protobuf::Value Bool(bool b) {
  google::protobuf::Value v;
  v.set_bool_value(b);
  return v;
}

v1::LogRecord Track(uint64_t sequence, int64_t t, const std::string& name) {
  v1::LogRecord r;
  r.set_sequence(sequence);
  r.set_log_time_ms(t);
  r.mutable_event()->set_type(v1::CALL_TYPE_TRACK);
  r.mutable_event()->set_name(name);
  r.mutable_event()->set_user_id("42");
  return r;
}

// One lead, one flow; the caller's role (applying effects) kept minimal.
struct Harness {
  explicit Harness(const std::string& flow_text, const v1::NurtureGovernance* governance = nullptr) {
    auto created = FlowEngine::Create(ParseText<v1::NurtureFlow>(flow_text));
    EXPECT_OK(created.status());
    engine = *std::move(created);
    if (governance != nullptr) {
      auto g = SendGate::Create(*governance);
      EXPECT_OK(g.status());
      gate = *std::move(g);
    }
    lead.set_lead_key("u:42");
    lead.mutable_lifecycle()->set_current_stage("known");
  }

  FlowContext Ctx(const v1::LogRecord* record, int64_t now) {
    FlowContext ctx;
    ctx.record = record;
    ctx.now_ms = now;
    ctx.lifecycle = &lifecycle;
    ctx.gate = gate.get();
    return ctx;
  }

  // Applies a record: `before` is the lead as it was before `change`.
  FlowEffects Record(const std::string& event, int64_t now,
                     const std::function<void(v1::LeadState*)>& change = nullptr) {
    v1::LeadState before = lead;
    if (change) change(&lead);
    record = Track(++sequence, now, event);
    FlowEffects fx;
    EXPECT_OK(engine->OnRecord(Ctx(&record, now), before, &lead, &enrollment, &fx));
    return fx;
  }

  FlowEffects Timer() {
    EXPECT_TRUE(enrollment.has_value() && !enrollment->timer_id().empty());
    const int64_t due = enrollment->timer_due_ms();
    record = Track(++sequence, due, "tick");
    record.clear_event();
    record.mutable_clock_tick();
    FlowEffects fx;
    EXPECT_OK(engine->OnTimer(Ctx(&record, due), &lead, &*enrollment, &fx));
    return fx;
  }

  std::string LastJourney() const { return enrollment->journey().rbegin()->what(); }
  bool JourneyHas(const std::string& part) const {
    for (const v1::JourneyEntry& e : enrollment->journey()) {
      if (e.what().find(part) != std::string::npos) return true;
    }
    return false;
  }

  std::unique_ptr<FlowEngine> engine;
  std::unique_ptr<SendGate> gate;
  v1::LifecycleModel lifecycle = Lifecycle();
  v1::LeadState lead;
  std::optional<v1::FlowEnrollment> enrollment;
  v1::LogRecord record;
  uint64_t sequence = 0;
};

constexpr char kEventFlow[] = R"pb(
  id: "welcome" version: 1
  triggers { event { call: "track" event: "Form Submitted" } }
  steps { id: "send1" next: "wait1" send { content_id: "wp-1" channel: "email" } }
  steps { id: "wait1" next: "send2" wait { duration_ms: 86400000 } }
  steps { id: "send2" send { content_id: "wp-2" channel: "email" } }
)pb";

std::string WithTrigger(const std::string& trigger, const std::string& extra = "") {
  return "id: \"t\" version: 1 triggers { " + trigger + " } " + extra +
         " steps { id: \"w\" wait { duration_ms: 3600000 } }";
}

// ---------------------------------------------------------------- triggers

TEST(FlowEngineTrigger, EventMatchEnrollsAndRunsUntilAWait) {
  Harness h(kEventFlow);
  FlowEffects fx = h.Record("Page Viewed", kT0);
  EXPECT_FALSE(h.enrollment.has_value());
  EXPECT_TRUE(fx.stats.empty());

  fx = h.Record("Form Submitted", kT0);
  ASSERT_TRUE(h.enrollment.has_value());
  EXPECT_EQ(h.enrollment->status(), Status::ACTIVE);
  EXPECT_EQ(h.enrollment->enrollment_number(), 1u);
  EXPECT_EQ(h.enrollment->current_step(), "wait1");
  EXPECT_EQ(h.enrollment->timer_id(), "flow/welcome/u:42");
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + kDay);
  EXPECT_EQ(fx.schedule_timer_ms, kT0 + kDay);
  EXPECT_EQ(h.enrollment->journey(0).what(), "enrolled by trigger[0] (event track \"Form Submitted\")");
  EXPECT_EQ(h.enrollment->journey(0).sequence(), 2u);
  EXPECT_THAT(fx.stats, ElementsAre(Pair("enrolled", 1), Pair("sent", 1), Pair("step:send1", 1),
                                    Pair("step:wait1", 1)));
  ASSERT_EQ(fx.actions.size(), 1u);
  const v1::Action& a = fx.actions[0];
  EXPECT_EQ(a.type(), "send_content");
  EXPECT_EQ(a.lead_key(), "u:42");
  EXPECT_EQ(a.send_content().content_id(), "wp-1");
  EXPECT_EQ(a.send_content().channel(), "email");
  EXPECT_EQ(a.send_content().origin().flow_id(), "welcome");
  EXPECT_EQ(a.send_content().origin().flow_version(), 1u);
  EXPECT_EQ(a.send_content().origin().step_id(), "send1");
  EXPECT_EQ(a.send_content().origin().enrollment_number(), 1u);
  EXPECT_TRUE(WasSent(h.lead.nurture(), "wp-1"));

  // The wait is over: wp-2, then the flow is completed.
  fx = h.Timer();
  EXPECT_EQ(h.enrollment->status(), Status::COMPLETED);
  EXPECT_EQ(h.enrollment->ended_ms(), kT0 + kDay);
  EXPECT_TRUE(h.enrollment->timer_id().empty());
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "wp-2");
  EXPECT_THAT(fx.stats, ElementsAre(Pair("completed", 1), Pair("sent", 1), Pair("step:send2", 1)));
  EXPECT_FALSE(fx.schedule_timer_ms.has_value());
}

TEST(FlowEngineTrigger, StageEnteredFiresOnlyOnTheChange) {
  Harness h(WithTrigger("stage_entered { stage: \"mql\" }"));
  h.Record("x", kT0, [](v1::LeadState* l) { l->mutable_lifecycle()->set_current_stage("known"); });
  EXPECT_FALSE(h.enrollment.has_value());
  h.lead.mutable_lifecycle()->set_current_stage("mql");
  h.Record("x", kT0);  // already in mql before this record
  EXPECT_FALSE(h.enrollment.has_value());
  h.lead.mutable_lifecycle()->set_current_stage("known");
  h.Record("x", kT0, [](v1::LeadState* l) { l->mutable_lifecycle()->set_current_stage("mql"); });
  ASSERT_TRUE(h.enrollment.has_value());
  EXPECT_EQ(h.enrollment->journey(0).what(), "enrolled by trigger[0] (entered stage mql)");
}

TEST(FlowEngineTrigger, ScoreCrossedUpwardAndDownward) {
  Harness up(WithTrigger("score_crossed { threshold: 40 }"));
  up.lead.mutable_score()->set_score_milli(41'000);
  up.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->set_score_milli(45'000); });
  EXPECT_FALSE(up.enrollment.has_value());  // was already above
  up.lead.mutable_score()->set_score_milli(35'000);
  up.Record("x", kT0, [](v1::LeadState* l) { l->set_score_adjustment_milli(7'000); });
  ASSERT_TRUE(up.enrollment.has_value());  // 35 -> 42 through a flow adjustment
  EXPECT_EQ(up.enrollment->journey(0).what(), "enrolled by trigger[0] (score crossed 40 upward (35 -> 42))");

  Harness down(WithTrigger("score_crossed { threshold: 40 downward: true }"));
  down.lead.mutable_score()->set_score_milli(35'000);
  down.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->set_score_milli(50'000); });
  EXPECT_FALSE(down.enrollment.has_value());
  down.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->set_score_milli(40'000); });
  EXPECT_FALSE(down.enrollment.has_value());  // 40 is not below 40
  down.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->set_score_milli(39'000); });
  EXPECT_TRUE(down.enrollment.has_value());
}

TEST(FlowEngineTrigger, GradeReached) {
  Harness h(WithTrigger("grade_reached { grade_min: \"B\" }"));
  h.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->mutable_grade()->set_grade("C"); });
  EXPECT_FALSE(h.enrollment.has_value());
  h.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->mutable_grade()->set_grade("B"); });
  ASSERT_TRUE(h.enrollment.has_value());
  EXPECT_EQ(h.enrollment->journey(0).what(), "enrolled by trigger[0] (grade reached B (C -> B))");

  Harness better(WithTrigger("grade_reached { grade_min: \"B\" }"));
  better.lead.mutable_score()->mutable_grade()->set_grade("B");
  better.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->mutable_grade()->set_grade("A"); });
  EXPECT_FALSE(better.enrollment.has_value());  // B already met the minimum
}

TEST(FlowEngineTrigger, TraitMatchedOnlyWhenItBecomesTrue) {
  const std::string trigger =
      R"(trait_matched { where { field: "traits.country" op: "equals" value { string_value: "DE" } } })";
  Harness h(WithTrigger(trigger));
  h.Record("x", kT0, [](v1::LeadState* l) { SetTrait(l, "country", Str("FR")); });
  EXPECT_FALSE(h.enrollment.has_value());
  h.Record("x", kT0, [](v1::LeadState* l) { SetTrait(l, "country", Str("DE")); });
  EXPECT_TRUE(h.enrollment.has_value());

  Harness already(WithTrigger(trigger));
  SetTrait(&already.lead, "country", Str("DE"));
  already.Record("x", kT0, [](v1::LeadState* l) { SetTrait(l, "city", Str("Berlin")); });
  EXPECT_FALSE(already.enrollment.has_value());
}

TEST(FlowEngineEnroll, EntryFilterBlocks) {
  Harness h(WithTrigger(R"(event { call: "track" })", "entry_filter { score_min: 10 }"));
  FlowEffects fx = h.Record("x", kT0);
  EXPECT_FALSE(h.enrollment.has_value());
  EXPECT_THAT(fx.stats, ElementsAre(Pair("not_enrolled:filter", 1)));
  fx = h.Record("x", kT0, [](v1::LeadState* l) { l->mutable_score()->set_score_milli(10'000); });
  EXPECT_TRUE(h.enrollment.has_value());
}

// A rule's direct enrollment (e.g. a recycle) chose the lead: the entry
// filter, which gates trigger enrollments, does not apply; suppression does.
TEST(FlowEngineEnroll, DirectEnrollmentSkipsTheEntryFilterNotSuppression) {
  Harness h(WithTrigger(R"(event { call: "track" event: "never" })",
                        "entry_filter { score_max: 60 } suppression { unsubscribed: true }"));
  h.lead.mutable_score()->set_score_milli(120'000);
  h.record = Track(++h.sequence, kT0, "x");
  FlowEffects fx;
  EXPECT_OK(h.engine->Enroll(h.Ctx(&h.record, kT0), "revenue recycle", &h.lead, &h.enrollment, &fx));
  ASSERT_TRUE(h.enrollment.has_value());
  EXPECT_EQ(h.enrollment->status(), Status::ACTIVE);
  EXPECT_EQ(h.enrollment->journey(0).what(), "enrolled by revenue recycle");

  Harness unsubscribed(WithTrigger(R"(event { call: "track" event: "never" })",
                                   "suppression { unsubscribed: true }"));
  SetTrait(&unsubscribed.lead, "unsubscribed", Bool(true));
  unsubscribed.record = Track(++unsubscribed.sequence, kT0, "x");
  FlowEffects blocked;
  EXPECT_OK(unsubscribed.engine->Enroll(unsubscribed.Ctx(&unsubscribed.record, kT0), "recycle",
                                        &unsubscribed.lead, &unsubscribed.enrollment, &blocked));
  EXPECT_FALSE(unsubscribed.enrollment.has_value());
  EXPECT_THAT(blocked.stats, ElementsAre(Pair("not_enrolled:suppressed", 1)));
}

// Each suppression kind, and what makes the lead match it.
struct SuppressionCase {
  std::string suppression;
  std::function<void(v1::LeadState*)> make_suppressed;
  std::string reason;
};

std::vector<SuppressionCase> SuppressionCases() {
  return {
      {"unsubscribed: true", [](v1::LeadState* l) { SetTrait(l, "unsubscribed", Bool(true)); },
       "unsubscribed"},
      {"disqualified: true",
       [](v1::LeadState* l) { l->mutable_lifecycle()->set_current_stage("disq"); }, "disqualified"},
      {"stages: \"customer\"",
       [](v1::LeadState* l) { l->mutable_lifecycle()->set_current_stage("customer"); },
       "stage customer"},
      {"email_domains: \"competitor.example\"",
       [](v1::LeadState* l) { SetTrait(l, "email", Str("spy@Competitor.example")); },
       "email domain competitor.example"},
      {"leads: \"alias-9\"", [](v1::LeadState* l) { l->add_identifiers("a:alias-9"); }, "listed"},
  };
}

TEST(FlowEngineEnroll, EachSuppressionKindBlocksEnrollment) {
  for (const SuppressionCase& c : SuppressionCases()) {
    SCOPED_TRACE(c.suppression);
    Harness h(WithTrigger(R"(event { call: "track" })", "suppression { " + c.suppression + " }"));
    FlowEffects fx = h.Record("x", kT0, c.make_suppressed);
    EXPECT_FALSE(h.enrollment.has_value());
    EXPECT_THAT(fx.stats, ElementsAre(Pair("not_enrolled:suppressed", 1)));
  }
}

TEST(FlowEngineSend, EachSuppressionKindExitsAtSendTime) {
  for (const SuppressionCase& c : SuppressionCases()) {
    SCOPED_TRACE(c.suppression);
    Harness h(R"pb(id: "f" version: 1 triggers { event { call: "track" } }
                   suppression { )pb" + c.suppression + R"pb( }
                   steps { id: "w" next: "s" wait { duration_ms: 3600000 } }
                   steps { id: "s" send { content_id: "c1" channel: "email" } })pb");
    h.Record("x", kT0);
    ASSERT_TRUE(h.enrollment.has_value());
    // The lead changes without a record of its own (e.g. an identity merge).
    c.make_suppressed(&h.lead);
    FlowEffects fx = h.Timer();
    EXPECT_TRUE(fx.actions.empty());
    EXPECT_EQ(h.enrollment->status(), Status::EXITED);
    EXPECT_EQ(h.enrollment->exit_reason(), "suppressed: " + c.reason);
    EXPECT_EQ(h.LastJourney(), "exited: suppressed: " + c.reason);
    EXPECT_EQ(fx.stats["exited:suppressed: " + c.reason], 1);
    EXPECT_FALSE(WasSent(h.lead.nurture(), "c1"));
  }
}

TEST(FlowEngineActive, SuppressedOnARecordExitsAndCancelsTheTimer) {
  Harness h(WithTrigger(R"(event { call: "track" event: "go" })", "suppression { unsubscribed: true }"));
  h.Record("go", kT0);
  FlowEffects fx = h.Record("x", kT0 + kMinute,
                            [](v1::LeadState* l) { SetTrait(l, "unsubscribed", Bool(true)); });
  EXPECT_EQ(h.enrollment->status(), Status::EXITED);
  EXPECT_EQ(h.enrollment->exit_reason(), "suppressed: unsubscribed");
  EXPECT_TRUE(fx.cancel_timer);
  EXPECT_TRUE(h.enrollment->timer_id().empty());
  EXPECT_EQ(h.enrollment->timer_due_ms(), 0);
  EXPECT_EQ(h.enrollment->ended_ms(), kT0 + kMinute);
}

// ---------------------------------------------------------------- steps

TEST(FlowEngineSteps, LeadChangesNotifyWebhookGoToAndExit) {
  Harness h(R"pb(
    id: "ops" version: 2 triggers { event { call: "track" } }
    steps { id: "stage" next: "score" set_stage { stage: "mql" reason: "nurtured" } }
    steps { id: "score" next: "owner" add_score { points: 15 } }
    steps { id: "owner" next: "check" set_owner { owner_id: "rep-7" } }
    steps { id: "check" branch { cases { when { score_min: 15 stages: "mql" } next: "notify" } default_next: "bye" } }
    steps { id: "notify" next: "hook" notify_owner { template_id: "hot-lead" } }
    steps { id: "hook" next: "jump" webhook { webhook_id: "crm" } }
    steps { id: "jump" go_to { target: "bye" } }
    steps { id: "bye" exit { reason: "handed over" } }
  )pb");
  FlowEffects fx = h.Record("x", kT0);
  ASSERT_TRUE(fx.set_stage.has_value());
  EXPECT_EQ(*fx.set_stage, std::make_pair(std::string("mql"), std::string("nurtured")));
  EXPECT_EQ(fx.set_stage_rule, "flow:ops/stage");
  EXPECT_EQ(fx.add_score_milli, 15'000);
  EXPECT_EQ(fx.set_owner, "rep-7");
  // The branch saw the run's own changes (score 15, stage mql).
  ASSERT_EQ(fx.actions.size(), 2u);
  EXPECT_EQ(fx.actions[0].type(), "notify_owner");
  EXPECT_EQ(fx.actions[0].notify_owner().owner_id(), "rep-7");
  EXPECT_EQ(fx.actions[0].notify_owner().template_id(), "hot-lead");
  EXPECT_EQ(fx.actions[0].notify_owner().origin().flow_version(), 2u);
  EXPECT_EQ(fx.actions[1].type(), "webhook");
  EXPECT_EQ(fx.actions[1].webhook().webhook_id(), "crm");
  EXPECT_EQ(fx.actions[1].webhook().origin().step_id(), "hook");
  EXPECT_EQ(h.enrollment->status(), Status::EXITED);
  EXPECT_EQ(h.enrollment->exit_reason(), "handed over");
  EXPECT_EQ(fx.stats["exited:handed over"], 1);
  EXPECT_EQ(fx.stats["step:bye"], 1);
  EXPECT_TRUE(h.JourneyHas("go to bye"));
  EXPECT_TRUE(h.JourneyHas("set stage mql (reason nurtured)"));
  EXPECT_TRUE(h.JourneyHas("added 15 points"));
  // Pure: the lead itself is the caller's to change.
  EXPECT_EQ(h.lead.owner_id(), "");
  EXPECT_EQ(h.lead.score_adjustment_milli(), 0);
}

TEST(FlowEngineSteps, UnknownStageAndMissingOwnerAreSkippedWithAReason) {
  Harness h(R"pb(
    id: "ops" version: 1 triggers { event { call: "track" } }
    steps { id: "stage" next: "notify" set_stage { stage: "nope" } }
    steps { id: "notify" notify_owner { template_id: "t" } }
  )pb");
  FlowEffects fx = h.Record("x", kT0);
  EXPECT_FALSE(fx.set_stage.has_value());
  EXPECT_TRUE(fx.actions.empty());
  EXPECT_TRUE(h.JourneyHas("skipped: stage nope is not in lifecycle model waterfall v1"));
  EXPECT_TRUE(h.JourneyHas("skipped: the lead has no owner to notify"));
  EXPECT_EQ(h.enrollment->status(), Status::COMPLETED);
}

TEST(FlowEngineSteps, BranchExplainsWhichCaseHeld) {
  const std::string flow = R"pb(
    id: "b" version: 1 triggers { event { call: "track" } }
    steps { id: "br" branch {
      cases { when { score_min: 80 } next: "hot" }
      cases { when { score_min: 40 } next: "warm" }
      default_next: "cold" } }
    steps { id: "hot" exit { reason: "hot" } }
    steps { id: "warm" exit { reason: "warm" } }
    steps { id: "cold" exit { reason: "cold" } }
  )pb";
  Harness warm(flow);
  warm.lead.mutable_score()->set_score_milli(42'000);
  warm.Record("x", kT0);
  EXPECT_EQ(warm.enrollment->exit_reason(), "warm");
  EXPECT_THAT(warm.enrollment->journey(1).what(), HasSubstr("branch: cases[1] holds ("));
  EXPECT_THAT(warm.enrollment->journey(1).what(), HasSubstr("): to warm"));
  EXPECT_EQ(warm.enrollment->journey(1).step_id(), "br");
  Harness cold(flow);
  cold.Record("x", kT0);
  EXPECT_EQ(cold.enrollment->exit_reason(), "cold");
  EXPECT_THAT(cold.enrollment->journey(1).what(), HasSubstr("branch: no case holds (cases[0]: "));
  EXPECT_THAT(cold.enrollment->journey(1).what(), HasSubstr("default, to cold"));
}

constexpr char kSplitFlow[] = R"pb(
  id: "ab" version: 1 triggers { event { call: "track" } }
  reenrollment { policy: AFTER_EXIT }
  steps { id: "split" split { paths { percent: 50 next: "a" } paths { percent: 50 next: "b" } } }
  steps { id: "a" exit { reason: "a" } }
  steps { id: "b" exit { reason: "b" } }
)pb";

TEST(FlowEngineSteps, SplitIsDeterministicAndUniform) {
  int a = 0;
  for (int i = 0; i < 10'000; ++i) {
    Harness h(kSplitFlow);
    h.lead.set_lead_key("u:lead-" + std::to_string(i));
    h.Record("x", kT0);
    const std::string first = h.enrollment->exit_reason();
    if (first == "a") ++a;
    if (i < 50) {  // same inputs, same path (a rebuild)
      Harness again(kSplitFlow);
      again.lead.set_lead_key(h.lead.lead_key());
      again.Record("x", kT0 + kDay);
      EXPECT_EQ(again.enrollment->exit_reason(), first);
      EXPECT_THAT(h.enrollment->journey(1).what(), HasSubstr("split: paths["));
    }
  }
  EXPECT_GE(a, 4'700);
  EXPECT_LE(a, 5'300);
}

TEST(FlowEngineSteps, SplitDependsOnTheEnrollmentNumber) {
  // Over many leads, a second enrollment does not always take the first path.
  int changed = 0;
  for (int i = 0; i < 200; ++i) {
    Harness h(kSplitFlow);
    h.lead.set_lead_key("u:" + std::to_string(i));
    h.Record("x", kT0);
    const std::string first = h.enrollment->exit_reason();
    h.Record("x", kT0 + kDay);
    EXPECT_EQ(h.enrollment->enrollment_number(), 2u);
    if (h.enrollment->exit_reason() != first) ++changed;
  }
  EXPECT_GT(changed, 50);
  EXPECT_LT(changed, 150);
}

// ---------------------------------------------------------------- waits

constexpr char kMondayFlow[] = R"pb(
  id: "monday" version: 1 triggers { event { call: "track" } }
  steps { id: "w" next: "s" wait { weekday: "monday" time: "09:00" } }
  steps { id: "s" send { content_id: "c" channel: "email" } }
)pb";

TEST(FlowEngineWait, UntilWeekdayAndTimeInTheLeadsTimeZone) {
  // Monday 12:00 UTC is 07:00 in New York: today at 09:00 local = 14:00 UTC.
  Harness ny(kMondayFlow);
  ny.lead.set_time_zone("America/New_York");
  ny.Record("x", kT0);
  EXPECT_EQ(ny.enrollment->timer_due_ms(), Utc(2026, 1, 5, 14));
  EXPECT_EQ(ny.LastJourney(), "waiting until 2026-01-05T14:00:00Z (monday 09:00 America/New_York)");
  // ... and 21:00 in Tokyo: next Monday 09:00 local = Monday 00:00 UTC.
  Harness tokyo(kMondayFlow);
  tokyo.lead.set_time_zone("Asia/Tokyo");
  tokyo.Record("x", kT0);
  EXPECT_EQ(tokyo.enrollment->timer_due_ms(), Utc(2026, 1, 12, 0));
  FlowEffects fx = tokyo.Timer();
  EXPECT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(tokyo.enrollment->status(), Status::COMPLETED);
}

TEST(FlowEngineWait, ZoneFallsBackToGovernanceDefaultThenUtc) {
  v1::NurtureGovernance g = ParseText<v1::NurtureGovernance>(
      R"pb(id: "g" version: 1 quiet_hours { default_time_zone: "America/New_York" })pb");
  Harness gov(kMondayFlow, &g);
  gov.Record("x", kT0);
  EXPECT_EQ(gov.enrollment->timer_due_ms(), Utc(2026, 1, 5, 14));
  Harness utc(kMondayFlow);
  utc.Record("x", kT0);  // 09:00 UTC Monday has passed: next Monday
  EXPECT_EQ(utc.enrollment->timer_due_ms(), Utc(2026, 1, 12, 9));
  Harness bad(kMondayFlow);
  bad.lead.set_time_zone("Mars/Olympus");
  bad.Record("x", kT0);
  EXPECT_EQ(bad.enrollment->timer_due_ms(), Utc(2026, 1, 12, 9));
  EXPECT_THAT(bad.LastJourney(), HasSubstr("unknown time zone \"Mars/Olympus\", using UTC"));
}

constexpr char kEventWaitFlow[] = R"pb(
  id: "demo" version: 1 triggers { event { call: "track" event: "Signup" } }
  steps { id: "w" next: "thanks" wait { event { call: "track" event: "Demo Booked" } timeout_ms: 259200000 timeout_next: "nudge" } }
  steps { id: "thanks" send { content_id: "thanks" channel: "email" } }
  steps { id: "nudge" send { content_id: "nudge" channel: "email" } }
)pb";

TEST(FlowEngineWait, ForEventArrives) {
  Harness h(kEventWaitFlow);
  h.Record("Signup", kT0);
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + 3 * kDay);
  FlowEffects fx = h.Record("Page Viewed", kT0 + kHour);
  EXPECT_EQ(h.enrollment->current_step(), "w");
  EXPECT_TRUE(fx.actions.empty());
  fx = h.Record("Demo Booked", kT0 + 2 * kHour);
  EXPECT_TRUE(fx.cancel_timer);
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "thanks");
  EXPECT_EQ(h.enrollment->status(), Status::COMPLETED);
  EXPECT_TRUE(h.JourneyHas("event arrived: track \"Demo Booked\""));
}

TEST(FlowEngineWait, ForEventTimesOut) {
  Harness h(kEventWaitFlow);
  h.Record("Signup", kT0);
  FlowEffects fx = h.Timer();
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "nudge");
  EXPECT_TRUE(h.JourneyHas("timed out waiting for track \"Demo Booked\": to nudge"));
}

TEST(FlowEngineWait, StaleOrEarlyTimersAreIgnored) {
  Harness h(kEventFlow);
  h.Record("Form Submitted", kT0);
  v1::LogRecord tick = Track(99, kT0 + kHour, "tick");
  FlowEffects fx;
  ASSERT_OK(h.engine->OnTimer(h.Ctx(&tick, kT0 + kHour), &h.lead, &*h.enrollment, &fx));
  EXPECT_EQ(h.enrollment->current_step(), "wait1");  // not due yet
  EXPECT_TRUE(fx.stats.empty());
}

// ---------------------------------------------------------------- goal, exit, re-enrollment

TEST(FlowEngineActive, GoalConvertsAndExitCriteriaExit) {
  const std::string flow = std::string(R"pb(
    id: "g" version: 1 triggers { event { call: "track" event: "go" } }
    goal { stages: "customer" }
    exit_criteria { score_min: 1000 }
    exit_criteria { stages: "mql" }
  )pb") + "steps { id: \"w\" wait { duration_ms: 3600000 } }";
  Harness goal(flow);
  goal.Record("go", kT0);
  FlowEffects fx = goal.Record("x", kT0 + kMinute, [](v1::LeadState* l) {
    l->mutable_lifecycle()->set_current_stage("customer");
  });
  EXPECT_EQ(goal.enrollment->status(), Status::CONVERTED);
  EXPECT_EQ(goal.enrollment->exit_reason(), "goal");
  EXPECT_THAT(fx.stats, ElementsAre(Pair("converted", 1)));
  EXPECT_TRUE(fx.cancel_timer);
  EXPECT_THAT(goal.LastJourney(), HasSubstr("converted: goal holds ("));

  Harness exit(flow);
  exit.Record("go", kT0);
  fx = exit.Record("x", kT0 + kMinute, [](v1::LeadState* l) {
    l->mutable_lifecycle()->set_current_stage("mql");
  });
  EXPECT_EQ(exit.enrollment->status(), Status::EXITED);
  EXPECT_EQ(exit.enrollment->exit_reason(), "exit_criteria[1]");
  EXPECT_THAT(fx.stats, ElementsAre(Pair("exited:exit_criteria[1]", 1)));
}

TEST(FlowEngineEnroll, ReEnrollmentPolicies) {
  const std::string steps = "steps { id: \"e\" exit { reason: \"done\" } }";
  const std::string head = R"(id: "r" version: 1 triggers { event { call: "track" event: "go" } } )";
  Harness never(head + steps);
  never.Record("go", kT0);
  FlowEffects fx = never.Record("go", kT0 + kDay);
  EXPECT_EQ(never.enrollment->enrollment_number(), 1u);
  EXPECT_THAT(fx.stats, ElementsAre(Pair("not_enrolled:reenrollment", 1)));

  Harness after_exit(head + "reenrollment { policy: AFTER_EXIT } " + steps);
  after_exit.Record("go", kT0);
  after_exit.Record("go", kT0 + kMinute);
  EXPECT_EQ(after_exit.enrollment->enrollment_number(), 2u);
  EXPECT_EQ(after_exit.enrollment->enrolled_ms(), kT0 + kMinute);

  // AFTER_EXIT with an active enrollment: the record does not enroll again.
  Harness active(R"(id: "r" version: 1 reenrollment { policy: AFTER_EXIT }
                    triggers { event { call: "track" event: "go" } }
                    steps { id: "w" wait { duration_ms: 3600000 } })");
  active.Record("go", kT0);
  fx = active.Record("go", kT0 + kMinute);
  EXPECT_EQ(active.enrollment->enrollment_number(), 1u);
  EXPECT_TRUE(fx.stats.empty());

  Harness interval(head + "reenrollment { policy: AFTER_INTERVAL interval_ms: 86400000 } " + steps);
  interval.Record("go", kT0);
  fx = interval.Record("go", kT0 + kDay - 1);
  EXPECT_EQ(interval.enrollment->enrollment_number(), 1u);
  EXPECT_THAT(fx.stats, ElementsAre(Pair("not_enrolled:reenrollment", 1)));
  interval.Record("go", kT0 + kDay);
  EXPECT_EQ(interval.enrollment->enrollment_number(), 2u);
  EXPECT_EQ(interval.enrollment->status(), Status::EXITED);
}

// ---------------------------------------------------------------- governance

TEST(FlowEngineGovernance, FrequencyCapDefersToTheRetryTime) {
  v1::NurtureGovernance g = ParseText<v1::NurtureGovernance>(
      R"pb(id: "g" version: 1 caps { channel: "email" sends_max: 1 window_ms: 604800000 })pb");
  Harness h(kEventFlow, &g);
  v1::SendRecord* earlier = h.lead.mutable_nurture()->add_sends();  // another flow, a day ago
  earlier->set_channel("email");
  earlier->set_log_time_ms(kT0 - kDay);
  FlowEffects fx = h.Record("Form Submitted", kT0);
  EXPECT_TRUE(fx.actions.empty());
  EXPECT_EQ(h.enrollment->current_step(), "send1");
  EXPECT_EQ(fx.stats["deferred"], 1);
  EXPECT_EQ(fx.stats["sent"], 0);
  const int64_t retry = h.enrollment->timer_due_ms();
  EXPECT_GT(retry, kT0);
  EXPECT_LE(retry, kT0 + 6 * kDay + 1);
  EXPECT_EQ(fx.schedule_timer_ms, retry);
  EXPECT_THAT(h.LastJourney(), HasSubstr("deferred send: "));
  EXPECT_THAT(h.LastJourney(), HasSubstr("frequency cap"));
  // At the retry time the send goes out and the flow moves on.
  fx = h.Timer();
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "wp-1");
  EXPECT_EQ(h.enrollment->current_step(), "wait1");
  EXPECT_EQ(fx.stats.count("step:send1"), 0u);  // retried, not entered again
}

TEST(FlowEngineGovernance, QuietHoursDeferToTheirEndInTheLeadsZone) {
  v1::NurtureGovernance g = ParseText<v1::NurtureGovernance>(
      R"pb(id: "g" version: 1 quiet_hours { start: "21:00" end: "08:00" default_time_zone: "UTC" })pb");
  Harness h(kEventFlow, &g);
  h.lead.set_time_zone("Europe/Berlin");
  // 21:30 UTC = 22:30 in Berlin (winter, UTC+1): quiet until 08:00 Berlin = 07:00 UTC.
  FlowEffects fx = h.Record("Form Submitted", Utc(2026, 1, 5, 21, 30));
  EXPECT_TRUE(fx.actions.empty());
  EXPECT_EQ(h.enrollment->timer_due_ms(), Utc(2026, 1, 6, 7));
  EXPECT_THAT(h.LastJourney(), HasSubstr("quiet hours"));
  fx = h.Timer();
  EXPECT_EQ(fx.actions.size(), 1u);
}

TEST(FlowEngineSend, ContentIsNeverSentTwiceAcrossFlows) {
  const std::string second_flow = R"pb(
    id: "second" version: 1 triggers { event { call: "track" event: "Form Submitted" } }
    steps { id: "again" next: "other" send { content_id: "wp-1" channel: "email" } }
    steps { id: "other" send { content_id: "wp-9" channel: "email" } }
  )pb";
  Harness first(kEventFlow);
  first.Record("Form Submitted", kT0);
  Harness second(second_flow);
  second.lead = first.lead;  // the same lead: shared nurture state
  FlowEffects fx = second.Record("Form Submitted", kT0 + kMinute);
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "wp-9");
  EXPECT_EQ(fx.stats["skipped_sent"], 1);
  EXPECT_TRUE(second.JourneyHas("skipped: content wp-1 already sent"));
}

// ---------------------------------------------------------------- streams

std::string StreamFlow(uint32_t version, const std::string& pieces,
                       const std::string& migration = "") {
  return "id: \"edu\" version: " + std::to_string(version) + R"pb(
    triggers { event { call: "track" event: "go" } }
    steps { id: "basics" stream { stream_id: "basics" } }
    steps { id: "advanced" stream { stream_id: "advanced" } }
    streams { id: "basics" cadence_ms: 604800000 )pb" + pieces + R"pb(
              transitions { when { score_min: 80 } to_step: "advanced" } }
    streams { id: "advanced" cadence_ms: 86400000 content { content_id: "adv-1" channel: "email" } }
  )pb" + migration;
}

const char kTwoPieces[] = R"pb(content { content_id: "b-1" channel: "email" }
                               content { content_id: "b-2" channel: "email" })pb";

TEST(FlowEngineStream, CadenceThenExhaustedThenTransition) {
  Harness h(StreamFlow(1, kTwoPieces));
  FlowEffects fx = h.Record("go", kT0);
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "b-1");
  EXPECT_EQ(fx.actions[0].send_content().stream_id(), "basics");
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + 7 * kDay);
  EXPECT_EQ(h.enrollment->stream_position(), 1u);

  fx = h.Timer();
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "b-2");
  fx = h.Timer();
  EXPECT_TRUE(fx.actions.empty());
  EXPECT_TRUE(h.enrollment->exhausted());
  EXPECT_EQ(h.enrollment->status(), Status::ACTIVE);
  EXPECT_TRUE(h.enrollment->timer_id().empty());
  EXPECT_EQ(fx.stats["exhausted"], 1);
  EXPECT_THAT(h.LastJourney(), HasSubstr("exhausted"));

  // A record that changes nothing leaves it waiting, without noise.
  const int journey = h.enrollment->journey_size();
  fx = h.Record("x", kT0 + 20 * kDay);
  EXPECT_EQ(h.enrollment->journey_size(), journey);
  EXPECT_TRUE(fx.stats.empty());
  // The transition rule holds after a record: on to the advanced stream.
  fx = h.Record("x", kT0 + 21 * kDay,
                [](v1::LeadState* l) { l->mutable_score()->set_score_milli(90'000); });
  EXPECT_EQ(h.enrollment->current_step(), "advanced");
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "adv-1");
  EXPECT_TRUE(h.JourneyHas("stream basics: transitions[0] holds ("));
}

TEST(FlowEngineStream, TransitionIsCheckedBeforeEachSend) {
  Harness h(StreamFlow(1, kTwoPieces));
  h.Record("go", kT0);
  h.lead.mutable_score()->set_score_milli(85'000);
  FlowEffects fx = h.Timer();
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "adv-1");
  EXPECT_EQ(fx.stats["step:advanced"], 1);
}

TEST(FlowEngineStream, ExhaustedLeadResumesWhenAVersionAddsContent) {
  Harness h(StreamFlow(1, kTwoPieces));
  h.Record("go", kT0);
  h.Timer();
  h.Timer();
  ASSERT_TRUE(h.enrollment->exhausted());
  auto v2 = FlowEngine::Create(ParseText<v1::NurtureFlow>(StreamFlow(
      2, std::string(kTwoPieces) + R"pb( content { content_id: "b-3" channel: "email" })pb",
      "migration { mode: MAP_STEPS }")));
  ASSERT_OK(v2.status());
  v1::LogRecord def = Track(50, kT0 + 30 * kDay, "definition");
  FlowEffects fx;
  ASSERT_OK((*v2)->Migrate(h.Ctx(&def, kT0 + 30 * kDay), h.engine->flow(), &h.lead,
                           &*h.enrollment, &fx));
  EXPECT_EQ(h.enrollment->flow_version(), 2u);
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "b-3");
  EXPECT_FALSE(h.enrollment->exhausted());
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + 37 * kDay);
  EXPECT_TRUE(h.JourneyHas("migrated from v1 step basics to basics"));
}

// ---------------------------------------------------------------- migration

constexpr char kV1[] = R"pb(
  id: "m" version: 1 triggers { event { call: "track" event: "go" } }
  steps { id: "w1" next: "s1" wait { duration_ms: 86400000 } }
  steps { id: "s1" send { content_id: "old" channel: "email" } }
)pb";

TEST(FlowEngineMigrate, MapStepsKeepsThePendingWait) {
  Harness h(kV1);
  h.Record("go", kT0);
  auto v2 = FlowEngine::Create(ParseText<v1::NurtureFlow>(R"pb(
    id: "m" version: 2 triggers { event { call: "track" event: "go" } }
    steps { id: "pause" next: "s2" wait { duration_ms: 172800000 } }
    steps { id: "s2" send { content_id: "new" channel: "email" } }
    migration { mode: MAP_STEPS step_map { key: "w1" value: "pause" } }
  )pb"));
  ASSERT_OK(v2.status());
  FlowEffects fx;
  ASSERT_OK((*v2)->Migrate(h.Ctx(&h.record, kT0 + kHour), h.engine->flow(), &h.lead,
                           &*h.enrollment, &fx));
  EXPECT_EQ(h.enrollment->current_step(), "pause");
  EXPECT_EQ(h.enrollment->flow_version(), 2u);
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + kDay);  // the old timer stays
  EXPECT_FALSE(fx.cancel_timer);
  EXPECT_FALSE(fx.schedule_timer_ms.has_value());
  EXPECT_EQ(h.LastJourney(), "migrated from v1 step w1 to pause");
  // From now on the new engine runs it.
  h.engine = *std::move(v2);
  fx = h.Timer();
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().content_id(), "new");
}

TEST(FlowEngineMigrate, MapStepsToANonWaitStepRunsItNow) {
  Harness h(kV1);
  h.Record("go", kT0);
  auto v2 = FlowEngine::Create(ParseText<v1::NurtureFlow>(R"pb(
    id: "m" version: 2 triggers { event { call: "track" event: "go" } }
    steps { id: "s2" send { content_id: "new" channel: "email" } }
    migration { mode: MAP_STEPS step_map { key: "w1" value: "s2" } }
  )pb"));
  ASSERT_OK(v2.status());
  FlowEffects fx;
  ASSERT_OK((*v2)->Migrate(h.Ctx(&h.record, kT0 + kHour), h.engine->flow(), &h.lead,
                           &*h.enrollment, &fx));
  EXPECT_TRUE(fx.cancel_timer);
  ASSERT_EQ(fx.actions.size(), 1u);
  EXPECT_EQ(fx.actions[0].send_content().origin().flow_version(), 2u);
  EXPECT_EQ(h.enrollment->status(), Status::COMPLETED);
}

TEST(FlowEngineMigrate, UnmappedStepExitsAndFinishOnOldLeavesIt) {
  Harness h(kV1);
  h.Record("go", kT0);
  const std::string v2_steps = R"pb(
    id: "m" version: 2 triggers { event { call: "track" event: "go" } }
    steps { id: "other" wait { duration_ms: 3600000 } }
  )pb";
  auto finish = FlowEngine::Create(ParseText<v1::NurtureFlow>(v2_steps));
  ASSERT_OK(finish.status());
  FlowEffects fx;
  ASSERT_OK((*finish)->Migrate(h.Ctx(&h.record, kT0), h.engine->flow(), &h.lead, &*h.enrollment, &fx));
  EXPECT_EQ(h.enrollment->flow_version(), 1u);
  EXPECT_EQ(h.enrollment->current_step(), "w1");
  EXPECT_TRUE(fx.stats.empty());

  auto map = FlowEngine::Create(
      ParseText<v1::NurtureFlow>(v2_steps + "migration { mode: MAP_STEPS }"));
  ASSERT_OK(map.status());
  ASSERT_OK((*map)->Migrate(h.Ctx(&h.record, kT0), h.engine->flow(), &h.lead, &*h.enrollment, &fx));
  EXPECT_EQ(h.enrollment->status(), Status::EXITED);
  EXPECT_EQ(h.enrollment->exit_reason(), "migration");
  EXPECT_TRUE(fx.cancel_timer);
  EXPECT_THAT(h.LastJourney(), HasSubstr("step w1 of v1 has no counterpart in v2"));
}

// ---------------------------------------------------------------- bounds and errors

TEST(FlowEngineBounds, JourneyKeepsTheNewestEntries) {
  std::string pieces;
  for (int i = 0; i < 80; ++i) {
    pieces += "content { content_id: \"p" + std::to_string(i) + "\" channel: \"email\" } ";
  }
  Harness h(R"pb(id: "j" version: 1 triggers { event { call: "track" event: "go" } }
                 steps { id: "s" stream { stream_id: "s" } }
                 streams { id: "s" cadence_ms: 60000 )pb" + pieces + "}");
  h.Record("go", kT0);
  for (int i = 1; i < 80; ++i) h.Timer();
  // 1 enrollment + 80 x (sent, next piece) = 161 entries.
  EXPECT_EQ(h.enrollment->journey_size(), kFlowJourneyMax);
  EXPECT_EQ(h.enrollment->journey_dropped(), 161u - kFlowJourneyMax);
  EXPECT_EQ(h.LastJourney().substr(0, 20), "stream s: next piece");
}

TEST(FlowEngineBounds, RunParksAfterTheStepLimit) {
  // Two streams whose transitions point at each other and both hold:
  // validation allows it (streams pause), the run limit stops it.
  Harness h(R"pb(id: "p" version: 1 triggers { event { call: "track" event: "go" } }
                 steps { id: "a" stream { stream_id: "a" } }
                 steps { id: "b" stream { stream_id: "b" } }
                 streams { id: "a" cadence_ms: 60000 content { content_id: "x" channel: "email" }
                           transitions { when { score_min: 1 } to_step: "b" } }
                 streams { id: "b" cadence_ms: 60000 content { content_id: "y" channel: "email" }
                           transitions { when { score_min: 1 } to_step: "a" } })pb");
  h.lead.mutable_score()->set_score_milli(5'000);
  FlowEffects fx = h.Record("go", kT0);
  EXPECT_EQ(fx.stats["parked"], 1);
  EXPECT_EQ(fx.stats["step:a"] + fx.stats["step:b"], kFlowStepsPerRunMax + 1);
  EXPECT_EQ(h.enrollment->timer_due_ms(), kT0 + kFlowParkDelayMs);
  EXPECT_EQ(h.enrollment->status(), Status::ACTIVE);
  EXPECT_THAT(h.LastJourney(), HasSubstr("parked: 256 steps ran in one call"));
}

TEST(FlowEngineErrors, CallerMistakesAreReported) {
  Harness h(kEventFlow);
  FlowEffects fx;
  FlowContext no_record = h.Ctx(nullptr, kT0);
  EXPECT_THAT(h.engine->OnRecord(no_record, h.lead, &h.lead, &h.enrollment, &fx),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("OnRecord without a record")));
  h.Record("Form Submitted", kT0);
  h.enrollment->set_flow_version(7);
  v1::LeadState before = h.lead;
  EXPECT_THAT(h.engine->OnRecord(h.Ctx(&h.record, kT0), before, &h.lead, &h.enrollment, &fx),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("enrollment of flow welcome v7 given to the engine of flow welcome v1")));
  EXPECT_THAT(FlowEngine::Create(v1::NurtureFlow()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("id: ")));
}

}  // namespace
}  // namespace leadlog
