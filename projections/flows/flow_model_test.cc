// ValidateNurtureFlow: every error names its path; the graph rules
// (unknown targets, reachability, cycles that never pause) and the bounds.
#include <google/protobuf/text_format.h>

#include <string>

#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/flows/flow_engine.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

v1::NurtureFlow Parse(const std::string& text) {
  v1::NurtureFlow flow;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &flow)) << text;
  return flow;
}

// A valid flow using every step kind; tests break one thing each.
constexpr char kValid[] = R"pb(
  id: "welcome" version: 1
  triggers { event { call: "track" event: "Form Submitted" } }
  triggers { stage_entered { stage: "mql" } }
  triggers { score_crossed { threshold: 40 } }
  triggers { grade_reached { grade_min: "B" } }
  triggers { trait_matched { where { field: "traits.country" op: "equals" value { string_value: "DE" } } } }
  steps { id: "send1" next: "wait1" send { content_id: "wp-1" channel: "email" } }
  steps { id: "wait1" next: "branch1" wait { duration_ms: 86400000 } }
  steps { id: "branch1" branch { cases { when { score_min: 40 } next: "split1" } default_next: "waitev" } }
  steps { id: "split1" split { paths { percent: 50 next: "stage1" } paths { percent: 50 next: "score1" } } }
  steps { id: "stage1" next: "owner1" set_stage { stage: "mql" reason: "nurtured" } }
  steps { id: "score1" next: "owner1" add_score { points: 5 } }
  steps { id: "owner1" next: "notify1" set_owner { owner_id: "o1" } }
  steps { id: "notify1" next: "hook1" notify_owner { template_id: "t1" } }
  steps { id: "hook1" next: "stream1" webhook { webhook_id: "w1" } }
  steps { id: "stream1" stream { stream_id: "s1" } }
  steps { id: "stream2" stream { stream_id: "s2" } }
  steps { id: "waitev" next: "timew" wait { event { call: "track" event: "Demo" } timeout_ms: 600000 timeout_next: "goto1" } }
  steps { id: "timew" next: "exit1" wait { weekday: "monday" time: "09:00" } }
  steps { id: "goto1" go_to { target: "exit1" } }
  steps { id: "exit1" exit { reason: "done" } }
  streams { id: "s1" cadence_ms: 604800000
            content { content_id: "a" channel: "email" } content { content_id: "b" channel: "email" }
            transitions { when { score_min: 80 } to_step: "stream2" } }
  streams { id: "s2" cadence_ms: 604800000 content { content_id: "c" channel: "email" } }
  reenrollment { policy: AFTER_INTERVAL interval_ms: 86400000 }
  migration { mode: MAP_STEPS step_map { key: "old" value: "send1" } }
)pb";

absl::Status Validate(const std::string& text) { return ValidateNurtureFlow(Parse(text)); }

void ExpectError(const v1::NurtureFlow& flow, const std::string& message_part) {
  EXPECT_THAT(ValidateNurtureFlow(flow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message_part)));
}

TEST(ValidateNurtureFlow, AcceptsAFlowWithEveryStepKind) { EXPECT_OK(Validate(kValid)); }

TEST(ValidateNurtureFlow, IdAndVersion) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.set_id("Welcome!");
  ExpectError(flow, "id: \"Welcome!\" is not 1..64 bytes of [a-z0-9_]");
  flow = Parse(kValid);
  flow.set_version(0);
  ExpectError(flow, "version: 0");
}

TEST(ValidateNurtureFlow, Triggers) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.clear_triggers();
  ExpectError(flow, "triggers: 0 triggers, expected 1..32");
  flow = Parse(kValid);
  flow.add_triggers();
  ExpectError(flow, "triggers[5]: no trigger kind set");
  flow = Parse(kValid);
  flow.mutable_triggers(0)->mutable_event()->set_call("teleport");
  ExpectError(flow, "triggers[0].event");
  flow = Parse(kValid);
  flow.mutable_triggers(1)->mutable_stage_entered()->clear_stage();
  ExpectError(flow, "triggers[1].stage_entered.stage: empty stage id");
  flow = Parse(kValid);
  flow.mutable_triggers(3)->mutable_grade_reached()->set_grade_min("E");
  ExpectError(flow, "triggers[3].grade_reached.grade_min: \"E\" is not one of A, B, C, D, F");
  flow = Parse(kValid);
  flow.mutable_triggers(4)->mutable_trait_matched()->clear_where();
  ExpectError(flow, "triggers[4].trait_matched.where: no predicates");
  flow = Parse(kValid);
  flow.mutable_triggers(4)->mutable_trait_matched()->mutable_where(0)->set_op("like");
  ExpectError(flow, "triggers[4].trait_matched");
  flow = Parse(kValid);
  flow.clear_triggers();
  for (int i = 0; i <= kFlowTriggersMax; ++i) *flow.add_triggers() = Parse(kValid).triggers(0);
  ExpectError(flow, "triggers: 33 triggers");
}

