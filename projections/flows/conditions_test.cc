#include "projections/flows/conditions.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

template <typename T>
T Parse(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

// Unix ms of a UTC civil time.
int64_t Utc(int y, int mo, int d, int h, int mi) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, 0), absl::UTCTimeZone()));
}

v1::LogRecord Track(const std::string& name, const std::string& properties = "") {
  return Parse<v1::LogRecord>(absl::StrCat(R"(sequence: 7 log_time_ms: 1000
      event { event_id: "e1" type: CALL_TYPE_TRACK name: ")",
                                           name, R"(" )", properties, " }"));
}

// ---------------------------------------------------------------- score, events

TEST(EffectiveScore, AddsFlowAdjustmentToBehaviourScore) {
  const auto lead =
      Parse<v1::LeadState>("score { score_milli: 41500 } score_adjustment_milli: 500");
  EXPECT_DOUBLE_EQ(EffectiveScore(lead), 42.0);
  EXPECT_DOUBLE_EQ(EffectiveScore(Parse<v1::LeadState>("score_adjustment_milli: -1250")), -1.25);
}

TEST(MatchesEvent, MatchesCallNameAndPredicates) {
  const auto match = Parse<v1::EventMatch>(R"(call: "track" event: "Form Submitted"
      where { field: "properties.form" op: "equals" value { string_value: "demo" } })");
  const std::string demo =
      R"(properties { fields { key: "form" value { string_value: "demo" } } })";
  const std::string other =
      R"(properties { fields { key: "form" value { string_value: "trial" } } })";
  EXPECT_TRUE(MatchesEvent(match, Track("Form Submitted", demo)));
  EXPECT_FALSE(MatchesEvent(match, Track("Form Submitted", other)));
  EXPECT_FALSE(MatchesEvent(match, Track("Form Submitted")));  // property absent
  EXPECT_FALSE(MatchesEvent(match, Track("Form Viewed", demo)));
  v1::LogRecord page = Track("Form Submitted", demo);
  page.mutable_event()->set_type(v1::CALL_TYPE_PAGE);
  EXPECT_FALSE(MatchesEvent(match, page));
}

TEST(MatchesEvent, EmptyEventNameMatchesAnyNameOfTheCall) {
  const auto match = Parse<v1::EventMatch>(R"(call: "page")");
  v1::LogRecord page = Track("Pricing");
  page.mutable_event()->set_type(v1::CALL_TYPE_PAGE);
  EXPECT_TRUE(MatchesEvent(match, page));
  page.mutable_event()->set_name("");
  EXPECT_TRUE(MatchesEvent(match, page));
  EXPECT_FALSE(MatchesEvent(match, Track("Pricing")));
}

TEST(MatchesEvent, EveryCallNameMapsToItsCallType) {
  const std::pair<const char*, v1::CallType> calls[] = {{"track", v1::CALL_TYPE_TRACK},
                                                        {"page", v1::CALL_TYPE_PAGE},
                                                        {"identify", v1::CALL_TYPE_IDENTIFY},
                                                        {"group", v1::CALL_TYPE_GROUP},
                                                        {"alias", v1::CALL_TYPE_ALIAS}};
  for (const auto& [name, type] : calls) {
    v1::EventMatch match;
    match.set_call(name);
    v1::LogRecord record;
    record.mutable_event()->set_type(type);
    EXPECT_TRUE(MatchesEvent(match, record)) << name;
    record.mutable_event()->set_type(type == v1::CALL_TYPE_TRACK ? v1::CALL_TYPE_PAGE
                                                                 : v1::CALL_TYPE_TRACK);
    EXPECT_FALSE(MatchesEvent(match, record)) << name;
  }
}

TEST(MatchesEvent, IdentifyTraitsPredicate) {
  const auto match = Parse<v1::EventMatch>(R"(call: "identify"
      where { field: "traits.plan" op: "equals" value { string_value: "PRO" } ignore_case: true })");
  const auto record = Parse<v1::LogRecord>(R"(event { type: CALL_TYPE_IDENTIFY user_id: "u1"
      traits { fields { key: "plan" value { string_value: "pro" } } } })");
  EXPECT_TRUE(MatchesEvent(match, record));
}

TEST(MatchesEvent, TicksAndDefinitionsNeverMatch) {
  const auto match = Parse<v1::EventMatch>(R"(call: "track")");
  EXPECT_FALSE(MatchesEvent(match, Parse<v1::LogRecord>("clock_tick {}")));
  EXPECT_FALSE(MatchesEvent(match, Parse<v1::LogRecord>("event { type: CALL_TYPE_DEFINITION }")));
}

// ---------------------------------------------------------------- conditions

v1::LeadState ScoredLead() {
  return Parse<v1::LeadState>(R"(
      lead_key: "a:anon1"
      traits { name: "company" value { struct_value { fields { key: "size" value { number_value: 1200 } } } } }
      traits { name: "country" value { string_value: "DE" } }
      score { score_milli: 30000 grade { grade: "B" } }
      score_adjustment_milli: 12000
      lifecycle { current_stage: "known" })");
}

bool Eval(const std::string& condition, const v1::LeadState& lead, std::string* why,
          int64_t now_ms = 0) {
  return EvaluateCondition(Parse<v1::LeadCondition>(condition), lead, now_ms, why);
}

TEST(EvaluateCondition, EmptyConditionHolds) {
  std::string why;
  EXPECT_TRUE(Eval("", ScoredLead(), &why));
  EXPECT_EQ(why, "empty condition holds");
  EXPECT_TRUE(Eval("", ScoredLead(), nullptr));
}

TEST(EvaluateCondition, WhyListsEveryPartThatHeld) {
  std::string why;
  EXPECT_TRUE(
      Eval(R"(score_min: 40 grade_min: "C" stages: "known" stages: "mql")", ScoredLead(), &why));
  EXPECT_EQ(why, "score 42.000 >= 40 holds; grade B >= C holds; stage known in [known, mql] holds");
}

