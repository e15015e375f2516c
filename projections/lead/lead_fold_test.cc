#include "projections/lead/lead_fold.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "consumers/codec.h"
#include "consumers/ingest.h"
#include "consumers/workload.h"
#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/limits.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "leadlog/v1/action.pb.h"
#include "projections/definitions/definition.h"
#include "projections/lead/decoded_leads.h"
#include "projections/lead/lead_projection.h"
#include "projections/revenue/revenue_engine.h"

namespace leadlog {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kMinute = 60'000;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A definition event as one JSON line (the codec's JSON form).
std::string DefinitionLine(const v1::Definition& definition) {
  v1::Event event = MakeDefinitionEvent(definition, kT0);
  return EncodeSegmentJson(event);
}

v1::Definition Load(const std::string& example) {
  absl::StatusOr<v1::Definition> d =
      ParseDefinition(ReadFile(absl::StrCat(LEADLOG_SOURCE_DIR, "/examples/", example)));
  EXPECT_THAT(d.status(), IsOk()) << example;
  return d.value_or(v1::Definition());
}

// A small scoring model: 40 points per pricing page view, grade A for
// employees >= 1000, B for >= 100.
v1::Definition SmallScoring(uint32_t version = 1) {
  absl::StatusOr<v1::Definition> d = ParseDefinition(absl::StrCat(R"({"scoring_model": {
    "id": "small", "version": )", version, R"(,
    "rules": [{"id": "pricing", "call": "page", "where": [{"field": "context.page_path", "op": "equals", "value": "/pricing"}], "points": 40}],
    "grade": {"rules": [
        {"id": "big", "where": [{"field": "traits.employees", "op": "gte", "value": 1000}], "points": 20},
        {"id": "mid", "where": [{"field": "traits.employees", "op": "gte", "value": 100}], "points": 10}],
      "bands": {"a_min_points": 30, "b_min_points": 10, "c_min_points": 5, "d_min_points": 1}}}})"));
  EXPECT_THAT(d.status(), IsOk());
  return d.value_or(v1::Definition());
}

v1::Definition SmallRouting() {
  absl::StatusOr<v1::Definition> d = ParseDefinition(R"({"owner_routing": {
    "id": "routing", "version": 1,
    "queues": [{"id": "enterprise", "owners": ["ent-1"]}, {"id": "smb", "owners": ["smb-1", "smb-2"]}],
    "territories": [{"id": "large", "where": [{"field": "traits.employees", "op": "gte", "value": 1000}], "queue": "enterprise"}],
    "default_queue": "smb"}})");
  EXPECT_THAT(d.status(), IsOk());
  return d.value_or(v1::Definition());
}

std::string Page(const std::string& id, const std::string& anon, const std::string& user,
                 const std::string& path) {
  return absl::StrCat(R"({"type":"page","messageId":")", id, R"(","anonymousId":")", anon,
                      R"(")", user.empty() ? "" : absl::StrCat(R"(,"userId":")", user, R"(")"),
                      R"(,"name":"Page","context":{"page":{"path":")", path, R"("}}})");
}

std::string Identify(const std::string& id, const std::string& anon, const std::string& user,
                     int employees) {
  return absl::StrCat(R"({"type":"identify","messageId":")", id, R"(","anonymousId":")", anon,
                      R"(","userId":")", user, R"(","traits":{"email":")", user,
                      R"(@example.com","employees":)", employees, "}}");
}

std::string Fact(const std::string& id, const std::string& user, const std::string& name,
                 const std::string& properties) {
  return absl::StrCat(R"({"type":"track","messageId":")", id, R"(","userId":")", user,
                      R"(","event":")", name, R"(","properties":{)", properties, "}}");
}

class LeadFoldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetMs(kT0);
    Reopen();
  }

  void Reopen() {
    projection_.reset();
    log_.reset();
    EventLogOptions options;
    options.data_dir = dir_.path();
    options.sync_per_batch = false;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(options);
    ASSERT_THAT(log.status(), IsOk());
    log_ = *std::move(log);
    absl::StatusOr<std::unique_ptr<LeadProjection>> projection =
        LeadProjection::Open(log_.get(), projection_options_);
    ASSERT_THAT(projection.status(), IsOk());
    projection_ = *std::move(projection);
  }

  // Ingests the lines into shard 0 (one partition) one minute apart, then
  // catches the projection up.
  void Ingest(const std::vector<std::string>& lines, bool catch_up = true) {
    for (const std::string& line : lines) {
      FileIngestOptions options;
      options.partitions = 1;
      std::istringstream in(line);
      absl::StatusOr<IngestSummary> summary = IngestLines(in, options, log_.get());
      ASSERT_THAT(summary.status(), IsOk());
      ASSERT_EQ(summary->dead_letters, 0u) << line;
      clock_.AdvanceMs(kMinute);
    }
    if (catch_up) {
      ASSERT_THAT(projection_->CatchUpAll(), IsOk());
    }
  }

  // Appends a definition event to shards 0..shards-1 (what `leadlog
  // definitions publish` does).
  void PublishToShards(const v1::Definition& definition, int shards) {
    PublishEventToShards(MakeDefinitionEvent(definition, kT0), shards);
  }

  void PublishEventToShards(const v1::Event& event, int shards) {
    AppendBatch batch;
    for (int s = 0; s < shards; ++s) {
      PendingEvent pending;
      pending.shard = ShardId(s);
      pending.event_id = event.event_id();
      pending.event_bytes = event.SerializeAsString();
      pending.source.set_topic("test");
      pending.source.set_partition(s);
      for (const std::string& key : event.erasure().lead_keys()) {
        pending.erase_lead_keys.push_back(LeadKey::FromEncoded(key));
      }
      batch.events.push_back(std::move(pending));
    }
    ASSERT_THAT(log_->Append(batch).status(), IsOk());
  }

  v1::LeadState Get(const std::string& id) {
    absl::StatusOr<std::optional<FoundLead>> found =
        FindLead(*projection_->runner(), log_->Shards(), id);
    EXPECT_THAT(found.status(), IsOk());
    EXPECT_TRUE(found.ok() && found->has_value()) << "no lead " << id;
    if (!found.ok() || !found->has_value()) return v1::LeadState();
    return (*found)->state;
  }

  bool Exists(const std::string& id) {
    absl::StatusOr<std::optional<FoundLead>> found =
        FindLead(*projection_->runner(), log_->Shards(), id);
    return found.ok() && found->has_value();
  }

  std::vector<v1::Action> Outbox() {
    std::vector<v1::Action> actions;
    absl::StatusOr<std::vector<ProjectionEntry>> entries =
        projection_->runner()->Scan(ShardId(0), kOutboxPrefix, "", 1000);
    EXPECT_THAT(entries.status(), IsOk());
    for (const ProjectionEntry& e : entries.value_or(std::vector<ProjectionEntry>{})) {
      v1::Action action;
      EXPECT_TRUE(action.ParseFromString(e.value));
      actions.push_back(action);
    }
    return actions;
  }

  // Every example definition in `shards` shards, then the demo's workload
  // (3000 events of 300 leads) in pieces three hours apart, each folded by
  // the projection and followed by a restart.
  std::vector<std::string> RealisticWorkload(int shards) {
    for (const char* example :
         {"scoring_model.json", "lifecycle_model.json", "owner_routing.json",
          "flows/welcome_series.json", "flows/early_stage_stream.json",
          "flows/late_stage_stream.json", "flows/webinar_follow_up.json", "flows/governance.json",
          "business_calendar.json", "revenue_rules.json"}) {
      PublishToShards(Load(example), shards);
    }
    std::vector<std::string> lines;
    WorkloadOptions options;
    options.events = 3000;
    options.leads = 300;
    absl::StatusOr<std::unique_ptr<Workload>> workload = Workload::Create(options);
    EXPECT_THAT(workload.status(), IsOk());
    if (!workload.ok()) return lines;
    v1::Event event;
    while ((*workload)->Next(&event)) lines.push_back(EncodeSegmentJson(event));
    for (size_t begin = 0; begin < lines.size(); begin += 700) {
      std::string chunk;
      for (size_t i = begin; i < std::min(lines.size(), begin + 700); ++i) {
        absl::StrAppend(&chunk, lines[i], "\n");
      }
      FileIngestOptions ingest;
      ingest.partitions = shards;
      std::istringstream in(chunk);
      EXPECT_THAT(IngestLines(in, ingest, log_.get()).status(), IsOk());
      clock_.AdvanceMs(3 * 3600 * 1000);
      EXPECT_THAT(projection_->CatchUpAll(), IsOk());
      Reopen();
    }
    return lines;
  }

  std::vector<std::string> Stages(const v1::LeadState& lead) {
    std::vector<std::string> stages;
    for (const v1::StageTransition& t : lead.lifecycle().history()) stages.push_back(t.to_stage());
    return stages;
  }

  testing::TempDir dir_;
  ManualClock clock_{kT0};
  LeadProjectionOptions projection_options_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<LeadProjection> projection_;
};

