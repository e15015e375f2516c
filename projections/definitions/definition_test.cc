#include "projections/definitions/definition.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/lifecycle/lifecycle_model.h"
#include "projections/revenue/revenue_engine.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

std::string ReadExample(const std::string& name) {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

// Single quotes stand for double quotes.
std::string J(absl::string_view text) { return absl::StrReplaceAll(text, {{"'", "\""}}); }

constexpr char kRouting[] =
    "{'id':'r','version':3,'queues':[{'id':'q','owners':['o1']}],'default_queue':'q'}";

TEST(ParseDefinition, BareExampleModelsAreDetectedByTheirKeys) {
  auto scoring = ParseDefinition(ReadExample("scoring_model.json"));
  ASSERT_OK(scoring);
  EXPECT_EQ(DefinitionKind(*scoring), "scoring_model");
  EXPECT_EQ(DefinitionId(*scoring), "default_b2b");
  auto lifecycle = ParseDefinition(ReadExample("lifecycle_model.json"));
  ASSERT_OK(lifecycle);
  EXPECT_EQ(DefinitionKind(*lifecycle), "lifecycle_model");
  EXPECT_EQ(DefinitionEventId(*lifecycle), "definition:lifecycle_model:demand_waterfall:v1");
  auto routing = ParseDefinition(ReadExample("owner_routing.json"));
  ASSERT_OK(routing);
  EXPECT_EQ(DefinitionEventId(*routing), "definition:owner_routing:default_routing:v1");
}

TEST(ParseDefinition, AcceptsTheEnvelopeInJsonAndTextFormat) {
  auto json = ParseDefinition(J(absl::StrCat("{'owner_routing':", kRouting, "}")));
  ASSERT_OK(json);
  EXPECT_EQ(DefinitionEventId(*json), "definition:owner_routing:r:v3");
  auto camel = ParseDefinition(
      J("{'ownerRouting':{'id':'r','version':3,'queues':[{'id':'q','owners':['o1']}],"
        "'defaultQueue':'q'}}"));
  ASSERT_OK(camel);
  EXPECT_EQ(camel->owner_routing().default_queue(), "q");
  auto text = ParseDefinition(R"(
    # a comment
    owner_routing { id: "r" version: 3 queues { id: "q" owners: "o1" } default_queue: "q" })");
  ASSERT_OK(text);
  EXPECT_EQ(text->SerializeAsString(), json->SerializeAsString());
  v1::Definition lifecycle;
  *lifecycle.mutable_lifecycle_model() = DefaultLifecycleModel();
  auto text_lifecycle = ParseDefinition(lifecycle.DebugString());
  ASSERT_OK(text_lifecycle);
  EXPECT_EQ(DefinitionKind(*text_lifecycle), "lifecycle_model");
}

TEST(ParseDefinition, ErrorsNameTheKindAndTheField) {
  EXPECT_THAT(
      ParseDefinition(J("{'scoring_model':{'id':'m','version':1,'rules':[{'id':'a','call':'track',"
                        "'where':[{'field':'name','op':'like','value':'x'}]}]}}")),
      StatusIs(kInvalid, "scoring_model.rules[0].where[0].op: unknown operator \"like\""));
  EXPECT_THAT(
      ParseDefinition(J(
          "{'id':'r','version':1,'queues':[{'id':'q','owners':['o']}],"
          "'territories':[{'id':'t','queue':'emea','where':[{'field':'traits.x','op':'exists'}]}],"
          "'default_queue':'q'}")),
      StatusIs(kInvalid, "owner_routing.territories[0].queue: unknown queue \"emea\""));
  EXPECT_THAT(ParseDefinition(J("{'id':'w','version':0,'stages':[]}")),
              StatusIs(kInvalid, StartsWith("lifecycle_model.")));
}

TEST(ParseDefinition, RejectsWhatItCannotClassifyOrParse) {
  EXPECT_THAT(ParseDefinition(J("{'id':'x','version':1}")),
              StatusIs(kInvalid, HasSubstr("definition: cannot tell the kind")));
  EXPECT_THAT(ParseDefinition(J("{'id':'x','version':1,'rules':[],'queues':[]}")),
              StatusIs(kInvalid,
                       "definition: keys of several kinds: scoring_model (rules), "
                       "owner_routing (queues); wrap the model"));
  EXPECT_THAT(ParseDefinition(J("{'owner_routing':{'id':'r'},'colour':1}")),
              StatusIs(kInvalid, StartsWith("definition JSON: ")));
  EXPECT_THAT(ParseDefinition(J("{'id':'r','version':1,'queues':[],'colour':1}")),
              StatusIs(kInvalid, StartsWith("owner routing JSON: ")));
  EXPECT_THAT(ParseDefinition("{'unterminated"),
              StatusIs(kInvalid, StartsWith("definition JSON: ")));
  EXPECT_THAT(ParseDefinition("owner_routing { id: "),
              StatusIs(kInvalid, StartsWith("definition: not valid protobuf text format: line 1")));
  EXPECT_THAT(ParseDefinition(""), StatusIs(kInvalid, "definition: no kind set"));
}

TEST(ParseDefinition, SizeLimitIsEnforcedAtTheLimit) {
  std::string at_limit = J(kRouting);
  at_limit.append(kDefinitionBytesMax - at_limit.size(), ' ');
  EXPECT_OK(ParseDefinition(at_limit));
  at_limit.push_back(' ');
  EXPECT_THAT(ParseDefinition(at_limit),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       absl::StrCat("definition: ", kDefinitionBytesMax + 1, " bytes, at most ",
                                    kDefinitionBytesMax)));
}

