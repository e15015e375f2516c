#include "projections/scoring/merge.h"

#include <cstdio>
#include <random>
#include <set>
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

v1::LogRecord Track(uint64_t seq, int64_t t, const std::string& name) {
  v1::LogRecord r;
  r.set_sequence(seq);
  r.set_log_time_ms(t);
  r.mutable_event()->set_event_id(absl::StrCat("e", seq));
  r.mutable_event()->set_type(v1::CALL_TYPE_TRACK);
  r.mutable_event()->set_name(name);
  return r;
}

v1::LogRecord Identify(uint64_t seq, int64_t t, const std::string& title, double employees) {
  v1::LogRecord r = Track(seq, t, "");
  r.mutable_event()->set_type(v1::CALL_TYPE_IDENTIFY);
  auto& fields = *r.mutable_event()->mutable_traits()->mutable_fields();
  if (!title.empty()) fields["title"].set_string_value(title);
  if (employees >= 0) fields["employees"].set_number_value(employees);
  return r;
}

std::string Deterministic(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

const v1::RuleScore& RuleOf(const v1::ScoreState& s, const std::string& id) {
  for (const v1::RuleScore& r : s.rules()) {
    if (r.rule_id() == id) return r;
  }
  ADD_FAILURE() << "no rule " << id;
  return s.rules(0);
}

constexpr char kFit[] = R"("grade": {
    "rules": [
      {"id": "vp", "where": [{"field": "traits.title", "op": "prefix", "value": "VP"}], "points": 30},
      {"id": "big", "where": [{"field": "traits.employees", "op": "gte", "value": 1000}], "points": 25}],
    "bands": {"a_min_points": 50, "b_min_points": 30, "c_min_points": 20, "d_min_points": 10}})";

// Caps, a negative rule, a total cap, half-life decay and a grade.
std::string FullModel(uint32_t version = 1) {
  return absl::StrCat(R"({"id": "m", "version": )", version, R"(, "rules": [
      {"id": "pricing", "call": "track", "event": "Pricing", "points": 10,
       "cap": {"points_max": 30, "window_ms": )",
                      7 * kDayMs, R"(}},
      {"id": "demo", "call": "track", "event": "Demo", "points": 50,
       "cap": {"points_max": 50, "window_ms": )",
                      30 * kDayMs, R"(}},
      {"id": "any", "call": "track", "points": 3},
      {"id": "unsub", "call": "track", "event": "Unsub", "points": -20,
       "cap": {"points_max": 40, "window_ms": )",
                      30 * kDayMs, R"(}},
      {"id": "ident", "call": "identify", "points": 1}],
    "total_cap": {"points_max": 150},
    "decay": {"period_ms": )",
                      kDayMs, R"(, "half_life_ms": )", 14 * kDayMs, R"(},)", kFit, "}");
}

// No caps, no decay: a merge must equal the fold of both histories.
std::string PlainModel() {
  return absl::StrCat(R"({"id": "m", "version": 1, "rules": [
      {"id": "pricing", "call": "track", "event": "Pricing", "points": 10},
      {"id": "any", "call": "track", "points": 3},
      {"id": "unsub", "call": "track", "event": "Unsub", "points": -20},
      {"id": "ident", "call": "identify", "points": 1}],)",
                      kFit, "}");
}

// Two leads' interleaved records of one shard, plus all of them in order.
struct History {
  std::vector<v1::LogRecord> survivor, absorbed, all;
};

History Generate(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  const char* names[] = {"Pricing", "Demo", "Unsub", "Other"};
  const char* titles[] = {"VP Sales", "CEO", "Engineer", ""};
  History h;
  int64_t t = kT0;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(rng() % (12 * 3600 * 1000));
    const auto seq = static_cast<uint64_t>(i);
    v1::LogRecord r;
    if (rng() % 6 == 0) {
      const double employees = rng() % 3 == 0 ? -1 : static_cast<double>(rng() % 3000);
      r = Identify(seq, t, titles[rng() % 4], employees);
    } else {
      r = Track(seq, t, names[rng() % 4]);
    }
    // The survivor is the lead seen first.
    (i == 0 || rng() % 2 == 0 ? h.survivor : h.absorbed).push_back(r);
    h.all.push_back(r);
  }
  return h;
}

