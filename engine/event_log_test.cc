#include "engine/event_log.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/internal/store.h"
#include "engine/internal/test_util.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using internal::BatchOf;
using internal::LeadSequences;
using internal::LogFixture;
using internal::MakeDeadLetter;
using internal::MakeEvent;
using internal::ReadAll;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr ShardId kShard0(0);
constexpr ShardId kShard1(1);

std::vector<std::string> EventIds(const std::vector<v1::LogRecord>& records) {
  std::vector<std::string> ids;
  for (const v1::LogRecord& record : records) ids.push_back(record.event().event_id());
  return ids;
}

AppendResult MustAppend(EventLog& log, AppendBatch batch) {
  absl::StatusOr<AppendResult> result = log.Append(batch);
  EXPECT_OK(result);
  return result.ok() ? *result : AppendResult{};
}

TEST(EventLog, AppendAssignsGaplessSequencesPerShard) {
  LogFixture f;
  auto log = f.Open();
  AppendResult result =
      MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1"), MakeEvent(kShard1, "b", "u2"),
                                MakeEvent(kShard0, "c", "u1")}));
  EXPECT_EQ(result.appended, 3u);
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "d", "u1")}));

  std::vector<v1::LogRecord> shard0 = ReadAll(*log, kShard0);
  ASSERT_EQ(shard0.size(), 3u);
  for (uint64_t i = 0; i < shard0.size(); ++i) {
    EXPECT_EQ(shard0[i].sequence(), i);
    EXPECT_EQ(shard0[i].schema_version(), internal::kSchemaVersionCurrent);
    EXPECT_EQ(shard0[i].source().topic(), "leadlog.events");
  }
  EXPECT_THAT(EventIds(shard0), ElementsAre("a", "c", "d"));
  EXPECT_THAT(EventIds(ReadAll(*log, kShard1)), ElementsAre("b"));
  EXPECT_EQ(log->Position(kShard0), Sequence(3));
  EXPECT_EQ(log->Position(kShard1), Sequence(1));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, ShardsAreIndependent) {
  LogFixture f;
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(ShardId(7), "x", "u1")}));
  MustAppend(*log, BatchOf({MakeEvent(kShard1, "x", "u1")}));  // same id, other shard
  EXPECT_EQ(log->Position(ShardId(7)), Sequence(1));
  EXPECT_EQ(log->Position(kShard1), Sequence(1));
  EXPECT_EQ(log->Position(kShard0), Sequence(0));
  EXPECT_THAT(log->Shards(), ElementsAre(kShard1, ShardId(7)));
  EXPECT_EQ(log->Stats(kShard1).duplicates_skipped, 0u);
}

TEST(EventLog, LogTimeNeverDecreasesWhenTheClockGoesBackwards) {
  LogFixture f;
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  f.clock.AdvanceMs(-60'000);
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "b", "u1")}));
  ASSERT_OK(log->AppendClockTick(kShard0));
  f.clock.AdvanceMs(120'000);
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "c", "u1")}));

  std::vector<v1::LogRecord> records = ReadAll(*log, kShard0);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].log_time_ms(), internal::kTestStartMs);
  EXPECT_EQ(records[1].log_time_ms(), internal::kTestStartMs);
  EXPECT_EQ(records[2].log_time_ms(), internal::kTestStartMs);
  EXPECT_TRUE(records[2].has_clock_tick());
  EXPECT_EQ(records[3].log_time_ms(), internal::kTestStartMs + 60'000);
  EXPECT_EQ(log->Stats(kShard0).last_log_time_ms, internal::kTestStartMs + 60'000);
}

TEST(EventLog, LogTimeStaysMonotonicAcrossReopenWithAnEarlierClock) {
  LogFixture f;
  MustAppend(*f.Open(), BatchOf({MakeEvent(kShard0, "a", "u1")}));
  f.clock.AdvanceMs(-3'600'000);
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "b", "u1")}));
  EXPECT_EQ(ReadAll(*log, kShard0).back().log_time_ms(), internal::kTestStartMs);
}