TEST_F(LeadFoldTest, AnonymousVisitorBecomesKnownOnIdentify) {
  Ingest({Page("e1", "anon-1", "", "/blog"), Page("e2", "anon-1", "", "/pricing")});
  v1::LeadState lead = Get("anon-1");
  EXPECT_EQ(lead.lead_key(), "a:anon-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "anonymous");
  EXPECT_EQ(lead.engagement().events(), 2u);

  Ingest({Identify("e3", "anon-1", "u-1", 50)});
  lead = Get("u-1");
  EXPECT_EQ(lead.lead_key(), "a:anon-1") << "the key is stable";
  EXPECT_THAT(lead.identifiers(), ElementsAre("a:anon-1", "u:u-1"));
  EXPECT_EQ(lead.user_id(), "u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "known");
  ASSERT_EQ(lead.traits_size(), 2);
  EXPECT_EQ(lead.traits(0).name(), "email");
  EXPECT_EQ(lead.traits(1).name(), "employees");
  EXPECT_EQ(lead.traits(1).sequence(), 2u);
  EXPECT_EQ(lead.traits(1).log_time_ms(), kT0 + 2 * kMinute);
}

TEST_F(LeadFoldTest, LatestTraitWins) {
  Ingest({Identify("e1", "anon-1", "u-1", 50), Identify("e2", "anon-1", "u-1", 5000)});
  v1::LeadState lead = Get("u-1");
  ASSERT_EQ(lead.traits_size(), 2);
  EXPECT_EQ(lead.traits(1).value().number_value(), 5000);
  EXPECT_EQ(lead.traits(1).sequence(), 1u);
}

TEST_F(LeadFoldTest, SecondDeviceMergesIntoTheEarlierLead) {
  Ingest({Identify("e1", "laptop", "u-1", 50), Page("e2", "laptop", "u-1", "/pricing"),
          Page("e3", "phone", "", "/blog"), Page("e4", "phone", "", "/blog")});
  ASSERT_EQ(Get("phone").lead_key(), "a:phone");
  // The phone identifies as the same user: its history merges into the
  // laptop's lead, created first.
  Ingest({Identify("e5", "phone", "u-1", 50)});
  v1::LeadState lead = Get("phone");
  EXPECT_EQ(lead.lead_key(), "a:laptop");
  EXPECT_THAT(lead.identifiers(), ElementsAre("a:laptop", "a:phone", "u:u-1"));
  ASSERT_EQ(lead.merges_size(), 1);
  EXPECT_EQ(lead.merges(0).absorbed_lead_key(), "a:phone");
  EXPECT_EQ(lead.merges(0).via_identifier(), "u:u-1");
  EXPECT_EQ(lead.merges(0).sequence(), 4u);
  EXPECT_EQ(lead.engagement().events(), 5u);
  ASSERT_GE(lead.engagement().pages_size(), 2);
  EXPECT_EQ(lead.engagement().pages(0).key(), "/blog");
  EXPECT_EQ(lead.engagement().pages(0).count(), 2u);
  // Every identifier of both resolves to the survivor; the absorbed state
  // is gone.
  EXPECT_EQ(Get("a:phone").lead_key(), "a:laptop");
  EXPECT_EQ(Get("u-1").lead_key(), "a:laptop");
  absl::StatusOr<std::optional<std::string>> absorbed =
      projection_->runner()->Get(ShardId(0), LeadStateKey("a:phone"));
  ASSERT_THAT(absorbed.status(), IsOk());
  EXPECT_FALSE(absorbed->has_value());
}

TEST_F(LeadFoldTest, PageCountsKeepTheTopKByCountThenPath) {
  // 25 paths visited unevenly by one lead, against a model of the top-K
  // list: sorted by count descending then path; a new path evicts the last
  // entry when kLeadEngagementKeysMax are kept.
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, uint64_t>> model;
  for (int i = 0; i < 80; ++i) {
    const std::string path = absl::StrCat("/p", (i * 7 + i / 9) % 25);
    lines.push_back(Page(absl::StrCat("e", i), "visitor", "", path));
    auto it = std::find_if(model.begin(), model.end(), [&](const auto& e) { return e.first == path; });
    if (it == model.end()) {
      if (model.size() >= static_cast<size_t>(kLeadEngagementKeysMax)) model.pop_back();
      model.emplace_back(path, 0);
      it = model.end() - 1;
    }
    ++it->second;
    std::stable_sort(model.begin(), model.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
  }
  Ingest(lines);
  const v1::LeadState lead = Get("visitor");
  ASSERT_EQ(lead.engagement().pages_size(), kLeadEngagementKeysMax);
  for (int i = 0; i < lead.engagement().pages_size(); ++i) {
    EXPECT_EQ(lead.engagement().pages(i).key(), model[i].first) << i;
    EXPECT_EQ(lead.engagement().pages(i).count(), model[i].second) << i;
  }
}

TEST_F(LeadFoldTest, AliasMergesPreviousId) {
  Ingest({Page("e1", "anon-1", "", "/a"), Identify("e2", "anon-2", "new-id", 10)});
  Ingest({R"({"type":"alias","messageId":"e3","anonymousId":"anon-2","userId":"new-id","previousId":"anon-1"})"});
  v1::LeadState lead = Get("new-id");
  EXPECT_EQ(lead.lead_key(), "a:anon-1");
  ASSERT_EQ(lead.merges_size(), 1);
  EXPECT_EQ(lead.merges(0).absorbed_lead_key(), "a:anon-2");
}

TEST_F(LeadFoldTest, NoScoringModelMeansNoScore) {
  Ingest({Page("e1", "anon-1", "u-1", "/pricing")});
  EXPECT_EQ(Get("u-1").score().score_milli(), 0);
  EXPECT_EQ(Get("u-1").score().model_id(), "");
}

TEST_F(LeadFoldTest, ScoringModelAppliesFromItsRecordOn) {
  Ingest({Page("e1", "anon-1", "u-1", "/pricing"), DefinitionLine(SmallScoring()),
          Page("e2", "anon-1", "u-1", "/pricing")});
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.score().model_id(), "small");
  EXPECT_EQ(lead.score().score_milli(), 40'000) << "the view before the model does not count";
  ASSERT_EQ(lead.score().rules_size(), 1);
  EXPECT_THAT(lead.score().rules(0).recent_sequences(), ElementsAre(2u));
}

TEST_F(LeadFoldTest, DefinitionVersionsMustIncrease) {
  Ingest({DefinitionLine(SmallScoring(2)), DefinitionLine(SmallScoring(1))});
  absl::StatusOr<std::vector<v1::DefinitionRecord>> defs =
      ListDefinitions(*projection_->runner(), ShardId(0));
  ASSERT_THAT(defs.status(), IsOk());
  ASSERT_EQ(defs->size(), 2u);
  EXPECT_FALSE((*defs)[0].accepted());  // v1 sorts first
  EXPECT_THAT((*defs)[0].why(), HasSubstr("not above version 2"));
  EXPECT_TRUE((*defs)[1].accepted());
  Ingest({Page("e1", "anon-1", "u-1", "/pricing")});
  EXPECT_EQ(Get("u-1").score().model_version(), 2u);
}

TEST_F(LeadFoldTest, SalesReadyHandsOffWithRoutedOwnerAndSummary) {
  Ingest({DefinitionLine(SmallScoring()), DefinitionLine(SmallRouting()),
          Identify("e1", "anon-1", "u-1", 5000), Page("e2", "anon-1", "u-1", "/pricing"),
          Page("e3", "anon-1", "u-1", "/pricing"), Page("e4", "anon-1", "u-1", "/pricing")});
  // 120 points and grade A meet the default sales-ready rule (>= 100, >= B)
  // on the third pricing view.
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "mql");
  EXPECT_THAT(Stages(lead), ElementsAre("known", "mql"));
  EXPECT_EQ(lead.owner_id(), "ent-1");
  ASSERT_EQ(lead.owner_history_size(), 1);
  EXPECT_EQ(lead.owner_history(0).cause(), "routing:routing/v1/large/enterprise");
  EXPECT_EQ(lead.handoffs(), 1u);
  std::vector<v1::Action> actions = Outbox();
  ASSERT_EQ(actions.size(), 1u);
  const v1::Action& a = actions[0];
  EXPECT_EQ(a.action_id(), "0-5-handoff-0");
  EXPECT_EQ(a.type(), "handoff");
  EXPECT_EQ(a.lead_key(), "a:anon-1");
  EXPECT_EQ(a.handoff().owner_id(), "ent-1");
  EXPECT_EQ(a.handoff().stage(), "mql");
  EXPECT_EQ(a.handoff().score_milli(), 120'000);
  EXPECT_EQ(a.handoff().grade(), "A");
  ASSERT_EQ(a.handoff().score_breakdown_size(), 1);
  EXPECT_THAT(a.handoff().score_breakdown(0).recent_sequences(), ElementsAre(3u, 4u, 5u));
  ASSERT_EQ(a.handoff().engagement().pages_size(), 1);
  EXPECT_EQ(a.handoff().engagement().pages(0).key(), "/pricing");
  EXPECT_EQ(a.handoff().engagement().pages(0).count(), 3u);
  EXPECT_EQ(a.handoff().cause().rule_id(), "sales_ready");
  // A fourth view does not hand off again.
  Ingest({Page("e5", "anon-1", "u-1", "/pricing")});
  EXPECT_EQ(Outbox().size(), 1u);
}

TEST_F(LeadFoldTest, RoundRobinOverTheQueue) {
  Ingest({DefinitionLine(SmallScoring()), DefinitionLine(SmallRouting())});
  std::vector<std::string> owners;
  for (int i = 0; i < 3; ++i) {
    const std::string u = absl::StrCat("u-", i), a = absl::StrCat("anon-", i);
    Ingest({Identify(absl::StrCat(u, "-id"), a, u, 200)});
    for (int v = 0; v < 3; ++v) Ingest({Page(absl::StrCat(u, "-p", v), a, u, "/pricing")});
    owners.push_back(Get(u).owner_id());
  }
  EXPECT_THAT(owners, ElementsAre("smb-1", "smb-2", "smb-1"));
  EXPECT_EQ(Outbox().size(), 3u);
}

TEST_F(LeadFoldTest, HandOffWithoutRoutingLeavesTheOwnerEmpty) {
  Ingest({DefinitionLine(SmallScoring()), Identify("e1", "anon-1", "u-1", 5000)});
  for (int v = 0; v < 3; ++v) Ingest({Page(absl::StrCat("p", v), "anon-1", "u-1", "/pricing")});
  EXPECT_EQ(Get("u-1").owner_id(), "");
  std::vector<v1::Action> actions = Outbox();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].handoff().routing_cause(), "no owner routing in force");
}

TEST_F(LeadFoldTest, SalesFactsMoveTheLeadAndDisallowedOnesAreRecorded) {
  Ingest({Identify("e1", "anon-1", "u-1", 50),
          // known -> customer is not a transition of the waterfall.
          Fact("e2", "u-1", "Opportunity Won", R"("opportunity_id":"o-1","amount":10)"),
          Fact("e3", "u-1", "Owner Assigned", R"("owner_id":"rep-7")"),
          Fact("e4", "u-1", "Lead Disqualified", R"("reason":"competitor")")});
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "disqualified");
  ASSERT_EQ(lead.lifecycle().rejected_size(), 1);
  EXPECT_EQ(lead.lifecycle().rejected(0).from_stage(), "known");
  EXPECT_EQ(lead.owner_id(), "rep-7");
  EXPECT_EQ(lead.owner_history(0).cause(), "sales_fact");
  const v1::StageTransition& last = lead.lifecycle().history(lead.lifecycle().history_size() - 1);
  EXPECT_EQ(last.reason(), "competitor");
  EXPECT_EQ(last.actor(), v1::ACTOR_SALES);
}

