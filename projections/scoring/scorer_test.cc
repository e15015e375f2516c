#include "projections/scoring/scorer.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/testing/status_matchers.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;
constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z, a day boundary

std::unique_ptr<Scorer> MakeScorer(const std::string& json) {
  absl::StatusOr<v1::ScoringModel> model = ParseScoringModel(json);
  EXPECT_OK(model);
  absl::StatusOr<std::unique_ptr<Scorer>> scorer = Scorer::Create(*model);
  EXPECT_OK(scorer);
  return std::move(*scorer);
}

// Record builder: a track/page/identify event at a log time.
struct Rec {
  v1::LogRecord r;
  Rec(uint64_t seq, int64_t t, v1::CallType type, const std::string& name = "") {
    r.set_sequence(seq);
    r.set_log_time_ms(t);
    r.mutable_event()->set_event_id(absl::StrCat("e", seq));
    r.mutable_event()->set_type(type);
    r.mutable_event()->set_name(name);
  }
  google::protobuf::Value& Prop(const std::string& k) { return (*r.mutable_event()->mutable_properties()->mutable_fields())[k]; }
  google::protobuf::Value& Trait(const std::string& k) { return (*r.mutable_event()->mutable_traits()->mutable_fields())[k]; }
  Rec& Str(const std::string& k, const std::string& v) { Prop(k).set_string_value(v); return *this; }
  Rec& Num(const std::string& k, double v) { Prop(k).set_number_value(v); return *this; }
  Rec& TraitStr(const std::string& k, const std::string& v) { Trait(k).set_string_value(v); return *this; }
  Rec& TraitNum(const std::string& k, double v) { Trait(k).set_number_value(v); return *this; }
  Rec& Path(const std::string& p) { r.mutable_event()->mutable_context()->set_page_path(p); return *this; }
};

std::string Rule(const std::string& id, const std::string& where, int points, const std::string& extra = "") {
  return absl::StrCat(R"({"id": ")", id, R"(", "call": "track", "event": "E", "points": )", points,
                      R"(, "where": [)", where, "]", extra, "}");
}

std::string Model(const std::string& rules, const std::string& extra = "") {
  return absl::StrCat(R"({"id": "m", "version": 1, "rules": [)", rules, "]", extra, "}");
}

const v1::RuleScore& RuleOf(const v1::ScoreState& s, const std::string& id) {
  for (const v1::RuleScore& r : s.rules()) {
    if (r.rule_id() == id) return r;
  }
  ADD_FAILURE() << "no rule " << id;
  return s.rules(0);
}

