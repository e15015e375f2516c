#include "consumers/ingest.h"

#include <sstream>

#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::leadlog::testing::TempDir;
using ::testing::HasSubstr;

std::string TrackJson(const std::string& id, const std::string& anon) {
  return "{\"type\":\"track\",\"messageId\":\"" + id + "\",\"anonymousId\":\"" + anon +
         "\",\"event\":\"Email Opened\",\"timestamp\":\"2026-01-05T09:00:00Z\"}";
}

RawMessage Message(absl::string_view value, int partition, int64_t offset) {
  RawMessage m;
  m.topic = "leadlog.events";
  m.partition = PartitionId(partition);
  m.offset = KafkaOffset(offset);
  m.key = "k";
  m.value = value;
  return m;
}

TEST(BatchBuilder, GoodMessageBecomesEventOfItsPartitionsShard) {
  BatchBuilder builder(BatchOptions{});
  std::string json = TrackJson("m1", "anon-1");
  builder.Add(Message(json, 3, 17));
  AppendBatch batch = builder.Take();
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].shard, ShardId(3));
  EXPECT_EQ(batch.events[0].event_id, "m1");
  EXPECT_EQ(batch.events[0].source.offset(), 17);
  ASSERT_EQ(batch.events[0].lead_keys.size(), 1u);
  EXPECT_EQ(batch.events[0].lead_keys[0], LeadKey::ForAnonymous("anon-1"));
  v1::Event decoded;
  ASSERT_TRUE(decoded.ParseFromString(batch.events[0].event_bytes));
  EXPECT_EQ(decoded.name(), "Email Opened");
  EXPECT_TRUE(batch.dead_letters.empty());
}

TEST(BatchBuilder, BadMessageBecomesDeadLetterNamingTheField) {
  BatchBuilder builder(BatchOptions{});
  std::string bad = "{\"type\":\"track\",\"anonymousId\":\"a\",\"event\":\"X\"}";
  builder.Add(Message(bad, 1, 5));
  AppendBatch batch = builder.Take();
  EXPECT_TRUE(batch.events.empty());
  ASSERT_EQ(batch.dead_letters.size(), 1u);
  const v1::DeadLetter& letter = batch.dead_letters[0].letter;
  EXPECT_EQ(letter.field(), "messageId");
  EXPECT_THAT(letter.reason(), HasSubstr("messageId"));
  EXPECT_EQ(letter.raw(), bad);
  EXPECT_EQ(letter.raw_size(), bad.size());
  EXPECT_EQ(letter.key(), "k");
  EXPECT_EQ(letter.source().offset(), 5);
  EXPECT_EQ(batch.dead_letters[0].shard, ShardId(1));
}

TEST(BatchBuilder, OffsetsAreOnePastTheLastMessagePerPartition) {
  BatchBuilder builder(BatchOptions{});
  std::string a = TrackJson("m1", "x"), b = TrackJson("m2", "y"), c = "not json";
  builder.Add(Message(a, 0, 10));
  builder.Add(Message(b, 0, 11));
  builder.Add(Message(c, 2, 40));  // a dead letter still advances its offset
  AppendBatch batch = builder.Take();
  ASSERT_EQ(batch.offsets.size(), 2u);
  EXPECT_EQ(batch.offsets[0].shard, ShardId(0));
  EXPECT_EQ(batch.offsets[0].next_offset, KafkaOffset(12));
  EXPECT_EQ(batch.offsets[1].shard, ShardId(2));
  EXPECT_EQ(batch.offsets[1].next_offset, KafkaOffset(41));
  EXPECT_TRUE(builder.empty());
  EXPECT_TRUE(builder.Take().offsets.empty()) << "Take must reset the offsets";
}

TEST(BatchBuilder, IsFullAtBatchEventsMax) {
  BatchOptions options;
  options.batch_events_max = 2;
  BatchBuilder builder(options);
  std::string a = TrackJson("m1", "x");
  builder.Add(Message(a, 0, 1));
  EXPECT_FALSE(builder.full());
  builder.Add(Message(a, 0, 2));
  EXPECT_TRUE(builder.full());
  EXPECT_GT(builder.bytes(), a.size());
}

TEST(BatchOptions, LimitsAreEnforcedAtTheirBounds) {
  BatchOptions options;
  options.batch_events_max = kBatchEventsMax;
  EXPECT_OK(ValidateBatchOptions(options));
  options.batch_events_max = kBatchEventsMax + 1;
  EXPECT_THAT(ValidateBatchOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_events_max")));
  options.batch_events_max = 0;
  EXPECT_THAT(ValidateBatchOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_events_max")));
  options.batch_events_max = 1;
  options.batch_interval_ms = kBatchIntervalMsMax + 1;
  EXPECT_THAT(ValidateBatchOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch_interval_ms")));
}

TEST(ShardForKey, IsStableAndInRange) {
  for (int i = 0; i < 200; ++i) {
    std::string key = "anon-" + std::to_string(i);
    ShardId shard = ShardForKey(key, 8);
    EXPECT_LT(shard.value(), 8u);
    EXPECT_EQ(shard, ShardForKey(key, 8));
  }
  EXPECT_EQ(ShardForKey("anything", 1), ShardId(0));
}

class IngestLinesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventLogOptions options;
    options.data_dir = dir_.path() + "/db";
    options.sync_per_batch = false;
    auto log = EventLog::Open(options);
    ASSERT_OK(log.status());
    log_ = std::move(*log);
  }
  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(IngestLinesTest, AppendsGoodLinesDeadLettersBadOnesAndSkipsBlankLines) {
  std::stringstream in;
  in << TrackJson("m1", "a1") << "\n\n" << TrackJson("m2", "a2") << "\n{\"type\":\"screen\"}\n";
  FileIngestOptions options;
  options.batch.batch_events_max = 1;  // several batches
  auto summary = IngestLines(in, options, log_.get());
  ASSERT_OK(summary.status());
  EXPECT_EQ(summary->lines, 4u);
  EXPECT_EQ(summary->appended, 2u);
  EXPECT_EQ(summary->dead_letters, 1u);
  EXPECT_EQ(summary->duplicates, 0u);
  ShardId shard = ShardForKey("a1", options.partitions);
  EXPECT_TRUE(log_->LookupEventId(shard, "m1").has_value());
}

TEST_F(IngestLinesTest, ReingestingTheSameFileOnlyCountsDuplicates) {
  std::string text = TrackJson("m1", "a1") + "\n" + TrackJson("m2", "a2") + "\n";
  FileIngestOptions options;
  std::stringstream first(text), second(text);
  ASSERT_OK(IngestLines(first, options, log_.get()).status());
  auto again = IngestLines(second, options, log_.get());
  ASSERT_OK(again.status());
  EXPECT_EQ(again->appended, 0u);
  EXPECT_EQ(again->duplicates, 2u);
}

TEST_F(IngestLinesTest, RejectsBadOptions) {
  std::stringstream in;
  FileIngestOptions options;
  options.partitions = 0;
  EXPECT_THAT(IngestLines(in, options, log_.get()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("partitions")));
}

}  // namespace
}  // namespace leadlog