TEST_F(LeadFoldTest, RestartCatchesUpFromTheCheckpoint) {
  Ingest({Identify("e1", "anon-1", "u-1", 50), Page("e2", "anon-1", "u-1", "/a")});
  Reopen();
  // Appended while no projection ran: the next catch-up folds them.
  Ingest({Page("e3", "anon-1", "u-1", "/b"), Page("e4", "anon-1", "u-1", "/c")}, false);
  Reopen();
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  EXPECT_EQ(Get("u-1").engagement().events(), 4u);
  EXPECT_EQ(projection_->runner()->Checkpoint(ShardId(0)), Sequence(4));
}

std::optional<v1::FlowEnrollment> Enrollment(const ProjectionRunner& runner, const std::string& flow,
                                             const std::string& lead_key) {
  absl::StatusOr<std::optional<std::string>> bytes =
      runner.Get(ShardId(0), FlowEnrollmentKey(flow, lead_key));
  if (!bytes.ok() || !bytes->has_value()) return std::nullopt;
  v1::FlowEnrollment e;
  if (!e.ParseFromString(**bytes)) return std::nullopt;
  return e;
}

TEST_F(LeadFoldTest, WelcomeSeriesRunsOnTimersThatFireAfterDowntime) {
  // 2026-01-01 is a Thursday; 10:00 UTC is inside the governance's working
  // hours in Europe/Berlin.
  clock_.SetMs(kT0 + 10 * 3600 * 1000);
  PublishToShards(Load("flows/welcome_series.json"), 1);
  PublishToShards(Load("flows/governance.json"), 1);
  Ingest({Identify("e1", "anon-1", "u-1", 50)});
  std::optional<v1::FlowEnrollment> e = Enrollment(*projection_->runner(), "welcome_series", "a:anon-1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status(), v1::FlowEnrollment::ACTIVE);
  EXPECT_EQ(e->current_step(), "wait_2_days");
  EXPECT_EQ(e->enrollment_number(), 1u);
  std::vector<v1::Action> actions = Outbox();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].type(), "send_content");
  EXPECT_EQ(actions[0].send_content().content_id(), "cmp-welcome-nurture-1");
  EXPECT_EQ(actions[0].action_id(), "0-2-send_content-0");

  // Down for 3 days: the first record afterwards (a clock tick) fires the
  // overdue wait; the lead (score 0) takes the default branch and gets the
  // case study.
  Reopen();
  clock_.AdvanceMs(3LL * 24 * 3600 * 1000);
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  e = Enrollment(*projection_->runner(), "welcome_series", "a:anon-1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->current_step(), "wait_tuesday");
  actions = Outbox();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[1].send_content().content_id(), "cs-blue-ridge-analytics");
  EXPECT_EQ(actions[1].sequence(), 3u) << "caused by the tick";
  // A second identify does not enroll the lead again (one enrollment per flow).
  Ingest({Identify("e2", "anon-1", "u-1", 60)});
  EXPECT_EQ(Enrollment(*projection_->runner(), "welcome_series", "a:anon-1")->enrollment_number(), 1u);
  EXPECT_EQ(Outbox().size(), 2u);
}

v1::Definition TwoStepFlow(uint32_t version, const std::string& migration) {
  // v1: send A, wait a day, send B. v2: wait a day (t2), send C.
  const std::string steps =
      version == 1
          ? R"([{"id": "s1", "next": "s2", "send": {"content_id": "A", "channel": "email"}},
               {"id": "s2", "next": "s3", "wait": {"duration_ms": 86400000}},
               {"id": "s3", "send": {"content_id": "B", "channel": "email"}}])"
          : R"([{"id": "t2", "next": "t3", "wait": {"duration_ms": 86400000}},
               {"id": "t3", "send": {"content_id": "C", "channel": "email"}}])";
  absl::StatusOr<v1::Definition> d = ParseDefinition(absl::StrCat(
      R"({"nurture_flow": {"id": "two_step", "version": )", version,
      R"(, "triggers": [{"event": {"call": "track", "event": "Content Downloaded"}}], "steps": )",
      steps, migration, "}}"));
  EXPECT_THAT(d.status(), IsOk());
  return d.value_or(v1::Definition());
}

std::vector<std::string> SentContent(const std::vector<v1::Action>& actions) {
  std::vector<std::string> ids;
  for (const v1::Action& a : actions) {
    if (a.has_send_content()) ids.push_back(a.send_content().content_id());
  }
  return ids;
}

TEST_F(LeadFoldTest, NewFlowVersionMovesWaitingLeadsByTheStepMap) {
  PublishToShards(TwoStepFlow(1, ""), 1);
  Ingest({Fact("e1", "u-1", "Content Downloaded", R"("content_id":"x")")});
  ASSERT_EQ(Enrollment(*projection_->runner(), "two_step", "u:u-1")->current_step(), "s2");
  PublishToShards(TwoStepFlow(2, R"(, "migration": {"mode": "MAP_STEPS", "step_map": {"s2": "t2"}})"), 1);
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  std::optional<v1::FlowEnrollment> e = Enrollment(*projection_->runner(), "two_step", "u:u-1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->flow_version(), 2u);
  EXPECT_EQ(e->current_step(), "t2");
  clock_.AdvanceMs(2LL * 24 * 3600 * 1000);
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  EXPECT_THAT(SentContent(Outbox()), ElementsAre("A", "C"));
  EXPECT_EQ(Enrollment(*projection_->runner(), "two_step", "u:u-1")->status(),
            v1::FlowEnrollment::COMPLETED);
}

TEST_F(LeadFoldTest, NewFlowVersionLetsWaitingLeadsFinishOnTheOld) {
  PublishToShards(TwoStepFlow(1, ""), 1);
  Ingest({Fact("e1", "u-1", "Content Downloaded", R"("content_id":"x")")});
  PublishToShards(TwoStepFlow(2, ""), 1);
  Ingest({Fact("e2", "u-2", "Content Downloaded", R"("content_id":"x")")});
  EXPECT_EQ(Enrollment(*projection_->runner(), "two_step", "u:u-1")->flow_version(), 1u);
  EXPECT_EQ(Enrollment(*projection_->runner(), "two_step", "u:u-2")->flow_version(), 2u);
  clock_.AdvanceMs(2LL * 24 * 3600 * 1000);
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  // u-1 finished v1 (A then B); u-2 ran v2 (C only).
  EXPECT_THAT(SentContent(Outbox()), ElementsAre("A", "B", "C"));
}


// --- revenue rules (examples/revenue_rules.json on examples/business_calendar.json)

constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

std::vector<v1::Action> OfType(const std::vector<v1::Action>& actions, const std::string& type) {
  std::vector<v1::Action> out;
  for (const v1::Action& a : actions) {
    if (a.type() == type) out.push_back(a);
  }
  return out;
}

class RevenueFoldTest : public LeadFoldTest {
 protected:
  // Scoring, routing, the calendar and the revenue rules; then u-1 becomes an
  // MQL owned by ent-1 on 2026-01-01 (a holiday: the clocks start on Friday
  // 2 January at 09:00 Berlin, 08:00 UTC).
  void MqlLead(bool with_flows = false) {
    PublishToShards(Load("business_calendar.json"), 1);
    PublishToShards(Load("revenue_rules.json"), 1);
    // The example stream as it is: its entry filter (score <= 60) applies
    // to trigger enrollments only, so recycled leads with more points still
    // enter it (FlowEngine::Enroll).
    if (with_flows) PublishToShards(Load("flows/early_stage_stream.json"), 1);
    Ingest({DefinitionLine(SmallScoring()), DefinitionLine(SmallRouting()),
            Identify("e1", "anon-1", "u-1", 5000), Page("e2", "anon-1", "u-1", "/pricing"),
            Page("e3", "anon-1", "u-1", "/pricing"), Page("e4", "anon-1", "u-1", "/pricing")});
    ASSERT_EQ(Get("u-1").lifecycle().current_stage(), "mql");
  }

  void Tick(int64_t advance_ms) {
    clock_.AdvanceMs(advance_ms);
    ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
    ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  }

  int64_t Counter(const std::string& name) {
    absl::StatusOr<std::optional<std::string>> v =
        projection_->runner()->Get(ShardId(0), RevenueCounterKey(name));
    EXPECT_THAT(v.status(), IsOk());
    return v.ok() && v->has_value() ? DecodeRevenueCounter(**v) : 0;
  }

  // A recycled lead earns its way back to MQL: a page that scores nothing
  // re-arms the sales-ready rule (the recycle left the score below it), then
  // pricing pages until the rule holds again.
  void BackToMql(const std::string& user, int* next_id) {
    auto id = [&] { return absl::StrCat("back-", (*next_id)++); };
    Ingest({Page(id(), "anon-1", user, "/blog")});
    for (int i = 0; i < 4 && Get(user).lifecycle().current_stage() != "mql"; ++i) {
      Ingest({Page(id(), "anon-1", user, "/pricing")});
    }
    ASSERT_EQ(Get(user).lifecycle().current_stage(), "mql");
  }

  const v1::SlaClock* Clock(const v1::LeadState& lead, const std::string& sla) {
    for (const v1::SlaClock& c : lead.revenue().sla_clocks()) {
      if (c.sla_id() == sla) return &c;
    }
    return nullptr;
  }
};

TEST_F(RevenueFoldTest, RulesAreAcceptedAgainstTheModelInForce) {
  MqlLead();
  absl::StatusOr<std::vector<v1::DefinitionRecord>> defs =
      ListDefinitions(*projection_->runner(), ShardId(0));
  ASSERT_THAT(defs.status(), IsOk());
  int accepted = 0;
  for (const v1::DefinitionRecord& d : *defs) {
    if (d.definition().has_revenue_rules() || d.definition().has_business_calendar()) {
      EXPECT_TRUE(d.accepted()) << d.why();
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, 2);
}

TEST_F(RevenueFoldTest, SlaBreachAfterDowntimeFiresOnTheFirstTickInDueOrder) {
  MqlLead();
  v1::LeadState lead = Get("u-1");
  const v1::SlaClock* clock = Clock(lead, "mql_accept");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->status(), v1::SlaClock::OPEN);
  // 8 working hours from Friday 09:00 Berlin: 17:00 Berlin = 16:00 UTC;
  // the warning 2 working hours before.
  EXPECT_EQ(clock->breach_due_ms(), kT0 + kDay + 16 * kHour);
  EXPECT_EQ(clock->warn_due_ms(), kT0 + kDay + 14 * kHour);
  EXPECT_EQ(Counter("sla_open:mql_accept:ent-1:mql"), 1);
  // Down over the weekend: one tick afterwards fires the warning, then the
  // breach (escalation), in due order.
  Reopen();
  Tick(4 * kDay);
  std::vector<v1::Action> actions = Outbox();
  std::vector<std::string> types;
  for (const v1::Action& a : actions) {
    if (a.has_revenue()) types.push_back(a.type());
  }
  EXPECT_THAT(types, ElementsAre("sla_warning", "sla_breach_escalation"));
  std::vector<v1::Action> escalations = OfType(actions, "sla_breach_escalation");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].revenue().recipient(), "sales_manager");
  EXPECT_EQ(escalations[0].revenue().due_ms(), kT0 + kDay + 16 * kHour);
  lead = Get("u-1");
  clock = Clock(lead, "mql_accept");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->status(), v1::SlaClock::BREACHED);
  EXPECT_EQ(Counter("sla_breached:mql_accept:ent-1:mql"), 1);
  EXPECT_EQ(Counter("sla_open:mql_accept:ent-1:mql"), 0);
}