// --- nurture flows and governance

constexpr char kFlow[] =
    "{'id':'f','version':2,'triggers':[{'stage_entered':{'stage':'known'}}],"
    "'steps':[{'id':'hello','next':'pause','send':{'content_id':'c1','channel':'email'}},"
    "{'id':'pause','next':'bye','wait':{'duration_ms':86400000}},"
    "{'id':'bye','exit':{'reason':'done'}}]}";
constexpr char kGovernance[] =
    "{'id':'g','version':4,'caps':[{'channel':'email','sends_max':1,'window_ms':86400000}],"
    "'quiet_hours':{'start':'20:00','end':'08:00','default_time_zone':'Europe/Berlin'}}";

TEST(ParseDefinition, ExampleFlowsAndGovernanceAreValid) {
  struct Example {
    const char* file;
    const char* event_id;
  };
  for (const Example& e : {
           Example{"flows/welcome_series.json", "definition:nurture_flow:welcome_series:v1"},
           Example{"flows/early_stage_stream.json",
                   "definition:nurture_flow:early_stage_stream:v1"},
           Example{"flows/late_stage_stream.json", "definition:nurture_flow:late_stage_stream:v1"},
           Example{"flows/webinar_follow_up.json", "definition:nurture_flow:webinar_follow_up:v1"},
           Example{"flows/governance.json", "definition:nurture_governance:default_governance:v1"},
       }) {
    auto d = ParseDefinition(ReadExample(e.file));
    ASSERT_OK(d) << e.file;
    EXPECT_EQ(DefinitionEventId(*d), e.event_id) << e.file;
  }
}

TEST(ParseDefinition, ExampleFlowsUseWhatTheyShow) {
  auto welcome = ParseDefinition(ReadExample("flows/welcome_series.json"));
  ASSERT_OK(welcome);
  const v1::NurtureFlow& w = welcome->nurture_flow();
  EXPECT_EQ(w.reenrollment().policy(), v1::ReEnrollment::NEVER);
  EXPECT_THAT(w.goal().stages(), ::testing::ElementsAre("mql"));
  EXPECT_TRUE(w.suppression().unsubscribed());
  EXPECT_TRUE(w.suppression().disqualified());
  auto late = ParseDefinition(ReadExample("flows/late_stage_stream.json"));
  ASSERT_OK(late);
  const v1::NurtureFlow& l = late->nurture_flow();
  ASSERT_EQ(l.streams_size(), 2);
  EXPECT_EQ(l.streams(0).transitions_size(), 2);
  EXPECT_EQ(l.streams(0).transitions(0).to_step(), "late_content");
  EXPECT_EQ(l.reenrollment().policy(), v1::ReEnrollment::AFTER_INTERVAL);
  EXPECT_EQ(l.reenrollment().interval_ms(), 30LL * 24 * 3600 * 1000);
  auto early = ParseDefinition(ReadExample("flows/early_stage_stream.json"));
  ASSERT_OK(early);
  EXPECT_EQ(early->nurture_flow().streams(0).content_size(), 6);
  EXPECT_EQ(early->nurture_flow().streams(0).cadence_ms(), 3LL * 24 * 3600 * 1000);
  auto webinar = ParseDefinition(ReadExample("flows/webinar_follow_up.json"));
  ASSERT_OK(webinar);
  EXPECT_EQ(webinar->nurture_flow().steps(0).wait().timeout_ms(), 3LL * 24 * 3600 * 1000);
  EXPECT_EQ(webinar->nurture_flow().reenrollment().policy(), v1::ReEnrollment::AFTER_EXIT);
  auto governance = ParseDefinition(ReadExample("flows/governance.json"));
  ASSERT_OK(governance);
  EXPECT_EQ(governance->nurture_governance().caps_size(), 3);
  EXPECT_EQ(governance->nurture_governance().quiet_hours().default_time_zone(), "Europe/Berlin");
}

