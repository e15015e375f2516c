#include "projections/lifecycle/merge.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "projections/lifecycle/lifecycle_model.h"

namespace leadlog {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kStartMs = 1'700'000'000'000;

const std::vector<std::string> kStages = {"anonymous", "known",    "mql",
                                          "sal",       "sql",      "opportunity",
                                          "customer",  "recycled", "disqualified"};

int Position(const std::string& stage) {
  for (size_t i = 0; i < kStages.size(); ++i) {
    if (kStages[i] == stage) return static_cast<int>(i);
  }
  return -1;
}
bool IsFunnel(const std::string& stage) { return Position(stage) >= 0 && Position(stage) <= 6; }

v1::LogRecord Event(v1::CallType type, const std::string& user_id) {
  v1::LogRecord r;
  r.mutable_event()->set_type(type);
  r.mutable_event()->set_anonymous_id("anon");
  r.mutable_event()->set_user_id(user_id);
  return r;
}

v1::LogRecord Sales(v1::SalesFactKind kind, const std::string& reason = "") {
  v1::LogRecord r = Event(v1::CALL_TYPE_TRACK, "u");
  r.mutable_event()->mutable_sales()->set_kind(kind);
  r.mutable_event()->mutable_sales()->set_reason(reason);
  return r;
}

class LifecycleMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Lifecycle>> lifecycle =
        Lifecycle::Create(DefaultLifecycleModel());
    ASSERT_OK(lifecycle);
    lifecycle_ = std::move(*lifecycle);
  }

  // Applies `record` to `state` as the shard's next record (1 s apart).
  void Apply(v1::LogRecord record, v1::LifecycleState* state, double score = 0) {
    record.set_sequence(next_);
    record.set_log_time_ms(Time(next_));
    ++next_;
    LeadSignals signals{.score = score, .grade = "A", .evidence_sequences = {}};
    ASSERT_OK(lifecycle_->Apply(record, signals, state));
  }

  static int64_t Time(uint64_t sequence) {
    return kStartMs + static_cast<int64_t>(sequence) * 1000;
  }

  // A lead driven through the real model to `stage`: the waterfall, or
  // recycled from MQL, or disqualified from known.
  v1::LifecycleState Drive(const std::string& stage) {
    v1::LifecycleState s;
    Apply(Event(v1::CALL_TYPE_PAGE, ""), &s);
    const std::vector<std::function<void()>> steps = {
        [&] { Apply(Event(v1::CALL_TYPE_IDENTIFY, "u"), &s); },
        [&] { Apply(Event(v1::CALL_TYPE_PAGE, "u"), &s, 100); },
        [&] { Apply(Sales(v1::SALES_FACT_KIND_LEAD_ACCEPTED), &s); },
        [&] { Apply(Sales(v1::SALES_FACT_KIND_LEAD_CONTACTED), &s); },
        [&] { Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_CREATED), &s); },
        [&] { Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_WON), &s); },
    };
    if (stage == "recycled") {
      for (int i = 0; i < 2; ++i) steps[i]();
      Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, "bad_timing"), &s);
    } else if (stage == "disqualified") {
      steps[0]();
      Apply(Sales(v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "competitor"), &s);
    } else {
      for (int i = 0; i < Position(stage); ++i) steps[i]();
    }
    EXPECT_EQ(s.current_stage(), stage);
    return s;
  }

  // Merges at the shard's next sequence; returns the transition.
  v1::StageTransition Merge(const v1::LifecycleState& absorbed, v1::LifecycleState* survivor) {
    merge_sequence_ = next_++;
    return MergeLifecycleStates(*lifecycle_, absorbed, survivor, merge_sequence_,
                                Time(merge_sequence_));
  }

  std::unique_ptr<Lifecycle> lifecycle_;
  uint64_t next_ = 0;
  uint64_t merge_sequence_ = 0;
};

TEST_F(LifecycleMergeTest, AbsorbedFurtherAlongTheFunnelMovesTheSurvivorAsEngine) {
  v1::LifecycleState survivor = Drive("known");
  const v1::LifecycleState absorbed = Drive("opportunity");
  const int history = survivor.history_size();
  const v1::StageTransition t = Merge(absorbed, &survivor);
  EXPECT_EQ(t.from_stage(), "known");
  EXPECT_EQ(t.to_stage(), "opportunity");
  EXPECT_EQ(t.actor(), v1::ACTOR_ENGINE);
  EXPECT_EQ(t.cause().rule_id(), "identity_merge");
  EXPECT_EQ(t.cause().definition_id(), "demand_waterfall");
  EXPECT_EQ(t.cause().definition_version(), 1u);
  EXPECT_THAT(t.cause().record_sequences(), ElementsAre(merge_sequence_));
  EXPECT_EQ(t.log_time_ms(), Time(merge_sequence_));
  EXPECT_EQ(t.reason(), "");
  EXPECT_EQ(survivor.current_stage(), "opportunity");
  EXPECT_EQ(survivor.entered_at_ms(), Time(merge_sequence_));
  ASSERT_EQ(survivor.history_size(), history + 1);
  EXPECT_EQ(survivor.history(history).SerializeAsString(), t.SerializeAsString());
  // The absorbed lead's own history is not copied.
  EXPECT_EQ(survivor.history(0).from_stage(), "anonymous");
  EXPECT_EQ(survivor.history(history - 1).to_stage(), "known");
}