TEST_F(RevenueFoldTest, SlaMetWhenLeadAcceptedArrivesInTime) {
  MqlLead();
  clock_.SetMs(kT0 + kDay + 10 * kHour);  // Friday 11:00 Berlin: 2 working hours
  Ingest({Fact("f1", "u-1", "Lead Accepted", "")});
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "sal");
  const v1::SlaClock* clock = Clock(lead, "mql_accept");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->status(), v1::SlaClock::MET);
  EXPECT_EQ(clock->elapsed_working_ms(), 2 * kHour);
  EXPECT_EQ(Counter("sla_met:mql_accept:ent-1:mql"), 1);
  const v1::SlaClock* contact = Clock(lead, "sal_first_contact");
  ASSERT_NE(contact, nullptr);
  EXPECT_EQ(contact->status(), v1::SlaClock::OPEN);
  absl::StatusOr<std::optional<std::string>> samples =
      projection_->runner()->Get(ShardId(0), RevenueSamplesKey("time_to_accept"));
  ASSERT_THAT(samples.status(), IsOk());
  ASSERT_TRUE(samples->has_value());
  EXPECT_THAT(DecodeRevenueSamples(**samples), ElementsAre(2 * kHour));
  // Nothing breaches later.
  Tick(2 * kHour);
  EXPECT_TRUE(OfType(Outbox(), "sla_breach_escalation").empty());
}

TEST_F(RevenueFoldTest, SalBreachReassignsToTheNextOwnerOfTheQueue) {
  MqlLead();
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", "")});
  Tick(10 * kDay);
  v1::LeadState lead = Get("u-1");
  const v1::SlaClock* contact = Clock(lead, "sal_first_contact");
  ASSERT_NE(contact, nullptr);
  EXPECT_EQ(contact->status(), v1::SlaClock::BREACHED);
  EXPECT_EQ(lead.owner_id(), "smb-1");
  EXPECT_EQ(lead.owner_history(lead.owner_history_size() - 1).cause(), "revenue:sal_first_contact");
}

TEST_F(RevenueFoldTest, StalledLeadIsRecycledWithReasonAndEnrolledInTheStream) {
  MqlLead(/*with_flows=*/true);
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", "")});
  Tick(15 * kDay);
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "recycled");
  const v1::StageTransition& t = lead.lifecycle().history(lead.lifecycle().history_size() - 1);
  EXPECT_EQ(t.to_stage(), "recycled");
  EXPECT_EQ(t.cause().rule_id(), "revenue:stalled_mql_sal");
  EXPECT_EQ(lead.revenue().recycle().recycles(), 1u);
  EXPECT_EQ(lead.revenue().recycle().last_reason(), "no_sales_contact");
  EXPECT_EQ(lead.score_adjustment_milli(), -60'000);
  EXPECT_EQ(Counter("recycles:no_sales_contact:sal"), 1);
  EXPECT_EQ(OfType(Outbox(), "recycle_notice").size(), 1u);
  std::optional<v1::FlowEnrollment> e =
      Enrollment(*projection_->runner(), "early_stage_stream", lead.lead_key());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status(), v1::FlowEnrollment::ACTIVE);
  EXPECT_EQ(e->enrollment_number(), 2u);
  EXPECT_EQ(e->journey(0).what(), "enrolled by revenue recycle");
}

TEST_F(RevenueFoldTest, CooldownDefersReentriesCountAndTheLimitDisqualifies) {
  MqlLead(/*with_flows=*/true);
  int next_id = 0;
  // Recycle 1: 14 days in MQL without a sales contact.
  Tick(15 * kDay);
  ASSERT_EQ(Get("u-1").lifecycle().current_stage(), "recycled");
  const int64_t first_recycle = Get("u-1").revenue().recycle().last_recycled_ms();
  EXPECT_EQ(first_recycle, kT0 + 15 * kDay + 6 * kMinute);  // six lines, a minute apart
  // Back in MQL the next day: a re-entry. The stall would fall due 14 days
  // later, but the 30-day cool-down after the recycle defers it.
  BackToMql("u-1", &next_id);
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.revenue().recycle().re_entries(), 1u);
  EXPECT_EQ(Counter("re_entries:mql"), 1);
  EXPECT_EQ(lead.revenue().recycle().stall_due_ms(), first_recycle + 30 * kDay);
  Tick(20 * kDay);  // past the 14 days, inside the cool-down
  lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "mql");
  EXPECT_EQ(lead.revenue().recycle().recycles(), 1u);
  Tick(11 * kDay);  // past the cool-down: recycle 2
  lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "recycled");
  EXPECT_EQ(lead.revenue().recycle().recycles(), 2u);
  // Recycle 3, then the fourth stall would exceed recycles_max 3: the lead is
  // disqualified with the limit's reason instead.
  BackToMql("u-1", &next_id);
  Tick(31 * kDay);
  EXPECT_EQ(Get("u-1").revenue().recycle().recycles(), 3u);
  BackToMql("u-1", &next_id);
  Tick(31 * kDay);
  lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "disqualified");
  const v1::StageTransition& last = lead.lifecycle().history(lead.lifecycle().history_size() - 1);
  EXPECT_EQ(last.reason(), "recycle_limit");
  EXPECT_EQ(last.cause().rule_id(), "revenue:stalled_mql_sal");
  EXPECT_EQ(lead.revenue().recycle().recycles(), 3u);
  EXPECT_EQ(lead.revenue().recycle().re_entries(), 3u);
  EXPECT_EQ(Counter("recycles:no_sales_contact:mql"), 3);
  EXPECT_EQ(Counter("re_entries:mql"), 3);
  EXPECT_EQ(Counter("disqualified:recycle_limit:mql"), 1);
  EXPECT_EQ(OfType(Outbox(), "recycle_notice").size(), 3u);
  // Disqualified leads are suppressed from the stream: it ended.
  std::optional<v1::FlowEnrollment> e =
      Enrollment(*projection_->runner(), "early_stage_stream", lead.lead_key());
  ASSERT_TRUE(e.has_value());
  EXPECT_NE(e->status(), v1::FlowEnrollment::ACTIVE);
}

TEST_F(RevenueFoldTest, BadTimingRecyclesAndTheRecontactDateBringsTheLeadBack) {
  MqlLead(/*with_flows=*/true);
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", ""),
          Fact("f2", "u-1", "Lead Rejected", R"("reason":"bad_timing","recontact_on":"2026-03-02")")});
  v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "recycled");
  EXPECT_EQ(lead.revenue().recycle().recycles(), 1u);
  EXPECT_EQ(lead.revenue().recycle().last_reason(), "bad_timing");
  const int64_t recontact = 1'772'409'600'000;  // 2026-03-02T00:00:00Z
  EXPECT_EQ(lead.revenue().recycle().recontact_due_ms(), recontact);
  EXPECT_EQ(lead.score_adjustment_milli(), 0);  // KEEP: all 120 points stay
  EXPECT_EQ(Counter("recycles:bad_timing:sal"), 1);
  // The score policy kept 120 points, above the stream's entry filter
  // (score <= 60); the rule's enrollment still takes the lead in.
  std::optional<v1::FlowEnrollment> e =
      Enrollment(*projection_->runner(), "early_stage_stream", lead.lead_key());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status(), v1::FlowEnrollment::ACTIVE);
  // Down until after the re-contact date: the first tick brings the lead
  // back to MQL for sales, as a re-entry.
  Reopen();
  clock_.SetMs(recontact - kHour);
  Tick(2 * kHour);
  lead = Get("u-1");
  EXPECT_EQ(lead.lifecycle().current_stage(), "mql");
  const v1::StageTransition& last = lead.lifecycle().history(lead.lifecycle().history_size() - 1);
  EXPECT_EQ(last.cause().rule_id(), "revenue:reject_bad_timing");
  EXPECT_EQ(last.log_time_ms(), recontact + kHour);
  EXPECT_EQ(lead.revenue().recycle().re_entries(), 1u);
  EXPECT_EQ(lead.revenue().recycle().recontact_due_ms(), 0);
  EXPECT_EQ(Counter("recontacts:reject_bad_timing"), 1);
  // And MQL's accept clock runs again for the owner.
  const v1::SlaClock* clock = nullptr;
  for (const v1::SlaClock& c : lead.revenue().sla_clocks()) {
    if (c.sla_id() == "mql_accept" && c.status() == v1::SlaClock::OPEN) clock = &c;
  }
  ASSERT_NE(clock, nullptr);
}

