#include "engine/projection.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/event_log_access.h"
#include "engine/internal/projection_format.h"
#include "engine/internal/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::internal::BatchOf;
using ::leadlog::internal::LogFixture;
using ::leadlog::internal::MakeEvent;
using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

MATCHER_P(Holds, inner, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(inner, *arg, result_listener);
}

// Counts events per lead ("lead:<lead key>" -> "<count>|<last event name>")
// and clock ticks ("ticks" -> "<count>"). `scale` changes the result (a
// different fold); `fail_at` makes Apply fail on that sequence; `bad_key`
// makes it write a key one byte over the limit.
class CountingFold final : public ProjectionFold {
 public:
  CountingFold(std::string name, uint32_t version) : name_(std::move(name)), version_(version) {}

  std::string name() const override { return name_; }
  uint32_t version() const override { return version_; }

  absl::Status Apply(ShardId, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (fail_at.has_value() && record.sequence() == *fail_at) {
      return absl::InternalError("injected failure");
    }
    ++applied;
    if (bad_key) txn.Put(std::string(kProjectionKeyBytesMax + 1, 'k'), "x");
    if (value_bytes > 0) txn.Put("big", std::string(value_bytes, 'v'));
    if (record.has_clock_tick()) return Increment(txn, "ticks", "");
    const v1::Event& event = record.event();
    const std::string lead =
        event.user_id().empty() ? "a:" + event.anonymous_id() : "u:" + event.user_id();
    return Increment(txn, "lead:" + lead, "|" + event.name());
  }

  std::optional<uint64_t> fail_at;
  bool bad_key = false;
  size_t value_bytes = 0;  // when > 0, also writes a value of this size
  uint64_t scale = 1;
  uint64_t applied = 0;

 private:
  absl::Status Increment(ProjectionTxn& txn, const std::string& key, const std::string& suffix) {
    absl::StatusOr<std::optional<std::string>> old = txn.Get(key);
    if (!old.ok()) return old.status();
    uint64_t count = 0;
    if (old->has_value()) {
      const std::string& text = **old;
      EXPECT_TRUE(absl::SimpleAtoi(text.substr(0, text.find('|')), &count)) << text;
    }
    txn.Put(key, absl::StrCat(count + scale, suffix));
    return absl::OkStatus();
  }

  std::string name_;
  uint32_t version_;
};

PendingEvent Named(ShardId shard, const std::string& id, const std::string& user,
                   const std::string& name) {
  PendingEvent pending = MakeEvent(shard, id, user);
  v1::Event event;
  EXPECT_TRUE(event.ParseFromString(pending.event_bytes));
  event.set_name(name);
  pending.event_bytes = event.SerializeAsString();
  return pending;
}

// Appends `n` events to `shard` spread over three users, ids prefixed by `tag`.
void AppendEvents(EventLog& log, ShardId shard, const std::string& tag, int n) {
  std::vector<PendingEvent> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(Named(shard, absl::StrCat(tag, "-", i), absl::StrCat("user", i % 3),
                           absl::StrCat("Event ", tag, i)));
  }
  AppendBatch batch = BatchOf(std::move(events));
  ASSERT_OK(log.Append(batch));
}

std::unique_ptr<ProjectionRunner> MakeRunner(EventLog& log, ProjectionFold& fold,
                                             uint64_t records_per_commit = 1000) {
  ProjectionRunnerOptions options;
  options.records_per_commit = records_per_commit;
  options.sync_per_commit = false;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(&log, &fold, options);
  EXPECT_THAT(runner, IsOk());
  return runner.ok() ? std::move(*runner) : nullptr;
}

std::string Digest(const ProjectionRunner& runner, ShardId shard) {
  absl::StatusOr<std::string> digest = runner.StateDigest(shard);
  EXPECT_THAT(digest, IsOk());
  return digest.ok() ? *digest : "";
}

std::optional<std::string> StateOf(const ProjectionRunner& runner, ShardId shard,
                                   const std::string& key) {
  absl::StatusOr<std::optional<std::string>> value = runner.Get(shard, key);
  EXPECT_THAT(value, IsOk());
  return value.ok() ? *value : std::nullopt;
}

const ShardId kShard(0);

TEST(ProjectionRunner, CatchUpFoldsEverythingAndStateIsRight) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 5);  // user0: 0,3  user1: 1,4  user2: 2
  ASSERT_OK(log->AppendClockTick(kShard));
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(0));
  EXPECT_THAT(runner->CatchUp(kShard), Holds(Sequence(6)));
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(6));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("2|Event a3")));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user1"), Optional(std::string("2|Event a4")));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user2"), Optional(std::string("1|Event a2")));
  EXPECT_THAT(StateOf(*runner, kShard, "ticks"), Optional(std::string("1")));
  EXPECT_EQ(StateOf(*runner, kShard, "lead:u:nobody"), std::nullopt);
  // Nothing new: CatchUp is a no-op.
  EXPECT_THAT(runner->CatchUp(kShard), Holds(Sequence(6)));
  EXPECT_EQ(fold.applied, 6u);
  EXPECT_OK(log->Verify());
}

