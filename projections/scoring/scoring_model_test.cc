#include "projections/scoring/scoring_model.h"

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/testing/status_matchers.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

// A small valid model every error test starts from.
v1::ScoringModel BaseModel() {
  v1::ScoringModel m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(R"pb(
    id: "test_model"
    version: 1
    rules {
      id: "pricing_page"
      call: "page"
      where { field: "context.page_path" op: "equals" value { string_value: "/pricing" } }
      points: 10
      cap { points_max: 30 window_ms: 604800000 }
    }
    rules {
      id: "webinar"
      call: "track"
      event: "Webinar Attended"
      where { field: "properties.minutes_watched" op: "gte" value { number_value: 20 } }
      points: 25
    }
    rules {
      id: "content"
      call: "track"
      event: "Content Downloaded"
      where {
        field: "properties.content_type"
        op: "in"
        value { list_value { values { string_value: "whitepaper" } } }
      }
      points: 15
    }
    total_cap { points_max: 200 }
    decay { period_ms: 86400000 half_life_ms: 2592000000 }
    grade {
      rules {
        id: "vp"
        where { field: "traits.title" op: "prefix" value { string_value: "VP" } }
        points: 30
      }
      bands { a_min_points: 70 b_min_points: 50 c_min_points: 30 d_min_points: 15 }
    }
  )pb",
                                                            &m));
  return m;
}

absl::Status ValidateWith(const std::function<void(v1::ScoringModel*)>& edit) {
  v1::ScoringModel m = BaseModel();
  edit(&m);
  return ValidateScoringModel(m);
}

TEST(ScoringModel, BaseModelIsValid) { EXPECT_OK(ValidateScoringModel(BaseModel())); }

TEST(ScoringModel, ParsesJsonAndTextFormatToTheSameModel) {
  const std::string json = R"({"id": "m", "version": 2, "rules": [{"id": "a", "call": "track",
      "event": "Demo Requested", "points": 50,
      "where": [{"field": "properties.seats", "op": "gt", "value": 10}]}]})";
  const std::string text = R"pb(id: "m" version: 2 rules { id: "a" call: "track"
      event: "Demo Requested" points: 50
      where { field: "properties.seats" op: "gt" value { number_value: 10 } } })pb";
  absl::StatusOr<v1::ScoringModel> a = ParseScoringModel(json);
  absl::StatusOr<v1::ScoringModel> b = ParseScoringModel(text);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->SerializeAsString(), b->SerializeAsString());
}

TEST(ScoringModel, SyntaxErrorsAreInvalidArgument) {
  EXPECT_THAT(ParseScoringModel(R"({"id": "m", "version": "x"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scoring model JSON")));
  EXPECT_THAT(ParseScoringModel("id: \"m\"\nversion: {"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
}

TEST(ScoringModel, ParseValidatesTheModel) {
  EXPECT_THAT(ParseScoringModel(R"({"id": "m", "version": 0})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version: must be >= 1")));
}

TEST(ScoringModel, DefinitionAboveTheByteLimitIsRejected) {
  std::string big(kScoringModelBytesMax + 1, ' ');
  big[0] = '{';
  EXPECT_THAT(ParseScoringModel(big), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("bytes")));
  v1::ScoringModel m = BaseModel();
  m.set_description(std::string(kScoringModelBytesMax, 'x'));
  EXPECT_THAT(ValidateScoringModel(m), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("bytes")));
}

TEST(ScoringModel, RuleCountLimit) {
  v1::ScoringModel m = BaseModel();
  m.clear_rules();
  for (int i = 0; i < kScoringRulesMax; ++i) {
    v1::BehaviorRule* r = m.add_rules();
    r->set_id(absl::StrCat("r", i));
    r->set_call("track");
    r->set_points(1);
  }
  EXPECT_OK(ValidateScoringModel(m));
  *m.add_rules() = m.rules(0);
  m.mutable_rules(kScoringRulesMax)->set_id("one_more");
  EXPECT_THAT(ValidateScoringModel(m), StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("rules:")));
}

TEST(ScoringModel, FitRuleCountAndHalfLifeLimits) {
  v1::ScoringModel m = BaseModel();
  m.mutable_decay()->set_half_life_ms(m.decay().period_ms() * kScoringHalfLifePeriodsMax);
  EXPECT_OK(ValidateScoringModel(m));
  v1::FitModel* g = m.mutable_grade();
  while (g->rules_size() < kScoringFitRulesMax) {
    *g->add_rules() = g->rules(0);
    g->mutable_rules(g->rules_size() - 1)->set_id(absl::StrCat("r", g->rules_size()));
  }
  EXPECT_OK(ValidateScoringModel(m));
  *g->add_rules() = g->rules(0);
  EXPECT_THAT(ValidateScoringModel(m),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("grade.rules: more than")));
}