TEST_F(RevenueFoldTest, MergeCancelsTheAbsorbedLeadsTimers) {
  MqlLead();
  // A second device becomes an MQL of its own (its own accept clock), then
  // identifies as u-1: it merges into u-1's lead.
  Ingest({Identify("p1", "phone", "p-1", 5000), Page("p2", "phone", "p-1", "/pricing"),
          Page("p3", "phone", "p-1", "/pricing"), Page("p4", "phone", "p-1", "/pricing")});
  const std::string absorbed = Get("p-1").lead_key();
  ASSERT_NE(absorbed, Get("u-1").lead_key());
  ASSERT_NE(Clock(Get("p-1"), "mql_accept"), nullptr);
  Ingest({R"({"type":"alias","messageId":"p5","anonymousId":"phone","userId":"u-1","previousId":"p-1"})"});
  ASSERT_EQ(Get("p-1").lead_key(), Get("u-1").lead_key());
  absl::StatusOr<std::vector<ProjectionEntry>> timers =
      projection_->runner()->Scan(ShardId(0), "t/", "", 1000);
  ASSERT_THAT(timers.status(), IsOk());
  for (const ProjectionEntry& t : *timers) {
    EXPECT_EQ(t.key.find(absorbed), std::string::npos) << "timer left for " << absorbed;
    EXPECT_EQ(t.value.find(absorbed), std::string::npos) << "timer left for " << absorbed;
  }
  // Past every deadline: the survivor's clock breaches once; nothing fires
  // for the absorbed lead.
  Tick(10 * kDay);
  std::vector<v1::Action> escalations = OfType(Outbox(), "sla_breach_escalation");
  ASSERT_EQ(escalations.size(), 1u);
  EXPECT_EQ(escalations[0].lead_key(), Get("u-1").lead_key());
}

// A flow's set_stage step fired by its timer (not by a record of the lead)
// starts the new stage's SLA clock at that moment.
TEST_F(RevenueFoldTest, StageSetByAFlowTimerStartsTheStagesClock) {
  PublishToShards(Load("business_calendar.json"), 1);
  PublishToShards(Load("revenue_rules.json"), 1);
  absl::StatusOr<v1::Definition> flow = ParseDefinition(R"({"nurture_flow": {
    "id": "fast_track", "version": 1,
    "triggers": [{"event": {"call": "track", "event": "Content Downloaded"}}],
    "steps": [{"id": "w", "next": "s", "wait": {"duration_ms": 3600000}},
              {"id": "s", "set_stage": {"stage": "mql", "reason": "fast_track"}}]}})");
  ASSERT_THAT(flow.status(), IsOk());
  PublishToShards(*flow, 1);
  clock_.SetMs(kT0 + kDay + 8 * kHour);  // Friday 2 January, 09:00 Berlin
  Ingest({Identify("e1", "anon-1", "u-1", 50),
          Fact("e2", "u-1", "Content Downloaded", R"("content_id":"x")")});
  ASSERT_EQ(Get("u-1").lifecycle().current_stage(), "known");
  Tick(2 * kHour);  // the flow's hour is up: 11:02 Berlin
  v1::LeadState lead = Get("u-1");
  ASSERT_EQ(lead.lifecycle().current_stage(), "mql");
  const v1::SlaClock* clock = Clock(lead, "mql_accept");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->status(), v1::SlaClock::OPEN);
  const int64_t now = kT0 + kDay + 10 * kHour + 2 * kMinute;
  EXPECT_EQ(clock->started_ms(), now);
  // 8 working hours: 6 h 28 min on Friday (to 17:30), the rest on Monday
  // 5 January from 09:00 Berlin (08:00 UTC).
  EXPECT_EQ(clock->breach_due_ms(), kT0 + 4 * kDay + 8 * kHour + (8 * kHour - (6 * kHour + 28 * kMinute)));
}

TEST_F(RevenueFoldTest, RejectionReasonsRecycleOrDisqualify) {
  MqlLead();
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", ""),
          Identify("e5", "anon-2", "u-2", 5000), Page("e6", "anon-2", "u-2", "/pricing"),
          Page("e7", "anon-2", "u-2", "/pricing"), Page("e8", "anon-2", "u-2", "/pricing"),
          Fact("f2", "u-2", "Lead Accepted", "")});
  Ingest({Fact("f3", "u-1", "Lead Rejected", R"("reason":"not_icp")"),
          Fact("f4", "u-2", "Lead Rejected", R"("reason":"wrong_person")")});
  EXPECT_EQ(Get("u-1").lifecycle().current_stage(), "disqualified");
  v1::LeadState two = Get("u-2");
  EXPECT_EQ(two.lifecycle().current_stage(), "recycled");
  EXPECT_EQ(two.revenue().recycle().last_reason(), "wrong_person");
  EXPECT_EQ(OfType(Outbox(), "owner_notification").size(), 1u);
}

TEST_F(RevenueFoldTest, StaleRecordReminderRepeatsWeekly) {
  MqlLead();
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", ""), Fact("f2", "u-1", "Lead Contacted", "")});
  ASSERT_EQ(Get("u-1").lifecycle().current_stage(), "sql");
  Tick(8 * kDay);
  EXPECT_EQ(OfType(Outbox(), "stale_record_reminder").size(), 1u);
  Tick(7 * kDay);
  EXPECT_EQ(OfType(Outbox(), "stale_record_reminder").size(), 2u);
  EXPECT_EQ(Get("u-1").revenue().stale().reminders(), 2u);
}

// The revenue state is stored under "r/<lead key>" (with a copy of the
// lead's owner and stage), never inside the "l/" value; every reader shows
// it merged back.
TEST_F(RevenueFoldTest, RevenueStateLivesUnderItsOwnKeyAndReadersMergeItBack) {
  MqlLead();
  const v1::LeadState lead = Get("u-1");
  const std::string key = lead.lead_key();
  absl::StatusOr<std::optional<std::string>> stored =
      projection_->runner()->Get(ShardId(0), LeadStateKey(key));
  ASSERT_THAT(stored.status(), IsOk());
  ASSERT_TRUE(stored->has_value());
  v1::LeadState without;
  ASSERT_TRUE(without.ParseFromString(**stored));
  EXPECT_FALSE(without.has_revenue());
  absl::StatusOr<std::optional<std::string>> revenue_bytes =
      projection_->runner()->Get(ShardId(0), LeadRevenueKey(key));
  ASSERT_THAT(revenue_bytes.status(), IsOk());
  ASSERT_TRUE(revenue_bytes->has_value());
  v1::LeadRevenueEntry entry;
  ASSERT_TRUE(entry.ParseFromString(**revenue_bytes));
  EXPECT_EQ(entry.owner_id(), "ent-1");
  EXPECT_EQ(entry.stage(), "mql");
  EXPECT_EQ(entry.stage_entered_ms(), lead.lifecycle().entered_at_ms());
  ASSERT_NE(Clock(lead, "mql_accept"), nullptr);  // FindLead merged it back
  EXPECT_EQ(lead.revenue().SerializeAsString(), entry.state().SerializeAsString());
  absl::StatusOr<LeadProjection::CurrentLead> current = projection_->ReadLead(ShardId(0), key);
  ASSERT_THAT(current.status(), IsOk());
  ASSERT_TRUE(current->state.has_value());
  EXPECT_EQ(current->state->revenue().SerializeAsString(), entry.state().SerializeAsString());
  // A stage change refreshes the copy with the lead.
  clock_.SetMs(kT0 + kDay + 10 * kHour);
  Ingest({Fact("f1", "u-1", "Lead Accepted", "")});
  revenue_bytes = projection_->runner()->Get(ShardId(0), LeadRevenueKey(key));
  ASSERT_THAT(revenue_bytes.status(), IsOk());
  ASSERT_TRUE(revenue_bytes->has_value());
  ASSERT_TRUE(entry.ParseFromString(**revenue_bytes));
  EXPECT_EQ(entry.stage(), "sal");
  EXPECT_EQ(entry.stage_entered_ms(), Get("u-1").lifecycle().entered_at_ms());
}

// While the rules are out of force (their calendar is not the one in
// force) the lead moves on without the revenue engine; the "r/" copy of its
// stage follows anyway, so the pending warning of the stage it left, fired
// from the entry when the rules are back, finds the clock cancelled.
TEST_F(RevenueFoldTest, TimerFiredFromTheEntrySeesAStageTheEngineMissed) {
  MqlLead();
  v1::Definition elsewhere = Load("business_calendar.json");
  elsewhere.mutable_business_calendar()->set_id("elsewhere");
  PublishToShards(elsewhere, 1);
  clock_.SetMs(kT0 + kDay + 10 * kHour);  // Friday 11:00 Berlin, before the warning
  Ingest({Fact("f1", "u-1", "Lead Accepted", "")});
  ASSERT_EQ(Get("u-1").lifecycle().current_stage(), "sal");
  ASSERT_EQ(Clock(Get("u-1"), "mql_accept")->status(), v1::SlaClock::OPEN);  // not synced
  v1::Definition back = Load("business_calendar.json");
  back.mutable_business_calendar()->set_version(2);
  PublishToShards(back, 1);
  clock_.SetMs(kT0 + kDay + 15 * kHour);  // past the warning (15:00 Berlin), before the breach
  Tick(0);
  EXPECT_TRUE(OfType(Outbox(), "sla_warning").empty());
  const v1::LeadState lead = Get("u-1");  // Clock points into it
  const v1::SlaClock* clock = Clock(lead, "mql_accept");
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->status(), v1::SlaClock::CANCELLED);
}