std::string Deterministic(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

TEST(Scorer, EveryOperatorMatchesAsDocumented) {
  auto scorer = MakeScorer(Model(absl::StrCat(
      Rule("eq", R"({"field": "properties.plan", "op": "equals", "value": "pro"})", 1), ",",
      Rule("eq_num", R"({"field": "properties.seats", "op": "equals", "value": 25})", 1), ",",
      Rule("in", R"({"field": "properties.plan", "op": "in", "value": ["free", "pro"]})", 1), ",",
      Rule("prefix", R"({"field": "properties.url", "op": "prefix", "value": "/pricing"})", 1), ",",
      Rule("contains", R"({"field": "properties.url", "op": "contains", "value": "enterprise"})", 1), ",",
      Rule("gt", R"({"field": "properties.seats", "op": "gt", "value": 25})", 1), ",",
      Rule("gte", R"({"field": "properties.seats", "op": "gte", "value": 25})", 1), ",",
      Rule("lt", R"({"field": "properties.seats", "op": "lt", "value": 25})", 1), ",",
      Rule("lte", R"({"field": "properties.seats", "op": "lte", "value": 25})", 1), ",",
      Rule("exists", R"({"field": "properties.nested.flag", "op": "exists"})", 1), ",",
      Rule("ctx", R"({"field": "context.page_path", "op": "equals", "value": "/p"})", 1), ",",
      Rule("name", R"({"field": "name", "op": "equals", "value": "E"})", 1))));
  struct Case {
    std::function<void(Rec*)> fill;
    std::vector<std::string> matched;
  };
  const Case cases[] = {
      {[](Rec* r) { r->Str("plan", "pro").Num("seats", 25); }, {"eq", "eq_num", "in", "gte", "lte", "name"}},
      {[](Rec* r) { r->Str("plan", "Pro").Num("seats", 26); }, {"gt", "gte", "name"}},  // case-sensitive
      {[](Rec* r) { r->Str("plan", "free").Num("seats", 24.5); }, {"in", "lt", "lte", "name"}},
      {[](Rec* r) { r->Str("seats", "25").Str("url", "/pricing/enterprise"); }, {"prefix", "contains", "name"}},
      {[](Rec* r) {
         (*r->Prop("nested").mutable_struct_value()->mutable_fields())["flag"].set_bool_value(false);
         r->Path("/p");
       },
       {"exists", "ctx", "name"}},
      {[](Rec* r) {
         (*r->Prop("nested").mutable_struct_value()->mutable_fields())["flag"].set_null_value({});
       },
       {"name"}},
  };
  uint64_t seq = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(seq);
    Rec rec(seq, kT0, v1::CALL_TYPE_TRACK, "E");
    c.fill(&rec);
    v1::ScoreState state;
    scorer->Apply(rec.r, &state);
    std::vector<std::string> matched;
    for (const v1::RuleScore& r : state.rules()) {
      if (r.matches() > 0) matched.push_back(r.rule_id());
    }
    EXPECT_EQ(matched, c.matched);
    EXPECT_EQ(state.score_milli(), 1000 * static_cast<int64_t>(c.matched.size()));
    ++seq;
  }
}

TEST(Scorer, IgnoreCaseComparesAsciiCaseInsensitively) {
  auto scorer = MakeScorer(Model(absl::StrCat(
      Rule("eq", R"({"field": "properties.t", "op": "equals", "value": "VP Sales", "ignore_case": true})", 1), ",",
      Rule("in", R"({"field": "properties.t", "op": "in", "value": ["x", "Vp sALES"], "ignore_case": true})", 1),
      ",", Rule("pre", R"({"field": "properties.t", "op": "prefix", "value": "vp", "ignore_case": true})", 1), ",",
      Rule("con", R"({"field": "properties.t", "op": "contains", "value": "SAL", "ignore_case": true})", 1))));
  v1::ScoreState state;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_TRACK, "E").Str("t", "vp sales").r, &state);
  EXPECT_EQ(state.score_milli(), 4000);
}

TEST(Scorer, CallTypeAndEventNameMustMatch) {
  auto scorer = MakeScorer(Model(
      R"({"id": "pricing", "call": "page", "points": 10,
          "where": [{"field": "context.page_path", "op": "equals", "value": "/pricing"}]},
         {"id": "any_track", "call": "track", "points": 1})"));
  v1::ScoreState state;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_TRACK, "Pricing").Path("/pricing").r, &state);
  scorer->Apply(Rec(1, kT0, v1::CALL_TYPE_PAGE, "Pricing").Path("/pricing").r, &state);
  scorer->Apply(Rec(2, kT0, v1::CALL_TYPE_PAGE, "Home").Path("/").r, &state);
  EXPECT_EQ(RuleOf(state, "pricing").matches(), 1u);
  EXPECT_EQ(RuleOf(state, "any_track").matches(), 1u);
  EXPECT_EQ(state.score_milli(), 11000);
  EXPECT_EQ(state.last_sequence(), 2u);
  EXPECT_EQ(state.records_applied(), 3u);
}