TEST(EventLog, DataCountersAndOffsetsSurviveReopen) {
  LogFixture f;
  {
    auto log = f.Open();
    AppendBatch batch = BatchOf({MakeEvent(kShard0, "a", "u1"), MakeEvent(kShard0, "a", "u1")});
    batch.dead_letters.push_back(MakeDeadLetter(kShard0, "{bad"));
    batch.offsets.push_back({kShard0, "leadlog.events", KafkaOffset(42)});
    MustAppend(*log, std::move(batch));
    ASSERT_OK(log->AppendClockTick(kShard1));
  }
  auto log = f.Open();
  ShardStats stats = log->Stats(kShard0);
  EXPECT_EQ(stats.position, Sequence(1));
  EXPECT_EQ(stats.events_appended, 1u);
  EXPECT_EQ(stats.duplicates_skipped, 1u);
  EXPECT_EQ(stats.dead_letters, 1u);
  EXPECT_EQ(stats.last_log_time_ms, internal::kTestStartMs);
  EXPECT_THAT(stats.offsets, ElementsAre(Pair("leadlog.events", KafkaOffset(42))));
  EXPECT_EQ(log->StoredOffset(kShard0, "leadlog.events"), KafkaOffset(42));
  EXPECT_EQ(log->Position(kShard1), Sequence(1));
  EXPECT_EQ(log->Stats(kShard1).events_appended, 0u);  // a tick is not an event
  EXPECT_THAT(EventIds(ReadAll(*log, kShard0)), ElementsAre("a"));
  EXPECT_THAT(log->Shards(), ElementsAre(kShard0, kShard1));
  // Appending continues where it stopped.
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "b", "u1")}));
  EXPECT_EQ(log->Position(kShard0), Sequence(2));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, DuplicateOfALoggedEventIsCountedNotAppended) {
  LogFixture f;
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  f.clock.AdvanceMs(1000);
  AppendResult result = MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  EXPECT_EQ(result.appended, 0u);
  EXPECT_EQ(result.duplicates, 1u);
  EXPECT_EQ(log->Position(kShard0), Sequence(1));
  EXPECT_EQ(log->Stats(kShard0).duplicates_skipped, 1u);
  EXPECT_EQ(log->LookupEventId(kShard0, "a"), Sequence(0));
}

TEST(EventLog, DuplicateWithinOneBatchIsCountedNotAppended) {
  LogFixture f;
  auto log = f.Open();
  AppendResult result =
      MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1"), MakeEvent(kShard0, "b", "u1"),
                                MakeEvent(kShard0, "a", "u1")}));
  EXPECT_EQ(result.appended, 2u);
  EXPECT_EQ(result.duplicates, 1u);
  EXPECT_THAT(EventIds(ReadAll(*log, kShard0)), ElementsAre("a", "b"));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, EventIdAtTheEdgeOfTheDedupWindowIsAppendedAgain) {
  LogFixture f;
  EventLogOptions options = f.Options();
  options.dedup_window_ms = 10'000;
  auto log = LogFixture::Open(options);
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  f.clock.AdvanceMs(9'999);  // still inside
  EXPECT_EQ(MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")})).duplicates, 1u);
  EXPECT_EQ(log->LookupEventId(kShard0, "a"), Sequence(0));
  f.clock.AdvanceMs(1);  // exactly the window: no longer a duplicate
  EXPECT_EQ(log->LookupEventId(kShard0, "a"), std::nullopt);
  EXPECT_EQ(MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")})).appended, 1u);
  EXPECT_EQ(log->LookupEventId(kShard0, "a"), Sequence(1));
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForUser("u1")), ElementsAre(0, 1));
  EXPECT_OK(log->Verify());  // the superseded record keeps its place
}

TEST(EventLog, LookupEventIdOfAnUnknownIdIsEmpty) {
  LogFixture f;
  auto log = f.Open();
  EXPECT_EQ(log->LookupEventId(kShard0, "nope"), std::nullopt);
  EXPECT_EQ(log->StoredOffset(kShard0, "leadlog.events"), std::nullopt);
}

TEST(EventLog, ReadLeadReturnsOnlyThatLeadsRecordsInOrder) {
  LogFixture f;
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "1", "", "x"), MakeEvent(kShard0, "2", "", "xy"),
                            MakeEvent(kShard0, "3", "x"), MakeEvent(kShard0, "4", "", "x"),
                            MakeEvent(kShard1, "5", "", "x"), MakeEvent(kShard0, "6", "x", "xy")}));
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForAnonymous("x")), ElementsAre(0, 3));
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForAnonymous("xy")), ElementsAre(1, 4));
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForUser("x")), ElementsAre(2, 4));
  EXPECT_THAT(LeadSequences(*log, kShard1, LeadKey::ForAnonymous("x")), ElementsAre(0));
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForAnonymous("")), ElementsAre());
}