TEST(ValidateNurtureFlow, ConditionsAndSuppression) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_entry_filter()->set_grade_min("Z");
  ExpectError(flow, "entry_filter");
  flow = Parse(kValid);
  flow.mutable_goal()->set_grade_min("Z");
  ExpectError(flow, "goal");
  flow = Parse(kValid);
  flow.add_exit_criteria();
  flow.add_exit_criteria()->set_grade_min("Z");
  ExpectError(flow, "exit_criteria[1]");
  flow = Parse(kValid);
  for (int i = 0; i <= kFlowExitCriteriaMax; ++i) flow.add_exit_criteria();
  ExpectError(flow, "exit_criteria: 33 criteria, at most 32");
  flow = Parse(kValid);
  flow.mutable_suppression()->add_email_domains("Competitor.example");
  ExpectError(flow, "suppression.email_domains[0]");
  flow = Parse(kValid);
  flow.mutable_suppression()->add_stages("");
  ExpectError(flow, "suppression.stages[0]: empty");
  flow = Parse(kValid);
  flow.mutable_suppression()->add_leads("");
  ExpectError(flow, "suppression.leads[0]: empty");
}

TEST(ValidateNurtureFlow, StepsCountIdsAndKinds) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.clear_steps();
  ExpectError(flow, "steps: 0 steps, expected 1..200");
  flow = Parse(kValid);
  flow.mutable_steps(1)->set_id("send1");
  ExpectError(flow, "steps[1].id: duplicate step \"send1\"");
  flow = Parse(kValid);
  flow.mutable_steps(1)->set_id("Wait 1");
  ExpectError(flow, "steps[1].id: \"Wait 1\" is not");
  flow = Parse(kValid);
  flow.mutable_steps(0)->clear_send();
  ExpectError(flow, "steps[0]: no step kind set");
  flow = Parse(kValid);
  flow.mutable_steps(0)->mutable_send()->clear_content_id();
  ExpectError(flow, "steps[0].send.content_id: empty");
  flow = Parse(kValid);
  flow.mutable_steps(0)->mutable_send()->set_channel("E-mail");
  ExpectError(flow, "steps[0].send.channel: \"E-mail\" is not 1..32 bytes of [a-z_]");
  flow = Parse(kValid);
  flow.mutable_steps(4)->mutable_set_stage()->clear_stage();
  ExpectError(flow, "steps[4].set_stage.stage: empty stage id");
  flow = Parse(kValid);
  flow.mutable_steps(5)->mutable_add_score()->set_points(0);
  ExpectError(flow, "steps[5].add_score.points: 0");
  flow = Parse(kValid);
  flow.mutable_steps(6)->mutable_set_owner()->clear_owner_id();
  ExpectError(flow, "steps[6].set_owner.owner_id: empty");
  flow = Parse(kValid);
  flow.mutable_steps(7)->mutable_notify_owner()->clear_template_id();
  ExpectError(flow, "steps[7].notify_owner.template_id: empty");
  flow = Parse(kValid);
  flow.mutable_steps(8)->mutable_webhook()->clear_webhook_id();
  ExpectError(flow, "steps[8].webhook.webhook_id: empty");
  flow = Parse(kValid);
  flow.mutable_steps(2)->set_next("send1");
  ExpectError(flow, "steps[2].next: not used by this kind of step");
}

TEST(ValidateNurtureFlow, TooManySteps) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.clear_steps();
  for (int i = 0; i <= kFlowStepsMax; ++i) {
    v1::FlowStep* step = flow.add_steps();
    step->set_id("s" + std::to_string(i));
    step->mutable_exit();
  }
  ExpectError(flow, "steps: 201 steps, expected 1..200");
}

