// The lead fold's change entries (engine/changes.h): one per record and
// lead it changed, none for a record that changes no lead, both leads of a
// merge, the same entries live and rebuilt, and pruning kept out of the
// rebuild digest.
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consumers/codec.h"
#include "consumers/ingest.h"
#include "consumers/workload.h"
#include "engine/changes.h"
#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/definitions/definition.h"
#include "projections/lead/lead_fold.h"
#include "projections/lead/lead_projection.h"

namespace leadlog {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Change = std::pair<uint64_t, std::string>;  // (sequence, lead key)

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z

std::string Page(const std::string& id, const std::string& anon, const std::string& path) {
  return absl::StrCat(R"({"type":"page","messageId":")", id, R"(","anonymousId":")", anon,
                      R"(","name":"Page","context":{"page":{"path":")", path, R"("}}})");
}

std::string Identify(const std::string& id, const std::string& anon, const std::string& user) {
  return absl::StrCat(R"({"type":"identify","messageId":")", id, R"(","anonymousId":")", anon,
                      R"(","userId":")", user, R"(","traits":{"employees":50}})");
}

class LeadChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventLogOptions options;
    options.data_dir = dir_.path();
    options.sync_per_batch = false;
    options.clock = &clock_;
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(options);
    ASSERT_THAT(log.status(), IsOk());
    log_ = *std::move(log);
    absl::StatusOr<std::unique_ptr<LeadProjection>> projection =
        LeadProjection::Open(log_.get(), LeadProjectionOptions{});
    ASSERT_THAT(projection.status(), IsOk());
    projection_ = *std::move(projection);
  }

  // Ingests `text` (JSON lines) into `partitions` shards and catches up.
  void Ingest(const std::string& text, int partitions = 1) {
    FileIngestOptions options;
    options.partitions = partitions;
    std::istringstream in(text);
    absl::StatusOr<IngestSummary> summary = IngestLines(in, options, log_.get());
    ASSERT_THAT(summary.status(), IsOk());
    ASSERT_EQ(summary->dead_letters, 0u);
    clock_.AdvanceMs(60'000);
    ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  }

  std::vector<Change> Changes(ShardId shard = ShardId(0)) {
    absl::StatusOr<std::vector<ProjectionEntry>> entries =
        projection_->runner()->Scan(shard, kChangePrefix, "", 1'000'000);
    EXPECT_THAT(entries.status(), IsOk());
    std::vector<Change> changes;
    for (const ProjectionEntry& e : entries.value_or(std::vector<ProjectionEntry>{})) {
      Sequence sequence;
      std::string lead;
      EXPECT_TRUE(ParseChangeKey(e.key, &sequence, &lead));
      EXPECT_EQ(e.value, "");
      changes.emplace_back(sequence.value(), lead);
    }
    return changes;
  }

  testing::TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<LeadProjection> projection_;
};

TEST_F(LeadChangesTest, EachRecordThatChangesALeadWritesExactlyOneEntry) {
  // Record 0 creates the lead (NewLead, then MarkDirty: one entry), record 2
  // changes it again; record 1 is another lead's.
  Ingest(absl::StrCat(Page("e1", "anon-1", "/a"), "\n", Page("e2", "anon-2", "/b"), "\n",
                      Page("e3", "anon-1", "/c"), "\n"));
  EXPECT_THAT(Changes(),
              ElementsAre(Change{0, "a:anon-1"}, Change{1, "a:anon-2"}, Change{2, "a:anon-1"}));
}

TEST_F(LeadChangesTest, RecordsThatChangeNoLeadWriteNone) {
  // A definition and a ClockTick with nothing due change no lead.
  absl::StatusOr<v1::Definition> scoring = ParseDefinition(R"({"scoring_model": {
    "id": "s", "version": 1,
    "rules": [{"id": "p", "call": "page", "where": [{"field": "context.page_path", "op": "equals", "value": "/pricing"}], "points": 5}],
    "grade": {"rules": [], "bands": {"a_min_points": 30, "b_min_points": 10, "c_min_points": 5, "d_min_points": 1}}}})");
  ASSERT_THAT(scoring.status(), IsOk());
  Ingest(EncodeSegmentJson(MakeDefinitionEvent(*scoring, kT0)) + "\n");
  ASSERT_THAT(log_->AppendClockTick(ShardId(0)).status(), IsOk());
  ASSERT_THAT(projection_->CatchUpAll(), IsOk());
  EXPECT_EQ(projection_->runner()->Checkpoint(ShardId(0)), Sequence(2));
  EXPECT_THAT(Changes(), IsEmpty());
  // The next page view is a change again.
  Ingest(Page("e1", "anon-1", "/pricing") + "\n");
  EXPECT_THAT(Changes(), ElementsAre(Change{2, "a:anon-1"}));
}