// Revenue timers fired from the "r/" entry alone leave exactly the state
// that firing them on the whole lead leaves, whatever the chunk boundaries.
TEST_F(LeadFoldTest, RevenueTimersFiredFromTheEntryGiveTheStateOfTheWholeLead) {
  RealisticWorkload(2);
  ASSERT_FALSE(HasFailure());
  clock_.AdvanceMs(40 * kDay);  // every SLA, stall and stale timer is due
  for (ShardId shard : log_->Shards()) ASSERT_THAT(log_->AppendClockTick(shard).status(), IsOk());
  LeadFold from_entry;
  LeadFold whole_lead(LeadFoldOptions{.revenue_timers_from_entry = false});
  ProjectionRunnerOptions small_chunks;
  small_chunks.records_per_commit = 7;
  small_chunks.sync_per_commit = false;
  small_chunks.family_version = 101;
  ProjectionRunnerOptions large_chunks;
  large_chunks.sync_per_commit = false;
  large_chunks.family_version = 102;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> a =
      ProjectionRunner::Create(log_.get(), &from_entry, small_chunks);
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> b =
      ProjectionRunner::Create(log_.get(), &whole_lead, large_chunks);
  ASSERT_THAT(a.status(), IsOk());
  ASSERT_THAT(b.status(), IsOk());
  for (ShardId shard : log_->Shards()) {
    ASSERT_THAT((*a)->CatchUp(shard).status(), IsOk());
    ASSERT_THAT((*b)->CatchUp(shard).status(), IsOk());
    absl::StatusOr<std::string> digest_a = (*a)->StateDigest(shard);
    absl::StatusOr<std::string> digest_b = (*b)->StateDigest(shard);
    ASSERT_THAT(digest_a.status(), IsOk());
    ASSERT_THAT(digest_b.status(), IsOk());
    EXPECT_EQ(*digest_a, *digest_b) << "shard " << shard.value();
  }
  EXPECT_GT(from_entry.revenue_timers_fired_from_entry(), 0u);  // 13 in this workload
  EXPECT_EQ(whole_lead.revenue_timers_fired_from_entry(), 0u);
}

// Report counters are summed per chunk and written at its end; a counter
// whose deltas cancel out within a chunk is still written (as folding record
// by record writes it), so the state does not depend on chunk boundaries.
TEST_F(RevenueFoldTest, ReportCountersSummedPerChunkEqualFoldingRecordByRecord) {
  PublishToShards(Load("business_calendar.json"), 1);
  PublishToShards(Load("revenue_rules.json"), 1);
  // The MQL's clock opens (sla_open +1) and the acceptance meets it
  // (sla_open -1): both inside one chunk of the large-chunk runner.
  Ingest({DefinitionLine(SmallScoring()), DefinitionLine(SmallRouting()),
          Identify("e1", "anon-1", "u-1", 5000), Page("e2", "anon-1", "u-1", "/pricing"),
          Page("e3", "anon-1", "u-1", "/pricing"), Page("e4", "anon-1", "u-1", "/pricing"),
          Fact("f1", "u-1", "Lead Accepted", "")},
         /*catch_up=*/false);
  LeadFold fold;
  auto open_counters = [](ProjectionRunner& runner) {
    std::map<std::string, int64_t> open;
    absl::StatusOr<std::vector<ProjectionEntry>> page =
        runner.Scan(ShardId(0), kRevenueCounterPrefix, "", 100);
    EXPECT_THAT(page.status(), IsOk());
    for (const ProjectionEntry& e : page.value_or(std::vector<ProjectionEntry>())) {
      if (absl::StrContains(e.key, "sla_open:mql_accept")) open[e.key] = DecodeRevenueCounter(e.value);
    }
    return open;
  };
  std::string digests[2];
  std::map<std::string, int64_t> open[2];
  const uint64_t records_per_commit[2] = {1, 1000};
  for (int i = 0; i < 2; ++i) {
    ProjectionRunnerOptions options;
    options.records_per_commit = records_per_commit[i];
    options.sync_per_commit = false;
    options.family_version = 110 + i;
    absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
        ProjectionRunner::Create(log_.get(), &fold, options);
    ASSERT_THAT(runner.status(), IsOk());
    ASSERT_THAT((*runner)->CatchUp(ShardId(0)).status(), IsOk());
    absl::StatusOr<std::string> digest = (*runner)->StateDigest(ShardId(0));
    ASSERT_THAT(digest.status(), IsOk());
    digests[i] = *digest;
    open[i] = open_counters(**runner);
  }
  ASSERT_EQ(open[0].size(), 1u);  // the met clock's open counter: present, back to 0
  EXPECT_EQ(open[0].begin()->second, 0);
  EXPECT_EQ(open[1], open[0]);
  EXPECT_EQ(digests[1], digests[0]);
}

// Delegates to a LeadFold; on the first clock tick it first plants a due
// entry of the lead's SLA timer at `stale_due_ms` (a due the lead's revenue
// state does not hold), as a stale read or a lost delete would leave it.
class StaleRevenueTimerFold final : public ProjectionFold {
 public:
  StaleRevenueTimerFold(std::string lead_key, int64_t stale_due_ms)
      : lead_key_(std::move(lead_key)), stale_due_ms_(stale_due_ms) {}
  std::string name() const override { return inner_.name(); }
  uint32_t version() const override { return inner_.version(); }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (!record.has_event() && !planted_) {
      planted_ = true;
      std::string key = "t/d/";
      for (int shift = 56; shift >= 0; shift -= 8) {
        key.push_back(static_cast<char>(static_cast<uint64_t>(stale_due_ms_) >> shift));
      }
      key += RevenueTimerId(RevenueTimerKind::kSla, lead_key_, "mql_accept");
      txn.Put(key, lead_key_);
    }
    return inner_.Apply(shard, record, txn);
  }
  absl::Status EndChunk(ShardId shard, ProjectionTxn& txn) override {
    return inner_.EndChunk(shard, txn);
  }
  void AbortChunk(ShardId shard, ProjectionTxn& txn) override { inner_.AbortChunk(shard, txn); }
  std::vector<std::string> transient_prefixes() const override {
    return inner_.transient_prefixes();
  }

 private:
  LeadFold inner_;
  const std::string lead_key_;
  const int64_t stale_due_ms_;
  bool planted_ = false;
};

// Revenue timers pop without their id entry being read: the engine pairs
// each with the due in the lead's revenue state. A due entry whose due the
// state does not hold fires nothing, and the lead's real warning still
// fires once, on time.
TEST_F(RevenueFoldTest, StaleRevenueDueEntryFiresNothingAndTheRealTimerStillFires) {
  MqlLead();
  const std::string lead_key = Get("u-1").lead_key();
  StaleRevenueTimerFold fold(lead_key, kT0 + kDay + 9 * kHour);  // Friday 10:00 Berlin
  ProjectionRunnerOptions options;
  options.records_per_commit = 1;
  options.sync_per_commit = false;
  options.family_version = 120;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(log_.get(), &fold, options);
  ASSERT_THAT(runner.status(), IsOk());
  auto warnings = [&] {
    int n = 0;
    absl::StatusOr<std::vector<ProjectionEntry>> entries =
        (*runner)->Scan(ShardId(0), kOutboxPrefix, "", 1000);
    EXPECT_THAT(entries.status(), IsOk());
    for (const ProjectionEntry& e : entries.value_or(std::vector<ProjectionEntry>{})) {
      v1::Action action;
      EXPECT_TRUE(action.ParseFromString(e.value));
      if (action.type() == "sla_warning") ++n;
    }
    return n;
  };
  clock_.SetMs(kT0 + kDay + 10 * kHour);  // Friday 11:00 Berlin: only the stale due has passed
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT((*runner)->CatchUp(ShardId(0)).status(), IsOk());
  EXPECT_EQ(warnings(), 0);
  clock_.SetMs(kT0 + kDay + 15 * kHour);  // past the warning (15:00 Berlin), before the breach
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT((*runner)->CatchUp(ShardId(0)).status(), IsOk());
  EXPECT_EQ(warnings(), 1);
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());  // the unplanted fold agrees
  EXPECT_EQ(OfType(Outbox(), "sla_warning").size(), 1u);
}

// An identify carrying personal traits and context.
std::string PersonalIdentify(const std::string& id, const std::string& anon,
                             const std::string& user, const std::string& name) {
  return absl::StrCat(R"({"type":"identify","messageId":")", id, R"(","anonymousId":")", anon,
                      R"(","userId":")", user, R"(","traits":{"email":")", user,
                      R"(@acme-corp.com","name":")", name,
                      R"(","phone":"+1 555 0199","address":{"city":"Springfield"},)"
                      R"("employees":5000},"context":{"ip":"198.51.100.23"}})");
}

v1::Event ErasureOf(std::vector<std::string> keys, const std::string& request_id) {
  v1::Event event;
  event.set_type(v1::CALL_TYPE_ERASURE);
  event.set_event_id(absl::StrCat("erasure:", request_id));
  for (const std::string& k : keys) event.mutable_erasure()->add_lead_keys(k);
  event.mutable_erasure()->set_reason("data subject request #7");
  event.mutable_erasure()->set_request_id(request_id);
  return event;
}

