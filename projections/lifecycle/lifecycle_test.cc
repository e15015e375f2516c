#include "projections/lifecycle/lifecycle.h"

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/testing/status_matchers.h"
#include "gtest/gtest.h"
#include "projections/lifecycle/lifecycle_model.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kStartMs = 1'700'000'000'000;

LeadSignals Ready() { return LeadSignals{.score = 100, .grade = "B", .evidence_sequences = {}}; }
LeadSignals Cold() { return LeadSignals{.score = 10, .grade = "B", .evidence_sequences = {}}; }

v1::LogRecord Page() {
  v1::LogRecord r;
  r.mutable_event()->set_type(v1::CALL_TYPE_PAGE);
  r.mutable_event()->set_anonymous_id("anon-1");
  return r;
}

v1::LogRecord Identify() {
  v1::LogRecord r;
  r.mutable_event()->set_type(v1::CALL_TYPE_IDENTIFY);
  r.mutable_event()->set_anonymous_id("anon-1");
  r.mutable_event()->set_user_id("u-1");
  return r;
}

v1::LogRecord Sales(v1::SalesFactKind kind, std::string reason = "") {
  v1::LogRecord r;
  r.mutable_event()->set_type(v1::CALL_TYPE_TRACK);
  r.mutable_event()->set_user_id("u-1");
  r.mutable_event()->mutable_sales()->set_kind(kind);
  r.mutable_event()->mutable_sales()->set_reason(std::move(reason));
  return r;
}

v1::LogRecord Tick() {
  v1::LogRecord r;
  r.mutable_clock_tick();
  return r;
}

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override { UseModel(DefaultLifecycleModel()); }

  void UseModel(v1::LifecycleModel model) {
    absl::StatusOr<std::unique_ptr<Lifecycle>> lifecycle = Lifecycle::Create(std::move(model));
    ASSERT_OK(lifecycle);
    lifecycle_ = std::move(*lifecycle);
  }

  // Applies `record` as the next log record: sequence next_, log time 1 s apart.
  LifecycleOutcome Apply(v1::LogRecord record, const LeadSignals& signals = LeadSignals()) {
    record.set_sequence(next_);
    record.set_log_time_ms(kStartMs + static_cast<int64_t>(next_) * 1000);
    ++next_;
    absl::StatusOr<LifecycleOutcome> outcome = lifecycle_->Apply(record, signals, &state_);
    EXPECT_OK(outcome);
    return outcome.ok() ? *std::move(outcome) : LifecycleOutcome();
  }

  // Drives a fresh lead to `stage` along the waterfall.
  void DriveTo(const std::string& stage) {
    const std::vector<std::pair<std::string, std::function<void()>>> path = {
        {"known", [&] { Apply(Identify()); }},
        {"mql", [&] { Apply(Page(), Ready()); }},
        {"sal", [&] { Apply(Sales(v1::SALES_FACT_KIND_LEAD_ACCEPTED)); }},
        {"sql", [&] { Apply(Sales(v1::SALES_FACT_KIND_LEAD_CONTACTED)); }},
        {"opportunity", [&] { Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_CREATED)); }},
        {"customer", [&] { Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_WON)); }},
    };
    if (stage == "anonymous") Apply(Page());
    for (const auto& [reached, step] : path) {
      if (state_.current_stage() == stage) break;
      step();
      ASSERT_EQ(state_.current_stage(), reached);
    }
    ASSERT_EQ(state_.current_stage(), stage);
  }

  std::unique_ptr<Lifecycle> lifecycle_;
  v1::LifecycleState state_;
  uint64_t next_ = 0;
};

TEST_F(LifecycleTest, FirstRecordStartsInInitialStageWithoutTransition) {
  LifecycleOutcome out = Apply(Page());
  EXPECT_THAT(out.applied, IsEmpty());
  EXPECT_EQ(state_.current_stage(), "anonymous");
  EXPECT_EQ(state_.entered_at_ms(), kStartMs);
  EXPECT_EQ(state_.next_sequence(), 1u);
  EXPECT_EQ(state_.model_id(), "demand_waterfall");
  EXPECT_EQ(state_.model_version(), 1u);
}