TEST(EvaluateCondition, TraitsPredicatesReadProfileTraits) {
  std::string why;
  EXPECT_TRUE(
      Eval(R"(traits { field: "traits.company.size" op: "gte" value { number_value: 1000 } })",
           ScoredLead(), &why));
  EXPECT_EQ(why, "traits[0] traits.company.size gte 1000 holds");
  EXPECT_FALSE(Eval(R"(traits { field: "traits.company.size" op: "exists" }
                       traits { field: "traits.country" op: "equals" value { string_value: "FR" } })",
                    ScoredLead(), &why));
  EXPECT_EQ(why, "traits[1] traits.country equals \"FR\" fails");
  EXPECT_FALSE(Eval(R"(traits { field: "traits.missing" op: "exists" })", ScoredLead(), &why));
  EXPECT_EQ(why, "traits[0] traits.missing exists fails");
  // A nested path below a non-struct trait is absent.
  EXPECT_FALSE(Eval(R"(traits { field: "traits.country.code" op: "exists" })", ScoredLead(), &why));
}

TEST(EvaluateCondition, ScoreMinIsInclusiveAndMaxExclusiveOnEffectiveScore) {
  std::string why;
  EXPECT_TRUE(Eval("score_min: 42", ScoredLead(), &why));
  EXPECT_EQ(why, "score 42.000 >= 42 holds");
  EXPECT_FALSE(Eval("score_min: 42.5", ScoredLead(), &why));
  EXPECT_EQ(why, "score 42.000 < 42.5 (score_min)");
  EXPECT_TRUE(Eval("score_max: 42.001", ScoredLead(), &why));
  EXPECT_EQ(why, "score 42.000 < 42.001 holds");
  EXPECT_FALSE(Eval("score_min: 10 score_max: 42", ScoredLead(), &why));
  EXPECT_EQ(why, "score 42.000 >= 42 (score_max)");
  v1::LeadState low = ScoredLead();
  low.set_score_adjustment_milli(-18000);
  EXPECT_FALSE(Eval("score_min: 40", low, &why));
  EXPECT_EQ(why, "score 12.000 < 40 (score_min)");
}

TEST(EvaluateCondition, GradeMinTreatsABestAndUngradedAsFailing) {
  std::string why;
  EXPECT_TRUE(Eval(R"(grade_min: "B")", ScoredLead(), &why));
  EXPECT_EQ(why, "grade B >= B holds");
  EXPECT_FALSE(Eval(R"(grade_min: "A")", ScoredLead(), &why));
  EXPECT_EQ(why, "grade B < A (grade_min)");
  v1::LeadState ungraded = ScoredLead();
  ungraded.mutable_score()->clear_grade();
  EXPECT_FALSE(Eval(R"(grade_min: "F")", ungraded, &why));
  EXPECT_EQ(why, "no grade < F (grade_min)");
}

TEST(EvaluateCondition, StagesAndNotStages) {
  std::string why;
  EXPECT_FALSE(Eval(R"(stages: "mql" stages: "sal")", ScoredLead(), &why));
  EXPECT_EQ(why, "stage known not in [mql, sal] (stages)");
  EXPECT_TRUE(Eval(R"(not_stages: "customer")", ScoredLead(), &why));
  EXPECT_EQ(why, "stage known not in [customer] holds");
  EXPECT_FALSE(Eval(R"(not_stages: "customer" not_stages: "known")", ScoredLead(), &why));
  EXPECT_EQ(why, "stage known in [customer, known] (not_stages)");
  v1::LeadState fresh = ScoredLead();
  fresh.mutable_lifecycle()->clear_current_stage();
  EXPECT_FALSE(Eval(R"(stages: "known")", fresh, &why));
  EXPECT_EQ(why, "stage (none) not in [known] (stages)");
}

v1::LeadState LeadWithRecentEvents() {
  v1::LeadState lead = ScoredLead();
  *lead.mutable_nurture() = Parse<v1::NurtureLeadState>(R"(
      recent_events { call: "track" name: "Form Submitted" log_time_ms: 100000 sequence: 1 }
      recent_events { call: "page" name: "Pricing" log_time_ms: 200000 sequence: 2 }
      recent_events { call: "track" name: "Form Submitted" log_time_ms: 300000 sequence: 3 }
      recent_events { call: "track" name: "Webinar Joined" log_time_ms: 400000 sequence: 4 })");
  return lead;
}

TEST(EvaluateCondition, EventWindowsCountRecentEventsInsideTheWindow) {
  const v1::LeadState lead = LeadWithRecentEvents();
  std::string why;
  const std::string two_forms =
      R"(events { match { call: "track" event: "Form Submitted" } window_ms: 300000 count_min: 2 })";
  // Window (100000, 400000]: the form at 100000 is just outside.
  EXPECT_FALSE(Eval(two_forms, lead, &why, 400000));
  EXPECT_EQ(why, "events[0]: 1 track \"Form Submitted\" in 300000 ms < 2 (count_min)");
  EXPECT_TRUE(Eval(two_forms, lead, &why, 399999));
  EXPECT_EQ(why, "events[0]: 2 track \"Form Submitted\" in 300000 ms >= 2 holds");
  // count_min 0 means 1; "" matches any name of the call.
  EXPECT_TRUE(Eval(R"(events { match { call: "page" } window_ms: 300000 })", lead, &why, 400000));
  EXPECT_EQ(why, "events[0]: 1 page (any name) in 300000 ms >= 1 holds");
  EXPECT_FALSE(
      Eval(R"(events { match { call: "identify" } window_ms: 300000 })", lead, &why, 400000));
  EXPECT_EQ(why, "events[0]: 0 identify (any name) in 300000 ms < 1 (count_min)");
  // Events after `now` are not in the window.
  EXPECT_FALSE(
      Eval(R"(events { match { call: "track" event: "Webinar Joined" } window_ms: 60000 })", lead,
           &why, 350000));
}

TEST(EvaluateCondition, FirstFailingPartIsReported) {
  std::string why;
  EXPECT_FALSE(Eval(R"(score_min: 40 grade_min: "A" stages: "sal")", ScoredLead(), &why));
  EXPECT_EQ(why, "grade B < A (grade_min)");
}

// ---------------------------------------------------------------- suppression