TEST(ParseDefinition, BareFlowAndGovernanceAreDetectedByTheirKeys) {
  auto flow = ParseDefinition(J(kFlow));
  ASSERT_OK(flow);
  EXPECT_EQ(DefinitionKind(*flow), "nurture_flow");
  EXPECT_EQ(DefinitionId(*flow), "f");
  EXPECT_EQ(DefinitionVersion(*flow), 2u);
  EXPECT_EQ(DefinitionEventId(*flow), "definition:nurture_flow:f:v2");
  auto governance = ParseDefinition(J(kGovernance));
  ASSERT_OK(governance);
  EXPECT_EQ(DefinitionKind(*governance), "nurture_governance");
  EXPECT_EQ(DefinitionEventId(*governance), "definition:nurture_governance:g:v4");
  // Keys in lowerCamel tell the kind too.
  auto camel =
      ParseDefinition(J("{'id':'g','version':1,'quietHours':{'start':'20:00',"
                        "'end':'08:00','defaultTimeZone':'Europe/Berlin'}}"));
  ASSERT_OK(camel);
  EXPECT_EQ(DefinitionKind(*camel), "nurture_governance");
}

TEST(ParseDefinition, FlowAndGovernanceEnvelopesInJsonAndTextFormat) {
  auto bare = ParseDefinition(J(kFlow));
  ASSERT_OK(bare);
  auto wrapped = ParseDefinition(J(absl::StrCat("{'nurture_flow':", kFlow, "}")));
  ASSERT_OK(wrapped);
  EXPECT_EQ(wrapped->SerializeAsString(), bare->SerializeAsString());
  auto camel = ParseDefinition(J(absl::StrCat("{'nurtureFlow':", kFlow, "}")));
  ASSERT_OK(camel);
  EXPECT_EQ(camel->SerializeAsString(), bare->SerializeAsString());
  auto text = ParseDefinition(bare->DebugString());
  ASSERT_OK(text);
  EXPECT_EQ(text->SerializeAsString(), bare->SerializeAsString());

  auto governance = ParseDefinition(J(absl::StrCat("{'nurture_governance':", kGovernance, "}")));
  ASSERT_OK(governance);
  auto governance_text = ParseDefinition(governance->DebugString());
  ASSERT_OK(governance_text);
  EXPECT_EQ(DefinitionEventId(*governance_text), "definition:nurture_governance:g:v4");
}

TEST(ParseDefinition, FlowErrorsNameTheKindAndTheField) {
  const std::string bad_next =
      absl::StrReplaceAll(J(kFlow), {{"\"next\":\"bye\"", "\"next\":\"nope\""}});
  EXPECT_THAT(ParseDefinition(bad_next),
              StatusIs(kInvalid, ::testing::AllOf(StartsWith("nurture_flow.steps[1].next: "),
                                                  HasSubstr("nope"))));
  EXPECT_THAT(ParseDefinition(absl::StrCat("{\"nurture_flow\":", bad_next, "}")),
              StatusIs(kInvalid, StartsWith("nurture_flow.steps[1].next: ")));
  const std::string bad_wait = absl::StrReplaceAll(J(kFlow), {{"86400000", "1"}});
  EXPECT_THAT(ParseDefinition(bad_wait),
              StatusIs(kInvalid, StartsWith("nurture_flow.steps[1].wait.duration_ms: ")));
  const std::string bad_quiet = absl::StrReplaceAll(J(kGovernance), {{"20:00", "25:00"}});
  EXPECT_THAT(ParseDefinition(bad_quiet),
              StatusIs(kInvalid, StartsWith("nurture_governance.quiet_hours.start: ")));
  // A path may hold a quoted map key.
  const std::string bad_map = J(absl::StrReplaceAll(
      kFlow, {{"'version':2,",
               "'version':2,'migration':{'mode':'MAP_STEPS','step_map':{'a b':'bye'}},"}}));
  EXPECT_THAT(ParseDefinition(bad_map),
              StatusIs(kInvalid, StartsWith("nurture_flow.migration.step_map[\"a b\"]: ")));
  // A misspelt field is protobuf's error, named after the detected kind.
  EXPECT_THAT(ParseDefinition(J("{'id':'f','version':1,'steps':[],'colour':1}")),
              StatusIs(kInvalid, StartsWith("nurture flow JSON: ")));
  EXPECT_THAT(ParseDefinition(J("{'id':'g','version':1,'caps':[],'colour':1}")),
              StatusIs(kInvalid, StartsWith("nurture governance JSON: ")));
}