TEST_F(LifecycleTest, IdentifyMovesAnonymousToKnownAsEngine) {
  Apply(Page());
  LifecycleOutcome out = Apply(Identify());
  ASSERT_EQ(out.applied.size(), 1u);
  const v1::StageTransition& t = out.applied[0];
  EXPECT_EQ(t.from_stage(), "anonymous");
  EXPECT_EQ(t.to_stage(), "known");
  EXPECT_EQ(t.log_time_ms(), kStartMs + 1000);
  EXPECT_EQ(t.actor(), v1::ACTOR_ENGINE);
  EXPECT_EQ(t.cause().rule_id(), "identified");
  EXPECT_EQ(t.cause().definition_id(), "demand_waterfall");
  EXPECT_EQ(t.cause().definition_version(), 1u);
  EXPECT_THAT(t.cause().record_sequences(), ElementsAre(1u));
  EXPECT_EQ(state_.entered_at_ms(), kStartMs + 1000);
  ASSERT_EQ(state_.history_size(), 1);
  EXPECT_EQ(state_.history(0).SerializeAsString(), t.SerializeAsString());
  EXPECT_FALSE(out.handoff_due);
  // Identifying again does nothing.
  EXPECT_THAT(Apply(Identify()).applied, IsEmpty());
}

TEST_F(LifecycleTest, SalesReadyExactlyAtThresholdMakesMqlAndHandoffDue) {
  DriveTo("known");
  LeadSignals signals = Ready();
  signals.evidence_sequences = {1, 0, 0};  // deduplicated; the record itself goes last
  LifecycleOutcome out = Apply(Page(), signals);
  ASSERT_EQ(out.applied.size(), 1u);
  EXPECT_EQ(out.applied[0].from_stage(), "known");
  EXPECT_EQ(out.applied[0].to_stage(), "mql");
  EXPECT_EQ(out.applied[0].actor(), v1::ACTOR_ENGINE);
  EXPECT_EQ(out.applied[0].cause().rule_id(), "sales_ready");
  EXPECT_EQ(out.applied[0].cause().definition_version(), 1u);
  EXPECT_THAT(out.applied[0].cause().record_sequences(), ElementsAre(0u, 1u));
  EXPECT_TRUE(out.handoff_due);
  EXPECT_EQ(out.handoff_cause.SerializeAsString(), out.applied[0].cause().SerializeAsString());
  EXPECT_EQ(state_.current_stage(), "mql");
}

TEST_F(LifecycleTest, SalesReadyAcceptsBetterGrade) {
  DriveTo("known");
  EXPECT_TRUE(
      Apply(Page(), LeadSignals{.score = 500, .grade = "A", .evidence_sequences = {}}).handoff_due);
}

TEST_F(LifecycleTest, BelowSalesReadyStaysKnown) {
  DriveTo("known");
  const std::vector<LeadSignals> below = {
      {.score = 99.99, .grade = "A", .evidence_sequences = {}},
      {.score = 150, .grade = "C", .evidence_sequences = {}},
      {.score = 150, .grade = "", .evidence_sequences = {}},
      {.score = 150, .grade = "Z", .evidence_sequences = {}},
  };
  for (const LeadSignals& signals : below) {
    LifecycleOutcome out = Apply(Page(), signals);
    EXPECT_THAT(out.applied, IsEmpty()) << signals.score << " " << signals.grade;
    EXPECT_FALSE(out.handoff_due);
  }
  EXPECT_EQ(state_.current_stage(), "known");
}

TEST_F(LifecycleTest, ScoreDroppingBackDoesNotUnMql) {
  DriveTo("mql");
  LifecycleOutcome out = Apply(Tick(), Cold());
  EXPECT_THAT(out.applied, IsEmpty());
  EXPECT_EQ(state_.current_stage(), "mql");
  // Ready again while already MQL: no second hand-off.
  EXPECT_FALSE(Apply(Page(), Ready()).handoff_due);
}