v1::LifecycleModel Model() {
  return Parse<v1::LifecycleModel>(R"(
      stages { id: "known" kind: STAGE_KIND_FUNNEL }
      stages { id: "customer" kind: STAGE_KIND_FUNNEL }
      stages { id: "junk" kind: STAGE_KIND_DISQUALIFIED })");
}

v1::LeadState WithTrait(v1::LeadState lead, const std::string& name, const std::string& value) {
  v1::ProfileTrait* t = lead.add_traits();
  t->set_name(name);
  *t->mutable_value() = Parse<google::protobuf::Value>(value);
  return lead;
}

TEST(SuppressionReason, UnsubscribedTraitBoolOrString) {
  const auto s = Parse<v1::Suppression>("unsubscribed: true");
  EXPECT_EQ(
      SuppressionReason(s, WithTrait(ScoredLead(), "unsubscribed", "bool_value: true"), nullptr),
      "unsubscribed");
  EXPECT_EQ(SuppressionReason(s, WithTrait(ScoredLead(), "unsubscribed", R"(string_value: "true")"),
                              nullptr),
            "unsubscribed");
  EXPECT_EQ(
      SuppressionReason(s, WithTrait(ScoredLead(), "unsubscribed", "bool_value: false"), nullptr),
      std::nullopt);
  EXPECT_EQ(SuppressionReason(s, ScoredLead(), nullptr), std::nullopt);
  EXPECT_EQ(SuppressionReason(v1::Suppression(),
                              WithTrait(ScoredLead(), "unsubscribed", "bool_value: true"), nullptr),
            std::nullopt);
}

TEST(SuppressionReason, DisqualifiedNeedsTheModelsStageKind) {
  const auto s = Parse<v1::Suppression>("disqualified: true");
  v1::LeadState lead = ScoredLead();
  lead.mutable_lifecycle()->set_current_stage("junk");
  const v1::LifecycleModel model = Model();
  EXPECT_EQ(SuppressionReason(s, lead, &model), "disqualified");
  EXPECT_EQ(SuppressionReason(s, lead, nullptr), std::nullopt);
  lead.mutable_lifecycle()->set_current_stage("customer");
  EXPECT_EQ(SuppressionReason(s, lead, &model), std::nullopt);
}

TEST(SuppressionReason, ListedStages) {
  const auto s = Parse<v1::Suppression>(R"(stages: "customer" stages: "known")");
  EXPECT_EQ(SuppressionReason(s, ScoredLead(), nullptr), "stage known");
  v1::LeadState lead = ScoredLead();
  lead.mutable_lifecycle()->set_current_stage("mql");
  EXPECT_EQ(SuppressionReason(s, lead, nullptr), std::nullopt);
}

TEST(SuppressionReason, EmailDomainIsCaseInsensitive) {
  const auto s = Parse<v1::Suppression>(R"(email_domains: "competitor.example")");
  EXPECT_EQ(SuppressionReason(
                s, WithTrait(ScoredLead(), "email", R"(string_value: "Jane@Competitor.EXAMPLE")"),
                nullptr),
            "email domain competitor.example");
  EXPECT_EQ(
      SuppressionReason(
          s, WithTrait(ScoredLead(), "email", R"(string_value: "jane@other.example")"), nullptr),
      std::nullopt);
  EXPECT_EQ(
      SuppressionReason(
          s, WithTrait(ScoredLead(), "email", R"(string_value: "competitor.example")"), nullptr),
      std::nullopt);
  EXPECT_EQ(SuppressionReason(s, ScoredLead(), nullptr), std::nullopt);
}

TEST(SuppressionReason, ExplicitListMatchesKeyUserIdOrIdentifier) {
  v1::LeadState lead = ScoredLead();
  lead.set_user_id("user-9");
  lead.add_identifiers("a:anon1");
  lead.add_identifiers("a:anon2");
  lead.add_identifiers("u:user-9");
  for (const char* entry : {"a:anon1", "user-9", "anon2", "u:user-9"}) {
    v1::Suppression s;
    s.add_leads("someone-else");
    s.add_leads(entry);
    EXPECT_EQ(SuppressionReason(s, lead, nullptr), "listed") << entry;
  }
  v1::Suppression s;
  s.add_leads("anon3");
  s.add_leads("");
  EXPECT_EQ(SuppressionReason(s, lead, nullptr), std::nullopt);
}

TEST(SuppressionReason, UnsubscribedIsReportedBeforeStage) {
  const auto s = Parse<v1::Suppression>(R"(unsubscribed: true stages: "known")");
  EXPECT_EQ(
      SuppressionReason(s, WithTrait(ScoredLead(), "unsubscribed", "bool_value: true"), nullptr),
      "unsubscribed");
}

// ---------------------------------------------------------------- validation

absl::Status MatchStatus(const std::string& text) {
  return ValidateEventMatch(Parse<v1::EventMatch>(text), "triggers[2].event");
}

TEST(ValidateEventMatch, AcceptsValidMatches) {
  EXPECT_OK(MatchStatus(R"(call: "track" event: "Form Submitted"
      where { field: "properties.form" op: "exists" })"));
  EXPECT_OK(MatchStatus(R"(call: "identify" where { field: "traits.plan" op: "exists" })"));
  EXPECT_OK(MatchStatus(R"(call: "page")"));
}

TEST(ValidateEventMatch, ErrorsNameTheField) {
  EXPECT_THAT(MatchStatus(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("triggers[2].event.call: required")));
  EXPECT_THAT(MatchStatus(R"(call: "click")"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("triggers[2].event.call: unknown call \"click\"")));
  EXPECT_THAT(MatchStatus(absl::StrCat(R"(call: "track" event: ")",
                                       std::string(kEventNameBytesMax + 1, 'x'), "\"")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("triggers[2].event.event: longer than 256 bytes")));
  EXPECT_THAT(MatchStatus(R"(call: "identify" event: "Signed Up")"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("triggers[2].event.event: identify calls have no name")));
  EXPECT_THAT(MatchStatus(R"(call: "track" where { field: "properties.x" op: "like" })"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "triggers[2].event.where[0].op: unknown operator \"like\""));
}

absl::Status ConditionStatus(const std::string& text, absl::string_view path = "goal") {
  return ValidateCondition(Parse<v1::LeadCondition>(text), path);
}