TEST(ScoringModel, PredicateCountLimit) {
  v1::ScoringModel m = BaseModel();
  v1::BehaviorRule* r = m.mutable_rules(0);
  while (r->where_size() < kScoringPredicatesPerRuleMax) *r->add_where() = r->where(0);
  EXPECT_OK(ValidateScoringModel(m));
  *r->add_where() = r->where(0);
  EXPECT_THAT(ValidateScoringModel(m),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("rules[0].where: more than 32")));
}

TEST(ScoringModel, InValuesLimit) {
  absl::Status s = ValidateWith([](v1::ScoringModel* m) {
    auto* list = m->mutable_rules(2)->mutable_where(0)->mutable_value()->mutable_list_value();
    while (list->values_size() <= kScoringInValuesMax) list->add_values()->set_string_value("x");
  });
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("rules[2].where[0].value")));
}

struct ErrorCase {
  const char* name;
  std::function<void(v1::ScoringModel*)> edit;
  const char* message;  // the expected path and reason
};

TEST(ScoringModel, EveryValidationErrorNamesTheField) {
  using M = v1::ScoringModel;
  const ErrorCase cases[] = {
      {"missing id", [](M* m) { m->clear_id(); }, "id: required"},
      {"bad id", [](M* m) { m->set_id("Bad Id"); }, "id: \"Bad Id\" may contain only"},
      {"long id", [](M* m) { m->set_id(std::string(kScoringIdBytesMax + 1, 'a')); }, "id: longer than"},
      {"version", [](M* m) { m->set_version(0); }, "version: must be >= 1"},
      {"rule id", [](M* m) { m->mutable_rules(1)->clear_id(); }, "rules[1].id: required"},
      {"duplicate id", [](M* m) { m->mutable_rules(1)->set_id("pricing_page"); },
       "rules[1].id: duplicate \"pricing_page\""},
      {"call", [](M* m) { m->mutable_rules(0)->set_call("screen"); }, "rules[0].call: unknown call \"screen\""},
      {"event", [](M* m) { m->mutable_rules(1)->set_event(std::string(300, 'e')); }, "rules[1].event: longer"},
      {"operator", [](M* m) { m->mutable_rules(2)->mutable_where(0)->set_op("like"); },
       "rules[2].where[0].op: unknown operator \"like\""},
      {"field", [](M* m) { m->mutable_rules(0)->mutable_where(0)->set_field("context.nope"); },
       "rules[0].where[0].field: unknown field \"context.nope\""},
      {"empty key", [](M* m) { m->mutable_rules(0)->mutable_where(0)->set_field("properties."); },
       "rules[0].where[0].field: unknown field"},
      {"equals list", [](M* m) { m->mutable_rules(0)->mutable_where(0)->mutable_value()->mutable_list_value(); },
       "rules[0].where[0].value: expected a string, number or bool"},
      {"in scalar", [](M* m) { m->mutable_rules(2)->mutable_where(0)->mutable_value()->set_string_value("x"); },
       "rules[2].where[0].value: expected a non-empty list"},
      {"in element", [](M* m) {
         m->mutable_rules(2)->mutable_where(0)->mutable_value()->mutable_list_value()->add_values()
             ->mutable_struct_value();
       },
       "rules[2].where[0].value[1]: expected a string, number or bool"},
      {"prefix number", [](M* m) {
         auto* w = m->mutable_rules(0)->mutable_where(0);
         w->set_op("prefix");
         w->mutable_value()->set_number_value(1);
       },
       "rules[0].where[0].value: expected a string"},
      {"gt string", [](M* m) { m->mutable_rules(1)->mutable_where(0)->mutable_value()->set_string_value("20"); },
       "rules[1].where[0].value: expected a number"},
      {"exists value", [](M* m) { m->mutable_rules(1)->mutable_where(0)->set_op("exists"); },
       "rules[1].where[0].value: must be unset for exists"},
      {"long string", [](M* m) {
         m->mutable_rules(0)->mutable_where(0)->mutable_value()->set_string_value(
             std::string(kScoringStringValueBytesMax + 1, 's'));
       },
       "rules[0].where[0].value: longer than"},
      {"points", [](M* m) { m->mutable_rules(1)->set_points(kScoringPointsAbsMax + 1); }, "rules[1].points: must be within"},
      {"cap points", [](M* m) { m->mutable_rules(0)->mutable_cap()->set_points_max(0); },
       "rules[0].cap.points_max: must be > 0"},
      {"cap window", [](M* m) { m->mutable_rules(0)->mutable_cap()->set_window_ms(0); },
       "rules[0].cap.window_ms: must be in"},
      {"cap awards", [](M* m) {
         m->mutable_rules(0)->set_points(1);
         m->mutable_rules(0)->mutable_cap()->set_points_max(kScoringCapAwardsMax + 1);
       },
       "rules[0].cap.points_max: allows more than 1000 awards"},
      {"total cap", [](M* m) { m->mutable_total_cap()->set_points_max(-1); }, "total_cap.points_max: must be > 0"},
      {"decay period", [](M* m) { m->mutable_decay()->set_period_ms(0); }, "decay.period_ms: must be in"},
      {"half life", [](M* m) { m->mutable_decay()->set_half_life_ms(0); }, "decay.half_life_ms: must be > 0"},
      {"half life periods", [](M* m) { m->mutable_decay()->set_half_life_ms(86400000LL * 1001); },
       "decay.half_life_ms: must be at most 1000"},
      {"percent", [](M* m) { m->mutable_decay()->set_percent_per_period(101); },
       "decay.percent_per_period: must be in [1, 100]"},
      {"no rate", [](M* m) { m->mutable_decay()->clear_rate(); }, "decay: set half_life_ms or percent_per_period"},
      {"fit id", [](M* m) { *m->mutable_grade()->add_rules() = m->grade().rules(0); },
       "grade.rules[1].id: duplicate \"vp\""},
      {"fit field", [](M* m) {
         m->mutable_grade()->mutable_rules(0)->mutable_where(0)->set_field("properties.title");
       },
       "grade.rules[0].where[0].field: unknown field \"properties.title\" (fit rules read traits.* only)"},
      {"fit points", [](M* m) { m->mutable_grade()->mutable_rules(0)->set_points(-kScoringPointsAbsMax - 1); },
       "grade.rules[0].points: must be within"},
      {"bands", [](M* m) { m->mutable_grade()->mutable_bands()->set_a_min_points(50); },
       "grade.bands: A must be above B"},
      {"bands cd", [](M* m) { m->mutable_grade()->mutable_bands()->set_d_min_points(40); },
       "grade.bands: C must be above D"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status s = ValidateWith(c.edit);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(c.message));
  }
}