v1::ScoreState Fold(const Scorer& scorer, const std::vector<v1::LogRecord>& records) {
  v1::ScoreState s;
  for (const v1::LogRecord& r : records) scorer.Apply(r, &s);
  return s;
}

// The invariants scorer.h lists, plus the model layout.
void ExpectInvariants(const Scorer& scorer, const v1::ScoreState& s) {
  const v1::ScoringModel& model = scorer.model();
  EXPECT_EQ(s.model_id(), model.id());
  EXPECT_EQ(s.model_version(), model.version());
  ASSERT_EQ(s.rules_size(), model.rules_size());
  int64_t sum = 0;
  for (int i = 0; i < s.rules_size(); ++i) {
    const v1::RuleScore& r = s.rules(i);
    const v1::BehaviorRule& rule = model.rules(i);
    SCOPED_TRACE(rule.id());
    EXPECT_EQ(r.rule_id(), rule.id());
    sum += r.points_milli();
    EXPECT_EQ(r.raw_points_milli() - r.decay_applied_milli(), r.points_milli());
    EXPECT_LE(r.recent_sequences_size(), kScoringBreakdownSequencesMax);
    for (int j = 1; j < r.recent_sequences_size(); ++j) {
      EXPECT_LT(r.recent_sequences(j - 1), r.recent_sequences(j));
    }
    if (!rule.has_cap()) {
      EXPECT_EQ(r.window_size(), 0);
      continue;
    }
    int64_t used = 0;
    for (int j = 0; j < r.window_size(); ++j) {
      used += std::abs(r.window(j).points_milli());
      if (j > 0) {
        EXPECT_LE(r.window(j - 1).log_time_ms(), r.window(j).log_time_ms());
      }
    }
    EXPECT_LE(used, rule.cap().points_max() * 1000);
  }
  EXPECT_EQ(s.score_milli(), sum);
  if (model.has_total_cap()) {
    EXPECT_LE(s.score_milli(), model.total_cap().points_max() * 1000);
  }
  for (int i = 1; i < s.grade().traits_size(); ++i) {
    EXPECT_LT(s.grade().traits(i - 1).name(), s.grade().traits(i).name());
  }
  for (const v1::TraitValue& t : s.grade().traits()) {
    EXPECT_TRUE(t.name() == "title" || t.name() == "employees") << t.name();
  }
}

TEST(MergeScoreStates, WithoutCapsOrDecayEqualsTheFoldOfBothHistories) {
  auto scorer = MakeScorer(PlainModel());
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    const History h = Generate(seed, 5 + static_cast<int>(seed % 60));
    v1::ScoreState merged = Fold(*scorer, h.survivor);
    MergeScoreStates(*scorer, Fold(*scorer, h.absorbed), &merged);
    ExpectInvariants(*scorer, merged);
    ASSERT_EQ(Deterministic(merged), Deterministic(Fold(*scorer, h.all)))
        << merged.DebugString() << "\nvs\n"
        << Fold(*scorer, h.all).DebugString();
  }
}