TEST(Scorer, RuleCapLimitsPointsPerRollingWindowAndSlidingReallows) {
  auto scorer = MakeScorer(Model(
      Rule("open", "", 10, absl::StrCat(R"(, "cap": {"points_max": 25, "window_ms": )", 7 * kDayMs, "}"))));
  v1::ScoreState s;
  for (uint64_t i = 0; i < 4; ++i) scorer->Apply(Rec(i, kT0 + i * 1000, v1::CALL_TYPE_TRACK, "E").r, &s);
  const v1::RuleScore& r = RuleOf(s, "open");
  EXPECT_EQ(s.score_milli(), 25000);  // 10 + 10 + 5 (partial) + 0
  EXPECT_EQ(r.matches(), 4u);
  EXPECT_EQ(r.cap_hits(), 2u);
  EXPECT_EQ(r.window_size(), 3);
  EXPECT_EQ(r.recent_sequences_size(), 3);  // the zero award did not contribute
  // Just before the first award leaves the window: still capped.
  scorer->Apply(Rec(4, kT0 + 7 * kDayMs - 1, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 25000);
  // The window (t - 7d, t] no longer holds the award made at kT0: 10 more.
  scorer->Apply(Rec(5, kT0 + 7 * kDayMs, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 35000);
  EXPECT_EQ(RuleOf(s, "open").cap_hits(), 3u);
}

TEST(Scorer, TotalCapStopsAwardsAndDecayReopensRoom) {
  auto scorer = MakeScorer(Model(Rule("a", "", 40),
                                 absl::StrCat(R"(, "total_cap": {"points_max": 100}, "decay": {"period_ms": )", kDayMs,
                                              R"(, "percent_per_period": 50})")));
  v1::ScoreState s;
  for (uint64_t i = 0; i < 3; ++i) scorer->Apply(Rec(i, kT0, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 100000);
  EXPECT_EQ(s.total_cap_hits(), 1u);
  scorer->Apply(Rec(3, kT0 + 10, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 100000);
  EXPECT_EQ(s.total_cap_hits(), 2u);
  scorer->Apply(Rec(4, kT0 + kDayMs, v1::CALL_TYPE_TRACK, "E").r, &s);  // 50 after decay, +40
  EXPECT_EQ(s.score_milli(), 90000);
  EXPECT_EQ(RuleOf(s, "a").raw_points_milli(), 140000);
  EXPECT_EQ(RuleOf(s, "a").decay_applied_milli(), 50000);
}

TEST(Scorer, HalfLifeDecayExactValues) {
  EXPECT_EQ(ExpTwoNegQ32(1, 1), uint64_t{1} << 31);
  EXPECT_EQ(ExpTwoNegQ32(1, 2), 3037000500u);  // round(2^-0.5 * 2^32)
  EXPECT_EQ(ExpTwoNegQ32(3, 1), uint64_t{1} << 29);
  EXPECT_EQ(ExpTwoNegQ32(64, 1), 0u);
  auto scorer = MakeScorer(Model(Rule("a", "", 10), absl::StrCat(R"(, "decay": {"period_ms": )", kDayMs,
                                                                 R"(, "half_life_ms": )", 2 * kDayMs, "}")));
  EXPECT_EQ(scorer->keep_numerator(), 3037000500u);
  v1::ScoreState s;
  scorer->Apply(Rec(0, kT0 + 5, v1::CALL_TYPE_TRACK, "E").r, &s);
  const int64_t expected[] = {10000, 7071, 4999, 3534, 2498};
  for (int day = 0; day <= 4; ++day) {
    scorer->AdvanceTime(kT0 + day * kDayMs + 5, &s);
    EXPECT_EQ(s.score_milli(), expected[day]) << "day " << day;
  }
  EXPECT_EQ(RuleOf(s, "a").decay_applied_milli(), 10000 - 2498);
  // One jump over the same four boundaries gives the same value.
  v1::ScoreState jump;
  scorer->Apply(Rec(0, kT0 + 5, v1::CALL_TYPE_TRACK, "E").r, &jump);
  scorer->AdvanceTime(kT0 + 4 * kDayMs, &jump);
  EXPECT_EQ(jump.score_milli(), 2498);
  // Long enough, everything reaches exactly zero.
  scorer->AdvanceTime(kT0 + 4000 * kDayMs, &jump);
  EXPECT_EQ(jump.score_milli(), 0);
}

TEST(Scorer, PercentPerPeriodDecayExactValuesAndNegativePoints) {
  auto scorer = MakeScorer(Model(absl::StrCat(Rule("plus", "", 10), ",", Rule("minus", "", -3)),
                                 absl::StrCat(R"(, "decay": {"period_ms": )", kDayMs, R"(, "percent_per_period": 10})")));
  v1::ScoreState s;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 7000);
  scorer->AdvanceTime(kT0 + kDayMs - 1, &s);  // no boundary crossed
  EXPECT_EQ(s.score_milli(), 7000);
  scorer->AdvanceTime(kT0 + 3 * kDayMs, &s);  // 10000 -> 7290, -3000 -> -2187
  EXPECT_EQ(RuleOf(s, "plus").points_milli(), 7290);
  EXPECT_EQ(RuleOf(s, "minus").points_milli(), -2187);
  EXPECT_EQ(RuleOf(s, "minus").decay_applied_milli(), -813);
  EXPECT_EQ(s.score_milli(), 7290 - 2187);
  scorer->AdvanceTime(kT0, &s);  // time never goes back
  EXPECT_EQ(s.score_milli(), 7290 - 2187);
}

TEST(Scorer, DecayAtTheSlowestAllowedRateReachesZero) {
  auto scorer = MakeScorer(Model(Rule("a", "", static_cast<int>(kScoringPointsAbsMax)),
                                 absl::StrCat(R"(, "decay": {"period_ms": 1, "half_life_ms": )",
                                              kScoringHalfLifePeriodsMax, "}")));
  v1::ScoreState s;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), kScoringPointsAbsMax * 1000);
  scorer->AdvanceTime(kT0 + kScoringHalfLifePeriodsMax, &s);  // one half-life
  EXPECT_NEAR(static_cast<double>(s.score_milli()), kScoringPointsAbsMax * 500.0, kScoringPointsAbsMax * 0.5);
  scorer->AdvanceTime(kT0 + (int64_t{1} << 40), &s);
  EXPECT_EQ(s.score_milli(), 0);
}

TEST(Scorer, BehaviourRulesCanReadIdentifyTraits) {
  auto scorer = MakeScorer(Model(R"({"id": "competitor", "call": "identify", "points": -50,
      "where": [{"field": "traits.email", "op": "contains", "value": "@rival.com"}]})"));
  v1::ScoreState s;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_IDENTIFY).TraitStr("email", "a@rival.com").r, &s);
  scorer->Apply(Rec(1, kT0, v1::CALL_TYPE_IDENTIFY).TraitStr("email", "a@customer.com").r, &s);
  EXPECT_EQ(s.score_milli(), -50000);
  EXPECT_EQ(s.grade().grade(), "");  // no grade section
}