TEST(ValidateNurtureFlow, UnknownTargetsNameTheField) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_steps(0)->set_next("nowhere");
  ExpectError(flow, "steps[0].next: unknown step \"nowhere\"");
  flow = Parse(kValid);
  flow.mutable_steps(2)->mutable_branch()->mutable_cases(0)->set_next("nowhere");
  ExpectError(flow, "steps[2].branch.cases[0].next: unknown step \"nowhere\"");
  flow = Parse(kValid);
  flow.mutable_steps(2)->mutable_branch()->set_default_next("nowhere");
  ExpectError(flow, "steps[2].branch.default_next: unknown step");
  flow = Parse(kValid);
  flow.mutable_steps(3)->mutable_split()->mutable_paths(1)->set_next("nowhere");
  ExpectError(flow, "steps[3].split.paths[1].next: unknown step");
  flow = Parse(kValid);
  flow.mutable_steps(11)->mutable_wait()->set_timeout_next("nowhere");
  ExpectError(flow, "steps[11].wait.timeout_next: unknown step");
  flow = Parse(kValid);
  flow.mutable_steps(13)->mutable_go_to()->set_target("nowhere");
  ExpectError(flow, "steps[13].go_to.target: unknown step");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_transitions(0)->set_to_step("nowhere");
  ExpectError(flow, "streams[0].transitions[0].to_step: unknown step \"nowhere\"");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_transitions(0)->set_to_step("exit1");
  ExpectError(flow, "streams[0].transitions[0].to_step: step \"exit1\" is not a stream step");
  flow = Parse(kValid);
  flow.mutable_steps(9)->mutable_stream()->set_stream_id("nope");
  ExpectError(flow, "steps[9].stream.stream_id: unknown stream \"nope\"");
}

TEST(ValidateNurtureFlow, UnreachableStep) {
  v1::NurtureFlow flow = Parse(kValid);
  v1::FlowStep* orphan = flow.add_steps();
  orphan->set_id("orphan");
  orphan->mutable_exit();
  ExpectError(flow, "steps[15]: unreachable from the first step");
}

TEST(ValidateNurtureFlow, CycleWithoutAWaitIsRejectedWithAWaitAccepted) {
  EXPECT_THAT(Validate(R"pb(
    id: "loop" version: 1 triggers { stage_entered { stage: "mql" } }
    steps { id: "a" next: "b" send { content_id: "x" channel: "email" } }
    steps { id: "b" next: "c" add_score { points: 1 } }
    steps { id: "c" go_to { target: "a" } }
  )pb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("steps[0]: cycle without a wait (a -> b -> c -> a)")));
  EXPECT_OK(Validate(R"pb(
    id: "loop" version: 1 triggers { stage_entered { stage: "mql" } }
    steps { id: "a" next: "b" send { content_id: "x" channel: "email" } }
    steps { id: "b" next: "c" wait { duration_ms: 3600000 } }
    steps { id: "c" go_to { target: "a" } }
  )pb"));
  // A branch back to itself through its default never pauses either.
  EXPECT_THAT(Validate(R"pb(
    id: "loop" version: 1 triggers { stage_entered { stage: "mql" } }
    steps { id: "a" branch { cases { when { score_min: 1 } next: "b" } default_next: "a" } }
    steps { id: "b" exit {} }
  )pb"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("steps[0]: cycle without a wait (a -> a)")));
}

TEST(ValidateNurtureFlow, WaitKindsAndBounds) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_steps(1)->mutable_wait()->set_duration_ms(1000);
  ExpectError(flow, "steps[1].wait.duration_ms: 1000 is outside [60000, 31622400000] ms");
  flow = Parse(kValid);
  flow.mutable_steps(1)->mutable_wait()->set_duration_ms(kFlowWaitMsMax + 1);
  ExpectError(flow, "steps[1].wait.duration_ms: 31622400001 is outside");
  flow = Parse(kValid);
  flow.mutable_steps(1)->mutable_wait()->set_time("09:00");
  ExpectError(flow, "steps[1].wait: set exactly one of");
  flow = Parse(kValid);
  flow.mutable_steps(1)->mutable_wait()->clear_duration_ms();
  ExpectError(flow, "steps[1].wait: set exactly one of");
  flow = Parse(kValid);
  flow.mutable_steps(12)->mutable_wait()->set_time("25:00");
  ExpectError(flow, "steps[12].wait.time: \"25:00\" is not HH:MM");
  flow = Parse(kValid);
  flow.mutable_steps(12)->mutable_wait()->set_weekday("someday");
  ExpectError(flow, "steps[12].wait.weekday: \"someday\" is not monday..sunday");
  flow = Parse(kValid);
  flow.mutable_steps(12)->mutable_wait()->clear_time();
  ExpectError(flow, "steps[12].wait.time: weekday without a time");
  flow = Parse(kValid);
  flow.mutable_steps(11)->mutable_wait()->set_timeout_ms(10);
  ExpectError(flow, "steps[11].wait.timeout_ms: 10 is outside");
  flow = Parse(kValid);
  flow.mutable_steps(11)->mutable_wait()->clear_timeout_next();
  ExpectError(flow, "steps[11].wait.timeout_next: required with an event wait");
  flow = Parse(kValid);
  flow.mutable_steps(11)->mutable_wait()->clear_event();
  ExpectError(flow, "steps[11].wait.event: timeout without an event");
  flow = Parse(kValid);
  flow.mutable_steps(11)->mutable_wait()->mutable_event()->set_call("nope");
  ExpectError(flow, "steps[11].wait.event");
}