TEST(ValidateCondition, AcceptsEveryPart) {
  EXPECT_OK(ConditionStatus(""));
  EXPECT_OK(ConditionStatus(R"(traits { field: "traits.country" op: "exists" }
      score_min: 10 score_max: 20 grade_min: "F" stages: "known" not_stages: "customer"
      events { match { call: "track" event: "Form Submitted" } window_ms: 60000 count_min: 64 })"));
}

TEST(ValidateCondition, TraitsErrorsUseTheTraitsPath) {
  EXPECT_THAT(ConditionStatus(R"(traits { field: "properties.plan" op: "exists" })"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("goal.traits[0].field: unknown field \"properties.plan\"")));
  std::string many;
  for (int i = 0; i <= kScoringPredicatesPerRuleMax; ++i) {
    many += R"(traits { field: "traits.x" op: "exists" } )";
  }
  EXPECT_THAT(ConditionStatus(many),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("goal.traits: more than")));
}

TEST(ValidateCondition, ScoreBoundsAndGrade) {
  v1::LeadCondition c;
  c.set_score_min(std::nan(""));
  EXPECT_THAT(ValidateCondition(c, "goal"),
              StatusIs(absl::StatusCode::kInvalidArgument, "goal.score_min: must be finite"));
  c.Clear();
  c.set_score_max(std::numeric_limits<double>::infinity());
  EXPECT_THAT(ValidateCondition(c, "goal"),
              StatusIs(absl::StatusCode::kInvalidArgument, "goal.score_max: must be finite"));
  EXPECT_THAT(
      ConditionStatus("score_min: 40 score_max: 40"),
      StatusIs(absl::StatusCode::kInvalidArgument, "goal.score_max: 40 is not above score_min 40"));
  EXPECT_THAT(ConditionStatus(R"(grade_min: "G")"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "goal.grade_min: expected one of A..F, got \"G\""));
  EXPECT_THAT(ConditionStatus(R"(grade_min: "AB")"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("goal.grade_min")));
}

TEST(ValidateCondition, StageIds) {
  EXPECT_THAT(ConditionStatus(R"(stages: "known" stages: "Known")"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("goal.stages[1]: \"Known\" is not a stage id")));
  EXPECT_THAT(ConditionStatus(R"(not_stages: "")"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("goal.not_stages[0]:")));
  std::string many;
  for (int i = 0; i <= kLifecycleStagesMax; ++i) many += R"(stages: "s" )";
  EXPECT_THAT(ConditionStatus(many),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("goal.stages: more than")));
}

TEST(ValidateCondition, EventWindows) {
  EXPECT_THAT(ConditionStatus(R"(events { match { call: "track" } window_ms: 59999 })",
                              "steps[3].branch.cases[0].when"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("steps[3].branch.cases[0].when.events[0].window_ms: 59999 ms is "
                                 "outside [60000, 31622400000]")));
  EXPECT_THAT(ConditionStatus(absl::StrCat(R"(events { match { call: "track" } window_ms: )",
                                           kFlowWaitMsMax + 1, " }")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("goal.events[0].window_ms")));
  EXPECT_OK(ConditionStatus(
      absl::StrCat(R"(events { match { call: "track" } window_ms: )", kFlowWaitMsMax, " }")));
  EXPECT_THAT(ConditionStatus(R"(events { window_ms: 60000 })"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("goal.events[0].match.call: required")));
  EXPECT_THAT(
      ConditionStatus(R"(events { match { call: "track" } window_ms: 60000 }
                         events { match { call: "track" where { field: "properties.x" op: "exists" } }
                                  window_ms: 60000 })"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("goal.events[1].match.where: predicates cannot be evaluated on recent "
                         "events")));
  EXPECT_THAT(
      ConditionStatus(R"(events { match { call: "track" } window_ms: 60000 count_min: 65 })"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("goal.events[0].count_min: 65")));
  std::string many;
  for (int i = 0; i <= kFlowConditionEventWindowsMax; ++i) {
    many += R"(events { match { call: "track" } window_ms: 60000 } )";
  }
  EXPECT_THAT(ConditionStatus(many),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("goal.events: more than")));
}

TEST(ValidateCondition, EmptyPathNamesTheFieldAlone) {
  EXPECT_THAT(ConditionStatus(R"(grade_min: "Z")", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("grade_min: expected")));
  EXPECT_THAT(
      ConditionStatus(R"(traits { field: "traits.x" op: "like" })", ""),
      StatusIs(absl::StatusCode::kInvalidArgument, "traits[0].op: unknown operator \"like\""));
}

// ---------------------------------------------------------------- local time

TEST(ParseTimeOfDay, StrictTwoDigitHoursAndMinutes) {
  EXPECT_EQ(*ParseTimeOfDay("00:00"), 0);
  EXPECT_EQ(*ParseTimeOfDay("09:05"), 545);
  EXPECT_EQ(*ParseTimeOfDay("23:59"), 1439);
  for (const char* bad : {"24:00", "25:00", "9:00", "09:60", "09-00", "", "09:000", " 9:00",
                          "+9:00", "0900", "ab:cd"}) {
    EXPECT_THAT(ParseTimeOfDay(bad),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", bad, "\" is not HH:MM"))))
        << bad;
  }
}

