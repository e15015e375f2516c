#include "projections/lifecycle/lifecycle_model.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "engine/testing/status_matchers.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The default model with one edit applied.
v1::LifecycleModel Edited(const std::function<void(v1::LifecycleModel*)>& edit) {
  v1::LifecycleModel model = DefaultLifecycleModel();
  edit(&model);
  return model;
}

void ExpectInvalid(const std::function<void(v1::LifecycleModel*)>& edit,
                   const std::string& message_start) {
  EXPECT_THAT(ValidateLifecycleModel(Edited(edit)),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith(message_start)));
}

TEST(LifecycleModel, DefaultModelValidates) {
  EXPECT_OK(ValidateLifecycleModel(DefaultLifecycleModel()));
}

TEST(LifecycleModel, ExampleJsonEqualsDefaultModel) {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/lifecycle_model.json");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::LifecycleModel> model = ParseLifecycleModel(text.str());
  ASSERT_OK(model);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*model, DefaultLifecycleModel()))
      << model->DebugString();
}

TEST(LifecycleModel, TextFormatRoundTrips) {
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(DefaultLifecycleModel(), &text));
  absl::StatusOr<v1::LifecycleModel> model = ParseLifecycleModel(text);
  ASSERT_OK(model);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*model, DefaultLifecycleModel()));
}

TEST(LifecycleModel, ParseRejectsBadSyntaxAndUnknownFields) {
  EXPECT_THAT(ParseLifecycleModelJson("{\"id\": "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lifecycle model JSON")));
  EXPECT_THAT(ParseLifecycleModelJson("{\"stagez\": []}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stagez")));
  EXPECT_THAT(ParseLifecycleModelText("stages {"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text format: line 1 column")));
}

TEST(LifecycleModel, ParseValidatesTheModel) {
  EXPECT_THAT(ParseLifecycleModel("{\"id\": \"m\", \"version\": 1}"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("stages:")));
}

TEST(LifecycleModel, ParseRejectsFileBeyondLimit) {
  const std::string big(kLifecycleModelBytesMax + 1, ' ');
  EXPECT_THAT(ParseLifecycleModel(big),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("at most")));
  EXPECT_THAT(ParseLifecycleModel(std::string(kLifecycleModelBytesMax, ' ')),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id: required")));
}

TEST(LifecycleModel, IdAndVersionErrors) {
  ExpectInvalid([](auto* m) { m->clear_id(); }, "id: required");
  ExpectInvalid([](auto* m) { m->set_id("Demand"); }, "id: \"Demand\": expected [a-z0-9_]");
  ExpectInvalid([](auto* m) { m->set_id(std::string(kLifecycleIdBytesMax + 1, 'a')); },
                "id: longer than");
  ExpectInvalid([](auto* m) { m->set_version(0); }, "version: expected >= 1");
}

TEST(LifecycleModel, StageErrors) {
  ExpectInvalid([](auto* m) { m->clear_stages(); }, "stages: at least one stage");
  ExpectInvalid([](auto* m) { m->mutable_stages(2)->set_id("known"); },
                "stages[2].id: duplicate \"known\"");
  ExpectInvalid([](auto* m) { m->mutable_stages(3)->clear_id(); }, "stages[3].id: required");
  ExpectInvalid([](auto* m) { m->mutable_stages(1)->clear_name(); }, "stages[1].name: required");
  ExpectInvalid(
      [](auto* m) { m->mutable_stages(1)->set_name(std::string(kLifecycleNameBytesMax + 1, 'x')); },
      "stages[1].name: longer than");
  ExpectInvalid([](auto* m) { m->mutable_stages(4)->clear_kind(); }, "stages[4].kind: required");
}

TEST(LifecycleModel, InitialStageErrors) {
  ExpectInvalid([](auto* m) { m->clear_initial_stage(); },
                "initial_stage: required: no initial stage");
  ExpectInvalid([](auto* m) { m->set_initial_stage("lead"); },
                "initial_stage: unknown stage \"lead\"");
}

TEST(LifecycleModel, TransitionErrors) {
  ExpectInvalid([](auto* m) { m->mutable_transitions(3)->set_to_stage("sq1"); },
                "transitions[3].to_stage: unknown stage \"sq1\"");
  ExpectInvalid([](auto* m) { m->mutable_transitions(0)->clear_from_stage(); },
                "transitions[0].from_stage: required");
  ExpectInvalid([](auto* m) { m->mutable_transitions(1)->set_to_stage("known"); },
                "transitions[1]: self-transition \"known\" -> \"known\"");
  ExpectInvalid([](auto* m) { *m->add_transitions() = m->transitions(0); },
                "transitions[18]: duplicate transition \"anonymous\" -> \"known\"");
  ExpectInvalid(
      [](auto* m) {
        v1::LifecycleTransition* t = m->add_transitions();
        t->set_from_stage("sql");
        t->set_to_stage("mql");
      },
      "transitions[18]: backward move \"sql\" -> \"mql\" must go through a recycled stage");
}

TEST(LifecycleModel, UnreachableStage) {
  ExpectInvalid(
      [](auto* m) {
        v1::LifecycleStage* s = m->add_stages();
        s->set_id("nurture");
        s->set_name("Nurture");
        s->set_kind(v1::STAGE_KIND_RECYCLED);
      },
      "stages[9].id: \"nurture\" unreachable from initial stage \"anonymous\"");
}

TEST(LifecycleModel, IdentifyRuleErrors) {
  ExpectInvalid([](auto* m) { m->clear_identify(); }, "identify: required");
  ExpectInvalid([](auto* m) { m->mutable_identify()->clear_id(); }, "identify.id: required");
  ExpectInvalid([](auto* m) { m->mutable_identify()->clear_from_stages(); },
                "identify.from_stages: at least one stage required");
  ExpectInvalid([](auto* m) { m->mutable_identify()->set_to_stage("recycled"); },
                "identify.to_stage: stage \"recycled\" requires a reason");
  ExpectInvalid([](auto* m) { m->mutable_identify()->set_to_stage("mql"); },
                "identify.from_stages[0]: transition \"anonymous\" -> \"mql\" not in transitions");
}

TEST(LifecycleModel, SalesReadyRuleErrors) {
  ExpectInvalid([](auto* m) { m->clear_sales_ready(); }, "sales_ready: required");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_id("identified"); },
                "sales_ready.id: duplicate \"identified\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_grade_min("G"); },
                "sales_ready.grade_min: expected one of A..F, got \"G\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_grade_min("b"); },
                "sales_ready.grade_min: expected one of A..F");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_score_min(-1); },
                "sales_ready.score_min: expected a finite number >= 0");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_score_min(std::nan("")); },
                "sales_ready.score_min: expected a finite number >= 0");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->set_to_stage("nope"); },
                "sales_ready.to_stage: unknown stage \"nope\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_ready()->add_from_stages("sal"); },
                "sales_ready.from_stages[2]: transition \"sal\" -> \"mql\" not in transitions");
}

