#include "engine/outbox.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/internal/test_util.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

// An in-memory ProjectionTxn: committed state only, no buffering.
class MapTxn : public ProjectionTxn {
 public:
  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override {
    auto it = state.find(std::string(key));
    if (it == state.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  void Put(absl::string_view key, std::string value) override {
    state[std::string(key)] = std::move(value);
  }
  void Delete(absl::string_view key) override { state.erase(std::string(key)); }
  bool DeleteRange(absl::string_view begin, absl::string_view end) override {
    state.erase(state.lower_bound(std::string(begin)), state.lower_bound(std::string(end)));
    return true;
  }
  absl::StatusOr<std::vector<ProjectionEntry>> Scan(absl::string_view prefix,
                                                    absl::string_view after,
                                                    size_t limit) override {
    std::vector<ProjectionEntry> out;
    for (auto it = state.upper_bound(std::string(after)); it != state.end() && out.size() < limit;
         ++it) {
      if (it->first.compare(0, prefix.size(), prefix.data(), prefix.size()) < 0) continue;
      if (it->first.compare(0, prefix.size(), prefix.data(), prefix.size()) > 0) break;
      out.push_back({it->first, it->second});
    }
    return out;
  }
  std::map<std::string, std::string> state;
};

v1::Action MakeAction(uint64_t sequence, std::string type = "handoff") {
  v1::Action action;
  action.set_sequence(sequence);
  action.set_log_time_ms(1000 + static_cast<int64_t>(sequence));
  action.set_type(std::move(type));
  action.set_lead_key("u:42");
  return action;
}

TEST(OutboxKey, KeyOrderIsSequenceThenIndexOrder) {
  const std::vector<std::pair<uint64_t, uint32_t>> ordered = {
      {0, 0}, {0, 1}, {0, 255}, {0, 256}, {1, 0}, {255, 7}, {256, 0}, {uint64_t{1} << 40, 3}};
  for (size_t i = 1; i < ordered.size(); ++i) {
    EXPECT_LT(OutboxKey(Sequence(ordered[i - 1].first), ordered[i - 1].second),
              OutboxKey(Sequence(ordered[i].first), ordered[i].second))
        << i;
  }
  std::string key = OutboxKey(Sequence(0x0102030405060708), 0x0a0b0c0d);
  EXPECT_EQ(key, std::string("o/\x01\x02\x03\x04\x05\x06\x07\x08\x0a\x0b\x0c\x0d", 14));
  Sequence sequence;
  uint32_t index = 0;
  ASSERT_TRUE(ParseOutboxKey(key, &sequence, &index));
  EXPECT_EQ(sequence, Sequence(0x0102030405060708));
  EXPECT_EQ(index, 0x0a0b0c0du);
}

TEST(OutboxKey, MalformedKeysDoNotParse) {
  Sequence sequence;
  uint32_t index = 0;
  const std::string good = OutboxKey(Sequence(5), 1);
  EXPECT_FALSE(ParseOutboxKey("", &sequence, &index));
  EXPECT_FALSE(ParseOutboxKey(good.substr(0, 13), &sequence, &index));
  EXPECT_FALSE(ParseOutboxKey(good + "x", &sequence, &index));
  EXPECT_FALSE(ParseOutboxKey("x/" + good.substr(2), &sequence, &index));
}

TEST(WriteAction, FillsIdShardAndIndexInCallOrder) {
  MapTxn txn;
  ASSERT_OK(WriteAction(txn, ShardId(3), MakeAction(1042)));
  ASSERT_OK(WriteAction(txn, ShardId(3), MakeAction(1042, "notify_owner")));
  ASSERT_OK(WriteAction(txn, ShardId(3), MakeAction(1043)));
  ASSERT_EQ(txn.state.size(), 3u);
  std::vector<std::string> ids;
  for (const auto& [key, value] : txn.state) {
    v1::Action action;
    ASSERT_OK(DecodeOutboxEntry(ShardId(3), key, value, &action));
    ids.push_back(action.action_id());
    EXPECT_EQ(action.shard(), 3u);
    EXPECT_EQ(action.lead_key(), "u:42");
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("3-1042-handoff-0", "3-1042-notify_owner-1",
                                          "3-1043-handoff-0"));
}

TEST(WriteAction, RejectsBadTypesAndLeadKeysNamingTheField) {
  MapTxn txn;
  EXPECT_THAT(WriteAction(txn, ShardId(0), MakeAction(1, "")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action.type")));
  EXPECT_THAT(WriteAction(txn, ShardId(0), MakeAction(1, "hand-off")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[a-z0-9_]")));
  EXPECT_THAT(WriteAction(txn, ShardId(0), MakeAction(1, std::string(kActionTypeBytesMax + 1, 'a'))),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action.type")));
  EXPECT_OK(WriteAction(txn, ShardId(0), MakeAction(1, std::string(kActionTypeBytesMax, 'a'))));
  v1::Action long_lead = MakeAction(2);
  long_lead.set_lead_key(std::string(kIdBytesMax + 3, 'x'));
  EXPECT_THAT(WriteAction(txn, ShardId(0), long_lead),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action.lead_key")));
  EXPECT_EQ(txn.state.size(), 1u) << "a rejected action writes nothing";
}

TEST(WriteAction, AtMostTheLimitOfActionsPerRecord) {
  MapTxn txn;
  // The record already has its last allowed action (index limit - 1).
  v1::Action last = MakeAction(9);
  last.set_shard(0);
  last.set_index(kOutboxActionsPerRecordMax - 1);
  txn.state[OutboxKey(Sequence(9), kOutboxActionsPerRecordMax - 1)] = last.SerializeAsString();
  EXPECT_THAT(WriteAction(txn, ShardId(0), MakeAction(9)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("action.index")));
  EXPECT_OK(WriteAction(txn, ShardId(0), MakeAction(10))) << "other records are not affected";
}

// With the per-chunk hint, indexes are the same as without it (call order)
// per record; after Clear() the next write scans again.
TEST(WriteAction, IndexHintGivesTheSameIndexesAsTheScan) {
  MapTxn with_hint;
  MapTxn without;
  OutboxIndexes indexes;
  for (uint64_t seq : {3, 3, 4, 3, 4, 4}) {
    ASSERT_OK(WriteAction(with_hint, ShardId(1), MakeAction(seq), &indexes));
    ASSERT_OK(WriteAction(without, ShardId(1), MakeAction(seq)));
  }
  EXPECT_EQ(with_hint.state, without.state);
  indexes.Clear();
  ASSERT_OK(WriteAction(with_hint, ShardId(1), MakeAction(3), &indexes));
  v1::Action action;
  ASSERT_TRUE(action.ParseFromString(with_hint.state.at(OutboxKey(Sequence(3), 3))));
  EXPECT_EQ(action.action_id(), "1-3-handoff-3");
}

TEST(DecodeOutboxEntry, EntryThatDisagreesWithItsKeyIsDataLoss) {
  MapTxn txn;
  ASSERT_OK(WriteAction(txn, ShardId(1), MakeAction(7)));
  const auto& [key, value] = *txn.state.begin();
  v1::Action action;
  EXPECT_THAT(DecodeOutboxEntry(ShardId(2), key, value, &action),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not match its key")));
  EXPECT_THAT(DecodeOutboxEntry(ShardId(1), OutboxKey(Sequence(7), 1), value, &action),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("does not match its key")));
  EXPECT_THAT(DecodeOutboxEntry(ShardId(1), key, "\xff\xff", &action),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not a leadlog.v1.Action")));
  EXPECT_THAT(DecodeOutboxEntry(ShardId(1), "o/x", value, &action),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("malformed key")));
}

// Writes one action per event record and two for every third one.
class ActionFold : public ProjectionFold {
 public:
  std::string name() const override { return "outbox_test"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (!record.has_event()) return absl::OkStatus();
    const int actions = record.sequence() % 3 == 0 ? 2 : 1;
    for (int i = 0; i < actions; ++i) {
      v1::Action action = MakeAction(record.sequence());
      action.set_lead_key(absl::StrCat("a:", record.event().anonymous_id()));
      if (absl::Status s = WriteAction(txn, shard, std::move(action)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

TEST(WriteAction, CommitsWithTheStateAndARebuildWritesTheSameOutbox) {
  internal::LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  std::vector<PendingEvent> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(internal::MakeEvent(ShardId(0), absl::StrCat("e", i), "", absl::StrCat("v", i)));
  }
  AppendBatch batch = internal::BatchOf(std::move(events));
  ASSERT_OK(log->Append(batch).status());
  ActionFold fold;
  ProjectionRunnerOptions options;
  options.records_per_commit = 7;  // actions of many chunks
  auto live = ProjectionRunner::Create(log.get(), &fold, options);
  ASSERT_OK(live.status());
  ASSERT_OK((*live)->CatchUp(ShardId(0)).status());
  auto entries = (*live)->Scan(ShardId(0), kOutboxPrefix, "", 1000);
  ASSERT_OK(entries.status());
  ASSERT_EQ(entries->size(), 50u + 17u);
  EXPECT_EQ(entries->front().key, OutboxKey(Sequence(0), 0));
  EXPECT_EQ(entries->at(1).key, OutboxKey(Sequence(0), 1));
  options.family_version = 2;
  options.records_per_commit = 1000;
  auto rebuilt = ProjectionRunner::Create(log.get(), &fold, options);
  ASSERT_OK(rebuilt.status());
  ASSERT_OK((*rebuilt)->CatchUp(ShardId(0)).status());
  auto again = (*rebuilt)->Scan(ShardId(0), kOutboxPrefix, "", 1000);
  ASSERT_OK(again.status());
  ASSERT_EQ(again->size(), entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ(again->at(i).key, entries->at(i).key);
    EXPECT_EQ(again->at(i).value, entries->at(i).value) << "byte-identical action " << i;
  }
}

}  // namespace
}  // namespace leadlog