TEST_F(LifecycleMergeTest, SurvivorFurtherAlongOrAtTheSameStageKeepsItsStage) {
  for (const auto& [s_stage, a_stage] : std::vector<std::pair<std::string, std::string>>{
           {"sql", "known"}, {"customer", "anonymous"}, {"mql", "mql"}, {"recycled", "recycled"}}) {
    SCOPED_TRACE(absl::StrCat(s_stage, " <- ", a_stage));
    v1::LifecycleState survivor = Drive(s_stage);
    const v1::LifecycleState absorbed = Drive(a_stage);
    const v1::LifecycleState before = survivor;
    const v1::StageTransition t = Merge(absorbed, &survivor);
    EXPECT_EQ(t.from_stage(), s_stage);
    EXPECT_EQ(t.to_stage(), s_stage);
    EXPECT_EQ(t.cause().rule_id(), "identity_merge");
    EXPECT_EQ(survivor.history_size(), before.history_size());
    EXPECT_EQ(survivor.entered_at_ms(), before.entered_at_ms());
  }
}

TEST_F(LifecycleMergeTest, DisqualifiedSurvivorStaysDisqualified) {
  v1::LifecycleState survivor = Drive("disqualified");
  const v1::StageTransition t = Merge(Drive("customer"), &survivor);
  EXPECT_EQ(t.to_stage(), "disqualified");
  EXPECT_EQ(survivor.current_stage(), "disqualified");
}

TEST_F(LifecycleMergeTest, AbsorbedDetourNeverMovesTheSurvivor) {
  for (const std::string detour : {"recycled", "disqualified"}) {
    v1::LifecycleState survivor = Drive("anonymous");
    const v1::StageTransition t = Merge(Drive(detour), &survivor);
    EXPECT_EQ(t.to_stage(), "anonymous") << detour;
    EXPECT_EQ(survivor.current_stage(), "anonymous");
  }
}

TEST_F(LifecycleMergeTest, RecycledSurvivorTakesOnlyAFunnelStageBeyondAnyItReached) {
  // The recycled survivor had reached MQL.
  for (const std::string stage : {"anonymous", "known", "mql"}) {
    v1::LifecycleState survivor = Drive("recycled");
    EXPECT_EQ(Merge(Drive(stage), &survivor).to_stage(), "recycled") << stage;
  }
  v1::LifecycleState survivor = Drive("recycled");
  survivor.set_sales_ready_rearm_pending(true);
  v1::LifecycleState absorbed = Drive("sal");
  const v1::StageTransition t = Merge(absorbed, &survivor);
  EXPECT_EQ(t.from_stage(), "recycled");
  EXPECT_EQ(t.to_stage(), "sal");
  EXPECT_EQ(survivor.current_stage(), "sal");
  EXPECT_FALSE(survivor.sales_ready_rearm_pending());  // the absorbed lead's flag
}

TEST_F(LifecycleMergeTest, RecycledSurvivorWithoutFunnelHistoryKeepsItsStage) {
  v1::LifecycleState survivor = Drive("recycled");
  survivor.clear_history();  // as if all of it had been dropped
  EXPECT_EQ(Merge(Drive("customer"), &survivor).to_stage(), "recycled");
}

TEST_F(LifecycleMergeTest, EmptySurvivorTakesTheAbsorbedStage) {
  v1::LifecycleState survivor;
  const v1::LifecycleState absorbed = Drive("known");
  const v1::StageTransition t = Merge(absorbed, &survivor);
  EXPECT_EQ(t.from_stage(), "");
  EXPECT_EQ(t.to_stage(), "known");
  EXPECT_EQ(survivor.model_id(), "demand_waterfall");
  EXPECT_EQ(survivor.next_sequence(), absorbed.next_sequence());
}

TEST_F(LifecycleMergeTest, StageUnknownToTheModelChangesNothing) {
  v1::LifecycleState survivor = Drive("known");
  v1::LifecycleState absorbed = Drive("mql");
  absorbed.set_current_stage("retired_stage");
  EXPECT_EQ(Merge(absorbed, &survivor).to_stage(), "known");
  survivor.set_current_stage("retired_stage");
  EXPECT_EQ(Merge(Drive("customer"), &survivor).to_stage(), "retired_stage");
}