TEST(EventLog, ReadLeadOfAnEmptyLeadKeyIsInvalidArgument) {
  LogFixture f;
  auto log = f.Open();
  EXPECT_THAT(
      log->ReadLead(kShard0, LeadKey(), [](const v1::LogRecord&) { return absl::OkStatus(); }),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lead")));
}

TEST(EventLog, ReadRangeHonoursItsBoundsAndStopsWhenTheVisitorFails) {
  LogFixture f;
  auto log = f.Open();
  std::vector<PendingEvent> events;
  for (int i = 0; i < 6; ++i) events.push_back(MakeEvent(kShard0, "e" + std::to_string(i), "u"));
  MustAppend(*log, BatchOf(std::move(events)));

  std::vector<uint64_t> seen;
  auto collect = [&](const v1::LogRecord& record) {
    seen.push_back(record.sequence());
    return absl::OkStatus();
  };
  ASSERT_OK(log->ReadRange(kShard0, Sequence(2), Sequence(5), collect));
  EXPECT_THAT(seen, ElementsAre(2, 3, 4));
  seen.clear();
  ASSERT_OK(log->ReadRange(kShard0, Sequence(4), Sequence(100), collect));
  EXPECT_THAT(seen, ElementsAre(4, 5));
  seen.clear();
  ASSERT_OK(log->ReadRange(kShard0, Sequence(3), Sequence(3), collect));
  ASSERT_OK(log->ReadRange(kShard1, Sequence(0), Sequence(10), collect));
  EXPECT_THAT(seen, ElementsAre());

  absl::Status stop =
      log->ReadRange(kShard0, Sequence(0), Sequence(6), [&](const v1::LogRecord& r) {
        seen.push_back(r.sequence());
        return r.sequence() == 1 ? absl::CancelledError("enough") : absl::OkStatus();
      });
  EXPECT_THAT(stop, StatusIs(absl::StatusCode::kCancelled, HasSubstr("enough")));
  EXPECT_THAT(seen, ElementsAre(0, 1));
}

TEST(EventLog, ReadRangeVisitsAtMostReadRangeRecordsMaxRecords) {
  LogFixture f;
  auto log = f.Open();
  const uint64_t total = kReadRangeRecordsMax + 1;
  for (uint64_t begin = 0; begin < total; begin += kBatchEventsMax) {
    std::vector<PendingEvent> events;
    for (uint64_t i = begin; i < std::min(total, begin + kBatchEventsMax); ++i) {
      PendingEvent event;
      event.shard = kShard0;
      event.event_id = std::to_string(i);
      events.push_back(std::move(event));
    }
    MustAppend(*log, BatchOf(std::move(events)));
  }
  ASSERT_EQ(log->Position(kShard0), Sequence(total));
  uint64_t visited = 0;
  uint64_t last = 0;
  ASSERT_OK(log->ReadRange(kShard0, Sequence(0), Sequence(total), [&](const v1::LogRecord& r) {
    ++visited;
    last = r.sequence();
    return absl::OkStatus();
  }));
  EXPECT_EQ(visited, kReadRangeRecordsMax);
  EXPECT_EQ(last, kReadRangeRecordsMax - 1);
}

TEST(EventLog, BatchWithOnlyAnOffsetUpdateIsStored) {
  LogFixture f;
  {
    auto log = f.Open();
    AppendBatch batch;
    batch.offsets.push_back({kShard1, "leadlog.events", KafkaOffset(9)});
    batch.offsets.push_back({kShard1, "other", KafkaOffset(3)});
    AppendResult result = MustAppend(*log, std::move(batch));
    EXPECT_EQ(result.appended + result.duplicates + result.dead_letters, 0u);
  }
  auto log = f.Open();
  EXPECT_EQ(log->StoredOffset(kShard1, "leadlog.events"), KafkaOffset(9));
  EXPECT_EQ(log->StoredOffset(kShard1, "other"), KafkaOffset(3));
  EXPECT_EQ(log->Position(kShard1), Sequence(0));
  EXPECT_THAT(log->Shards(), ElementsAre(kShard1));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, TheLastOffsetOfAShardAndTopicInOneBatchWins) {
  // Puts are sorted by key before they reach the WriteBatch: equal keys must
  // keep the order they were given in (last write wins), not key order.
  LogFixture f;
  {
    auto log = f.Open();
    AppendBatch batch = BatchOf({MakeEvent(kShard1, "a", "u1"), MakeEvent(kShard0, "b", "u2")});
    batch.offsets.push_back({kShard1, "leadlog.events", KafkaOffset(10)});
    batch.offsets.push_back({kShard1, "leadlog.events", KafkaOffset(12)});
    batch.offsets.push_back({kShard0, "leadlog.events", KafkaOffset(4)});
    batch.offsets.push_back({kShard1, "leadlog.events", KafkaOffset(11)});
    MustAppend(*log, std::move(batch));
    EXPECT_EQ(log->StoredOffset(kShard1, "leadlog.events"), KafkaOffset(11));
  }
  auto log = f.Open();
  EXPECT_EQ(log->StoredOffset(kShard1, "leadlog.events"), KafkaOffset(11));
  EXPECT_EQ(log->StoredOffset(kShard0, "leadlog.events"), KafkaOffset(4));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, OffsetsAreCommittedOnlyWithTheirEvents) {
  LogFixture f;
  auto log = f.Open();
  AppendBatch good = BatchOf({MakeEvent(kShard0, "a", "u1")});
  good.offsets.push_back({kShard0, "leadlog.events", KafkaOffset(1)});
  MustAppend(*log, std::move(good));
  AppendBatch bad = BatchOf({MakeEvent(kShard0, "b", "u1"), MakeEvent(kShard0, "", "u1")});
  bad.offsets.push_back({kShard0, "leadlog.events", KafkaOffset(3)});
  EXPECT_THAT(log->Append(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("event_id")));
  EXPECT_EQ(log->StoredOffset(kShard0, "leadlog.events"), KafkaOffset(1));
  EXPECT_EQ(log->Position(kShard0), Sequence(1));
}

TEST(EventLog, EmptyBatchWritesNothing) {
  LogFixture f;
  auto log = f.Open();
  AppendBatch batch;
  absl::StatusOr<AppendResult> result = log->Append(batch);
  ASSERT_OK(result);
  EXPECT_EQ(result->appended, 0u);
  EXPECT_THAT(log->Shards(), ElementsAre());
}

TEST(EventLog, DeadLettersGetGaplessIdsAndLongRawIsCut) {
  LogFixture f;
  auto log = f.Open();
  AppendBatch batch;
  batch.dead_letters.push_back(MakeDeadLetter(kShard0, std::string(kDeadLetterRawBytesMax, 'x')));
  batch.dead_letters.push_back(
      MakeDeadLetter(kShard0, std::string(kDeadLetterRawBytesMax + 5, 'y')));
  EXPECT_EQ(MustAppend(*log, std::move(batch)).dead_letters, 2u);
  AppendBatch more;
  more.dead_letters.push_back(MakeDeadLetter(kShard0, "z"));
  MustAppend(*log, std::move(more));

  std::vector<v1::DeadLetter> letters;
  ASSERT_OK(log->ReadDeadLetters(kShard0, [&](const v1::DeadLetter& letter) {
    letters.push_back(letter);
    return absl::OkStatus();
  }));
  ASSERT_EQ(letters.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(letters[i].id(), i);
  EXPECT_EQ(letters[0].raw().size(), kDeadLetterRawBytesMax);
  EXPECT_EQ(letters[0].raw_size(), kDeadLetterRawBytesMax);
  EXPECT_EQ(letters[1].raw().size(), kDeadLetterRawBytesMax);
  EXPECT_EQ(letters[1].raw_size(), kDeadLetterRawBytesMax + 5);
  EXPECT_EQ(letters[2].raw(), "z");
  EXPECT_EQ(letters[2].log_time_ms(), internal::kTestStartMs);
  EXPECT_EQ(letters[0].reason(), "missing");
  EXPECT_EQ(log->Stats(kShard0).dead_letters, 3u);
  EXPECT_EQ(log->Position(kShard0), Sequence(0));  // dead letters are not records
  EXPECT_OK(log->Verify());
}

TEST(EventLog, InvalidBatchesAreRejectedNamingTheFieldAndWriteNothing) {
  LogFixture f;
  auto log = f.Open();
  auto expect_invalid = [&](AppendBatch batch, const std::string& field) {
    EXPECT_THAT(log->Append(batch), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(field)));
  };
  expect_invalid(BatchOf({MakeEvent(kShard0, "ok", "u"), MakeEvent(kShard0, "", "u")}),
                 "events[1].event_id: empty");
  expect_invalid(BatchOf({MakeEvent(kShard0, std::string(kIdBytesMax + 1, 'i'), "u")}),
                 "events[0].event_id: 257 bytes");
  expect_invalid(BatchOf({MakeEvent(ShardId(internal::kGlobalShard), "a", "u")}),
                 "events[0].shard");
  PendingEvent long_lead = MakeEvent(kShard0, "a");
  long_lead.lead_keys.push_back(LeadKey::ForUser(std::string(kIdBytesMax + 1, 'u')));
  expect_invalid(BatchOf({long_lead}), "events[0].lead_keys[0]");
  AppendBatch long_topic;
  long_topic.offsets.push_back({kShard0, std::string(kTopicBytesMax + 1, 't'), KafkaOffset(1)});
  expect_invalid(std::move(long_topic), "offsets[0].topic");
  AppendBatch negative;
  negative.offsets.push_back({kShard0, "t", KafkaOffset(-1)});
  expect_invalid(std::move(negative), "offsets[0].next_offset");
  AppendBatch reserved;
  reserved.dead_letters.push_back(MakeDeadLetter(ShardId(internal::kGlobalShard), "x"));
  expect_invalid(std::move(reserved), "dead_letters[0].shard");
  EXPECT_THAT(log->AppendClockTick(ShardId(internal::kGlobalShard)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
  EXPECT_THAT(log->Shards(), ElementsAre());
  EXPECT_EQ(log->Position(kShard0), Sequence(0));
}

TEST(EventLog, IdsAndTopicsAtTheirLimitsAreAccepted) {
  LogFixture f;
  auto log = f.Open();
  std::string id(kIdBytesMax, 'i');
  AppendBatch batch = BatchOf({MakeEvent(kShard0, id, id, id)});
  batch.offsets.push_back({kShard0, std::string(kTopicBytesMax, 't'), KafkaOffset(0)});
  EXPECT_EQ(MustAppend(*log, std::move(batch)).appended, 1u);
  EXPECT_THAT(LeadSequences(*log, kShard0, LeadKey::ForUser(id)), ElementsAre(0));
  EXPECT_OK(log->Verify());
}

TEST(EventLog, IndexKeysOfListsUserAnonymousAndAliasPreviousIdOnce) {
  v1::Event event;
  event.set_type(v1::CALL_TYPE_ALIAS);
  event.set_user_id("u1");
  event.set_anonymous_id("a1");
  event.set_previous_id("u0");
  EXPECT_THAT(IndexKeysOf(event), ElementsAre(LeadKey::ForUser("u1"), LeadKey::ForAnonymous("a1"),
                                              LeadKey::ForUser("u0")));
  event.set_type(v1::CALL_TYPE_TRACK);  // previous_id means something only in an alias
  EXPECT_THAT(IndexKeysOf(event), ElementsAre(LeadKey::ForUser("u1"), LeadKey::ForAnonymous("a1")));
  event.set_type(v1::CALL_TYPE_ALIAS);
  event.set_previous_id("u1");
  EXPECT_THAT(IndexKeysOf(event), ElementsAre(LeadKey::ForUser("u1"), LeadKey::ForAnonymous("a1")));
  EXPECT_THAT(IndexKeysOf(v1::Event()), ElementsAre());
}

TEST(EventLog, AppendClockTickAppendsATickRecord) {
  LogFixture f;
  auto log = f.Open();
  MustAppend(*log, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  absl::StatusOr<Sequence> tick = log->AppendClockTick(kShard0);
  ASSERT_OK(tick);
  EXPECT_EQ(*tick, Sequence(1));
  std::vector<v1::LogRecord> records = ReadAll(*log, kShard0);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_TRUE(records[1].has_clock_tick());
  EXPECT_OK(log->Verify());
}

TEST(EventLog, ReadersAndAppendersOnOtherShardsRunConcurrently) {
  LogFixture f;
  auto log = f.Open();
  constexpr int kBatches = 50;
  constexpr int kPerBatch = 20;
  auto writer = [&](ShardId shard) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<PendingEvent> events;
      for (int i = 0; i < kPerBatch; ++i) {
        events.push_back(MakeEvent(shard, absl::StrCat(b, "-", i), "u", "a"));
      }
      AppendBatch batch = BatchOf(std::move(events));
      batch.offsets.push_back({shard, "leadlog.events", KafkaOffset((b + 1) * kPerBatch)});
      EXPECT_OK(log->Append(batch));
    }
  };
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      Sequence position = log->Position(kShard0);
      uint64_t seen = 0;
      EXPECT_OK(log->ReadRange(kShard0, Sequence(0), position, [&](const v1::LogRecord&) {
        ++seen;
        return absl::OkStatus();
      }));
      EXPECT_EQ(seen, position.value());  // a published position is readable
      EXPECT_OK(log->Verify());
    }
  });
  std::thread w0(writer, kShard0);
  std::thread w1(writer, kShard1);
  w0.join();
  w1.join();
  done = true;
  reader.join();
  for (ShardId shard : {kShard0, kShard1}) {
    EXPECT_EQ(log->Position(shard), Sequence(kBatches * kPerBatch));
    EXPECT_EQ(log->StoredOffset(shard, "leadlog.events"), KafkaOffset(kBatches * kPerBatch));
  }
  EXPECT_OK(log->Verify());
}

