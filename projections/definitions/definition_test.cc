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