TEST(ParseWeekday, LowerCaseEnglishNamesToIso) {
  EXPECT_EQ(*ParseWeekday(""), 0);
  EXPECT_EQ(*ParseWeekday("monday"), 1);
  EXPECT_EQ(*ParseWeekday("wednesday"), 3);
  EXPECT_EQ(*ParseWeekday("sunday"), 7);
  for (const char* bad : {"Monday", "mon", "funday", "monday "}) {
    EXPECT_THAT(ParseWeekday(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a weekday")))
        << bad;
  }
}

TEST(NextLocalTime, SpringForwardGapMapsToTheEndOfTheGap) {
  // Europe/Berlin 2026-03-29: 02:00 CET -> 03:00 CEST at 01:00 UTC; 02:30 never happens.
  EXPECT_EQ(*NextLocalTime(Utc(2026, 3, 28, 12, 0), 0, 150, "Europe/Berlin"),
            Utc(2026, 3, 29, 1, 0));
  // Strictly after: from the end of the gap the next 02:30 is the next day's (CEST).
  EXPECT_EQ(*NextLocalTime(Utc(2026, 3, 29, 1, 0), 0, 150, "Europe/Berlin"),
            Utc(2026, 3, 30, 0, 30));
  // Times around the gap are unaffected.
  EXPECT_EQ(*NextLocalTime(Utc(2026, 3, 28, 12, 0), 0, 90, "Europe/Berlin"),
            Utc(2026, 3, 29, 0, 30));
  EXPECT_EQ(*NextLocalTime(Utc(2026, 3, 28, 12, 0), 0, 210, "Europe/Berlin"),
            Utc(2026, 3, 29, 1, 30));
}

TEST(NextLocalTime, FallBackRepeatedTimeIsTheFirstOccurrenceOnce) {
  // Europe/Berlin 2026-10-25: 03:00 CEST -> 02:00 CET at 01:00 UTC; 02:30
  // happens at 00:30 UTC (CEST) and 01:30 UTC (CET).
  EXPECT_EQ(*NextLocalTime(Utc(2026, 10, 24, 12, 0), 0, 150, "Europe/Berlin"),
            Utc(2026, 10, 25, 0, 30));
  // Between the two occurrences: the day already had its 02:30.
  EXPECT_EQ(*NextLocalTime(Utc(2026, 10, 25, 0, 45), 0, 150, "Europe/Berlin"),
            Utc(2026, 10, 26, 1, 30));
}

TEST(NextLocalTime, ZonesDiffer) {
  const int64_t monday_utc_midnight = Utc(2026, 1, 5, 0, 0);  // 19:00 EST Sunday, 09:00 JST Monday
  EXPECT_EQ(*NextLocalTime(monday_utc_midnight, 0, 9 * 60, "America/New_York"),
            Utc(2026, 1, 5, 14, 0));
  // Tokyo's 09:00 is exactly `after`: strictly after means the next day.
  EXPECT_EQ(*NextLocalTime(monday_utc_midnight, 0, 9 * 60, "Asia/Tokyo"), Utc(2026, 1, 6, 0, 0));
  EXPECT_EQ(*NextLocalTime(monday_utc_midnight - 1, 0, 9 * 60, "Asia/Tokyo"), monday_utc_midnight);
  // The local date, not the UTC date, is where the search starts: 20:00 UTC
  // on the 5th is 05:00 on the 6th in Tokyo.
  EXPECT_EQ(*NextLocalTime(Utc(2026, 1, 5, 20, 0), 0, 6 * 60, "Asia/Tokyo"),
            Utc(2026, 1, 5, 21, 0));
  // Weekday is the local weekday: Monday 09:00 in Tokyo is Sunday 24:00 UTC.
  EXPECT_EQ(*NextLocalTime(Utc(2026, 1, 3, 0, 0), 1, 9 * 60, "Asia/Tokyo"), Utc(2026, 1, 5, 0, 0));
}

TEST(NextLocalTime, WeekdayWrapsOverAWeek) {
  const int64_t wednesday_noon = Utc(2026, 1, 7, 12, 0);
  EXPECT_EQ(*NextLocalTime(wednesday_noon, 1, 9 * 60, "UTC"), Utc(2026, 1, 12, 9, 0));  // monday
  EXPECT_EQ(*NextLocalTime(wednesday_noon, 3, 9 * 60, "UTC"),
            Utc(2026, 1, 14, 9, 0));  // passed today
  EXPECT_EQ(*NextLocalTime(wednesday_noon, 3, 13 * 60, "UTC"),
            Utc(2026, 1, 7, 13, 0));  // later today
  EXPECT_EQ(*NextLocalTime(wednesday_noon, 7, 10 * 60, "UTC"), Utc(2026, 1, 11, 10, 0));  // sunday
  EXPECT_EQ(*NextLocalTime(wednesday_noon, 0, 9 * 60, "UTC"), Utc(2026, 1, 8, 9, 0));     // any day
}

TEST(NextLocalTime, RejectsBadArguments) {
  EXPECT_THAT(NextLocalTime(0, 0, 0, "Mars/Olympus"),
              StatusIs(absl::StatusCode::kInvalidArgument, "unknown time zone \"Mars/Olympus\""));
  EXPECT_THAT(NextLocalTime(0, 0, 0, "../etc/passwd"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown time zone")));
  EXPECT_THAT(NextLocalTime(0, 0, 0, "localtime"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("localtime")));
  EXPECT_THAT(NextLocalTime(0, 0, 0, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("required")));
  EXPECT_THAT(NextLocalTime(0, 0, 0, std::string(kFlowTimeZoneBytesMax + 1, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("longer than")));
  EXPECT_THAT(NextLocalTime(0, 8, 0, "UTC"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weekday 8")));
  EXPECT_THAT(NextLocalTime(0, 0, 1440, "UTC"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("minute of day 1440")));
  EXPECT_THAT(NextLocalTime(-1, 0, 0, "UTC"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time -1")));
  EXPECT_OK(NextLocalTime(kFlowTimeMsMax, 0, 0, "UTC"));
  // A failed name stays failed (the cache remembers negative results too).
  EXPECT_THAT(NextLocalTime(0, 0, 0, "Mars/Olympus"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown")));
}

// ---------------------------------------------------------------- governance

absl::Status GovernanceStatus(const std::string& text) {
  return ValidateGovernance(Parse<v1::NurtureGovernance>(text));
}

TEST(ValidateGovernance, AcceptsCapsAndQuietHours) {
  EXPECT_OK(GovernanceStatus(""));
  EXPECT_OK(GovernanceStatus(R"(caps { channel: "email" sends_max: 3 window_ms: 604800000 }
      caps { channel: "" sends_max: 1000 window_ms: 60000 }
      quiet_hours { start: "21:00" end: "08:00" default_time_zone: "Europe/Berlin" })"));
  EXPECT_OK(GovernanceStatus(R"(quiet_hours { default_time_zone: "Asia/Tokyo" })"));
}

TEST(ValidateGovernance, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"(caps { channel: "email" sends_max: 0 window_ms: 60000 })",
       "caps[0].sends_max: must be >= 1"},
      {R"(caps { channel: "email" sends_max: 1001 window_ms: 60000 })",
       "caps[0].sends_max: 1001 is above 1000"},
      {R"(caps { sends_max: 1 window_ms: 60000 } caps { sends_max: 1 window_ms: 0 })",
       "caps[1].window_ms: 0 ms is outside [60000, 31622400000]"},
      {R"(caps { channel: "E-mail" sends_max: 1 window_ms: 60000 })",
       "caps[0].channel: \"E-mail\" is not [a-z_]"},
      {R"(quiet_hours { start: "21:00" })", "quiet_hours.end: required"},
      {R"(quiet_hours { end: "08:00" })", "quiet_hours.start: required"},
      {R"(quiet_hours { start: "25:00" end: "08:00" })",
       "quiet_hours.start: \"25:00\" is not HH:MM"},
      {R"(quiet_hours { start: "21:00" end: "8:00" })", "quiet_hours.end: \"8:00\" is not HH:MM"},
      {R"(quiet_hours { start: "21:00" end: "21:00" })", "quiet_hours.end: equals start"},
      {R"(quiet_hours { start: "21:00" end: "08:00" default_time_zone: "Mars/Base" })",
       "quiet_hours.default_time_zone: unknown time zone \"Mars/Base\""},
  };
  for (const auto& [text, error] : cases) {
    EXPECT_THAT(GovernanceStatus(text),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(error)))
        << text;
    EXPECT_THAT(SendGate::Create(Parse<v1::NurtureGovernance>(text)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(error)));
  }
  std::string many;
  for (int i = 0; i <= kFlowCapsMax; ++i) many += R"(caps { sends_max: 1 window_ms: 60000 } )";
  EXPECT_THAT(GovernanceStatus(many),
              StatusIs(absl::StatusCode::kResourceExhausted, "caps: more than 32 entries"));
}

// ---------------------------------------------------------------- send gate

std::unique_ptr<SendGate> Gate(const std::string& text) {
  absl::StatusOr<std::unique_ptr<SendGate>> gate =
      SendGate::Create(Parse<v1::NurtureGovernance>(text));
  EXPECT_OK(gate.status());
  return gate.ok() ? std::move(*gate) : nullptr;
}

const char kBerlinQuiet[] =
    R"(quiet_hours { start: "21:00" end: "08:00" default_time_zone: "Europe/Berlin" })";

TEST(SendGate, QuietHoursWrappingMidnight) {
  const auto gate = Gate(kBerlinQuiet);
  const v1::NurtureLeadState none;
  // January: Berlin is UTC+1. 22:00 local on the 5th.
  SendDecision d = gate->Check(none, "email", Utc(2026, 1, 5, 21, 0), "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 7, 0));  // 08:00 local on the 6th
  EXPECT_EQ(d.why, "quiet hours 21:00-08:00 Europe/Berlin");
  // 03:00 local, after midnight: same end.
  d = gate->Check(none, "email", Utc(2026, 1, 6, 2, 0), "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 7, 0));
  // The edges: 21:00 is inside, 08:00 is not, 07:59:59.999 is.
  EXPECT_FALSE(gate->Check(none, "email", Utc(2026, 1, 5, 20, 0), "").allowed);
  EXPECT_TRUE(gate->Check(none, "email", Utc(2026, 1, 5, 20, 0) - 1, "").allowed);
  EXPECT_TRUE(gate->Check(none, "email", Utc(2026, 1, 6, 7, 0), "").allowed);
  d = gate->Check(none, "email", Utc(2026, 1, 6, 7, 0) - 1, "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 7, 0));
  // Midday is outside.
  d = gate->Check(none, "email", Utc(2026, 1, 6, 11, 0), "");
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.why, "");
}

TEST(SendGate, QuietHoursWithinOneDay) {
  const auto gate = Gate(R"(quiet_hours { start: "12:00" end: "13:30" })");
  const v1::NurtureLeadState none;
  EXPECT_TRUE(gate->Check(none, "sms", Utc(2026, 1, 6, 11, 59), "").allowed);
  const SendDecision d = gate->Check(none, "sms", Utc(2026, 1, 6, 12, 0), "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 13, 30));
  EXPECT_EQ(d.why, "quiet hours 12:00-13:30 UTC");
  EXPECT_TRUE(gate->Check(none, "sms", Utc(2026, 1, 6, 13, 30), "").allowed);
  EXPECT_TRUE(gate->Check(none, "sms", Utc(2026, 1, 6, 23, 0), "").allowed);
}

TEST(SendGate, QuietHoursInTheLeadsZone) {
  const auto gate = Gate(kBerlinQuiet);
  const v1::NurtureLeadState none;
  // 12:00 UTC: 13:00 in Berlin (allowed), 07:00 in New York (quiet).
  const int64_t now = Utc(2026, 1, 6, 12, 0);
  EXPECT_TRUE(gate->Check(none, "email", now, "").allowed);
  const SendDecision d = gate->Check(none, "email", now, "America/New_York");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 13, 0));  // 08:00 EST
  EXPECT_EQ(d.why, "quiet hours 21:00-08:00 America/New_York");
  // An unknown lead zone falls back to the default.
  EXPECT_TRUE(gate->Check(none, "email", now, "Mars/Base").allowed);
  // No lead zone and no default: UTC.
  const auto utc_gate = Gate(R"(quiet_hours { start: "21:00" end: "08:00" })");
  EXPECT_FALSE(utc_gate->Check(none, "email", Utc(2026, 1, 6, 7, 0), "").allowed);
  EXPECT_TRUE(utc_gate->Check(none, "email", Utc(2026, 1, 6, 8, 0), "").allowed);
}

v1::NurtureLeadState Sends(const std::vector<std::pair<std::string, int64_t>>& sends) {
  v1::NurtureLeadState n;
  for (const auto& [channel, t] : sends) {
    v1::SendRecord* r = n.add_sends();
    r->set_channel(channel);
    r->set_log_time_ms(t);
  }
  return n;
}

TEST(SendGate, CapPerChannelWithExactRetry) {
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 2 window_ms: 86400000 })");
  const int64_t t0 = Utc(2026, 1, 5, 9, 0);
  const auto n = Sends({{"email", t0}, {"sms", t0 + kHourMs}, {"email", t0 + 2 * kHourMs}});
  SendDecision d = gate->Check(n, "email", t0 + 3 * kHourMs, "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.why, "frequency cap email 2 per 86400000 ms");
  // The send at t0 counts while t0 > now - window: it leaves at t0 + window.
  EXPECT_EQ(d.retry_at_ms, t0 + kDayMs);
  EXPECT_FALSE(gate->Check(n, "email", d.retry_at_ms - 1, "").allowed);
  EXPECT_TRUE(gate->Check(n, "email", d.retry_at_ms, "").allowed);
  // Other channels are not capped by an email cap.
  EXPECT_TRUE(gate->Check(n, "sms", t0 + 3 * kHourMs, "").allowed);
}

TEST(SendGate, CapAcrossChannels) {
  const auto gate = Gate(R"(caps { channel: "" sends_max: 3 window_ms: 86400000 })");
  const int64_t t0 = Utc(2026, 1, 5, 9, 0);
  const auto n = Sends({{"email", t0}, {"sms", t0 + kHourMs}, {"in_app", t0 + 2 * kHourMs}});
  for (const char* channel : {"email", "sms", "push"}) {
    const SendDecision d = gate->Check(n, channel, t0 + 3 * kHourMs, "");
    EXPECT_FALSE(d.allowed) << channel;
    EXPECT_EQ(d.why, "frequency cap all channels 3 per 86400000 ms");
    EXPECT_EQ(d.retry_at_ms, t0 + kDayMs);
  }
  EXPECT_TRUE(gate->Check(n, "email", t0 + kDayMs, "").allowed);
}

TEST(SendGate, OverfullCapWaitsUntilEnoughSendsLeave) {
  // Four sends under a cap of two (e.g. a lowered cap): the third oldest
  // must leave before the count drops below two.
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 2 window_ms: 86400000 })");
  const int64_t t0 = Utc(2026, 1, 5, 0, 0);
  const auto n = Sends({{"email", t0},
                        {"email", t0 + kHourMs},
                        {"email", t0 + 2 * kHourMs},
                        {"email", t0 + 3 * kHourMs}});
  const SendDecision d = gate->Check(n, "email", t0 + 4 * kHourMs, "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, t0 + 2 * kHourMs + kDayMs);
  EXPECT_FALSE(gate->Check(n, "email", d.retry_at_ms - 1, "").allowed);
  EXPECT_TRUE(gate->Check(n, "email", d.retry_at_ms, "").allowed);
}

TEST(SendGate, SeveralReasonsAreNamedAndTheLatestWins) {
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 1 window_ms: 86400000 }
                            caps { channel: "" sends_max: 5 window_ms: 604800000 }
                            quiet_hours { start: "21:00" end: "08:00" })");
  // 07:00 UTC: quiet until 08:00; the email cap clears at 10:00.
  const auto n = Sends({{"email", Utc(2026, 1, 4, 10, 0)}});
  SendDecision d = gate->Check(n, "email", Utc(2026, 1, 5, 7, 0), "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.why, "quiet hours 21:00-08:00 UTC; frequency cap email 1 per 86400000 ms");
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 5, 10, 0));
  EXPECT_TRUE(gate->Check(n, "email", d.retry_at_ms, "").allowed);
}

TEST(SendGate, RetryThatFallsIntoQuietHoursMovesToTheirEnd) {
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 1 window_ms: 86400000 }
                            quiet_hours { start: "21:00" end: "08:00" })");
  // The cap clears at 22:00, inside quiet hours: the first allowed instant
  // is 08:00 the next morning. Only the cap applies now.
  const auto n = Sends({{"email", Utc(2026, 1, 4, 22, 0)}});
  const SendDecision d = gate->Check(n, "email", Utc(2026, 1, 5, 20, 0), "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.why, "frequency cap email 1 per 86400000 ms");
  EXPECT_EQ(d.retry_at_ms, Utc(2026, 1, 6, 8, 0));
  EXPECT_TRUE(gate->Check(n, "email", d.retry_at_ms, "").allowed);
}

TEST(SendGate, RecordKeepsOnlySendsALongestWindowCanCount) {
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 3 window_ms: 86400000 }
                            caps { channel: "" sends_max: 10 window_ms: 604800000 })");
  const int64_t t0 = Utc(2026, 1, 1, 0, 0);
  v1::NurtureLeadState n;
  gate->Record(&n, "email", t0);
  gate->Record(&n, "sms", t0 + 3 * kDayMs);
  ASSERT_EQ(n.sends_size(), 2);
  EXPECT_EQ(n.sends(1).channel(), "sms");
  EXPECT_EQ(n.sends(1).log_time_ms(), t0 + 3 * kDayMs);
  // At t0 + 7 days the send at t0 no longer counts for any cap.
  gate->Record(&n, "email", t0 + 7 * kDayMs);
  ASSERT_EQ(n.sends_size(), 2);
  EXPECT_EQ(n.sends(0).log_time_ms(), t0 + 3 * kDayMs);
  EXPECT_EQ(n.sends(1).log_time_ms(), t0 + 7 * kDayMs);
}

TEST(SendGate, RecordIsBoundedBySendsMax) {
  const auto gate = Gate(R"(caps { channel: "" sends_max: 1000 window_ms: 31622400000 })");
  v1::NurtureLeadState n;
  for (int i = 0; i <= kNurtureSendsMax; ++i) gate->Record(&n, "email", 1000 + i);
  ASSERT_EQ(n.sends_size(), kNurtureSendsMax);
  EXPECT_EQ(n.sends(0).log_time_ms(), 1001);  // the oldest was dropped
  EXPECT_EQ(n.sends(kNurtureSendsMax - 1).log_time_ms(), 1000 + kNurtureSendsMax);
}

TEST(SendGate, RecordWithoutCapsKeepsNothing) {
  const auto gate = Gate(kBerlinQuiet);
  v1::NurtureLeadState n;
  gate->Record(&n, "email", 5000);
  EXPECT_EQ(n.sends_size(), 0);
}

TEST(SendGate, RecordThenCheckDefersTheNextSend) {
  const auto gate = Gate(R"(caps { channel: "email" sends_max: 1 window_ms: 3600000 })");
  v1::NurtureLeadState n;
  const int64_t t0 = Utc(2026, 1, 5, 9, 0);
  ASSERT_TRUE(gate->Check(n, "email", t0, "").allowed);
  gate->Record(&n, "email", t0);
  const SendDecision d = gate->Check(n, "email", t0 + 1, "");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_at_ms, t0 + kHourMs);
}

// ---------------------------------------------------------------- content

TEST(SentContent, SortedUniqueAndSearchable) {
  v1::NurtureLeadState n;
  for (const char* id : {"wp-3", "wp-1", "wp-2", "wp-1", ""}) RecordSentContent(&n, id);
  EXPECT_THAT(n.sent_content(), ::testing::ElementsAre("wp-1", "wp-2", "wp-3"));
  EXPECT_TRUE(WasSent(n, "wp-2"));
  EXPECT_FALSE(WasSent(n, "wp-4"));
  EXPECT_FALSE(WasSent(n, ""));
}

TEST(SentContent, FullListAddsNothingMore) {
  v1::NurtureLeadState n;
  for (int i = 0; i < kNurtureSentContentMax; ++i) {
    RecordSentContent(&n, absl::StrCat("c", 100000 + i));
  }
  ASSERT_EQ(n.sent_content_size(), kNurtureSentContentMax);
  RecordSentContent(&n, "a-first");
  RecordSentContent(&n, "z-last");
  EXPECT_EQ(n.sent_content_size(), kNurtureSentContentMax);
  EXPECT_FALSE(WasSent(n, "a-first"));
  EXPECT_FALSE(WasSent(n, "z-last"));
  EXPECT_TRUE(WasSent(n, "c100000"));
  EXPECT_TRUE(std::is_sorted(n.sent_content().begin(), n.sent_content().end()));
}

TEST(NextStreamContent, SkipsSentPiecesAndReportsExhaustion) {
  auto stream = Parse<v1::ContentStream>(R"(id: "s" content { content_id: "a" channel: "email" }
      content { content_id: "b" channel: "email" } content { content_id: "c" channel: "sms" })");
  v1::NurtureLeadState n;
  RecordSentContent(&n, "b");  // sent by another flow
  StreamPick pick = NextStreamContent(stream, n, 0);
  ASSERT_TRUE(pick.content.has_value());
  EXPECT_EQ(pick.content->content_id(), "a");
  EXPECT_EQ(pick.index, 0u);
  RecordSentContent(&n, "a");
  pick = NextStreamContent(stream, n, 1);
  ASSERT_TRUE(pick.content.has_value());
  EXPECT_EQ(pick.content->content_id(), "c");
  EXPECT_EQ(pick.content->channel(), "sms");
  EXPECT_EQ(pick.index, 2u);
  RecordSentContent(&n, "c");
  pick = NextStreamContent(stream, n, 3);
  EXPECT_FALSE(pick.content.has_value());
  EXPECT_EQ(pick.index, 3u);
  // Everything after position 0 was sent too.
  EXPECT_FALSE(NextStreamContent(stream, n, 0).content.has_value());
  EXPECT_EQ(NextStreamContent(stream, n, 0).index, 3u);
  // A new version appends content: the exhausted lead resumes there.
  stream.add_content()->set_content_id("d");
  pick = NextStreamContent(stream, n, 3);
  ASSERT_TRUE(pick.content.has_value());
  EXPECT_EQ(pick.content->content_id(), "d");
  EXPECT_EQ(pick.index, 3u);
  // A position past the end stays where it is.
  EXPECT_EQ(NextStreamContent(stream, n, 9).index, 9u);
}

// ---------------------------------------------------------------- recent events

TEST(RecordRecentEvent, KeepsEventsOnlyAndDropsTheOldest) {
  v1::NurtureLeadState n;
  RecordRecentEvent(Parse<v1::LogRecord>("sequence: 1 log_time_ms: 10 clock_tick {}"), &n);
  RecordRecentEvent(
      Parse<v1::LogRecord>("sequence: 2 log_time_ms: 20 event { type: CALL_TYPE_DEFINITION }"), &n);
  EXPECT_EQ(n.recent_events_size(), 0);
  RecordRecentEvent(
      Parse<v1::LogRecord>(
          R"(sequence: 3 log_time_ms: 30 event { type: CALL_TYPE_PAGE name: "Pricing" })"),
      &n);
  ASSERT_EQ(n.recent_events_size(), 1);
  EXPECT_EQ(n.recent_events(0).call(), "page");
  EXPECT_EQ(n.recent_events(0).name(), "Pricing");
  EXPECT_EQ(n.recent_events(0).log_time_ms(), 30);
  EXPECT_EQ(n.recent_events(0).sequence(), 3u);
  for (int i = 0; i < kNurtureRecentEventsMax + 5; ++i) {
    v1::LogRecord r = Track(absl::StrCat("E", i));
    r.set_sequence(100 + i);
    r.set_log_time_ms(1000 + i);
    RecordRecentEvent(r, &n);
  }
  ASSERT_EQ(n.recent_events_size(), kNurtureRecentEventsMax);
  EXPECT_EQ(n.recent_events(0).name(), "E5");
  EXPECT_EQ(n.recent_events(0).call(), "track");
  EXPECT_EQ(n.recent_events(kNurtureRecentEventsMax - 1).name(),
            absl::StrCat("E", kNurtureRecentEventsMax + 4));
}

TEST(RecordRecentEvent, FeedsEventWindows) {
  v1::LeadState lead;
  RecordRecentEvent(Track("Form Submitted"), lead.mutable_nurture());  // log time 1000
  std::string why;
  EXPECT_TRUE(EvaluateCondition(
      Parse<v1::LeadCondition>(
          R"(events { match { call: "track" event: "Form Submitted" } window_ms: 60000 })"),
      lead, 60999, &why));
  EXPECT_FALSE(EvaluateCondition(
      Parse<v1::LeadCondition>(
          R"(events { match { call: "track" event: "Form Submitted" } window_ms: 60000 })"),
      lead, 61000, &why));
}

}  // namespace
}  // namespace leadlog