TEST_F(LeadChangesTest, MergeChangesTheSurvivorAndTheAbsorbedLead) {
  Ingest(absl::StrCat(Identify("e1", "laptop", "u-1"), "\n", Page("e2", "phone", "/blog"), "\n"));
  Ingest(Identify("e3", "phone", "u-1") + "\n");
  // Record 2 merged a:phone into a:laptop: one entry each; the absorbed
  // lead's state is gone (the emitter publishes its tombstone).
  EXPECT_THAT(Changes(), ElementsAre(Change{0, "a:laptop"}, Change{1, "a:phone"},
                                     Change{2, "a:laptop"}, Change{2, "a:phone"}));
  absl::StatusOr<LeadProjection::CurrentLead> absorbed =
      projection_->ReadLead(ShardId(0), "a:phone");
  ASSERT_THAT(absorbed.status(), IsOk());
  EXPECT_FALSE(absorbed->state.has_value());
  EXPECT_EQ(absorbed->merged_into, "a:laptop");
}

TEST_F(LeadChangesTest, PruneDeletesOnlyTransientEntriesUpToTheKey) {
  Ingest(absl::StrCat(Page("e1", "anon-1", "/a"), "\n", Page("e2", "anon-2", "/b"), "\n",
                      Page("e3", "anon-1", "/c"), "\n"));
  LeadFold fold;
  ProjectionRunnerOptions options;
  options.family_version = projection_->active_version();
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(log_.get(), &fold, options);
  ASSERT_THAT(runner.status(), IsOk());
  EXPECT_THAT((*runner)->Prune(ShardId(0), "l/", "l/a:anon-1", false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a transient prefix")));
  EXPECT_THAT(projection_->PruneChanges(ShardId(0), "l/x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("through_key")));
  ASSERT_THAT(projection_->PruneChanges(ShardId(0), ChangeKey(Sequence(1), "a:anon-2")), IsOk());
  EXPECT_THAT(Changes(), ElementsAre(Change{2, "a:anon-1"}));
  // The leads themselves are untouched.
  absl::StatusOr<LeadProjection::CurrentLead> lead = projection_->ReadLead(ShardId(0), "a:anon-2");
  ASSERT_THAT(lead.status(), IsOk());
  ASSERT_TRUE(lead->state.has_value());
  EXPECT_EQ(lead->state->lead_key(), "a:anon-2");
  EXPECT_EQ(lead->position, Sequence(3));
}

TEST_F(LeadChangesTest, RebuildWritesTheSameEntriesAndPruningKeepsTheDigestEqual) {
  // The demo workload with the example definitions over 4 shards, ingested
  // in uneven live batches (rebuild chunks are fixed-size).
  for (const char* example : {"scoring_model.json", "lifecycle_model.json", "owner_routing.json",
                              "flows/welcome_series.json", "business_calendar.json",
                              "revenue_rules.json"}) {
    std::ifstream in(absl::StrCat(LEADLOG_SOURCE_DIR, "/examples/", example));
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<v1::Definition> d = ParseDefinition(text.str());
    ASSERT_THAT(d.status(), IsOk()) << example;
    AppendBatch batch;
    v1::Event event = MakeDefinitionEvent(*d, kT0);
    for (int s = 0; s < 4; ++s) {
      PendingEvent pending;
      pending.shard = ShardId(s);
      pending.event_id = event.event_id();
      pending.event_bytes = event.SerializeAsString();
      batch.events.push_back(std::move(pending));
    }
    ASSERT_THAT(log_->Append(batch).status(), IsOk());
  }
  WorkloadOptions options;
  options.events = 2000;
  options.leads = 200;
  absl::StatusOr<std::unique_ptr<Workload>> workload = Workload::Create(options);
  ASSERT_THAT(workload.status(), IsOk());
  v1::Event event;
  std::string text;
  size_t lines = 0, batch_lines = 1;
  while ((*workload)->Next(&event)) {
    absl::StrAppend(&text, EncodeSegmentJson(event), "\n");
    if (++lines == batch_lines) {  // batches of 1, 2, 3, ... lines
      Ingest(text, 4);
      text.clear();
      lines = 0;
      clock_.AdvanceMs(3600'000);
      ++batch_lines;
    }
  }
  if (!text.empty()) Ingest(text, 4);
  std::vector<std::vector<Change>> live;
  size_t total = 0;
  for (int s = 0; s < 4; ++s) {
    live.push_back(Changes(ShardId(s)));
    total += live.back().size();
  }
  EXPECT_GE(total, 2000u) << "every event record changes its lead";
  // Prune the first half of each live shard's entries, as the emitter would.
  for (int s = 0; s < 4; ++s) {
    const Change& half = live[s][live[s].size() / 2];
    ASSERT_THAT(
        projection_->PruneChanges(ShardId(s), ChangeKey(Sequence(half.first), half.second)),
        IsOk());
    std::vector<Change> rest(live[s].begin() + live[s].size() / 2 + 1, live[s].end());
    EXPECT_EQ(Changes(ShardId(s)), rest);
  }
  absl::StatusOr<RebuildReport> report = projection_->Rebuild();
  ASSERT_THAT(report.status(), IsOk());
  EXPECT_TRUE(report->identical) << "change entries are left out of the digest";
  // The rebuilt version holds every entry since sequence 0, the same as live.
  for (int s = 0; s < 4; ++s) EXPECT_EQ(Changes(ShardId(s)), live[s]) << "shard " << s;
}

}  // namespace
}  // namespace leadlog