TEST_F(LifecycleTest, AnonymousLeadBecomesMqlOnlyOnceIdentified) {
  EXPECT_THAT(Apply(Page(), Ready()).applied, IsEmpty());
  EXPECT_EQ(state_.current_stage(), "anonymous");
  LifecycleOutcome out = Apply(Identify(), Ready());
  ASSERT_EQ(out.applied.size(), 2u);
  EXPECT_EQ(out.applied[0].to_stage(), "known");
  EXPECT_EQ(out.applied[1].to_stage(), "mql");
  EXPECT_TRUE(out.handoff_due);
}

TEST_F(LifecycleTest, EachSalesFactMovesAlongTheWaterfallAsSales) {
  DriveTo("mql");
  struct Step {
    v1::SalesFactKind kind;
    const char* from;
    const char* to;
    const char* rule;
  };
  const Step steps[] = {
      {v1::SALES_FACT_KIND_LEAD_ACCEPTED, "mql", "sal", "lead_accepted"},
      {v1::SALES_FACT_KIND_LEAD_CONTACTED, "sal", "sql", "lead_contacted"},
      {v1::SALES_FACT_KIND_OPPORTUNITY_CREATED, "sql", "opportunity", "opportunity_created"},
      {v1::SALES_FACT_KIND_OPPORTUNITY_WON, "opportunity", "customer", "opportunity_won"},
  };
  for (const Step& step : steps) {
    const uint64_t sequence = next_;
    LifecycleOutcome out = Apply(Sales(step.kind));
    ASSERT_EQ(out.applied.size(), 1u) << step.rule;
    EXPECT_EQ(out.applied[0].from_stage(), step.from);
    EXPECT_EQ(out.applied[0].to_stage(), step.to);
    EXPECT_EQ(out.applied[0].actor(), v1::ACTOR_SALES);
    EXPECT_EQ(out.applied[0].cause().rule_id(), step.rule);
    EXPECT_THAT(out.applied[0].cause().record_sequences(), ElementsAre(sequence));
    EXPECT_FALSE(out.handoff_due);
  }
  // anonymous->known, known->mql, then the four sales steps.
  EXPECT_EQ(state_.history_size(), 6);
}

TEST_F(LifecycleTest, OpportunityCanBeCreatedStraightFromSal) {
  DriveTo("sal");
  Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_CREATED));
  EXPECT_EQ(state_.current_stage(), "opportunity");
}

TEST_F(LifecycleTest, LeadContactedInSqlIsANoOp) {
  DriveTo("sql");
  LifecycleOutcome out = Apply(Sales(v1::SALES_FACT_KIND_LEAD_CONTACTED));
  EXPECT_THAT(out.applied, IsEmpty());
  EXPECT_THAT(out.rejected, IsEmpty());
}

TEST_F(LifecycleTest, OpportunityLostRecyclesWithReason) {
  DriveTo("opportunity");
  LifecycleOutcome out = Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_LOST, "budget"), Ready());
  ASSERT_EQ(out.applied.size(), 1u);
  EXPECT_EQ(out.applied[0].to_stage(), "recycled");
  EXPECT_EQ(out.applied[0].reason(), "budget");
  EXPECT_EQ(out.applied[0].cause().rule_id(), "opportunity_lost");
  EXPECT_TRUE(state_.sales_ready_rearm_pending());
}

TEST_F(LifecycleTest, LeadRejectedRecyclesFromEachSalesStage) {
  for (const char* stage : {"mql", "sal", "sql"}) {
    state_.Clear();
    DriveTo(stage);
    LifecycleOutcome out = Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, "not_ready"));
    ASSERT_EQ(out.applied.size(), 1u) << stage;
    EXPECT_EQ(out.applied[0].from_stage(), stage);
    EXPECT_EQ(out.applied[0].to_stage(), "recycled");
    EXPECT_EQ(out.applied[0].reason(), "not_ready");
    EXPECT_EQ(out.applied[0].actor(), v1::ACTOR_SALES);
  }
}