TEST(ProjectionRunner, CheckpointAndStateSurviveReopenAndOnlyNewRecordsAreApplied) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "a", 4);
    CountingFold fold("counts", 1);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
    ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(4)));
  }
  std::unique_ptr<EventLog> log = f.Open();
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(4));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("2|Event a3")));
  AppendEvents(*log, kShard, "b", 2);
  EXPECT_THAT(runner->CatchUp(kShard), Holds(Sequence(6)));
  EXPECT_EQ(fold.applied, 2u);
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("3|Event b0")));
}

TEST(ProjectionRunner, FailureInAChunkKeepsEarlierChunksAndRetryCompletes) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 10);
  CountingFold fold("counts", 1);
  fold.fail_at = 7;  // chunks of 3: [0,3) [3,6) committed, [6,9) fails
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 3);
  EXPECT_THAT(runner->CatchUp(kShard),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("projection counts v1 shard 0 sequence 7: injected failure")));
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(6));
  // State agrees with the checkpoint: records 0..5 only (user0: 0,3).
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("2|Event a3")));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user1"), Optional(std::string("2|Event a4")));
  runner.reset();
  log.reset();

  log = f.Open();
  CountingFold retry("counts", 1);
  runner = MakeRunner(*log, retry, 3);
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(6));
  EXPECT_THAT(runner->CatchUp(kShard), Holds(Sequence(10)));
  EXPECT_EQ(retry.applied, 4u);

  CountingFold clean("counts", 2);
  std::unique_ptr<ProjectionRunner> rebuilt = MakeRunner(*log, clean);
  ASSERT_THAT(rebuilt->CatchUp(kShard), Holds(Sequence(10)));
  EXPECT_EQ(Digest(*runner, kShard), Digest(*rebuilt, kShard));
}

TEST(ProjectionRunner, RebuildFromZeroEqualsLiveState) {
  LogFixture f;
  std::string live_digest;
  {
    std::unique_ptr<EventLog> log = f.Open();
    CountingFold fold("counts", 1);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 2);
    AppendEvents(*log, kShard, "a", 4);
    ASSERT_THAT(runner->CatchUp(kShard), IsOk());
    AppendEvents(*log, kShard, "b", 3);
    ASSERT_OK(log->AppendClockTick(kShard));
    ASSERT_THAT(runner->CatchUp(kShard), IsOk());
    AppendEvents(*log, kShard, "c", 1);
  }
  std::unique_ptr<EventLog> log = f.Open();
  CountingFold live("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, live, 2);
  AppendEvents(*log, kShard, "d", 5);
  ASSERT_OK(log->AppendClockTick(kShard));
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(15)));
  live_digest = Digest(*runner, kShard);

  CountingFold v2("counts", 2);
  std::unique_ptr<ProjectionRunner> rebuilt = MakeRunner(*log, v2);
  EXPECT_EQ(rebuilt->Checkpoint(kShard), Sequence(0));
  ASSERT_THAT(rebuilt->CatchUp(kShard), Holds(Sequence(15)));
  EXPECT_EQ(v2.applied, 15u);
  EXPECT_EQ(Digest(*rebuilt, kShard), live_digest);
  EXPECT_EQ(live_digest.size(), 16u);

  CountingFold different("counts", 3);
  different.scale = 2;
  std::unique_ptr<ProjectionRunner> other = MakeRunner(*log, different);
  ASSERT_THAT(other->CatchUp(kShard), Holds(Sequence(15)));
  EXPECT_NE(Digest(*other, kShard), live_digest);
}