TEST(Scorer, NegativeRuleCapBoundsTheMagnitude) {
  auto scorer = MakeScorer(Model(
      Rule("careers", "", -10, absl::StrCat(R"(, "cap": {"points_max": 15, "window_ms": )", kDayMs, "}"))));
  v1::ScoreState s;
  for (uint64_t i = 0; i < 3; ++i) scorer->Apply(Rec(i, kT0, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), -15000);
}

TEST(Scorer, BreakdownKeepsTheLastSequencesAndTheCount) {
  auto scorer = MakeScorer(Model(Rule("a", "", 1)));
  v1::ScoreState s;
  for (uint64_t i = 0; i < 40; ++i) scorer->Apply(Rec(i, kT0 + i, v1::CALL_TYPE_TRACK, "E").r, &s);
  const v1::RuleScore& r = RuleOf(s, "a");
  EXPECT_EQ(r.matches(), 40u);
  ASSERT_EQ(r.recent_sequences_size(), kScoringBreakdownSequencesMax);
  EXPECT_EQ(r.recent_sequences(0), 40u - kScoringBreakdownSequencesMax);
  EXPECT_EQ(r.recent_sequences(kScoringBreakdownSequencesMax - 1), 39u);
}

constexpr char kFitModel[] = R"({"id": "fit", "version": 1, "grade": {
  "rules": [
    {"id": "vp", "where": [{"field": "traits.title", "op": "prefix", "value": "VP"}], "points": 30},
    {"id": "big", "where": [{"field": "traits.employees", "op": "gte", "value": 1000}], "points": 25},
    {"id": "us", "where": [{"field": "traits.country", "op": "equals", "value": "US"}], "points": 10},
    {"id": "free_mail", "where": [{"field": "traits.email", "op": "contains", "value": "@gmail."}], "points": -20}],
  "bands": {"a_min_points": 60, "b_min_points": 40, "c_min_points": 20, "d_min_points": 10}}})";