TEST_F(LifecycleTest, LeadDisqualifiedFromEachStageThatAllowsIt) {
  for (const char* stage : {"known", "mql", "sal", "sql", "opportunity"}) {
    state_.Clear();
    DriveTo(stage);
    LifecycleOutcome out = Apply(Sales(v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "competitor"));
    ASSERT_EQ(out.applied.size(), 1u) << stage;
    EXPECT_EQ(out.applied[0].to_stage(), "disqualified");
    EXPECT_EQ(out.applied[0].reason(), "competitor");
    EXPECT_EQ(out.applied[0].cause().rule_id(), "lead_disqualified");
  }
  state_.Clear();
  DriveTo("opportunity");
  Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_LOST, "timing"));
  Apply(Sales(v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "spam"));
  EXPECT_EQ(state_.current_stage(), "disqualified");
}

TEST_F(LifecycleTest, RecycledLeadReturnsToMqlOnlyAfterRearming) {
  DriveTo("mql");
  Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, "no_budget"), Ready());
  ASSERT_EQ(state_.current_stage(), "recycled");
  // Still scoring high: disarmed, stays recycled.
  EXPECT_THAT(Apply(Page(), Ready()).applied, IsEmpty());
  EXPECT_TRUE(state_.sales_ready_rearm_pending());
  Apply(Tick(), Cold());
  EXPECT_FALSE(state_.sales_ready_rearm_pending());
  LifecycleOutcome out = Apply(Page(), Ready());
  ASSERT_EQ(out.applied.size(), 1u);
  EXPECT_EQ(out.applied[0].from_stage(), "recycled");
  EXPECT_EQ(out.applied[0].to_stage(), "mql");
  EXPECT_TRUE(out.handoff_due);
}

struct RejectCase {
  const char* stage;
  v1::SalesFactKind kind;
  const char* reason;
  const char* attempted_to;
  const char* why;
};

TEST_F(LifecycleTest, DisallowedTransitionsAreRecordedNotApplied) {
  const RejectCase cases[] = {
      {"known", v1::SALES_FACT_KIND_OPPORTUNITY_WON, "", "customer",
       "transition \"known\" -> \"customer\" not allowed"},
      {"sal", v1::SALES_FACT_KIND_OPPORTUNITY_WON, "", "customer", "not allowed"},
      {"anonymous", v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "spam", "disqualified",
       "transition \"anonymous\" -> \"disqualified\" not allowed"},
      {"customer", v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "spam", "disqualified", "not allowed"},
      {"known", v1::SALES_FACT_KIND_LEAD_ACCEPTED, "", "",
       "no rule for SALES_FACT_KIND_LEAD_ACCEPTED in stage \"known\""},
      {"known", v1::SALES_FACT_KIND_LEAD_CONTACTED, "", "", "no rule"},
      {"mql", v1::SALES_FACT_KIND_OPPORTUNITY_CREATED, "", "", "no rule"},
      {"known", v1::SALES_FACT_KIND_LEAD_REJECTED, "x", "", "no rule"},
      {"sql", v1::SALES_FACT_KIND_OPPORTUNITY_LOST, "budget", "", "no rule"},
      {"opportunity", v1::SALES_FACT_KIND_OPPORTUNITY_LOST, "", "recycled",
       "stage \"recycled\" requires a reason code"},
      {"mql", v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "", "disqualified", "requires a reason"},
  };
  for (const RejectCase& c : cases) {
    state_.Clear();
    DriveTo(c.stage);
    const int history = state_.history_size();
    const uint64_t sequence = next_;
    v1::LogRecord fact = Sales(c.kind, c.reason);
    if (state_.current_stage() == "anonymous") fact.mutable_event()->clear_user_id();
    LifecycleOutcome out = Apply(std::move(fact));
    EXPECT_THAT(out.applied, IsEmpty()) << c.stage << " " << c.kind;
    ASSERT_EQ(out.rejected.size(), 1u) << c.stage << " " << c.kind;
    const v1::RejectedTransition& r = out.rejected[0];
    EXPECT_EQ(r.from_stage(), c.stage);
    EXPECT_EQ(r.attempted_to_stage(), c.attempted_to);
    EXPECT_THAT(r.why(), HasSubstr(c.why));
    EXPECT_EQ(r.reason(), c.reason);
    EXPECT_EQ(r.fact_kind(), c.kind);
    EXPECT_EQ(r.actor(), v1::ACTOR_SALES);
    EXPECT_EQ(r.log_time_ms(), kStartMs + static_cast<int64_t>(sequence) * 1000);
    EXPECT_THAT(r.cause().record_sequences(), ElementsAre(sequence));
    EXPECT_EQ(r.cause().definition_version(), 1u);
    EXPECT_EQ(state_.current_stage(), c.stage);
    EXPECT_EQ(state_.history_size(), history);
    ASSERT_EQ(state_.rejected_size(), 1);
    EXPECT_EQ(state_.rejected(0).SerializeAsString(), r.SerializeAsString());
  }
}