TEST(ScoringModel, UnknownOperatorInJsonNamesThePath) {
  EXPECT_THAT(ParseScoringModel(R"({"id": "m", "version": 1, "rules": [
      {"id": "a", "call": "page", "points": 1},
      {"id": "b", "call": "page", "points": 1},
      {"id": "c", "call": "page", "points": 1,
       "where": [{"field": "context.page_path", "op": "like", "value": "/x"}]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rules[2].where[0].op: unknown operator \"like\"")));
}

TEST(ScoringModel, ExampleDefaultModelValidates) {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/scoring_model.json");
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<v1::ScoringModel> m = ParseScoringModel(text.str());
  ASSERT_OK(m);
  EXPECT_EQ(m->id(), "default_b2b");
  EXPECT_GE(m->rules_size(), 10);
  EXPECT_GE(m->grade().rules_size(), 10);
}

}  // namespace
}  // namespace leadlog

namespace leadlog {
namespace {

// Sets rules[0].where[0] (behaviour) or grade.rules[0].where[0] (fit).
absl::Status WithPredicate(bool fit, const std::string& field, const std::string& op,
                           const std::string& value) {
  return ValidateWith([&](v1::ScoringModel* m) {
    v1::ScoringPredicate* p = fit ? m->mutable_grade()->mutable_rules(0)->mutable_where(0)
                                  : m->mutable_rules(0)->mutable_where(0);
    p->set_field(field);
    p->set_op(op);
    if (op == "exists") {
      p->clear_value();
    } else {
      p->mutable_value()->set_string_value(value);
    }
  });
}

TEST(ScoringModel, ConditionsOnPersonalFieldsAreRejectedNamingTheField) {
  const char* why = "is personal data that erasure removes";
  EXPECT_THAT(WithPredicate(true, "traits.first_name", "equals", "Jane"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("grade.rules[0].where[0].field: \"traits.first_name\" is personal")));
  EXPECT_THAT(WithPredicate(false, "properties.form.phone", "exists", ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rules[0].where[0].field: \"properties.form.phone\"")));
  EXPECT_THAT(WithPredicate(false, "context.ip", "prefix", "10."),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
  EXPECT_THAT(WithPredicate(false, "context.user_agent", "contains", "Mac"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
  EXPECT_THAT(WithPredicate(true, "traits.address.zip", "prefix", "9"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
  // An email only by its domain.
  EXPECT_THAT(WithPredicate(true, "traits.email", "equals", "jane@acme.com"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
  EXPECT_THAT(WithPredicate(true, "traits.email", "contains", "jane"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
  EXPECT_THAT(WithPredicate(true, "traits.email", "prefix", "@x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(why)));
}

TEST(ScoringModel, EmailDomainConditionsAndOtherTraitsAreAllowed) {
  EXPECT_OK(WithPredicate(true, "traits.email", "contains", "@gmail."));
  EXPECT_OK(WithPredicate(true, "traits.Email", "contains", ".edu"));
  EXPECT_OK(WithPredicate(true, "traits.email", "exists", ""));
  EXPECT_OK(WithPredicate(false, "properties.form.email", "contains", "@acme.com"));
  EXPECT_OK(WithPredicate(true, "traits.company_name_length", "equals", "x"));
  EXPECT_OK(WithPredicate(false, "context.page_path", "equals", "/pricing"));
  EXPECT_OK(WithPredicate(false, "name", "equals", "Demo Requested"));  // the event name
}

}  // namespace
}  // namespace leadlog