TEST_F(LifecycleMergeTest, EveryPairOfStagesFollowsTheRule) {
  for (const std::string& s_stage : kStages) {
    for (const std::string& a_stage : kStages) {
      SCOPED_TRACE(absl::StrCat(s_stage, " <- ", a_stage));
      v1::LifecycleState survivor = Drive(s_stage);
      const v1::LifecycleState absorbed = Drive(a_stage);
      v1::LifecycleState again = survivor;
      const uint64_t seq = next_++;
      const v1::StageTransition t =
          MergeLifecycleStates(*lifecycle_, absorbed, &survivor, seq, Time(seq));
      MergeLifecycleStates(*lifecycle_, absorbed, &again, seq, Time(seq));
      EXPECT_EQ(SerializeLifecycleState(survivor), SerializeLifecycleState(again));
      std::string want = s_stage;
      if (IsFunnel(a_stage) && IsFunnel(s_stage) && Position(a_stage) > Position(s_stage))
        want = a_stage;
      if (s_stage == "recycled" && IsFunnel(a_stage) && Position(a_stage) > Position("mql")) {
        want = a_stage;
      }
      EXPECT_EQ(t.to_stage(), want);
      EXPECT_EQ(survivor.current_stage(), want);
      if (survivor.history_size() > 0) {
        EXPECT_EQ(survivor.history(survivor.history_size() - 1).to_stage(), want);
      }
      EXPECT_EQ(survivor.next_sequence(),
                absorbed.next_sequence());  // the absorbed was driven last
      for (int i = 1; i < survivor.history_size(); ++i) {
        EXPECT_EQ(survivor.history(i - 1).to_stage(), survivor.history(i).from_stage());
      }
    }
  }
}

TEST_F(LifecycleMergeTest, MergingRecordIsStillAppliedAfterwards) {
  v1::LifecycleState survivor = Drive("anonymous");
  const v1::LifecycleState absorbed = Drive("anonymous");
  const uint64_t seq = next_;
  Merge(absorbed, &survivor);
  EXPECT_EQ(survivor.next_sequence(), seq);
  v1::LogRecord identify = Event(v1::CALL_TYPE_IDENTIFY, "u");
  identify.set_sequence(seq);
  identify.set_log_time_ms(Time(seq));
  absl::StatusOr<LifecycleOutcome> out = lifecycle_->Apply(identify, LeadSignals(), &survivor);
  ASSERT_OK(out);
  EXPECT_FALSE(out->skipped);
  EXPECT_EQ(survivor.current_stage(), "known");
}

TEST_F(LifecycleMergeTest, RejectedListsMergeByLogTimeBoundedWithDropsCounted) {
  v1::LifecycleState survivor = Drive("known"), absorbed = Drive("anonymous");
  auto add = [](v1::LifecycleState* s, int64_t t, const std::string& why) {
    v1::RejectedTransition* r = s->add_rejected();
    r->set_log_time_ms(t);
    r->set_why(why);
  };
  for (int i = 0; i < 40; ++i) add(&survivor, 2 * i, absl::StrCat("s", i));
  add(&absorbed, 0, "a_tie");  // ties with s0: the survivor's comes first
  for (int i = 0; i < 40; ++i) add(&absorbed, 2 * i + 1, absl::StrCat("a", i));
  survivor.set_rejected_dropped(2);
  absorbed.set_rejected_dropped(3);
  Merge(absorbed, &survivor);
  ASSERT_EQ(survivor.rejected_size(), kLifecycleRejectedMax);
  EXPECT_EQ(survivor.rejected(0).why(), "s0");
  EXPECT_EQ(survivor.rejected(1).why(), "a_tie");
  EXPECT_EQ(survivor.rejected(2).why(), "a0");
  EXPECT_EQ(survivor.rejected(3).why(), "s1");
  for (int i = 1; i < survivor.rejected_size(); ++i) {
    EXPECT_LE(survivor.rejected(i - 1).log_time_ms(), survivor.rejected(i).log_time_ms());
  }
  EXPECT_EQ(survivor.rejected_dropped(), 2u + 3u + (81u - kLifecycleRejectedMax));
}

TEST_F(LifecycleMergeTest, FullHistoryDropsItsOldestForTheMergeTransition) {
  v1::LifecycleState survivor = Drive("known");
  while (survivor.history_size() < kLifecycleHistoryMax)
    *survivor.add_history() = survivor.history(0);
  survivor.set_history_dropped(5);
  const v1::StageTransition t = Merge(Drive("sql"), &survivor);
  ASSERT_EQ(survivor.history_size(), kLifecycleHistoryMax);
  EXPECT_EQ(survivor.history_dropped(), 6u);
  EXPECT_EQ(survivor.history(kLifecycleHistoryMax - 1).SerializeAsString(), t.SerializeAsString());
}

}  // namespace
}  // namespace leadlog