TEST(MergeScoreStates, InvariantsHoldWithCapsDecayAndTotalCap) {
  auto scorer = MakeScorer(FullModel());
  auto older = MakeScorer(R"({"id": "m_old", "version": 1, "rules": [
      {"id": "gone", "call": "track", "points": 7},
      {"id": "pricing", "call": "track", "event": "Pricing", "points": 10}]})");
  int total_cap_merges = 0, trimming_merges = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    const History h = Generate(seed, 2 + static_cast<int>(seed % 120));
    // Every third case the survivor was last written by another model.
    v1::ScoreState merged = Fold(seed % 3 == 0 ? *older : *scorer, h.survivor);
    const v1::ScoreState absorbed = Fold(*scorer, h.absorbed);
    const uint64_t total_cap_hits_before = merged.total_cap_hits() + absorbed.total_cap_hits();
    uint64_t cap_hits_before = 0;
    for (const v1::ScoreState* st :
         std::initializer_list<const v1::ScoreState*>{&merged, &absorbed}) {
      for (const v1::RuleScore& r : st->rules()) cap_hits_before += r.cap_hits();
    }
    MergeScoreStates(*scorer, absorbed, &merged);
    ExpectInvariants(*scorer, merged);
    if (merged.total_cap_hits() > total_cap_hits_before) ++total_cap_merges;
    uint64_t cap_hits_after = 0;
    for (const v1::RuleScore& r : merged.rules()) cap_hits_after += r.cap_hits();
    // Cap hits added without a total-cap cut: a rule window was trimmed.
    if (cap_hits_after > cap_hits_before && merged.total_cap_hits() == total_cap_hits_before) {
      ++trimming_merges;
    }
    EXPECT_EQ(merged.records_applied(), h.all.size());
    EXPECT_EQ(merged.last_sequence(), h.all.back().sequence());
    EXPECT_EQ(merged.decayed_through_ms(), h.all.back().log_time_ms());
    // Traits and grade are what one lead seeing every record would have
    // (unless the survivor's traits were dropped by a model reading none).
    if (seed % 3 != 0) {
      EXPECT_EQ(Deterministic(merged.grade()), Deterministic(Fold(*scorer, h.all).grade()));
    }
    // Still a valid state to fold on.
    scorer->Apply(Track(h.all.size(), h.all.back().log_time_ms() + kDayMs, "Pricing"), &merged);
    ExpectInvariants(*scorer, merged);
  }
  // The generated histories exercise both reductions.
  EXPECT_GT(total_cap_merges, 10);
  EXPECT_GT(trimming_merges, 10);
  std::printf("merges hitting the total cap: %d, trimming a rule window: %d\n", total_cap_merges,
              trimming_merges);
}

TEST(MergeScoreStates, IsDeterministicAcrossRunsAndRoundTrips) {
  auto scorer = MakeScorer(FullModel());
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const History h = Generate(seed, 80);
    const v1::ScoreState s = Fold(*scorer, h.survivor), a = Fold(*scorer, h.absorbed);
    v1::ScoreState first = s, second;
    MergeScoreStates(*scorer, a, &first);
    ASSERT_TRUE(second.ParseFromString(Deterministic(s)));
    v1::ScoreState a2;
    ASSERT_TRUE(a2.ParseFromString(Deterministic(a)));
    MergeScoreStates(*scorer, a2, &second);
    EXPECT_EQ(Deterministic(first), Deterministic(second)) << "seed " << seed;
  }
}

