// EventLog::Verify and the read-time checks against logs corrupted by
// writing to RocksDB directly.
#include "engine/internal/verify.h"

#include <functional>
#include <string>

#include "engine/event_log.h"
#include "engine/internal/format.h"
#include "engine/internal/store.h"
#include "engine/internal/test_util.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog::internal {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr ShardId kShard0(0);

absl::Status VisitNothing(const v1::LogRecord&) { return absl::OkStatus(); }

// A log with every kind of entry: shard 0 holds events e0..e4 (leads u:u1,
// u:u2 + a:a1, u:u3), a clock tick at sequence 5, two dead letters and an
// offset; shard 1 holds one event.
class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = f_.Open();
    AppendBatch first =
        BatchOf({MakeEvent(kShard0, "e0", "u1"), MakeEvent(kShard0, "e1", "u2", "a1"),
                 MakeEvent(kShard0, "e2", "u1"), MakeEvent(ShardId(1), "e0", "u1")});
    first.dead_letters.push_back(MakeDeadLetter(kShard0, "{"));
    first.dead_letters.push_back(MakeDeadLetter(kShard0, "["));
    first.offsets.push_back({kShard0, "leadlog.events", KafkaOffset(5)});
    ASSERT_THAT(log->Append(first), IsOk());
    f_.clock.AdvanceMs(1000);
    AppendBatch second = BatchOf({MakeEvent(kShard0, "e3", "u3"), MakeEvent(kShard0, "e4", "u1"),
                                  MakeEvent(kShard0, "e0", "u1")});  // a duplicate
    ASSERT_THAT(log->Append(second), IsOk());
    f_.clock.AdvanceMs(1000);
    ASSERT_THAT(log->AppendClockTick(kShard0), IsOk());
  }

  // Applies `change` to the closed log's RocksDB, then reopens the log.
  std::unique_ptr<EventLog> Corrupt(
      const std::function<rocksdb::Status(rocksdb::DB*, const Families&)>& change) {
    {
      absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(f_.data_dir(), false);
      EXPECT_THAT(store, IsOk());
      if (!store.ok()) return nullptr;
      rocksdb::Status s = change((*store)->db(), (*store)->families());
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    return f_.Open();
  }

  // Rewrites the record at `sequence` of shard 0 through `edit`.
  std::unique_ptr<EventLog> EditRecord(uint64_t sequence,
                                       const std::function<void(v1::LogRecord*)>& edit) {
    return Corrupt([&](rocksdb::DB* db, const Families& families) {
      std::string key;
      EncodeLogKey(kShard0, Sequence(sequence), &key);
      std::string value;
      rocksdb::Status s = db->Get({}, families.log, key, &value);
      if (!s.ok()) return s;
      v1::LogRecord record;
      EXPECT_TRUE(record.ParseFromString(value));
      edit(&record);
      return db->Put({}, families.log, key, record.SerializeAsString());
    });
  }

  static std::string LogKey(uint64_t sequence) {
    std::string key;
    EncodeLogKey(kShard0, Sequence(sequence), &key);
    return key;
  }

  LogFixture f_;
};

TEST_F(VerifyTest, AGoodLogVerifies) {
  auto log = f_.Open();
  EXPECT_OK(log->Verify());
  EXPECT_EQ(log->Position(kShard0), Sequence(6));
}

TEST_F(VerifyTest, AGapInTheLogIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    return db->Delete({}, families.log, LogKey(2));
  });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0 sequence 2: missing (next record is 3)")));
  EXPECT_THAT(log->ReadRange(kShard0, Sequence(0), Sequence(6), VisitNothing),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 0 sequence 2: missing")));
}

TEST_F(VerifyTest, ADanglingByLeadEntryIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeByLeadKey(kShard0, LeadKey::ForUser("ghost"), Sequence(99), &key);
    return db->Put({}, families.by_lead, key, "");
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 sequence 99: by_lead entry of lead 'u:ghost' points at a "
                                 "missing record")));
  EXPECT_THAT(log->ReadLead(kShard0, LeadKey::ForUser("ghost"), VisitNothing),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 0 sequence 99: missing")));
}

TEST_F(VerifyTest, AByLeadEntryForALeadTheEventDoesNotCarryIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeByLeadKey(kShard0, LeadKey::ForUser("ghost"), Sequence(1), &key);
    return db->Put({}, families.by_lead, key, "");
  });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("lead 'u:ghost' points at an event that does not "
                                                "carry that lead")));
}

TEST_F(VerifyTest, AMissingIndexEntryIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeByLeadKey(kShard0, LeadKey::ForAnonymous("a1"), Sequence(1), &key);
    return db->Delete({}, families.by_lead, key);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 sequence 1: not indexed under lead 'a:a1'")));
}

TEST_F(VerifyTest, ADedupEntryPointingAtTheWrongSequenceIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    std::string value;
    EncodeDedupKey(kShard0, "e0", &key);
    EncodeDedupValue(DedupEntry{Sequence(3), kTestStartMs + 1000}, &value);
    return db->Put({}, families.dedup, key, value);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0: dedup entry of event id 'e0' points at sequence 3, "
                                 "whose event id is 'e3'")));
}

TEST_F(VerifyTest, ADedupEntryPointingAtAnEarlierSequenceIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    std::string value;
    EncodeDedupKey(kShard0, "e3", &key);
    EncodeDedupValue(DedupEntry{Sequence(0), kTestStartMs}, &value);
    return db->Put({}, families.dedup, key, value);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 sequence 3: dedup entry for event id 'e3' points at "
                                 "earlier sequence 0")));
}