TEST(ProjectionCatalog, ActiveVersionSwitchAndDrop) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "a", 3);
    CountingFold v1("counts", 1);
    CountingFold v2("counts", 2);
    CountingFold other("other", 1);
    for (ProjectionFold* fold : std::vector<ProjectionFold*>{&v1, &v2, &other}) {
      ASSERT_THAT(MakeRunner(*log, *fold)->CatchUp(kShard), IsOk());
    }
    absl::StatusOr<std::unique_ptr<ProjectionCatalog>> catalog =
        ProjectionCatalog::Create(log.get());
    ASSERT_OK(catalog);
    EXPECT_THAT((*catalog)->Versions("counts"), Holds(ElementsAre(1u, 2u)));
    EXPECT_THAT((*catalog)->ActiveVersion("counts"), Holds(std::optional<uint32_t>()));
    ASSERT_OK((*catalog)->SetActiveVersion("counts", 1));
    EXPECT_THAT((*catalog)->ActiveVersion("counts"), Holds(Optional(1u)));
    EXPECT_THAT((*catalog)->DropVersion("counts", 1),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("active")));
    ASSERT_OK((*catalog)->SetActiveVersion("counts", 2));
    ASSERT_OK((*catalog)->DropVersion("counts", 1));
    EXPECT_THAT((*catalog)->DropVersion("counts", 1),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("proj_counts_v1")));
    EXPECT_THAT((*catalog)->SetActiveVersion("counts", 7),
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("proj_counts_v7")));
    EXPECT_OK(log->Verify());
  }
  std::unique_ptr<EventLog> log = f.Open();
  absl::StatusOr<std::unique_ptr<ProjectionCatalog>> catalog = ProjectionCatalog::Create(log.get());
  ASSERT_OK(catalog);
  EXPECT_THAT((*catalog)->Versions("counts"), Holds(ElementsAre(2u)));
  EXPECT_THAT((*catalog)->Versions("other"), Holds(ElementsAre(1u)));
  EXPECT_THAT((*catalog)->ActiveVersion("counts"), Holds(Optional(2u)));
  CountingFold v2("counts", 2);
  EXPECT_EQ(MakeRunner(*log, v2)->Checkpoint(kShard), Sequence(3));
  EXPECT_OK(log->Verify());
}

TEST(ProjectionRunner, ReadOnlyLogCanReadButNotCatchUp) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "a", 3);
    CountingFold fold("counts", 1);
    ASSERT_THAT(MakeRunner(*log, fold)->CatchUp(kShard), IsOk());
  }
  EventLogOptions options = f.Options();
  options.read_only = true;
  std::unique_ptr<EventLog> log = LogFixture::Open(options);
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(3));
  EXPECT_THAT(runner->CatchUp(kShard),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  CountingFold missing("counts", 9);
  ProjectionRunnerOptions runner_options;
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &missing, runner_options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("proj_counts_v9")));
  EXPECT_OK(log->Verify());
}

TEST(ProjectionRunner, InvalidNameVersionAndOptionsAreRejected) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  ProjectionRunnerOptions options;
  CountingFold upper("Counts", 1);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &upper, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: 'Counts'")));
  CountingFold long_name(std::string(kProjectionNameBytesMax + 1, 'a'), 1);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &long_name, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: 33 bytes")));
  CountingFold at_limit(std::string(kProjectionNameBytesMax, 'a'), 1);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &at_limit, options), IsOk());
  CountingFold empty("", 1);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &empty, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name: 0 bytes")));
  CountingFold version0("counts", 0);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &version0, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version: 0")));
  CountingFold fold("counts", 1);
  options.records_per_commit = 0;
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &fold, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records_per_commit: 0")));
  options.records_per_commit = kProjectionRecordsPerCommitMax + 1;
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &fold, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("records_per_commit")));
  EXPECT_THAT(ProjectionRunner::Create(nullptr, &fold, ProjectionRunnerOptions{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("log")));

  absl::StatusOr<std::unique_ptr<ProjectionCatalog>> catalog = ProjectionCatalog::Create(log.get());
  ASSERT_OK(catalog);
  EXPECT_THAT((*catalog)->SetActiveVersion("no-dash", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT((*catalog)->SetActiveVersion("counts", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
  EXPECT_THAT((*catalog)->DropVersion("counts", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version")));
}

TEST(ProjectionRunner, InvalidKeyFailsTheChunkAndCommitsNothing) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 3);
  CountingFold fold("counts", 1);
  fold.bad_key = true;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_THAT(runner->CatchUp(kShard), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("shard 0 sequence 0: key: 1025 bytes")));
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(0));
  EXPECT_EQ(StateOf(*runner, kShard, "lead:u:user0"), std::nullopt);
  EXPECT_THAT(runner->Get(kShard, ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key: 0 bytes")));
  EXPECT_THAT(runner->Get(kShard, std::string(kProjectionKeyBytesMax, 'k')), IsOk());

  CountingFold too_big("big", 1);
  too_big.value_bytes = kProjectionValueBytesMax + 1;
  EXPECT_THAT(MakeRunner(*log, too_big)->CatchUp(kShard),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("value: 1048577 bytes")));
  CountingFold at_limit("big", 2);
  at_limit.value_bytes = kProjectionValueBytesMax;
  std::unique_ptr<ProjectionRunner> big =
      MakeRunner(*log, at_limit, kProjectionRecordsPerCommitMax);
  EXPECT_THAT(big->CatchUp(kShard), Holds(Sequence(3)));
  EXPECT_EQ(StateOf(*big, kShard, "big")->size(), kProjectionValueBytesMax);
}

TEST(ProjectionRunner, ShardsAreIndependent) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  const ShardId other(1);
  AppendEvents(*log, kShard, "a", 4);
  AppendEvents(*log, other, "b", 2);
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  const std::string empty_digest = Digest(*runner, other);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(4)));
  EXPECT_EQ(runner->Checkpoint(other), Sequence(0));
  EXPECT_EQ(Digest(*runner, other), empty_digest);
  EXPECT_EQ(StateOf(*runner, other, "lead:u:user0"), std::nullopt);
  ASSERT_THAT(runner->CatchUp(other), Holds(Sequence(2)));
  EXPECT_THAT(StateOf(*runner, other, "lead:u:user0"), Optional(std::string("1|Event b0")));
  EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("2|Event a3")));
  EXPECT_NE(Digest(*runner, other), Digest(*runner, kShard));
}