TEST(ParseDefinition, FlowKeysMixedWithAnotherKindAreRejected) {
  EXPECT_THAT(ParseDefinition(J("{'id':'x','version':1,'steps':[],'caps':[]}")),
              StatusIs(kInvalid,
                       "definition: keys of several kinds: nurture_flow (steps), "
                       "nurture_governance (caps); wrap the model"));
  EXPECT_THAT(ParseDefinition(J("{'id':'x','version':1,'triggers':[],'rules':[]}")),
              StatusIs(kInvalid, HasSubstr("scoring_model (rules), nurture_flow (triggers)")));
}

TEST(ParseDefinition, FlowSizeIsBoundedByTheDefinitionLimit) {
  static_assert(kFlowBytesMax <= kDefinitionBytesMax);
  std::string at_limit = J(kFlow);
  at_limit.append(kDefinitionBytesMax - at_limit.size(), ' ');
  EXPECT_OK(ParseDefinition(at_limit));
  at_limit.push_back(' ');
  EXPECT_THAT(ParseDefinition(at_limit),
              StatusIs(absl::StatusCode::kResourceExhausted, StartsWith("definition: ")));
}

TEST(ParseDefinition, ExampleRevenueRulesAndCalendarAreDetectedByTheirKeys) {
  auto rules = ParseDefinition(ReadExample("revenue_rules.json"));
  ASSERT_OK(rules);
  EXPECT_EQ(DefinitionKind(*rules), "revenue_rules");
  EXPECT_EQ(DefinitionEventId(*rules), "definition:revenue_rules:revenue_ops:v1");
  EXPECT_EQ(rules->revenue_rules().slas_size(), 2);
  auto calendar = ParseDefinition(ReadExample("business_calendar.json"));
  ASSERT_OK(calendar);
  EXPECT_EQ(DefinitionKind(*calendar), "business_calendar");
  EXPECT_EQ(DefinitionEventId(*calendar), "definition:business_calendar:berlin_office:v1");
  // The rules count on the example calendar and fit the example model.
  EXPECT_EQ(rules->revenue_rules().calendar_id(), calendar->business_calendar().id());
  auto lifecycle = ParseDefinition(ReadExample("lifecycle_model.json"));
  ASSERT_OK(lifecycle);
  EXPECT_OK(CheckRevenueRulesAgainstLifecycle(rules->revenue_rules(), lifecycle->lifecycle_model()));
  EXPECT_OK(CheckRevenueRulesAgainstLifecycle(rules->revenue_rules(), DefaultLifecycleModel()));
}

TEST(ParseDefinition, RevenueRulesAndCalendarEnvelopesInJsonAndTextFormat) {
  auto json = ParseDefinition(J("{'revenue_rules':{'id':'r','version':2,'slas':[{'id':'s',"
                                "'stage':'mql','stop_on':['SALES_FACT_KIND_LEAD_ACCEPTED'],"
                                "'target_working_ms':3600000,'on_breach':['ESCALATE']}]}}"));
  ASSERT_OK(json);
  EXPECT_EQ(DefinitionEventId(*json), "definition:revenue_rules:r:v2");
  auto text = ParseDefinition(
      "business_calendar { id: \"c\" version: 1 time_zone: \"UTC\" windows { days: \"monday\" "
      "start: \"09:00\" end: \"17:00\" } }");
  ASSERT_OK(text);
  EXPECT_EQ(DefinitionKind(*text), "business_calendar");
}