TEST_F(VerifyTest, AMissingDedupEntryIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeDedupKey(kShard0, "e3", &key);
    return db->Delete({}, families.dedup, key);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 sequence 3: no dedup entry for event id 'e3'")));
}

TEST_F(VerifyTest, GarbageInPlaceOfARecordIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    return db->Put({}, families.log, LogKey(1), "\xff\xff garbage");
  });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0 sequence 1: record does not decode")));
  EXPECT_THAT(log->ReadRange(kShard0, Sequence(0), Sequence(6), VisitNothing),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 sequence 1: record does not decode")));
  EXPECT_THAT(log->ReadLead(kShard0, LeadKey::ForUser("u2"), VisitNothing),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 0 sequence 1")));
}

TEST_F(VerifyTest, ARecordWhoseSequenceDisagreesWithItsKeyIsDataLoss) {
  auto log = EditRecord(2, [](v1::LogRecord* record) { record->set_sequence(7); });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0 sequence 2: record says sequence 7")));
  EXPECT_THAT(log->ReadRange(kShard0, Sequence(2), Sequence(3), VisitNothing),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("record says sequence 7")));
}

TEST_F(VerifyTest, ARecordFromANewerSchemaIsDataLossOnRead) {
  auto log = EditRecord(
      4, [](v1::LogRecord* record) { record->set_schema_version(kSchemaVersionCurrent + 1); });
  EXPECT_THAT(
      log->ReadRange(kShard0, Sequence(4), Sequence(5), VisitNothing),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("shard 0 sequence 4: schema version 2 is newer than this binary's 1")));
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("schema version 2")));
}

TEST_F(VerifyTest, LogTimeGoingBackwardsIsDataLoss) {
  auto log =
      EditRecord(3, [](v1::LogRecord* record) { record->set_log_time_ms(kTestStartMs - 5); });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0 sequence 3: log time 1699999999995 is "
                                                "before the previous record's")));
}

TEST_F(VerifyTest, CountersThatDisagreeWithTheLogAreDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    std::string value;
    EncodeShardStateKey(kShard0, &key);
    rocksdb::Status s = db->Get({}, families.meta, key, &value);
    if (!s.ok()) return s;
    ShardState state = *DecodeShardState(value);
    ++state.events_appended;
    EncodeShardState(state, &value);
    return db->Put({}, families.meta, key, value);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0: meta counts 6 events appended, log holds 5")));
}

TEST_F(VerifyTest, AMissingDeadLetterIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeDeadLetterKey(kShard0, 0, &key);
    return db->Delete({}, families.dead_letters, key);
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0 dead letter 1: dead letter 0 is missing")));
}

TEST_F(VerifyTest, AMalformedOffsetIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeOffsetKey(kShard0, "leadlog.events", &key);
    return db->Put({}, families.meta, key, "bad");
  });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("offset of topic 'leadlog.events' is malformed")));
  EXPECT_EQ(log->StoredOffset(kShard0, "leadlog.events"), std::nullopt);
}

TEST_F(VerifyTest, AMalformedDedupEntryIsDataLossForVerifyAndAppend) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeDedupKey(kShard0, "e2", &key);
    return db->Put({}, families.dedup, key, "bad");
  });
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0: dedup entry of event id 'e2' is malformed (3 bytes)")));
  AppendBatch batch = BatchOf({MakeEvent(kShard0, "e2", "u1")});
  EXPECT_THAT(log->Append(batch),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("shard 0: dedup entry of event id 'e2' is malformed")));
  EXPECT_EQ(log->Position(kShard0), Sequence(6));  // nothing written
}

TEST_F(VerifyTest, AnUndecodableDeadLetterIsDataLoss) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    std::string key;
    EncodeDeadLetterKey(kShard0, 1, &key);
    return db->Put({}, families.dead_letters, key, "\xff\xff");
  });
  EXPECT_THAT(log->Verify(), StatusIs(absl::StatusCode::kDataLoss,
                                      HasSubstr("shard 0 dead letter 1: does not decode")));
  EXPECT_THAT(log->ReadDeadLetters(kShard0, [](const v1::DeadLetter&) { return absl::OkStatus(); }),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 0: dead letter 1")));
}

TEST_F(VerifyTest, AMalformedFormatVersionIsDataLossOnOpen) {
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(f_.data_dir(), false);
    ASSERT_THAT(store, IsOk());
    ASSERT_TRUE((*store)->db()->Put({}, (*store)->families().meta, FormatVersionKey(), "v1").ok());
  }
  EXPECT_THAT(
      EventLog::Open(f_.Options()),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("format version record is malformed")));
}

TEST_F(VerifyTest, ReportListsAtMostProblemsMax) {
  auto log = Corrupt([](rocksdb::DB* db, const Families& families) {
    for (uint64_t sequence = 0; sequence < 5; ++sequence) {
      rocksdb::Status s = db->Put({}, families.log, LogKey(sequence), "\xff garbage");
      if (!s.ok()) return s;
    }
    return rocksdb::Status::OK();
  });
  absl::Status status = log->Verify(2);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss,
                               HasSubstr("verify found 2 problems (stopped at problems_max)")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("sequence 2")));
  // Cross-checks do not repeat what the log pass reported.
  EXPECT_THAT(log->Verify(100), StatusIs(absl::StatusCode::kDataLoss,
                                         HasSubstr("verify found 5 problems: shard 0 sequence 0")));
}

}  // namespace
}  // namespace leadlog::internal