TEST_F(LeadFoldTest, ErasureRedactsTheLeadAndARebuildOfTheRewrittenLogIsIdentical) {
  for (const char* example : {"lifecycle_model.json", "flows/welcome_series.json",
                              "flows/early_stage_stream.json", "business_calendar.json",
                              "revenue_rules.json"}) {
    PublishToShards(Load(example), 1);
  }
  Ingest({DefinitionLine(SmallScoring()), DefinitionLine(SmallRouting()),
          PersonalIdentify("e1", "anon-1", "u-1", "Jane Erasable"),
          PersonalIdentify("e2", "anon-2", "u-2", "Bob Keeper"),
          Page("e3", "anon-1", "u-1", "/pricing"), Page("e4", "anon-9", "", "/pricing"),
          R"({"type":"alias","messageId":"e5","previousId":"anon-9","userId":"u-1"})",
          Page("e6", "anon-1", "u-1", "/pricing"), Page("e7", "anon-1", "u-1", "/pricing")});
  const v1::LeadState before = Get("u-1");
  ASSERT_EQ(before.lifecycle().current_stage(), "mql");  // handed off: traits in the outbox
  ASSERT_GE(Outbox().size(), 1u);

  PublishEventToShards(ErasureOf({"a:anon-1", "a:anon-9", "u:u-1"}, "req-1"), 1);
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());

  const v1::LeadState after = Get("u-1");
  std::vector<std::string> traits;
  for (const v1::ProfileTrait& t : after.traits()) traits.push_back(t.name());
  EXPECT_THAT(traits, ElementsAre("email", "employees"));
  EXPECT_EQ(after.traits(0).value().string_value(), "erased@acme-corp.com");
  ASSERT_EQ(after.erasures_size(), 1);
  EXPECT_EQ(after.erasures(0).request_id(), "req-1");
  EXPECT_EQ(after.erasures(0).reason(), "data subject request #7");
  // What is not personal is untouched.
  EXPECT_EQ(after.score().score_milli(), before.score().score_milli());
  EXPECT_EQ(after.score().grade().grade(), before.score().grade().grade());
  EXPECT_EQ(after.lifecycle().current_stage(), before.lifecycle().current_stage());
  EXPECT_EQ(after.owner_id(), before.owner_id());
  EXPECT_EQ(after.user_id(), "u-1");
  for (const v1::Action& a : Outbox()) {
    EXPECT_THAT(a.DebugString(), ::testing::Not(HasSubstr("Jane Erasable")));
  }
  // The other lead keeps its data.
  bool bob_named = false;
  const v1::LeadState bob = Get("u-2");
  for (const v1::ProfileTrait& t : bob.traits()) {
    bob_named |= t.name() == "name" && t.value().string_value() == "Bob Keeper";
  }
  EXPECT_TRUE(bob_named);
  // Nothing of the erased values is readable from the log either.
  std::string bytes;
  ASSERT_THAT(log_->ReadRange(ShardId(0), Sequence(0), log_->Position(ShardId(0)),
                              [&](const v1::LogRecord& r) {
                                bytes += r.SerializeAsString();
                                return absl::OkStatus();
                              }),
              IsOk());
  EXPECT_THAT(bytes, ::testing::Not(HasSubstr("Jane Erasable")));
  EXPECT_THAT(bytes, ::testing::Not(HasSubstr("u-1@acme-corp.com")));
  EXPECT_THAT(bytes, HasSubstr("Bob Keeper"));
  EXPECT_THAT(bytes, HasSubstr("u-2@acme-corp.com"));

  // Invariant 5: a rebuild from sequence 0 of the rewritten log reaches the
  // same state the live fold reached by redacting.
  absl::StatusOr<RebuildReport> report = projection_->Rebuild();
  ASSERT_THAT(report.status(), IsOk());
  EXPECT_TRUE(report->identical);
  for (const RebuildReport::Shard& s : report->shards) EXPECT_EQ(s.new_digest, s.old_digest);
}

TEST_F(LeadFoldTest, ALeadKeepsItsLatestErasuresUpToTheLimit) {
  Ingest({PersonalIdentify("e1", "anon-1", "u-1", "Jane Erasable")});
  for (int i = 0; i <= kLeadErasuresMax; ++i) {
    PublishEventToShards(ErasureOf({"u:u-1"}, absl::StrCat("req-", i)), 1);
    ASSERT_THAT(projection_->CatchUpAll(), IsOk());
    EXPECT_EQ(Get("u-1").erasures_size(), std::min(i + 1, kLeadErasuresMax));
  }
  const v1::LeadState lead = Get("u-1");
  EXPECT_EQ(lead.erasures(0).request_id(), "req-1");  // the oldest dropped
  EXPECT_EQ(lead.erasures(kLeadErasuresMax - 1).request_id(),
            absl::StrCat("req-", kLeadErasuresMax));
  // An erasure of an unknown lead changes no lead.
  PublishEventToShards(ErasureOf({"u:nobody"}, "req-x"), 1);
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  EXPECT_EQ(Get("u-1").erasures_size(), kLeadErasuresMax);
  EXPECT_FALSE(Exists("nobody"));
}

TEST_F(LeadFoldTest, RebuildOfARealisticWorkloadIsIdenticalAndSwitches) {
  // The demo's workload with the example definitions, ingested in pieces
  // with restarts in between, then rebuilt from sequence 0.
  const std::vector<std::string> lines = RealisticWorkload(4);
  ASSERT_FALSE(HasFailure());
  const uint32_t before = projection_->active_version();
  absl::StatusOr<RebuildReport> report = projection_->Rebuild();
  ASSERT_THAT(report.status(), IsOk());
  EXPECT_EQ(report->old_version, before);
  EXPECT_EQ(report->new_version, before + 1);
  EXPECT_EQ(report->records, lines.size() + 10 * 4);
  EXPECT_TRUE(report->identical);
  ASSERT_EQ(report->shards.size(), 4u);
  for (const RebuildReport::Shard& s : report->shards) EXPECT_EQ(s.new_digest, s.old_digest);
  EXPECT_EQ(projection_->active_version(), before + 1);
  // The new version is the one a fresh process opens, and the old family is
  // gone.
  Reopen();
  EXPECT_EQ(projection_->active_version(), before + 1);
  absl::StatusOr<std::unique_ptr<ProjectionCatalog>> catalog = ProjectionCatalog::Create(log_.get());
  ASSERT_THAT(catalog.status(), IsOk());
  absl::StatusOr<std::vector<uint32_t>> versions = (*catalog)->Versions(kLeadProjectionName);
  ASSERT_THAT(versions.status(), IsOk());
  EXPECT_THAT(*versions, ElementsAre(before + 1));
  // Some leads reached MQL and were handed off in the demo workload.
  size_t handoffs = 0;
  for (ShardId shard : log_->Shards()) {
    absl::StatusOr<std::vector<ProjectionEntry>> outbox =
        projection_->runner()->Scan(shard, kOutboxPrefix, "", 100000);
    ASSERT_THAT(outbox.status(), IsOk());
    handoffs += outbox->size();
  }
  EXPECT_GT(handoffs, 0u);
  // ... and the flows sent content (part of the compared state).
  size_t sends = 0;
  for (ShardId shard : log_->Shards()) {
    absl::StatusOr<std::vector<ProjectionEntry>> outbox =
        projection_->runner()->Scan(shard, kOutboxPrefix, "", 100000);
    ASSERT_THAT(outbox.status(), IsOk());
    for (const ProjectionEntry& e : *outbox) {
      v1::Action action;
      ASSERT_TRUE(action.ParseFromString(e.value));
      sends += action.type() == "send_content" ? 1 : 0;
    }
  }
  EXPECT_GT(sends, 0u);
}