TEST(ValidateDefinition, DispatchesRevenueRulesAndCalendarWithTheirKind) {
  auto rules = ParseDefinition(ReadExample("revenue_rules.json"));
  ASSERT_OK(rules);
  v1::Definition bad = *rules;
  bad.mutable_revenue_rules()->mutable_slas(0)->set_warn_before_working_ms(
      bad.revenue_rules().slas(0).target_working_ms());
  EXPECT_THAT(ValidateDefinition(bad), StatusIs(kInvalid, StartsWith("revenue_rules.slas[0].")));
  v1::Definition no_version = *rules;
  no_version.mutable_revenue_rules()->set_version(0);
  EXPECT_THAT(ValidateDefinition(no_version), StatusIs(kInvalid, StartsWith("revenue_rules.")));
  auto calendar = ParseDefinition(ReadExample("business_calendar.json"));
  ASSERT_OK(calendar);
  v1::Definition bad_calendar = *calendar;
  bad_calendar.mutable_business_calendar()->set_time_zone("Nowhere/Atlantis");
  EXPECT_THAT(ValidateDefinition(bad_calendar),
              StatusIs(kInvalid, StartsWith("business_calendar")));
}

TEST(ValidateDefinition, DispatchesFlowAndGovernanceWithTheirKind) {
  v1::Definition flow;
  flow.mutable_nurture_flow()->set_id("f");
  EXPECT_THAT(ValidateDefinition(flow), StatusIs(kInvalid, StartsWith("nurture_flow")));
  v1::Definition governance;
  governance.mutable_nurture_governance()->set_id("g");
  governance.mutable_nurture_governance()->set_version(1);
  governance.mutable_nurture_governance()->add_caps()->set_sends_max(0);
  EXPECT_THAT(ValidateDefinition(governance),
              StatusIs(kInvalid, StartsWith("nurture_governance.caps[0]")));
}

TEST(ValidateDefinition, AnIdThatMakesTheEventIdTooLongIsRejected) {
  auto governance = ParseDefinition(J(kGovernance));
  ASSERT_OK(governance);
  v1::Definition d = *governance;
  d.mutable_nurture_governance()->set_id(std::string(kIdBytesMax, 'g'));
  EXPECT_THAT(ValidateDefinition(d), StatusIs(kInvalid, StartsWith("nurture_governance.id: ")));
}

TEST(ValidateDefinition, EveryKindNeedsAnIdAndAVersion) {
  auto governance = ParseDefinition(J(kGovernance));
  ASSERT_OK(governance);
  v1::Definition no_id = *governance;
  no_id.mutable_nurture_governance()->clear_id();
  EXPECT_THAT(ValidateDefinition(no_id), StatusIs(kInvalid, "nurture_governance.id: required"));
  v1::Definition no_version = *governance;
  no_version.mutable_nurture_governance()->set_version(0);
  EXPECT_THAT(ValidateDefinition(no_version),
              StatusIs(kInvalid, "nurture_governance.version: 0: versions start at 1"));
}

TEST(ValidateDefinition, EmptyEnvelopeHasNoKind) {
  EXPECT_THAT(ValidateDefinition(v1::Definition()), StatusIs(kInvalid, "definition: no kind set"));
  EXPECT_EQ(DefinitionKind(v1::Definition()), "");
  EXPECT_EQ(DefinitionEventId(v1::Definition()), "definition:::v0");
}

TEST(ValidateDefinition, SerializedSizeIsBounded) {
  v1::Definition d;
  d.mutable_owner_routing()->set_description(std::string(kDefinitionBytesMax, 'x'));
  EXPECT_THAT(ValidateDefinition(d),
              StatusIs(absl::StatusCode::kResourceExhausted, StartsWith("definition: ")));
}

TEST(MakeDefinitionEvent, IsADefinitionEventWithoutIdentity) {
  v1::Definition d;
  *d.mutable_lifecycle_model() = DefaultLifecycleModel();
  d.mutable_lifecycle_model()->set_version(12);
  v1::Event e = MakeDefinitionEvent(d, 1700000000123);
  EXPECT_EQ(e.type(), v1::CALL_TYPE_DEFINITION);
  EXPECT_EQ(e.event_id(), "definition:lifecycle_model:demand_waterfall:v12");
  EXPECT_EQ(e.occurred_at_ms(), 1700000000123);
  EXPECT_EQ(e.definition().SerializeAsString(), d.SerializeAsString());
  EXPECT_TRUE(e.user_id().empty());
  EXPECT_TRUE(e.anonymous_id().empty());
  EXPECT_EQ(DefinitionVersion(d), 12u);
}

}  // namespace
}  // namespace leadlog
