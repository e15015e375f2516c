#include "projections/scoring/predicate.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

ScoringPredicates Where(const std::string& text) {
  v1::FitRule rule;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &rule)) << text;
  return rule.where();
}

google::protobuf::Struct Traits(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &s)) << text;
  return s;
}

TEST(Predicate, ValidationErrorsCarryTheCallersPath) {
  EXPECT_THAT(ValidatePredicates(Where(R"(where { field: "traits.x" op: "like" })"),
                                 PredicateScope::kTraits, "territories[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "territories[1].where[0].op: unknown operator \"like\""));
  EXPECT_THAT(ValidatePredicates(Where(R"(where { field: "traits.x" op: "exists" }
                                         where { field: "traits.y" op: "gt" value { string_value: "9" } })"),
                                 PredicateScope::kTraits, "t"),
              StatusIs(absl::StatusCode::kInvalidArgument, "t.where[1].value: expected a number"));
}

TEST(Predicate, TraitsScopeRejectsEventFieldsThatEventScopeAccepts) {
  const ScoringPredicates where = Where(R"(where { field: "properties.plan" op: "exists" })");
  EXPECT_THAT(ValidatePredicates(where, PredicateScope::kTraits, "r"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("r.where[0].field: unknown field \"properties.plan\"")));
  EXPECT_OK(ValidatePredicates(where, PredicateScope::kEvent, "r"));
}

TEST(Predicate, TooManyPredicatesIsResourceExhausted) {
  std::string text;
  for (int i = 0; i <= kScoringPredicatesPerRuleMax; ++i) text += R"(where { field: "traits.x" op: "exists" } )";
  EXPECT_THAT(ValidatePredicates(Where(text), PredicateScope::kTraits, "q"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("q.where: more than")));
}

TEST(Predicate, MatchesNestedTraitsWithOperatorSemantics) {
  auto where = CompilePredicates(
      Where(R"(where { field: "traits.company.size" op: "gte" value { number_value: 1000 } }
               where { field: "traits.country" op: "in" ignore_case: true
                       value { list_value { values { string_value: "DE" } values { string_value: "fr" } } } })"),
      PredicateScope::kTraits, "r");
  ASSERT_OK(where);
  EXPECT_TRUE(AllMatchTraits(*where, Traits(R"(fields { key: "country" value { string_value: "De" } }
      fields { key: "company" value { struct_value { fields { key: "size" value { number_value: 1000 } } } } })")));
  // A string never satisfies gte, even when it looks like a number.
  EXPECT_FALSE(AllMatchTraits(*where, Traits(R"(fields { key: "country" value { string_value: "FR" } }
      fields { key: "company" value { struct_value { fields { key: "size" value { string_value: "5000" } } } } })")));
  EXPECT_FALSE(AllMatchTraits(*where, Traits(R"(fields { key: "country" value { string_value: "US" } })")));
  EXPECT_TRUE(AllMatchTraits({}, Traits("")));
}

TEST(Predicate, EventSourcesResolveLikeTheScorerDoes) {
  auto where = CompilePredicates(
      Where(R"(where { field: "context.page_path" op: "prefix" value { string_value: "/pricing" } }
               where { field: "name" op: "equals" value { string_value: "Pricing" } })"),
      PredicateScope::kEvent, "r");
  ASSERT_OK(where);
  v1::Event e;
  e.set_name("Pricing");
  e.mutable_context()->set_page_path("/pricing/enterprise");
  google::protobuf::Value scratch;
  EXPECT_TRUE((*where)[0].Matches(e, &scratch));
  EXPECT_TRUE((*where)[1].Matches(e, &scratch));
  e.clear_name();  // an empty string is absent
  EXPECT_FALSE((*where)[1].Matches(e, &scratch));
  // Non-traits sources are absent when matching traits.
  EXPECT_FALSE((*where)[0].MatchesTraits(Traits("")));
}

}  // namespace
}  // namespace leadlog
