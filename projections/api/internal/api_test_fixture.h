// Test fixture of projections/api: a log in a temp dir with the example
// definitions published to 4 shards and a seeded demo workload ingested
// (the same path `leadlog ingest` takes), the lead projection caught up,
// and a ReadApi over it. IngestMore appends more of the workload the way
// serve's writer thread does (append, CatchUp, Notify).
#ifndef LEADLOG_PROJECTIONS_API_INTERNAL_API_TEST_FIXTURE_H_
#define LEADLOG_PROJECTIONS_API_INTERNAL_API_TEST_FIXTURE_H_

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "consumers/codec.h"
#include "consumers/ingest.h"
#include "consumers/workload.h"
#include "engine/clock.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "projections/api/read_api.h"
#include "projections/definitions/definition.h"

namespace leadlog::api_testing {

inline constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
inline constexpr int kShards = 4;

inline std::string ReadExample(const std::string& name) {
  std::ifstream in(absl::StrCat(LEADLOG_SOURCE_DIR, "/examples/", name));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The seed of a randomised test: LEADLOG_FUZZ_SEED when set (to replay a
// failure), else a fresh one; printed either way.
inline uint64_t FuzzSeed() {
  const char* env = std::getenv("LEADLOG_FUZZ_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << "fuzz seed " << seed << "\n";
  return seed;
}

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    EventLogOptions options;
    options.data_dir = dir_.path() + "/db";
    options.sync_per_batch = false;
    options.clock = &clock_;
    auto log = EventLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    for (const char* example : {"scoring_model.json", "lifecycle_model.json", "owner_routing.json",
                                "flows/welcome_series.json", "flows/early_stage_stream.json",
                                "business_calendar.json", "revenue_rules.json"}) {
      Publish(ReadExample(example));
    }
    auto projection = LeadProjection::Open(log_.get(), LeadProjectionOptions{});
    ASSERT_TRUE(projection.ok()) << projection.status();
    projection_ = *std::move(projection);
    WorkloadOptions workload;
    workload.events = 1u << 30;
    workload.leads = 200;
    workload.seed = 7;
    auto created = Workload::Create(workload);
    ASSERT_TRUE(created.ok()) << created.status();
    workload_ = *std::move(created);
    IngestMore(2000);
    ReadApiContext context;
    context.projection = projection_.get();
    context.log = log_.get();
    context.waiter = &waiter_;
    context.metrics = &metrics_;
    context_ = context;
    api_ = std::make_unique<ReadApi>(context_, options_);
  }

  // Appends a definition event to every shard, as `definitions publish
  // --data-dir` does.
  void Publish(const std::string& text) {
    auto d = ParseDefinition(text);
    ASSERT_TRUE(d.ok()) << d.status();
    v1::Event event = MakeDefinitionEvent(*d, kT0);
    AppendBatch batch;
    for (int s = 0; s < kShards; ++s) {
      PendingEvent pending;
      pending.shard = ShardId(s);
      pending.event_id = event.event_id();
      pending.event_bytes = event.SerializeAsString();
      pending.source.set_topic("test");
      pending.source.set_partition(s);
      batch.events.push_back(std::move(pending));
    }
    ASSERT_TRUE(log_->Append(batch).ok());
  }

  // Ingests `events` more workload events, then catches up and notifies.
  void IngestMore(int events, bool catch_up = true) {
    std::string lines;
    v1::Event event;
    for (int i = 0; i < events && workload_->Next(&event); ++i) {
      absl::StrAppend(&lines, EncodeSegmentJson(event), "\n");
    }
    FileIngestOptions ingest;
    ingest.partitions = kShards;
    std::istringstream in(lines);
    auto summary = IngestLines(in, ingest, log_.get());
    ASSERT_TRUE(summary.ok()) << summary.status();
    clock_.AdvanceMs(3600 * 1000);
    if (!catch_up) return;
    ASSERT_TRUE(projection_->CatchUpAll().ok());
    waiter_.Notify();
  }

  // Re-creates the ReadApi with other options.
  void SetOptions(ReadApiOptions options) {
    options_ = std::move(options);
    api_ = std::make_unique<ReadApi>(context_, options_);
  }

  ApiResponse Get(const std::string& path,
                  const std::multimap<std::string, std::string>& query = {}) {
    ApiRequest request;
    request.method = "GET";
    request.path = path;
    request.query = query;
    return api_->Handle(request);
  }

  // Some lead key of the workload.
  std::string AnyLeadKey() {
    ApiResponse r = Get("/v1/leads", {{"limit", "1"}});
    const size_t at = r.body.find("\"lead_key\":\"");
    if (at == std::string::npos) return "";
    const size_t begin = at + 12;
    return r.body.substr(begin, r.body.find('"', begin) - begin);
  }

  testing::TempDir dir_;
  ManualClock clock_{kT0};
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<LeadProjection> projection_;
  std::unique_ptr<Workload> workload_;
  PositionWaiter waiter_;
  ApiMetrics metrics_;
  ReadApiContext context_;
  ReadApiOptions options_;
  std::unique_ptr<ReadApi> api_;
};

}  // namespace leadlog::api_testing

#endif  // LEADLOG_PROJECTIONS_API_INTERNAL_API_TEST_FIXTURE_H_