TEST(LifecycleModel, SalesFactRuleErrors) {
  ExpectInvalid([](auto* m) { m->mutable_sales_facts(1)->set_id("lead_accepted"); },
                "sales_facts[1].id: duplicate \"lead_accepted\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_facts(0)->clear_kind(); },
                "sales_facts[0].kind: required");
  ExpectInvalid([](auto* m) { m->mutable_sales_facts(2)->set_to_stage("won"); },
                "sales_facts[2].to_stage: unknown stage \"won\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_facts(0)->add_from_stages("x"); },
                "sales_facts[0].from_stages[1]: unknown stage \"x\"");
  ExpectInvalid([](auto* m) { m->mutable_sales_facts(0)->add_from_stages("known"); },
                "sales_facts[0].from_stages[1]: transition \"known\" -> \"sal\" not in");
}

TEST(LifecycleModel, SizeLimits) {
  v1::LifecycleModel at_limit = DefaultLifecycleModel();
  // Chain extra recycled-kind stages so each one stays reachable.
  std::string previous = "recycled";
  while (at_limit.stages_size() < kLifecycleStagesMax) {
    const std::string id = "extra_" + std::to_string(at_limit.stages_size());
    v1::LifecycleStage* s = at_limit.add_stages();
    s->set_id(id);
    s->set_name(id);
    s->set_kind(v1::STAGE_KIND_RECYCLED);
    v1::LifecycleTransition* t = at_limit.add_transitions();
    t->set_from_stage(previous);
    t->set_to_stage(id);
    previous = id;
  }
  EXPECT_OK(ValidateLifecycleModel(at_limit));
  *at_limit.add_stages() = at_limit.stages(0);
  EXPECT_THAT(ValidateLifecycleModel(at_limit),
              StatusIs(absl::StatusCode::kResourceExhausted, StartsWith("stages: 33 stages")));

  v1::LifecycleModel many_transitions = DefaultLifecycleModel();
  while (many_transitions.transitions_size() <= kLifecycleTransitionsMax) {
    *many_transitions.add_transitions() = many_transitions.transitions(0);
  }
  EXPECT_THAT(ValidateLifecycleModel(many_transitions),
              StatusIs(absl::StatusCode::kResourceExhausted, StartsWith("transitions:")));

  v1::LifecycleModel many_rules = DefaultLifecycleModel();
  while (many_rules.sales_facts_size() <= kLifecycleSalesFactRulesMax) {
    *many_rules.add_sales_facts() = many_rules.sales_facts(0);
  }
  EXPECT_THAT(ValidateLifecycleModel(many_rules),
              StatusIs(absl::StatusCode::kResourceExhausted, StartsWith("sales_facts:")));
}

}  // namespace
}  // namespace leadlog