TEST(ProjectionRunner, StateDigestIsPinned) {
  // FNV-1a 64 over u32 BE key length ‖ key ‖ u32 BE value length ‖ value:
  // a digest computed by another process or build must compare equal.
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "b", 1);
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_EQ(Digest(*runner, kShard), "cbf29ce484222325");  // empty state
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(1)));
  EXPECT_EQ(Digest(*runner, kShard), "cd07657422688524");  // lead:u:user0 -> 1|Event b0
}

TEST(ProjectionRunner, VerifyChecksProjectionCheckpointsAndActiveVersions) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 3);
  CountingFold fold("counts", 1);
  ASSERT_THAT(MakeRunner(*log, fold)->CatchUp(kShard), IsOk());
  ASSERT_OK(log->Verify());

  internal::Store* store = internal::StoreOf(log.get());
  ASSERT_NE(store, nullptr);
  std::string key;
  std::string value;
  internal::EncodeProjectionCheckpointKey(kShard, &key);
  internal::EncodeProjectionCheckpoint(Sequence(4), &value);
  ASSERT_TRUE(store->db()->Put({}, store->ExtraFamily("proj_counts_v1"), key, value).ok());
  internal::EncodeActiveProjectionKey("counts", &key);
  internal::EncodeProjectionVersion(5, &value);
  ASSERT_TRUE(store->db()->Put({}, store->families().meta, key, value).ok());
  EXPECT_THAT(log->Verify(),
              StatusIs(absl::StatusCode::kDataLoss,
                       ::testing::AllOf(HasSubstr("active version 5 has no column family"),
                                        HasSubstr("proj_counts_v1: shard 0: checkpoint 4 is "
                                                  "beyond the log position 3"))));
  CountingFold again("counts", 1);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &again, ProjectionRunnerOptions{}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("checkpoint 4 is beyond")));
}

TEST(ProjectionFormat, FamilyNamesAndKeysArePinned) {
  using namespace ::leadlog::internal;  // NOLINT: format helpers only
  EXPECT_EQ(ProjectionFamilyName("lead_state", 12), "proj_lead_state_v12");
  EXPECT_EQ(ParseProjectionFamilyVersion("proj_lead_state_v12", "lead_state"), 12u);
  EXPECT_EQ(ParseProjectionFamilyVersion("proj_lead_state_v012", "lead_state"), std::nullopt);
  EXPECT_EQ(ParseProjectionFamilyVersion("proj_lead_state_v1x", "lead_state"), std::nullopt);
  EXPECT_EQ(ParseProjectionFamilyVersion("proj_lead_v1", "lead_state"), std::nullopt);
  std::string key;
  EncodeProjectionStateKey(ShardId(3), "k", &key);
  EXPECT_EQ(key, std::string("\x00\x00\x00\x03Sk", 6));
  EncodeProjectionCheckpointKey(ShardId(3), &key);
  EXPECT_EQ(key, std::string("\x00\x00\x00\x03"
                             "C",
                             5));
  EncodeActiveProjectionKey("counts", &key);
  EXPECT_EQ(key, std::string("\xff\xff\xff\xff"
                             "Pcounts",
                             11));
  std::string value;
  EncodeProjectionCheckpoint(Sequence(258), &value);
  EXPECT_EQ(value, std::string("\0\0\0\0\0\0\x01\x02", 8));
  EXPECT_EQ(DecodeProjectionCheckpoint(value), Sequence(258));
  EXPECT_EQ(DecodeProjectionCheckpoint("1234567"), std::nullopt);
  EncodeProjectionVersion(2, &value);
  EXPECT_EQ(value, std::string("\0\0\0\x02", 4));
  EXPECT_EQ(DecodeProjectionVersion(value), 2u);
  EXPECT_EQ(DecodeProjectionVersion(std::string(4, '\0')), std::nullopt);
}

}  // namespace
}  // namespace leadlog