TEST_F(LifecycleTest, SalesFactsWithoutRulesAreIgnored) {
  DriveTo("mql");
  LifecycleOutcome out = Apply(Sales(v1::SALES_FACT_KIND_OWNER_ASSIGNED));
  EXPECT_THAT(out.applied, IsEmpty());
  EXPECT_THAT(out.rejected, IsEmpty());
}

TEST_F(LifecycleTest, ModelActorOverridesSales) {
  v1::LifecycleModel model = DefaultLifecycleModel();
  model.mutable_sales_facts(0)->set_actor(v1::ACTOR_OPS);
  UseModel(model);
  DriveTo("sal");
  EXPECT_EQ(state_.history(state_.history_size() - 1).actor(), v1::ACTOR_OPS);
}

TEST_F(LifecycleTest, AlreadyAppliedSequenceIsANoOp) {
  DriveTo("mql");
  const std::string before = SerializeLifecycleState(state_);
  v1::LogRecord again = Sales(v1::SALES_FACT_KIND_LEAD_ACCEPTED);
  for (uint64_t sequence : {next_ - 1, uint64_t{0}}) {
    again.set_sequence(sequence);
    absl::StatusOr<LifecycleOutcome> out = lifecycle_->Apply(again, Ready(), &state_);
    ASSERT_OK(out);
    EXPECT_TRUE(out->skipped);
    EXPECT_THAT(out->applied, IsEmpty());
    EXPECT_EQ(SerializeLifecycleState(state_), before);
  }
}

TEST_F(LifecycleTest, StateStageMissingFromModelIsFailedPrecondition) {
  DriveTo("known");
  state_.set_current_stage("legacy_stage");
  const std::string before = SerializeLifecycleState(state_);
  v1::LogRecord record = Page();
  record.set_sequence(next_);
  EXPECT_THAT(lifecycle_->Apply(record, Ready(), &state_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("legacy_stage")));
  EXPECT_EQ(SerializeLifecycleState(state_), before);
}

TEST_F(LifecycleTest, CreateRejectsInvalidModel) {
  v1::LifecycleModel model = DefaultLifecycleModel();
  model.set_version(0);
  EXPECT_THAT(Lifecycle::Create(model),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
}

TEST_F(LifecycleTest, LongReasonIsCutAtUtf8Boundary) {
  DriveTo("mql");
  // 'x' then two-byte characters: the limit falls inside one of them.
  std::string reason = "x";
  while (reason.size() < kLifecycleReasonBytesMax + 10) reason += "\xC3\xA9";
  Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, reason));
  const std::string& kept = state_.history(state_.history_size() - 1).reason();
  EXPECT_EQ(kept.size(), kLifecycleReasonBytesMax - 1);
  EXPECT_EQ(kept, reason.substr(0, kLifecycleReasonBytesMax - 1));
}

TEST_F(LifecycleTest, HistoryAndRejectedAreBounded) {
  DriveTo("mql");
  while (state_.history_dropped() == 0 || state_.history_size() < kLifecycleHistoryMax) {
    Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, "cycle"), Cold());
    Apply(Page(), Ready());
  }
  EXPECT_EQ(state_.history_size(), kLifecycleHistoryMax);
  EXPECT_EQ(state_.history(state_.history_size() - 1).to_stage(), state_.current_stage());
  for (int i = 0; i <= kLifecycleRejectedMax; ++i) {
    Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_WON));
  }
  EXPECT_EQ(state_.rejected_size(), kLifecycleRejectedMax);
  EXPECT_EQ(state_.rejected_dropped(), 1u);
}