TEST(Scorer, GradeBandsFromLatestTraits) {
  auto scorer = MakeScorer(kFitModel);
  v1::ScoreState s;
  scorer->Apply(Rec(0, kT0, v1::CALL_TYPE_PAGE, "Home").r, &s);
  EXPECT_EQ(s.grade().grade(), "F");
  scorer->Apply(Rec(1, kT0, v1::CALL_TYPE_IDENTIFY).TraitStr("country", "US").TraitStr("name", "x").r, &s);
  EXPECT_EQ(s.grade().grade(), "D");  // 10
  scorer->Apply(Rec(2, kT0, v1::CALL_TYPE_GROUP).TraitNum("employees", 5000).r, &s);
  EXPECT_EQ(s.grade().grade(), "C");  // 35
  scorer->Apply(Rec(3, kT0, v1::CALL_TYPE_IDENTIFY).TraitStr("title", "VP Marketing").r, &s);
  EXPECT_EQ(s.grade().grade(), "A");  // 65
  EXPECT_EQ(s.grade().fit_points(), 65);
  ASSERT_EQ(s.grade().hits_size(), 3);
  EXPECT_EQ(s.grade().hits(0).rule_id(), "vp");
  scorer->Apply(Rec(4, kT0, v1::CALL_TYPE_IDENTIFY).TraitStr("email", "a@gmail.com").r, &s);
  EXPECT_EQ(s.grade().grade(), "B");  // 45
  // Latest value wins: a smaller company later lowers the grade.
  scorer->Apply(Rec(5, kT0 + 1, v1::CALL_TYPE_IDENTIFY).TraitNum("employees", 20).r, &s);
  EXPECT_EQ(s.grade().fit_points(), 20);
  EXPECT_EQ(s.grade().grade(), "C");
  // Traits kept: only those fit rules read, sorted, with the setting record.
  ASSERT_EQ(s.grade().traits_size(), 4);
  EXPECT_EQ(s.grade().traits(0).name(), "country");
  EXPECT_EQ(s.grade().traits(1).name(), "email");
  EXPECT_EQ(s.grade().traits(1).sequence(), 4u);
  EXPECT_EQ(s.grade().traits(2).name(), "employees");
  EXPECT_EQ(s.grade().traits(2).sequence(), 5u);
  EXPECT_EQ(s.grade().traits(3).name(), "title");
}

TEST(Scorer, NewModelVersionKeepsPointsOfRulesWithTheSameId) {
  auto first = MakeScorer(Model(absl::StrCat(Rule("a", "", 5), ",", Rule("b", "", 7))));
  v1::ScoreState s;
  first->Apply(Rec(0, kT0, v1::CALL_TYPE_TRACK, "E").r, &s);
  EXPECT_EQ(s.score_milli(), 12000);
  auto second = MakeScorer(R"({"id": "m", "version": 2, "rules": [
      {"id": "c", "call": "page", "points": 1}, {"id": "b", "call": "track", "event": "E", "points": 7}]})");
  second->Apply(Rec(1, kT0, v1::CALL_TYPE_PAGE, "Home").r, &s);
  EXPECT_EQ(s.model_version(), 2u);
  ASSERT_EQ(s.rules_size(), 2);
  EXPECT_EQ(s.rules(0).rule_id(), "c");
  EXPECT_EQ(s.rules(1).rule_id(), "b");
  EXPECT_EQ(s.score_milli(), 8000);  // b kept its 7, a dropped, c +1
}