TEST(ValidateNurtureFlow, BranchAndSplit) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_steps(3)->mutable_split()->mutable_paths(0)->set_percent(40);
  ExpectError(flow, "steps[3].split.paths: percents sum to 90, not 100");
  flow = Parse(kValid);
  flow.mutable_steps(3)->mutable_split()->mutable_paths(0)->set_percent(0);
  ExpectError(flow, "steps[3].split.paths[0].percent: 0 is outside [1, 100]");
  flow = Parse(kValid);
  flow.mutable_steps(3)->mutable_split()->clear_paths();
  ExpectError(flow, "steps[3].split.paths: no paths");
  flow = Parse(kValid);
  flow.mutable_steps(2)->mutable_branch()->mutable_cases(0)->clear_next();
  ExpectError(flow, "steps[2].branch.cases[0].next: empty");
  flow = Parse(kValid);
  flow.mutable_steps(2)->mutable_branch()->mutable_cases(0)->mutable_when()->set_grade_min("Z");
  ExpectError(flow, "steps[2].branch.cases[0].when");
  flow = Parse(kValid);
  for (int i = 0; i < kFlowBranchCasesMax; ++i) {
    *flow.mutable_steps(2)->mutable_branch()->add_cases() = flow.steps(2).branch().cases(0);
  }
  ExpectError(flow, "steps[2].branch.cases: 33 cases, at most 32");
}

TEST(ValidateNurtureFlow, Streams) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_streams(1)->set_id("s1");
  ExpectError(flow, "streams[1].id: duplicate stream \"s1\"");
  flow = Parse(kValid);
  flow.mutable_streams(0)->clear_content();
  ExpectError(flow, "streams[0].content: 0 pieces, expected 1..500");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_content(1)->set_content_id("a");
  ExpectError(flow, "streams[0].content[1].content_id: \"a\" appears twice in the stream");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_content(1)->clear_content_id();
  ExpectError(flow, "streams[0].content[1].content_id: empty");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_content(1)->set_channel("");
  ExpectError(flow, "streams[0].content[1].channel");
  flow = Parse(kValid);
  flow.mutable_streams(0)->set_cadence_ms(0);
  ExpectError(flow, "streams[0].cadence_ms: 0 is outside");
  flow = Parse(kValid);
  flow.mutable_streams(0)->mutable_transitions(0)->mutable_when()->set_grade_min("Z");
  ExpectError(flow, "streams[0].transitions[0].when");
  flow = Parse(kValid);
  for (int i = 0; i <= kFlowStreamContentMax; ++i) {
    v1::StreamContent* c = flow.mutable_streams(1)->add_content();
    c->set_content_id("p" + std::to_string(i));
    c->set_channel("email");
  }
  ExpectError(flow, "streams[1].content: 502 pieces, expected 1..500");
}

TEST(ValidateNurtureFlow, ReEnrollmentAndMigration) {
  v1::NurtureFlow flow = Parse(kValid);
  flow.mutable_reenrollment()->set_interval_ms(0);
  ExpectError(flow, "reenrollment.interval_ms: 0: AFTER_INTERVAL needs an interval > 0");
  flow = Parse(kValid);
  (*flow.mutable_migration()->mutable_step_map())["gone"] = "nowhere";
  ExpectError(flow, "migration.step_map[\"gone\"]: unknown step \"nowhere\" in this version");
}

TEST(SplitBucket, IsStableAndInRange) {
  // Persisted behaviour: these values must never change (a rebuild must put
  // every lead on the same path).
  EXPECT_EQ(StableHash64(""), 17280346270528514342ULL);
  EXPECT_EQ(StableHash64("leadlog"), 16203598922656448537ULL);
  EXPECT_EQ(SplitBucket("u:42", "welcome", "split1", 1), 8u);
  EXPECT_EQ(GradeRank("A"), 0);
  EXPECT_EQ(GradeRank("F"), 4);
  EXPECT_EQ(GradeRank("E"), -1);
  EXPECT_EQ(GradeRank(""), -1);
}

}  // namespace
}  // namespace leadlog