TEST_F(LeadFoldTest, ShardsFoldedConcurrentlyByOneFoldEqualASequentialFold) {
  // The live projection folded the workload shard after shard; a second
  // family of one fresh LeadFold folds all four shards at once, one thread
  // each (chunk state is per txn, compiled definitions are shared).
  RealisticWorkload(4);
  ASSERT_FALSE(HasFailure());
  LeadFold fold;
  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.records_per_commit = 100;  // many chunks, so that they interleave
  options.family_version = projection_->active_version() + 1;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> concurrent =
      ProjectionRunner::Create(log_.get(), &fold, options);
  ASSERT_THAT(concurrent.status(), IsOk());
  const std::vector<ShardId> shards = log_->Shards();
  ASSERT_EQ(shards.size(), 4u);
  std::vector<absl::Status> results(shards.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < shards.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = (*concurrent)->CatchUp(shards[i]).status(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (size_t i = 0; i < shards.size(); ++i) {
    ASSERT_THAT(results[i], IsOk()) << "shard " << shards[i].value();
    EXPECT_EQ((*concurrent)->Checkpoint(shards[i]), log_->Position(shards[i]));
    absl::StatusOr<std::string> sequential = projection_->runner()->StateDigest(shards[i]);
    absl::StatusOr<std::string> parallel = (*concurrent)->StateDigest(shards[i]);
    ASSERT_THAT(sequential.status(), IsOk());
    ASSERT_THAT(parallel.status(), IsOk());
    EXPECT_EQ(*parallel, *sequential) << "shard " << shards[i].value();
  }
}

TEST_F(LeadFoldTest, RebuildOnEveryThreadCountUpToTheLimitIsIdentical) {
  RealisticWorkload(4);
  ASSERT_FALSE(HasFailure());
  for (uint32_t threads : {1u, 2u, kRebuildFoldThreadsMax}) {
    projection_options_.rebuild_fold_threads = threads;
    Reopen();
    absl::StatusOr<RebuildReport> report = projection_->Rebuild();
    ASSERT_THAT(report.status(), IsOk()) << threads << " threads";
    EXPECT_TRUE(report->identical) << threads << " threads";
    EXPECT_EQ(report->shards.size(), 4u);
  }
}

TEST_F(LeadFoldTest, RebuildFoldThreadsAboveTheLimitAreRejected) {
  LeadProjectionOptions options;
  options.rebuild_fold_threads = kRebuildFoldThreadsMax + 1;
  absl::StatusOr<std::unique_ptr<LeadProjection>> projection =
      LeadProjection::Open(log_.get(), options);
  EXPECT_THAT(projection.status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rebuild_fold_threads")));
}

// --- decoded leads kept across chunks (decoded_leads.h)

// Folds every shard of `log` into family `family_version` with `fold`, in
// chunks of `records_per_commit`, and returns the digests by shard.
std::map<uint32_t, std::string> FoldIntoFamily(EventLog* log, ProjectionFold* fold,
                                               uint32_t family_version,
                                               uint64_t records_per_commit) {
  std::map<uint32_t, std::string> digests;
  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.records_per_commit = records_per_commit;
  options.family_version = family_version;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(log, fold, options);
  EXPECT_THAT(runner.status(), IsOk());
  if (!runner.ok()) return digests;
  for (ShardId shard : log->Shards()) {
    EXPECT_THAT((*runner)->CatchUp(shard).status(), IsOk());
    absl::StatusOr<std::string> digest = (*runner)->StateDigest(shard);
    EXPECT_THAT(digest.status(), IsOk());
    digests[shard.value()] = digest.value_or("");
  }
  return digests;
}

TEST_F(LeadFoldTest, DecodedLeadsKeptAcrossChunksGiveTheStateOfParsingEveryChunk) {
  RealisticWorkload(2);
  ASSERT_FALSE(HasFailure());
  LeadFold cached(LeadFoldOptions{.decoded_cache_bytes = kLeadDecodedCacheBytesTried});
  LeadFold parsed(LeadFoldOptions{.decoded_cache_bytes = 0});
  const auto with_cache = FoldIntoFamily(log_.get(), &cached, 201, 7);
  const auto without = FoldIntoFamily(log_.get(), &parsed, 202, 7);
  EXPECT_EQ(with_cache, without);
  EXPECT_EQ(with_cache.size(), 2u);
  // Leads touched in consecutive chunks of 7 records were taken, not parsed.
  EXPECT_GT(cached.decoded_leads_stats().hits, 100u);
  EXPECT_EQ(parsed.decoded_leads_stats().hits, 0u);
  EXPECT_EQ(parsed.decoded_leads_stats().entries, 0u);
}

// Delegates to a LeadFold and, while armed, fails the chunk holding record
// `poison` after the lead fold's EndChunk has kept that chunk's leads in the
// decoded cache (an empty key poisons the txn; the runner checks it after
// EndChunk): the chunk is not committed, as when its commit fails.
class ChunkPoisoningFold final : public ProjectionFold {
 public:
  ChunkPoisoningFold(LeadFold* inner, uint64_t poison) : inner_(inner), poison_(poison) {}
  std::string name() const override { return inner_->name(); }
  uint32_t version() const override { return inner_->version(); }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (record.sequence() == poison_) poisoned_chunk_ = armed_;
    return inner_->Apply(shard, record, txn);
  }
  absl::Status EndChunk(ShardId shard, ProjectionTxn& txn) override {
    RETURN_IF_ERROR(inner_->EndChunk(shard, txn));
    if (poisoned_chunk_) txn.Put("", "poison");
    poisoned_chunk_ = false;
    return absl::OkStatus();
  }
  void AbortChunk(ShardId shard, ProjectionTxn& txn) override { inner_->AbortChunk(shard, txn); }
  std::vector<std::string> transient_prefixes() const override {
    return inner_->transient_prefixes();
  }
  bool armed_ = true;

 private:
  LeadFold* const inner_;
  const uint64_t poison_;
  bool poisoned_chunk_ = false;  // one runner, one thread per test
};

std::unique_ptr<ProjectionRunner> RunnerOf(EventLog* log, ProjectionFold* fold,
                                           uint32_t family_version) {
  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.records_per_commit = 100;
  options.family_version = family_version;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(log, fold, options);
  EXPECT_THAT(runner.status(), IsOk());
  return runner.ok() ? *std::move(runner) : nullptr;
}

TEST_F(LeadFoldTest, AChunkThatFailsAfterEndChunkLeavesNoDecodedLeadBehind) {
  RealisticWorkload(1);
  ASSERT_FALSE(HasFailure());
  LeadFold fold(LeadFoldOptions{.decoded_cache_bytes = kLeadDecodedCacheBytesTried});
  ChunkPoisoningFold poisoning(&fold, 1234);
  std::unique_ptr<ProjectionRunner> runner = RunnerOf(log_.get(), &poisoning, 401);
  ASSERT_NE(runner, nullptr);
  const ShardId shard(0);
  EXPECT_THAT(runner->CatchUp(shard).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  EXPECT_EQ(runner->Checkpoint(shard), Sequence(1200));  // chunks 0..11 committed
  // The failed chunk's leads are in the cache with bytes that were never
  // committed: the retry reads the committed bytes, finds them different
  // (stale) and parses.
  const uint64_t stale_before = fold.decoded_leads_stats().stale;
  poisoning.armed_ = false;
  ASSERT_THAT(runner->CatchUp(shard).status(), IsOk());
  EXPECT_GT(fold.decoded_leads_stats().stale, stale_before);
  absl::StatusOr<std::string> digest = runner->StateDigest(shard);
  absl::StatusOr<std::string> live = projection_->runner()->StateDigest(shard);
  ASSERT_THAT(digest.status(), IsOk());
  ASSERT_THAT(live.status(), IsOk());
  EXPECT_EQ(*digest, *live);
}

TEST_F(LeadFoldTest, ASecondRunnerOfTheSameFoldNeverTakesTheFirstRunnersLeads) {
  // One fold, two families (as the blue/green rebuild shares the live
  // fold): A stops at sequence 1200, B folds every record, so the cache holds
  // B's latest leads; A then goes on from 1200 and reads its own, older
  // bytes of the same keys: those entries are stale, never hits.
  RealisticWorkload(1);
  ASSERT_FALSE(HasFailure());
  LeadFold fold(LeadFoldOptions{.decoded_cache_bytes = kLeadDecodedCacheBytesTried});
  ChunkPoisoningFold stops_a(&fold, 1234);
  std::unique_ptr<ProjectionRunner> a = RunnerOf(log_.get(), &stops_a, 501);
  std::unique_ptr<ProjectionRunner> b = RunnerOf(log_.get(), &fold, 502);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  const ShardId shard(0);
  ASSERT_FALSE(a->CatchUp(shard).ok());
  ASSERT_THAT(b->CatchUp(shard).status(), IsOk());
  const uint64_t stale_before = fold.decoded_leads_stats().stale;
  stops_a.armed_ = false;
  ASSERT_THAT(a->CatchUp(shard).status(), IsOk());
  EXPECT_GT(fold.decoded_leads_stats().stale, stale_before);
  absl::StatusOr<std::string> digest_a = a->StateDigest(shard);
  absl::StatusOr<std::string> digest_b = b->StateDigest(shard);
  absl::StatusOr<std::string> live = projection_->runner()->StateDigest(shard);
  ASSERT_THAT(digest_a.status(), IsOk());
  ASSERT_THAT(digest_b.status(), IsOk());
  ASSERT_THAT(live.status(), IsOk());
  EXPECT_EQ(*digest_a, *live);
  EXPECT_EQ(*digest_b, *live);
}

TEST(DecodedLeads, EntryExactlyAtTheBoundIsKeptOneByteOverIsNot) {
  v1::LeadState lead;
  lead.set_lead_key("a:anon-1");
  const std::string bytes = SerializeDeterministic(lead);
  const size_t charge = DecodedLeads::Charge(std::string("a:anon-1").size(), bytes.size());
  DecodedLeads at_bound(charge);
  at_bound.Keep(ShardId(0), "a:anon-1", bytes, std::make_unique<v1::LeadState>(lead));
  EXPECT_EQ(at_bound.stats().bytes, charge);
  std::unique_ptr<v1::LeadState> taken = at_bound.Take(ShardId(0), "a:anon-1", bytes);
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->lead_key(), "a:anon-1");
  EXPECT_EQ(at_bound.stats().entries, 0u);  // a taken lead leaves the cache
  EXPECT_EQ(at_bound.stats().bytes, 0u);

  DecodedLeads under(charge - 1);
  under.Keep(ShardId(0), "a:anon-1", bytes, std::make_unique<v1::LeadState>(lead));
  EXPECT_EQ(under.stats().entries, 0u);
  EXPECT_EQ(under.Take(ShardId(0), "a:anon-1", bytes), nullptr);

  DecodedLeads disabled(0);
  disabled.Keep(ShardId(0), "a:anon-1", bytes, std::make_unique<v1::LeadState>(lead));
  EXPECT_EQ(disabled.stats().entries, 0u);
}

TEST(DecodedLeads, FullCacheIsEmptiedBeforeTheNextEntryAndOtherBytesAreAMiss) {
  v1::LeadState lead;
  lead.set_lead_key("u:1");
  const std::string bytes = SerializeDeterministic(lead);
  const size_t charge = DecodedLeads::Charge(3, bytes.size());
  DecodedLeads cache(2 * charge);
  cache.Keep(ShardId(0), "u:1", bytes, std::make_unique<v1::LeadState>(lead));
  cache.Keep(ShardId(1), "u:1", bytes, std::make_unique<v1::LeadState>(lead));  // other shard
  EXPECT_EQ(cache.stats().entries, 2u);
  EXPECT_EQ(cache.stats().bytes, 2 * charge);  // exactly full
  cache.Keep(ShardId(0), "u:2", bytes, std::make_unique<v1::LeadState>(lead));
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.Take(ShardId(0), "u:1", bytes), nullptr);  // evicted
  // Bytes that differ from the kept ones: a miss, and the entry is dropped.
  EXPECT_EQ(cache.Take(ShardId(0), "u:2", bytes + "x"), nullptr);
  EXPECT_EQ(cache.stats().stale, 1u);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.Take(ShardId(0), "u:2", bytes), nullptr);
}

TEST_F(LeadFoldTest, DecodedLeadChargeCoversTheMessagesHeap) {
  // What the cache charges for the demo workload's leads is at least what
  // their decoded messages take on the heap (SpaceUsedLong), so the bound
  // in bytes holds for the memory it stands for.
  RealisticWorkload(1);
  ASSERT_FALSE(HasFailure());
  absl::StatusOr<std::vector<ProjectionEntry>> leads =
      projection_->runner()->Scan(ShardId(0), kLeadStatePrefix, "", 100000);
  ASSERT_THAT(leads.status(), IsOk());
  ASSERT_GT(leads->size(), 100u);
  size_t charged = 0;
  size_t used = 0;
  size_t wire = 0;
  double ratio_max = 0;
  for (const ProjectionEntry& e : *leads) {
    v1::LeadState lead;
    ASSERT_TRUE(lead.ParseFromString(e.value));
    const size_t heap = lead.SpaceUsedLong();
    const size_t charge = DecodedLeads::Charge(e.key.size() - kLeadStatePrefix.size(), e.value.size());
    EXPECT_LE(heap, charge) << e.key << ": " << e.value.size() << " bytes on the wire";
    ratio_max = std::max(ratio_max, static_cast<double>(heap) / static_cast<double>(e.value.size()));
    charged += charge;
    used += heap;
    wire += e.value.size();
  }
  std::cout << "decoded leads: " << leads->size() << " leads, " << wire << " wire bytes, " << used
            << " heap bytes, " << charged << " charged; largest heap / wire " << ratio_max << "\n";
}

}  // namespace
}  // namespace leadlog