// Generates `n` varied records over ~60 days from `seed`.
std::vector<v1::LogRecord> Generate(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  const char* names[] = {"Email Opened", "Email Clicked", "Content Downloaded", "Webinar Attended",
                         "Demo Requested", "Form Submitted"};
  const char* paths[] = {"/pricing", "/product/scoring", "/careers", "/docs/api-reference", "/demo", "/"};
  const char* titles[] = {"VP of Marketing", "CEO", "Software Engineer", "Student", "Director of Demand Generation"};
  std::vector<v1::LogRecord> out;
  int64_t t = kT0;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % (20 * 60 * 1000));
    const uint64_t kind = rng() % 10;
    const auto seq = static_cast<uint64_t>(i);
    if (kind < 4) {
      out.push_back(Rec(seq, t, v1::CALL_TYPE_PAGE, "Page").Path(paths[rng() % 6]).r);
    } else if (kind < 8) {
      Rec r(seq, t, v1::CALL_TYPE_TRACK, names[rng() % 6]);
      r.Num("minutes_watched", static_cast<double>(rng() % 60));
      r.Str("content_type", rng() % 2 ? "whitepaper" : "case_study");
      r.Str("form_type", rng() % 2 ? "contact_us" : "newsletter");
      out.push_back(r.r);
    } else if (kind < 9) {
      out.push_back(Rec(seq, t, v1::CALL_TYPE_IDENTIFY).TraitStr("title", titles[rng() % 5])
                        .TraitNum("employees", static_cast<double>(rng() % 5000)).TraitStr("country", "US").r);
    } else {
      v1::LogRecord tick;
      tick.set_sequence(seq);
      tick.set_log_time_ms(t);
      tick.mutable_clock_tick();
      out.push_back(tick);
    }
  }
  return out;
}

TEST(Scorer, FoldIsByteIdenticalAcrossRunsAndSerializeRoundTrips) {
  // Replay a failure with LEADLOG_SCORING_SEED=<printed seed>.
  const char* env = std::getenv("LEADLOG_SCORING_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::printf("seed=%llu (replay: LEADLOG_SCORING_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  SCOPED_TRACE(seed);
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/scoring_model.json");
  std::stringstream text;
  text << in.rdbuf();
  auto scorer = MakeScorer(text.str());
  const std::vector<v1::LogRecord> records = Generate(seed, 10000);
  v1::ScoreState a, b, c;
  for (const v1::LogRecord& r : records) scorer->Apply(r, &a);
  for (const v1::LogRecord& r : records) scorer->Apply(r, &b);
  for (size_t i = 0; i < records.size() / 2; ++i) scorer->Apply(records[i], &c);
  v1::ScoreState restored;
  ASSERT_TRUE(restored.ParseFromString(Deterministic(c)));
  for (size_t i = records.size() / 2; i < records.size(); ++i) scorer->Apply(records[i], &restored);
  EXPECT_EQ(Deterministic(a), Deterministic(b));
  EXPECT_EQ(Deterministic(a), Deterministic(restored));
  EXPECT_EQ(a.records_applied(), 10000u);
  EXPECT_NE(a.score_milli(), 0);
  int64_t sum = 0;
  for (const v1::RuleScore& r : a.rules()) {
    sum += r.points_milli();
    EXPECT_EQ(r.raw_points_milli() - r.decay_applied_milli(), r.points_milli()) << r.rule_id();
  }
  EXPECT_EQ(sum, a.score_milli());
  EXPECT_LE(a.score_milli(), 200000);
}

}  // namespace
}  // namespace leadlog