TEST(MergeScoreStates, SumsRulesAndKeepsTheLastSequencesOfBoth) {
  auto scorer = MakeScorer(PlainModel());
  v1::ScoreState s, a;
  for (uint64_t i = 0; i < 20; ++i) {
    scorer->Apply(Track(i, kT0 + static_cast<int64_t>(i), "Pricing"), i % 2 == 0 ? &s : &a);
  }
  MergeScoreStates(*scorer, a, &s);
  const v1::RuleScore& pricing = RuleOf(s, "pricing");
  EXPECT_EQ(pricing.points_milli(), 200'000);
  EXPECT_EQ(pricing.matches(), 20u);
  ASSERT_EQ(pricing.recent_sequences_size(), kScoringBreakdownSequencesMax);
  EXPECT_EQ(pricing.recent_sequences(0), 4u);
  EXPECT_EQ(pricing.recent_sequences(15), 19u);
  EXPECT_EQ(s.score_milli(), 20 * 13'000);
  EXPECT_EQ(s.records_applied(), 20u);
  EXPECT_EQ(s.last_sequence(), 19u);
}

TEST(MergeScoreStates, RuleCapKeepsTheNewestAwardsAndCutsTheOldestPartially) {
  // 4 points per award, at most 10 per day: each lead alone stays under it.
  auto scorer = MakeScorer(absl::StrCat(R"({"id": "m", "version": 1, "rules": [
      {"id": "open", "call": "track", "points": 4,
       "cap": {"points_max": 10, "window_ms": )",
                                        kDayMs, R"(}}]})"));
  v1::ScoreState s, a;
  scorer->Apply(Track(0, kT0 + 1, "E"), &s);
  scorer->Apply(Track(1, kT0 + 2, "E"), &a);
  scorer->Apply(Track(2, kT0 + 3, "E"), &s);
  scorer->Apply(Track(3, kT0 + 4, "E"), &a);
  MergeScoreStates(*scorer, a, &s);
  const v1::RuleScore& r = s.rules(0);
  // Newest first: 4 (t+4), 4 (t+3), 2 of 4 (t+2); t+1 dropped.
  ASSERT_EQ(r.window_size(), 3);
  EXPECT_EQ(r.window(0).log_time_ms(), kT0 + 2);
  EXPECT_EQ(r.window(0).points_milli(), 2000);
  EXPECT_EQ(r.window(1).points_milli(), 4000);
  EXPECT_EQ(r.window(2).points_milli(), 4000);
  EXPECT_EQ(r.points_milli(), 10'000);
  EXPECT_EQ(r.raw_points_milli(), 10'000);
  EXPECT_EQ(r.decay_applied_milli(), 0);
  EXPECT_EQ(r.cap_hits(), 1u);  // the trim
  EXPECT_EQ(r.matches(), 4u);
  EXPECT_EQ(s.score_milli(), 10'000);
  // The next award sees a full window.
  scorer->Apply(Track(4, kT0 + 5, "E"), &s);
  EXPECT_EQ(s.score_milli(), 10'000);
}

TEST(MergeScoreStates, ExpiredWindowAwardsAreDroppedWithoutTakingPoints) {
  auto scorer = MakeScorer(absl::StrCat(R"({"id": "m", "version": 1, "rules": [
      {"id": "open", "call": "track", "points": 8,
       "cap": {"points_max": 10, "window_ms": )",
                                        kDayMs, R"(}}]})"));
  v1::ScoreState s, a;
  scorer->Apply(Track(0, kT0, "E"), &s);
  scorer->Apply(Track(1, kT0 + 2 * kDayMs, "E"), &a);
  MergeScoreStates(*scorer, a, &s);
  ASSERT_EQ(s.rules(0).window_size(), 1);
  EXPECT_EQ(s.rules(0).window(0).log_time_ms(), kT0 + 2 * kDayMs);
  EXPECT_EQ(s.score_milli(), 16'000);
  EXPECT_EQ(s.rules(0).cap_hits(), 0u);
}

TEST(MergeScoreStates, CapTrimTakesTheCutAsDecayedSinceItsAward) {
  // Points halve every day (period = half-life = 1 day).
  auto scorer = MakeScorer(absl::StrCat(R"({"id": "m", "version": 1, "rules": [
      {"id": "open", "call": "track", "points": 8,
       "cap": {"points_max": 10, "window_ms": )",
                                        7 * kDayMs, R"(}}],
      "decay": {"period_ms": )",
                                        kDayMs, R"(, "half_life_ms": )", kDayMs, "}}"));
  v1::ScoreState s, a;
  scorer->Apply(Track(0, kT0, "E"), &s);               // 8, halved twice by t+2d: 2
  scorer->Apply(Track(1, kT0 + 2 * kDayMs, "E"), &a);  // 8
  MergeScoreStates(*scorer, a, &s);
  const v1::RuleScore& r = s.rules(0);
  // Window: 8 (new) kept, then 2 of the old 8: 6 raw cut, worth 1.5 now.
  ASSERT_EQ(r.window_size(), 2);
  EXPECT_EQ(r.window(0).points_milli(), 2000);
  EXPECT_EQ(r.raw_points_milli(), 10'000);
  EXPECT_EQ(r.points_milli(), 8000 + 2000 - 1500);
  EXPECT_EQ(r.raw_points_milli() - r.decay_applied_milli(), r.points_milli());
  EXPECT_EQ(s.score_milli(), 8500);
}

TEST(MergeScoreStates, LaterStateDecaysTheEarlierToTheSameTime) {
  auto scorer = MakeScorer(absl::StrCat(R"({"id": "m", "version": 1, "rules": [
      {"id": "a", "call": "track", "points": 100}],
      "decay": {"period_ms": )",
                                        kDayMs, R"(, "percent_per_period": 50}})"));
  v1::ScoreState s, a;
  scorer->Apply(Track(0, kT0, "E"), &s);
  scorer->Apply(Track(1, kT0 + 3 * kDayMs, "E"), &a);
  MergeScoreStates(*scorer, a, &s);
  EXPECT_EQ(s.decayed_through_ms(), kT0 + 3 * kDayMs);
  EXPECT_EQ(s.score_milli(), 100'000 + 12'500);
  EXPECT_EQ(s.rules(0).decay_applied_milli(), 87'500);
  // The other way round gives the same numbers.
  v1::ScoreState s2, a2;
  scorer->Apply(Track(0, kT0 + 3 * kDayMs, "E"), &s2);
  scorer->Apply(Track(1, kT0, "E"), &a2);
  MergeScoreStates(*scorer, a2, &s2);
  EXPECT_EQ(s2.score_milli(), 112'500);
}

TEST(MergeScoreStates, TotalCapTakesTheExcessFromTheLastRuleBackwards) {
  auto scorer = MakeScorer(R"({"id": "m", "version": 1, "rules": [
      {"id": "a", "call": "track", "event": "A", "points": 60},
      {"id": "b", "call": "track", "event": "B", "points": 30},
      {"id": "neg", "call": "track", "event": "N", "points": -5}],
      "total_cap": {"points_max": 100}})");
  v1::ScoreState s, a;
  scorer->Apply(Track(0, kT0, "A"), &s);  // 60
  scorer->Apply(Track(1, kT0, "N"), &s);  // 55
  scorer->Apply(Track(2, kT0, "A"), &a);  // 60
  scorer->Apply(Track(3, kT0, "B"), &a);  // 90
  MergeScoreStates(*scorer, a, &s);
  // 120 + 30 - 5 = 145: 45 over. b gives its 30, then a gives 15.
  EXPECT_EQ(s.score_milli(), 100'000);
  EXPECT_EQ(RuleOf(s, "b").points_milli(), 0);
  EXPECT_EQ(RuleOf(s, "b").raw_points_milli(), 0);
  EXPECT_EQ(RuleOf(s, "b").cap_hits(), 1u);
  EXPECT_EQ(RuleOf(s, "a").points_milli(), 105'000);
  EXPECT_EQ(RuleOf(s, "a").cap_hits(), 1u);
  EXPECT_EQ(RuleOf(s, "neg").points_milli(), -5000);
  EXPECT_EQ(RuleOf(s, "neg").cap_hits(), 0u);
  EXPECT_EQ(s.total_cap_hits(), 1u);
}

TEST(MergeScoreStates, LatestTraitWinsAndTheGradeIsRecomputed) {
  auto scorer = MakeScorer(absl::StrCat(R"({"id": "m", "version": 1, "rules": [], )", kFit, "}"));
  v1::ScoreState s, a;
  scorer->Apply(Identify(0, kT0, "VP Sales", 10), &s);    // vp: 30 -> B
  scorer->Apply(Identify(1, kT0, "Engineer", 5000), &a);  // big: 25 -> C
  scorer->Apply(Identify(2, kT0, "", 20), &s);            // employees 20 (seq 2) beats 5000 (seq 1)
  MergeScoreStates(*scorer, a, &s);
  ASSERT_EQ(s.grade().traits_size(), 2);
  EXPECT_EQ(s.grade().traits(0).name(), "employees");
  EXPECT_EQ(s.grade().traits(0).sequence(), 2u);
  EXPECT_EQ(s.grade().traits(1).name(), "title");
  EXPECT_EQ(s.grade().traits(1).value().string_value(), "Engineer");  // seq 1 beats seq 0
  EXPECT_EQ(s.grade().fit_points(), 0);
  EXPECT_EQ(s.grade().grade(), "F");
  EXPECT_EQ(s.grade().hits_size(), 0);
  // Absorbing a VP with a big company: 55 -> A, hits in model order.
  v1::ScoreState b;
  scorer->Apply(Identify(3, kT0, "VP Marketing", 2000), &b);
  MergeScoreStates(*scorer, b, &s);
  EXPECT_EQ(s.grade().grade(), "A");
  ASSERT_EQ(s.grade().hits_size(), 2);
  EXPECT_EQ(s.grade().hits(0).rule_id(), "vp");
  EXPECT_EQ(s.grade().hits(1).rule_id(), "big");
  // Identify rules of the model award nothing through the regrade.
  EXPECT_EQ(s.score_milli(), 0);
}

TEST(MergeScoreStates, StatesOfAnotherModelVersionAreLaidOutForThisOne) {
  auto v1_scorer = MakeScorer(R"({"id": "m", "version": 1, "rules": [
      {"id": "a", "call": "track", "points": 5}, {"id": "b", "call": "track", "points": 7}]})");
  auto v2_scorer = MakeScorer(R"({"id": "m", "version": 2, "rules": [
      {"id": "c", "call": "page", "points": 1}, {"id": "b", "call": "track", "points": 7}]})");
  v1::ScoreState s, a;
  v1_scorer->Apply(Track(0, kT0, "E"), &s);  // a 5, b 7
  v2_scorer->Apply(Track(1, kT0, "E"), &a);  // b 7
  MergeScoreStates(*v2_scorer, a, &s);
  EXPECT_EQ(s.model_version(), 2u);
  ASSERT_EQ(s.rules_size(), 2);
  EXPECT_EQ(s.rules(0).rule_id(), "c");
  EXPECT_EQ(s.rules(0).points_milli(), 0);
  EXPECT_EQ(s.rules(1).rule_id(), "b");
  EXPECT_EQ(s.rules(1).points_milli(), 14'000);
  EXPECT_EQ(s.score_milli(), 14'000);
}

TEST(MergeScoreStates, EmptyAbsorbedStateKeepsTheSurvivorsNumbers) {
  auto scorer = MakeScorer(FullModel());
  const History h = Generate(7, 40);
  const v1::ScoreState before = Fold(*scorer, h.survivor);
  v1::ScoreState s = before;
  MergeScoreStates(*scorer, v1::ScoreState(), &s);
  ExpectInvariants(*scorer, s);
  EXPECT_EQ(s.score_milli(), before.score_milli());
  EXPECT_EQ(s.records_applied(), before.records_applied());
  for (int i = 0; i < s.rules_size(); ++i) {
    EXPECT_EQ(s.rules(i).points_milli(), before.rules(i).points_milli());
    EXPECT_EQ(s.rules(i).matches(), before.rules(i).matches());
    EXPECT_EQ(s.rules(i).cap_hits(), before.rules(i).cap_hits());
  }
  EXPECT_EQ(Deterministic(s.grade()), Deterministic(before.grade()));
}

}  // namespace
}  // namespace leadlog