TEST_F(LifecycleTest, SameRecordsGiveIdenticalBytes) {
  auto run = [this] {
    state_.Clear();
    next_ = 0;
    Apply(Page());
    Apply(Identify(), LeadSignals{.score = 40, .grade = "A", .evidence_sequences = {0}});
    Apply(Page(), LeadSignals{.score = 120, .grade = "A", .evidence_sequences = {2, 0, 1}});
    Apply(Sales(v1::SALES_FACT_KIND_LEAD_ACCEPTED));
    Apply(Sales(v1::SALES_FACT_KIND_OPPORTUNITY_WON));
    Apply(Sales(v1::SALES_FACT_KIND_LEAD_REJECTED, "no_budget"));
    Apply(Tick(), Cold());
    Apply(Page(), Ready());
    return SerializeLifecycleState(state_);
  };
  const std::string first = run();
  const std::string second = run();
  EXPECT_EQ(first, second);
  EXPECT_EQ(state_.current_stage(), "mql");
  EXPECT_EQ(state_.rejected_size(), 1);
  EXPECT_EQ(state_.history_size(), 5);
}

// Checks the invariants listed in lifecycle.h on `state`.
void ExpectInvariants(const v1::LifecycleModel& model, const v1::LifecycleState& state) {
  bool stage_known = false;
  for (const v1::LifecycleStage& stage : model.stages()) {
    stage_known = stage_known || stage.id() == state.current_stage();
  }
  EXPECT_TRUE(stage_known) << state.current_stage();
  for (int i = 0; i < state.history_size(); ++i) {
    const v1::StageTransition& t = state.history(i);
    bool allowed = false;
    for (const v1::LifecycleTransition& m : model.transitions()) {
      allowed = allowed || (m.from_stage() == t.from_stage() && m.to_stage() == t.to_stage());
    }
    EXPECT_TRUE(allowed) << t.ShortDebugString();
    if (i + 1 < state.history_size()) {
      EXPECT_EQ(t.to_stage(), state.history(i + 1).from_stage());
      EXPECT_LE(t.log_time_ms(), state.history(i + 1).log_time_ms());
    } else {
      EXPECT_EQ(t.to_stage(), state.current_stage());
      EXPECT_EQ(t.log_time_ms(), state.entered_at_ms());
    }
  }
}

TEST_F(LifecycleTest, RandomRecordsKeepInvariantsAndReplayToIdenticalBytes) {
  const uint64_t seed = 20261124;
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  // Many leads in a row: a lead that reaches a terminal stage is finished
  // (its bytes kept) and the next record starts a fresh one.
  int leads_finished = 0;
  auto run = [this, seed, &leads_finished] {
    std::mt19937_64 rng(seed);
    std::string all_bytes;
    leads_finished = 0;
    state_.Clear();
    next_ = 0;
    for (int i = 0; i < 3000; ++i) {
      if (state_.current_stage() == "customer" || state_.current_stage() == "disqualified") {
        all_bytes += SerializeLifecycleState(state_);
        ++leads_finished;
        state_.Clear();
      }
      const int pick = static_cast<int>(rng() % 14);
      v1::LogRecord record;
      if (pick <= 8) {
        record = Sales(static_cast<v1::SalesFactKind>(pick + 1), rng() % 4 == 0 ? "" : "why");
      } else if (pick == 9) {
        record = Identify();
      } else if (pick == 10) {
        record = Tick();
      } else {
        record = Page();
      }
      const char* grades[] = {"A", "B", "C", "F", ""};
      LeadSignals signals{.score = static_cast<double>(rng() % 200),
                          .grade = grades[rng() % 5],
                          .evidence_sequences = {rng() % (next_ + 1)}};
      Apply(record, signals);
      ExpectInvariants(lifecycle_->model(), state_);
      if (::testing::Test::HasFailure()) break;
    }
    return all_bytes + SerializeLifecycleState(state_);
  };
  const std::string first = run();
  const std::string second = run();
  EXPECT_EQ(first, second);
  EXPECT_GT(leads_finished, 20);
}

}  // namespace
}  // namespace leadlog