// --- Open ---

TEST(EventLogOpen, EmptyDataDirIsInvalidArgument) {
  EXPECT_THAT(EventLog::Open(EventLogOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_dir")));
}

TEST(EventLogOpen, NegativeDedupWindowIsInvalidArgument) {
  LogFixture f;
  EventLogOptions options = f.Options();
  options.dedup_window_ms = -1;
  EXPECT_THAT(EventLog::Open(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dedup_window_ms")));
}

TEST(EventLogOpen, SecondOpenOfTheSameDirIsFailedPrecondition) {
  LogFixture f;
  auto log = f.Open();
  EXPECT_THAT(EventLog::Open(f.Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("data dir " + f.data_dir() + " is locked by another process")));
}

TEST(EventLogOpen, ReadOnlyOpenWorksWhileAWriterHoldsTheDirAndRefusesAppends) {
  LogFixture f;
  auto writer = f.Open();
  MustAppend(*writer, BatchOf({MakeEvent(kShard0, "a", "u1")}));
  EventLogOptions options = f.Options();
  options.read_only = true;
  auto reader = LogFixture::Open(options);
  ASSERT_NE(reader, nullptr);
  EXPECT_THAT(EventIds(ReadAll(*reader, kShard0)), ElementsAre("a"));
  EXPECT_OK(reader->Verify());
  AppendBatch batch = BatchOf({MakeEvent(kShard0, "b", "u1")});
  EXPECT_THAT(reader->Append(batch),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(reader->AppendClockTick(kShard0),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
}

TEST(EventLogOpen, ReadOnlyOpenOfAMissingLogIsNotFound) {
  LogFixture f;
  EventLogOptions options = f.Options();
  options.read_only = true;
  EXPECT_THAT(EventLog::Open(options), StatusIs(absl::StatusCode::kNotFound,
                                                HasSubstr("no leadlog data in " + f.data_dir())));
  EXPECT_FALSE(std::filesystem::exists(f.data_dir()));
}

TEST(EventLogOpen, ReadOnlyOpenOfARocksDbWithoutLeadlogFamiliesIsNotFound) {
  LogFixture f;
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, f.data_dir(), &db).ok());
  delete db;
  EventLogOptions log_options = f.Options();
  log_options.read_only = true;
  EXPECT_THAT(EventLog::Open(log_options),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no leadlog data")));
}

TEST(EventLogOpen, NewerFormatVersionIsDataLoss) {
  LogFixture f;
  f.Open().reset();
  {
    auto store = internal::Store::Open(f.data_dir(), false);
    ASSERT_OK(store);
    std::string value;
    internal::EncodeFormatVersion(internal::kFormatVersion + 1, &value);
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put({}, (*store)->families().meta, internal::FormatVersionKey(), value)
                    .ok());
  }
  EXPECT_THAT(EventLog::Open(f.Options()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("format version 2, newer than")));
}

TEST(EventLogOpen, MalformedShardStateIsDataLoss) {
  LogFixture f;
  MustAppend(*f.Open(), BatchOf({MakeEvent(kShard0, "a", "u1")}));
  {
    auto store = internal::Store::Open(f.data_dir(), false);
    ASSERT_OK(store);
    std::string key;
    internal::EncodeShardStateKey(kShard0, &key);
    ASSERT_TRUE((*store)->db()->Put({}, (*store)->families().meta, key, "short").ok());
  }
  EXPECT_THAT(EventLog::Open(f.Options()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("state of shard 0 is malformed")));
}

TEST(EventLogOpen, PositionThatDisagreesWithTheLogTailIsDataLoss) {
  LogFixture f;
  MustAppend(*f.Open(), BatchOf({MakeEvent(kShard0, "a", "u1"), MakeEvent(kShard0, "b", "u1")}));
  {
    auto store = internal::Store::Open(f.data_dir(), false);
    ASSERT_OK(store);
    std::string key;
    internal::EncodeLogKey(kShard0, Sequence(1), &key);
    ASSERT_TRUE((*store)->db()->Delete({}, (*store)->families().log, key).ok());
  }
  EXPECT_THAT(
      EventLog::Open(f.Options()),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 0: meta counts 2 entries in log")));
  // A read-only open (`leadlog verify`) still opens it, and Verify explains.
  EventLogOptions options = f.Options();
  options.read_only = true;
  auto log = LogFixture::Open(options);
  ASSERT_NE(log, nullptr);
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0: meta position 2 but the log holds 1")));
}

TEST(EventLogOpen, CorruptRocksDbFilesAreDataLoss) {
  LogFixture f;
  f.Open().reset();
  std::ofstream(f.data_dir() + "/CURRENT", std::ios::trunc) << "garbage";
  EXPECT_THAT(EventLog::Open(f.Options()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(f.data_dir())));
}

TEST(EventLogOpen, OtherRocksDbFailuresAreInternal) {
  LogFixture f;
  std::ofstream(f.data_dir()) << "a file, not a directory";
  EXPECT_THAT(EventLog::Open(f.Options()),
              StatusIs(absl::StatusCode::kInternal, HasSubstr(f.data_dir())));
}

}  // namespace
}  // namespace leadlog
