#include "engine/projection.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/internal/event_log_access.h"
#include "engine/internal/projection_format.h"
#include "engine/internal/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/table_properties.h"

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

// Counts records in memory during a chunk and writes the count at its end
// (the chunk hooks); fails on `fail_at`.
class ChunkCountingFold final : public ProjectionFold {
 public:
  std::string name() const override { return "chunked"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (fail_at.has_value() && record.sequence() == *fail_at) {
      return absl::InternalError("injected failure");
    }
    ++pending[&txn];
    return absl::OkStatus();
  }
  absl::Status EndChunk(ShardId, ProjectionTxn& txn) override {
    ++ends;
    absl::StatusOr<std::optional<std::string>> old = txn.Get("count");
    if (!old.ok()) return old.status();
    uint64_t count = 0;
    if (old->has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(**old, &count));
    }
    txn.Put("count", absl::StrCat(count + pending[&txn]));
    pending.erase(&txn);
    return absl::OkStatus();
  }
  void AbortChunk(ShardId, ProjectionTxn& txn) override {
    ++aborts;
    pending.erase(&txn);
  }
  std::optional<uint64_t> fail_at;
  std::map<const ProjectionTxn*, uint64_t> pending;
  int ends = 0;
  int aborts = 0;
};

TEST(ProjectionRunner, ChunkHooksCommitWithTheChunkAndAbortForgets) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 10);
  ChunkCountingFold fold;
  fold.fail_at = 7;  // chunks of 3: [0,3) [3,6) commit, [6,9) aborts
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 3);
  EXPECT_THAT(runner->CatchUp(kShard), StatusIs(absl::StatusCode::kInternal, HasSubstr("injected")));
  EXPECT_EQ(fold.ends, 2);
  EXPECT_EQ(fold.aborts, 1);
  EXPECT_TRUE(fold.pending.empty()) << "the aborted chunk's count is forgotten";
  EXPECT_THAT(StateOf(*runner, kShard, "count"), Optional(std::string("6")));
  fold.fail_at.reset();
  EXPECT_THAT(runner->CatchUp(kShard), Holds(Sequence(10)));
  EXPECT_THAT(StateOf(*runner, kShard, "count"), Optional(std::string("10")))
      << "records 6..9 counted once, after the retry";
  EXPECT_EQ(fold.aborts, 1);
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

// Counts records per shard; Apply on `waiting_shard` blocks until a record
// of another shard was applied (or a deadline passes: then it fails), so a
// CatchUp of that shard can only finish when another shard folds meanwhile.
class RendezvousFold final : public ProjectionFold {
 public:
  explicit RendezvousFold(ShardId waiting_shard) : waiting_shard_(waiting_shard) {}
  std::string name() const override { return "rendezvous"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId shard, const v1::LogRecord&, ProjectionTxn& txn) override {
    absl::MutexLock lock(&mu_);
    if (shard == waiting_shard_) {
      waiting_ = true;
      if (!mu_.AwaitWithTimeout(absl::Condition(&other_applied_), absl::Seconds(30))) {
        return absl::DeadlineExceededError("no other shard folded while this one waited");
      }
    } else {
      other_applied_ = true;
    }
    absl::StatusOr<std::optional<std::string>> old = txn.Get("n");
    if (!old.ok()) return old.status();
    txn.Put("n", absl::StrCat(old->value_or(""), "x"));
    return absl::OkStatus();
  }
  // Blocks until Apply of the waiting shard is waiting (false after 30 s).
  bool AwaitWaiting() {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(&waiting_), absl::Seconds(30));
  }

 private:
  const ShardId waiting_shard_;
  absl::Mutex mu_;
  bool waiting_ ABSL_GUARDED_BY(mu_) = false;
  bool other_applied_ ABSL_GUARDED_BY(mu_) = false;
};

TEST(ProjectionRunner, DifferentShardsCatchUpConcurrently) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  const ShardId other(1);
  AppendEvents(*log, kShard, "a", 3);
  AppendEvents(*log, other, "b", 2);
  RendezvousFold fold(kShard);
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  absl::StatusOr<Sequence> waiting_result;
  std::thread waiting([&] { waiting_result = runner->CatchUp(kShard); });
  ASSERT_TRUE(fold.AwaitWaiting());
  // Shard 0's CatchUp is inside Apply: shard 1 folds anyway (a runner-wide
  // lock would block here until shard 0's wait timed out).
  EXPECT_THAT(runner->CatchUp(other), Holds(Sequence(2)));
  waiting.join();
  EXPECT_THAT(waiting_result, Holds(Sequence(3)));
  EXPECT_THAT(StateOf(*runner, kShard, "n"), Optional(std::string("xxx")));
  EXPECT_THAT(StateOf(*runner, other, "n"), Optional(std::string("xx")));
}

ProjectionRunnerOptions CacheOptions(uint32_t family_version, size_t state_cache_bytes) {
  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.records_per_commit = 2;  // each user's key is read again by a later chunk
  options.family_version = family_version;
  options.state_cache_bytes = state_cache_bytes;
  return options;
}

TEST(ProjectionRunner, StateCacheServesLaterChunksWithTheStateOfAnUncachedFold) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 9);
  CountingFold fold("counts", 1);
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> cached =
      ProjectionRunner::Create(log.get(), &fold, CacheOptions(1, kProjectionStateCacheBytesDefault));
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> uncached =
      ProjectionRunner::Create(log.get(), &fold, CacheOptions(2, 0));
  ASSERT_OK(cached);
  ASSERT_OK(uncached);
  ASSERT_THAT((*cached)->CatchUp(kShard), Holds(Sequence(9)));
  ASSERT_THAT((*uncached)->CatchUp(kShard), Holds(Sequence(9)));
  // 9 reads of 3 keys in 5 chunks of 2 distinct keys: the first read of
  // each key misses, every later one hits what an earlier chunk committed.
  const ProjectionRunnerStats stats = (*cached)->Stats();
  EXPECT_EQ(stats.state_cache_misses, 3u);
  EXPECT_EQ(stats.state_cache_hits, 6u);
  EXPECT_GT(stats.state_cache_bytes, 0u);
  EXPECT_EQ((*uncached)->Stats().state_cache_hits, 0u);
  EXPECT_EQ((*uncached)->Stats().state_cache_bytes, 0u);
  EXPECT_EQ(Digest(**cached, kShard), Digest(**uncached, kShard));
  // New records after a restart-free pause fold onto the cached values.
  AppendEvents(*log, kShard, "b", 3);
  ASSERT_THAT((*cached)->CatchUp(kShard), Holds(Sequence(12)));
  ASSERT_THAT((*uncached)->CatchUp(kShard), Holds(Sequence(12)));
  EXPECT_THAT(StateOf(**cached, kShard, "lead:u:user0"), Optional(std::string("4|Event b0")));
  EXPECT_EQ(Digest(**cached, kShard), Digest(**uncached, kShard));
}

TEST(ProjectionRunner, StateCacheAfterAFailedChunkHoldsOnlyCommittedValues) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 6);
  CountingFold fold("counts", 1);
  fold.fail_at = 3;  // the second chunk fails after applying record 2
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(log.get(), &fold, CacheOptions(1, kProjectionStateCacheBytesDefault));
  ASSERT_OK(runner);
  EXPECT_THAT((*runner)->CatchUp(kShard).status(), StatusIs(absl::StatusCode::kInternal, HasSubstr("injected failure")));
  EXPECT_EQ((*runner)->Checkpoint(kShard), Sequence(2));
  fold.fail_at.reset();
  ASSERT_THAT((*runner)->CatchUp(kShard), Holds(Sequence(6)));
  // Each record counted once: the failed chunk's pending write of record 2
  // never reached the cache.
  EXPECT_THAT(StateOf(**runner, kShard, "lead:u:user2"), Optional(std::string("2|Event a5")));
  EXPECT_THAT(StateOf(**runner, kShard, "lead:u:user0"), Optional(std::string("2|Event a3")));
}

TEST(ProjectionRunner, StateCacheBudgetIsSplitOverTheShardsNotGivenToEach) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  const std::vector<ShardId> shards = {ShardId(0), ShardId(1), ShardId(2), ShardId(3)};
  for (ShardId shard : shards) AppendEvents(*log, shard, "a", 9);  // same keys and values
  CountingFold fold("counts", 1);
  auto held_after_catch_up = [&](uint32_t family_version, size_t budget) {
    absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
        ProjectionRunner::Create(log.get(), &fold, CacheOptions(family_version, budget));
    EXPECT_OK(runner);
    for (ShardId shard : shards) EXPECT_THAT((*runner)->CatchUp(shard), Holds(Sequence(9)));
    return (*runner)->Stats();
  };
  // Everything the four shards read fits in a roomy budget: that is the need.
  const ProjectionRunnerStats roomy = held_after_catch_up(1, kProjectionStateCacheBytesDefault);
  const size_t need = roomy.state_cache_bytes;
  ASSERT_GT(need, 0u);
  ASSERT_EQ(need % shards.size(), 0u);
  EXPECT_EQ(roomy.state_cache_evictions, 0u);
  // Exactly the need: each shard's quarter holds its own state.
  const ProjectionRunnerStats exact = held_after_catch_up(2, need);
  EXPECT_EQ(exact.state_cache_evictions, 0u);
  EXPECT_EQ(exact.state_cache_bytes, need);
  // Four bytes short: every shard's quarter is one byte short, so shards
  // empty their caches and the runner never holds more than its budget (a
  // budget per shard would hold all of it, four times over the total).
  const ProjectionRunnerStats tight = held_after_catch_up(3, need - shards.size());
  EXPECT_GE(tight.state_cache_evictions, shards.size());
  EXPECT_LE(tight.state_cache_bytes, need - shards.size());
}

TEST(ProjectionRunner, StateCacheBytesUpToTheLimitAreAcceptedAndAboveRejected) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  CountingFold fold("counts", 1);
  EXPECT_OK(ProjectionRunner::Create(log.get(), &fold,
                                     CacheOptions(1, kProjectionStateCacheBytesMax)));
  EXPECT_THAT(
      ProjectionRunner::Create(log.get(), &fold, CacheOptions(1, kProjectionStateCacheBytesMax + 1)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("state_cache_bytes")));
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

// CountingFold plus a transient queue entry "q/<sequence>" per record.
class QueueingFold final : public ProjectionFold {
 public:
  std::string name() const override { return "counts"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    txn.Put(absl::StrCat("q/", record.sequence()), "");
    return counting_.Apply(shard, record, txn);
  }
  std::vector<std::string> transient_prefixes() const override { return {"q/"}; }

 private:
  CountingFold counting_{"counts", 1};
};

std::vector<std::string> QueueKeys(const ProjectionRunner& runner) {
  absl::StatusOr<std::vector<ProjectionEntry>> entries = runner.Scan(kShard, "q/", "", 100);
  EXPECT_THAT(entries, IsOk());
  std::vector<std::string> keys;
  for (const ProjectionEntry& e : entries.value_or(std::vector<ProjectionEntry>{})) {
    keys.push_back(e.key);
  }
  return keys;
}

TEST(ProjectionRunner, TransientEntriesAreLeftOutOfTheDigestAndPrunable) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "b", 3);
    QueueingFold fold;
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
    ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(3)));
    // The same digest as the fold without its queue.
    CountingFold plain("plain", 1);
    std::unique_ptr<ProjectionRunner> plain_runner = MakeRunner(*log, plain);
    ASSERT_THAT(plain_runner->CatchUp(kShard), Holds(Sequence(3)));
    EXPECT_EQ(Digest(*runner, kShard), Digest(*plain_runner, kShard));
    EXPECT_THAT(QueueKeys(*runner), ElementsAre("q/0", "q/1", "q/2"));
    // Prune deletes the transient entries up to and including the key.
    ASSERT_OK(runner->Prune(kShard, "q/", "q/1", false));
    EXPECT_THAT(QueueKeys(*runner), ElementsAre("q/2"));
    EXPECT_EQ(Digest(*runner, kShard), Digest(*plain_runner, kShard));
    EXPECT_THAT(runner->Prune(kShard, "lead:", "lead:u:user0", false),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a transient prefix")));
    EXPECT_THAT(runner->Prune(kShard, "q/", "lead:u:user0", false),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("through_key")));
    EXPECT_THAT(StateOf(*runner, kShard, "lead:u:user0"), Optional(std::string("1|Event b0")));
  }
  EventLogOptions options = f.Options();
  options.read_only = true;
  std::unique_ptr<EventLog> log = LogFixture::Open(options);
  QueueingFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  EXPECT_THAT(runner->Prune(kShard, "q/", "q/2", false),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
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

// Runs steps[i] on the record at sequence i (nothing on later records), so
// a test can write, read and scan state at chosen points of a catch-up.
class ScriptFold final : public ProjectionFold {
 public:
  using Step = std::function<void(ShardId, ProjectionTxn&)>;
  explicit ScriptFold(std::vector<Step> steps, uint32_t version = 1)
      : steps_(std::move(steps)), version_(version) {}
  std::string name() const override { return "script"; }
  uint32_t version() const override { return version_; }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (record.sequence() < steps_.size()) steps_[record.sequence()](shard, txn);
    return absl::OkStatus();
  }

 private:
  std::vector<Step> steps_;
  uint32_t version_;
};

using Entries = std::vector<std::pair<std::string, std::string>>;

Entries Pairs(const absl::StatusOr<std::vector<ProjectionEntry>>& scanned) {
  EXPECT_THAT(scanned, IsOk());
  Entries pairs;
  if (!scanned.ok()) return pairs;
  for (const ProjectionEntry& entry : *scanned) pairs.emplace_back(entry.key, entry.value);
  return pairs;
}

Entries TxnScan(ProjectionTxn& txn, absl::string_view prefix, absl::string_view after = "",
                size_t limit = 100) {
  return Pairs(txn.Scan(prefix, after, limit));
}

Entries RunnerScan(const ProjectionRunner& runner, ShardId shard, absl::string_view prefix,
                   absl::string_view after = "", size_t limit = 100) {
  return Pairs(runner.Scan(shard, prefix, after, limit));
}

TEST(ProjectionScan, MergesPendingPutsAndDeletesOverCommittedState) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 2);
  std::vector<Entries> seen;
  ScriptFold fold({
      [&](ShardId, ProjectionTxn& txn) {  // chunk 1: committed at its end
        for (const char* key : {"a/1", "a/2", "a/3", "a/5"}) txn.Put(key, absl::StrCat("c", key));
        txn.Put("b/1", "other prefix");
      },
      [&](ShardId, ProjectionTxn& txn) {  // chunk 2
        seen.push_back(TxnScan(txn, "a/"));  // committed only
        txn.Delete("a/2");                   // hides a committed key
        txn.Put("a/3", "p3");                // overrides a committed key
        txn.Put("a/4", "p4");                // between committed keys
        txn.Put("a/6", "p6");                // after the last committed key
        txn.Put("a/7", "p7");
        txn.Delete("a/7");  // a pending Put then Delete: gone
        txn.Delete("a/9");  // deleting a missing key: nothing
        seen.push_back(TxnScan(txn, "a/"));
        seen.push_back(TxnScan(txn, "a/", "a/3"));     // strictly after
        seen.push_back(TxnScan(txn, "a/", "a/2", 2));  // after a hidden key, limited
        seen.push_back(TxnScan(txn, "a/", "a/35"));    // after a key that does not exist
        seen.push_back(TxnScan(txn, "a/", "a/6"));     // after the last: empty
        seen.push_back(TxnScan(txn, "a/", "", 1));
      },
  });
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(2)));
  const Entries merged = {{"a/1", "ca/1"}, {"a/3", "p3"}, {"a/4", "p4"}, {"a/5", "ca/5"},
                          {"a/6", "p6"}};
  ASSERT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen[0], (Entries{{"a/1", "ca/1"}, {"a/2", "ca/2"}, {"a/3", "ca/3"}, {"a/5", "ca/5"}}));
  EXPECT_EQ(seen[1], merged);
  EXPECT_EQ(seen[2], (Entries{{"a/4", "p4"}, {"a/5", "ca/5"}, {"a/6", "p6"}}));
  EXPECT_EQ(seen[3], (Entries{{"a/3", "p3"}, {"a/4", "p4"}}));
  EXPECT_EQ(seen[4], (Entries{{"a/4", "p4"}, {"a/5", "ca/5"}, {"a/6", "p6"}}));
  EXPECT_EQ(seen[5], Entries{});
  EXPECT_EQ(seen[6], (Entries{{"a/1", "ca/1"}}));
  // What the chunk saw is what it committed.
  EXPECT_EQ(RunnerScan(*runner, kShard, "a/"), merged);
  EXPECT_EQ(RunnerScan(*runner, kShard, "a/", "a/1", 2), (Entries{{"a/3", "p3"}, {"a/4", "p4"}}));
}

TEST(ProjectionScan, SeesPendingWritesWhenNothingIsCommitted) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 2);
  std::vector<Entries> seen;
  ScriptFold fold({
      [&](ShardId, ProjectionTxn& txn) {
        txn.Put("k/2", "two");
        txn.Put("k/1", "one");
        txn.Put("k/3", "three");
      },
      [&](ShardId, ProjectionTxn& txn) {  // same chunk: all pending
        txn.Delete("k/2");
        seen.push_back(TxnScan(txn, "k/"));
        seen.push_back(TxnScan(txn, "k/", "k/1"));
      },
  });
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1000);
  EXPECT_EQ(RunnerScan(*runner, kShard, "k/"), Entries{});
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(2)));
  EXPECT_THAT(seen, ElementsAre(Entries{{"k/1", "one"}, {"k/3", "three"}},
                                Entries{{"k/3", "three"}}));
  EXPECT_EQ(RunnerScan(*runner, kShard, "k/"), (Entries{{"k/1", "one"}, {"k/3", "three"}}));
}

// Committed a/1..a/5 (chunk 1), then DeleteRange and writes around it in
// chunk 2; chunk 3 reads through the state cache.
TEST(ProjectionDeleteRange, GetAndScanSeeItALaterPutWinsAndTheCacheForgetsIt) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 3);
  std::vector<Entries> seen;
  std::vector<std::optional<std::string>> got;
  ScriptFold fold({
      [&](ShardId, ProjectionTxn& txn) {
        for (const char* key : {"a/1", "a/2", "a/3", "a/4", "a/5"}) {
          txn.Put(key, absl::StrCat("c", key));
        }
        txn.Put("b/1", "other prefix");
      },
      [&](ShardId, ProjectionTxn& txn) {
        txn.Put("a/6", "p6");                       // pending, then deleted below
        seen.push_back(TxnScan(txn, "a/"));          // orders the domain first
        EXPECT_TRUE(txn.DeleteRange("a/2", "a/5"));  // committed a/2..a/4
        txn.Put("a/3", "new");                       // after the range: wins
        EXPECT_TRUE(txn.DeleteRange("a/6", "a/7"));  // a pending Put
        for (const char* key : {"a/2", "a/3", "a/4", "a/5", "a/6"}) {
          got.push_back(*txn.Get(key));
        }
        seen.push_back(TxnScan(txn, "a/"));
        seen.push_back(TxnScan(txn, "a/", "a/1", 1));
      },
      [&](ShardId, ProjectionTxn& txn) {  // committed state, via the cache
        for (const char* key : {"a/2", "a/4", "a/6"}) got.push_back(*txn.Get(key));
      },
  });
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(3)));
  const Entries after = {{"a/1", "ca/1"}, {"a/3", "new"}, {"a/5", "ca/5"}};
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].size(), 6u);
  EXPECT_EQ(seen[1], after);
  EXPECT_EQ(seen[2], (Entries{{"a/3", "new"}}));
  EXPECT_THAT(got, ElementsAre(std::nullopt, Optional(std::string("new")), std::nullopt,
                               Optional(std::string("ca/5")), std::nullopt, std::nullopt,
                               std::nullopt, std::nullopt));
  EXPECT_EQ(RunnerScan(*runner, kShard, "a/"), after);
  EXPECT_EQ(StateOf(*runner, kShard, "b/1"), "other prefix");
  EXPECT_GT(runner->Stats().state_cache_hits, 0u);
}

// A range written after a Put inside an earlier range cannot widen that one
// (it would hide the Put); it widens another range it touches instead.
TEST(ProjectionDeleteRange, WideningNeverHidesAPutMadeAfterTheRange) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 1);
  std::vector<std::optional<std::string>> got;
  ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
    for (const char* key : {"k/1", "k/2", "k/3", "k/4", "k/5"}) txn.Put(key, "v");
    EXPECT_TRUE(txn.DeleteRange("k/1", "k/3"));
    txn.Put("k/2", "kept");                      // inside the first range, after it
    EXPECT_TRUE(txn.DeleteRange("k/3", "k/4"));  // touches the first: a new range
    got.push_back(*txn.Get("k/2"));
    got.push_back(*txn.Get("k/3"));
    EXPECT_TRUE(txn.DeleteRange("k/35", "k/5"));  // widens the second to [k/3, k/5)
    got.push_back(*txn.Get("k/2"));
    got.push_back(*txn.Get("k/4"));
    got.push_back(*txn.Get("k/5"));
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(1)));
  EXPECT_THAT(got, ElementsAre(Optional(std::string("kept")), std::nullopt,
                               Optional(std::string("kept")), std::nullopt,
                               Optional(std::string("v"))));
  EXPECT_EQ(RunnerScan(*runner, kShard, "k/"), (Entries{{"k/2", "kept"}, {"k/5", "v"}}));
}

// The same state written with point deletes and with DeleteRange digests
// the same: a range deletion changes how state is written, not what it is.
TEST(ProjectionDeleteRange, StateDigestEqualsThatOfPointDeletes) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 2);
  auto fill = [](ShardId, ProjectionTxn& txn) {
    for (int i = 0; i < 100; ++i) txn.Put(absl::StrCat("d/", 100 + i), absl::StrCat(i));
  };
  ScriptFold ranged({fill, [](ShardId, ProjectionTxn& txn) {
                       txn.Put("d/150", "pending");  // hidden by the range, never written
                       EXPECT_TRUE(txn.DeleteRange("d/110", "d/160"));
                     }},
                    1);
  ScriptFold pointwise({fill, [](ShardId, ProjectionTxn& txn) {
                          for (int i = 110; i < 160; ++i) txn.Delete(absl::StrCat("d/", i));
                        }},
                       2);
  std::unique_ptr<ProjectionRunner> a = MakeRunner(*log, ranged, 1);
  std::unique_ptr<ProjectionRunner> b = MakeRunner(*log, pointwise, 1);
  ASSERT_THAT(a->CatchUp(kShard), Holds(Sequence(2)));
  ASSERT_THAT(b->CatchUp(kShard), Holds(Sequence(2)));
  EXPECT_EQ(RunnerScan(*a, kShard, "d/", "", 1000).size(), 50u);
  EXPECT_EQ(Digest(*a, kShard), Digest(*b, kShard));
}

// A chunk that fails after a DeleteRange commits none of it.
TEST(ProjectionDeleteRange, AFailedChunkCommitsNothingOfIt) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 2);
  ScriptFold fold({[](ShardId, ProjectionTxn& txn) { txn.Put("x/1", "v"); },
                   [](ShardId, ProjectionTxn& txn) {
                     EXPECT_TRUE(txn.DeleteRange("x/", "x/9"));
                     txn.Put(std::string(kProjectionKeyBytesMax + 1, 'k'), "poison");
                   }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  EXPECT_THAT(runner->CatchUp(kShard), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("sequence 1: key")));
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(1));
  EXPECT_EQ(StateOf(*runner, kShard, "x/1"), "v");
}

// Chunk 1 writes kCrashKeys keys, chunk 2 deletes the middle half with one
// DeleteRange and writes a marker; with `block_fd` >= 0 chunk 2 then writes
// a byte to it and blocks (so a SIGKILL lands between the DeleteRange and
// the commit).
constexpr int kCrashKeys = 20'000;
// The two chunks of the kill test. With `signal_fd` >= 0 each chunk writes
// one byte to it once folded (before its commit); with `pause` the second
// chunk then waits there for the SIGKILL.
ScriptFold CrashFold(int signal_fd, bool pause_after_delete_range) {
  auto signal = [signal_fd] {
    char byte = 'x';
    if (signal_fd >= 0 && write(signal_fd, &byte, 1) != 1) _exit(3);
  };
  return ScriptFold({[signal](ShardId, ProjectionTxn& txn) {
                       for (int i = 0; i < kCrashKeys; ++i) {
                         txn.Put(absl::StrFormat("d/%06d", i), "v");
                       }
                       signal();
                     },
                     [signal, pause_after_delete_range](ShardId, ProjectionTxn& txn) {
                       txn.DeleteRange(absl::StrFormat("d/%06d", kCrashKeys / 4),
                                       absl::StrFormat("d/%06d", 3 * kCrashKeys / 4));
                       txn.Put("m", "marker");
                       signal();
                       if (pause_after_delete_range) pause();  // until SIGKILL
                     }});
}

// A real process folds the two chunks and is SIGKILLed before, inside or
// after the commit of the DeleteRange chunk (a fixed point between the
// DeleteRange and the commit, then seeded kill points: right after the
// fork, or as soon as the child reports chunk 1 or 2 folded, while it
// commits): after each kill the state is that of chunk 0, 1 or 2 exactly
// as its checkpoint says, and a restarted CatchUp ends at the state of an
// uninterrupted fold.
TEST(ProjectionDeleteRange, SigkillLeavesTheChunkInOrOutWhole) {
  // LEADLOG_CRASH_SEED=<seed> replays the kill points (not the timing of
  // the commit they race).
  const char* replay = std::getenv("LEADLOG_CRASH_SEED");
  const unsigned seed = replay != nullptr ? static_cast<unsigned>(std::strtoul(replay, nullptr, 10))
                                          : std::random_device{}();
  std::printf("seed %u (LEADLOG_CRASH_SEED replays it)\n", seed);
  std::mt19937 random(seed);
  std::string expected_digest;
  {
    LogFixture reference;
    std::unique_ptr<EventLog> log = reference.Open();
    AppendEvents(*log, kShard, "a", 2);
    ScriptFold fold = CrashFold(-1, false);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
    ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(2)));
    expected_digest = Digest(*runner, kShard);
  }
  for (int round = 0; round < 6; ++round) {
    SCOPED_TRACE(absl::StrCat("seed ", seed, " round ", round));
    LogFixture f;
    {
      std::unique_ptr<EventLog> log = f.Open();
      AppendEvents(*log, kShard, "a", 2);
    }  // closed: the child opens it alone
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    const bool block = round == 0;
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(pipe_fds[0]);
      absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(f.Options());
      if (!log.ok()) _exit(2);
      ScriptFold fold = CrashFold(pipe_fds[1], block);
      ProjectionRunnerOptions options;
      options.records_per_commit = 1;
      options.sync_per_commit = false;
      absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
          ProjectionRunner::Create(log->get(), &fold, options);
      _exit(runner.ok() && (*runner)->CatchUp(kShard).ok() ? 0 : 1);
    }
    close(pipe_fds[1]);
    // Chunks folded before the kill: both when blocking (the child waits
    // between chunk 2's DeleteRange and its commit), else 0..2 (seeded).
    const int folded = block ? 2 : std::uniform_int_distribution<int>(0, 2)(random);
    for (int i = 0; i < folded; ++i) {
      char byte = 0;
      ASSERT_EQ(read(pipe_fds[0], &byte, 1), 1);  // chunk i + 1 is folded
    }
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    close(pipe_fds[0]);

    std::unique_ptr<EventLog> log = f.Open();
    ScriptFold fold = CrashFold(-1, false);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
    const Sequence checkpoint = runner->Checkpoint(kShard);
    std::printf("round %d: killed at checkpoint %llu\n", round,
                static_cast<unsigned long long>(checkpoint.value()));
    const size_t keys = RunnerScan(*runner, kShard, "d/", "", kCrashKeys + 1).size();
    const std::optional<std::string> marker = StateOf(*runner, kShard, "m");
    if (block) {
      EXPECT_EQ(checkpoint, Sequence(1));
    }
    if (checkpoint == Sequence(0)) {
      EXPECT_EQ(keys, 0u);
    } else if (checkpoint == Sequence(1)) {
      EXPECT_EQ(keys, static_cast<size_t>(kCrashKeys));
      EXPECT_EQ(marker, std::nullopt);
    } else {
      EXPECT_EQ(keys, static_cast<size_t>(kCrashKeys / 2));
      EXPECT_EQ(marker, "marker");
    }
    ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(2)));
    EXPECT_EQ(Digest(*runner, kShard), expected_digest);
  }
}

TEST(ProjectionDeleteRange, DistinctRangesUpToTheLimitAreKeptThenRefused) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 1);
  std::vector<bool> accepted;
  ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
    auto key = [](size_t i, char c) { return absl::StrFormat("r/%05d%c", i, c); };
    for (size_t i = 0; i <= kProjectionTxnRangeDeletesMax; ++i) txn.Put(key(i, 'k'), "v");
    bool all = true;  // [r/<i>a, r/<i>z): disjoint, not touching
    for (size_t i = 0; i < kProjectionTxnRangeDeletesMax; ++i) {
      all = txn.DeleteRange(key(i, 'a'), key(i, 'z')) && all;
    }
    accepted.push_back(all);
    accepted.push_back(txn.DeleteRange(key(kProjectionTxnRangeDeletesMax, 'a'),
                                       key(kProjectionTxnRangeDeletesMax, 'z')));
    accepted.push_back(txn.DeleteRange(key(3, 'b'), key(4, 'b')));  // widens range 3
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(1)));
  EXPECT_THAT(accepted, ElementsAre(true, false, true));
  // Only the refused range's key is left.
  EXPECT_THAT(RunnerScan(*runner, kShard, "r/"),
              ElementsAre(std::pair<std::string, std::string>(
                  absl::StrFormat("r/%05dk", kProjectionTxnRangeDeletesMax), "v")));
}

TEST(ProjectionDeleteRange, InvalidRangesFailTheChunkNamingTheArgument) {
  const std::pair<std::string, std::string> bad[] = {
      {"", "a"},
      {std::string(kProjectionKeyBytesMax + 1, 'a'), std::string(kProjectionKeyBytesMax + 2, 'a')},
      {"a", std::string(kProjectionKeyBytesMax + 2, 'a')},
      {"b", "a"}};
  const char* names[] = {"begin: 0 bytes", "begin: 1025 bytes", "end: 1026 bytes",
                         "end: sorts before begin"};
  for (size_t i = 0; i < 4; ++i) {
    LogFixture f;
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "a", 1);
    ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
      txn.DeleteRange(bad[i].first, bad[i].second);
    }});
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
    EXPECT_THAT(runner->CatchUp(kShard),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(names[i])));
  }
  // The longest end (a key of the maximum size ‖ 0x00) is accepted.
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 1);
  ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
    const std::string longest(kProjectionKeyBytesMax, 'z');
    txn.Put(longest, "v");
    EXPECT_TRUE(txn.DeleteRange("z", longest + std::string(1, '\0')));
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(1)));
  EXPECT_EQ(RunnerScan(*runner, kShard, "z"), Entries{});
}

// Pending keys are ordered per scan domain (first kProjectionTxnScanDomainBytes
// of a Scan's prefix) from the first Scan on; past kProjectionTxnScanDomainsMax
// domains every key is ordered. Scans stay exact either way, for keys written
// before and after the domain was first scanned.
TEST(ProjectionScan, ScansStayExactAcrossAndBeyondTheScanDomainLimit) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 1);
  const size_t domains = kProjectionTxnScanDomainsMax + 4;
  std::vector<Entries> seen;
  ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
    for (size_t d = 0; d < domains; ++d) txn.Put(absl::StrFormat("%03d/b", d), "before");
    for (size_t d = 0; d < domains; ++d) {
      seen.push_back(TxnScan(txn, absl::StrFormat("%03d/", d)));
      txn.Put(absl::StrFormat("%03d/a", d), "after");
      txn.Put(absl::StrFormat("%03d/c", d), "after");
    }
    for (size_t d = 0; d < domains; ++d) seen.push_back(TxnScan(txn, absl::StrFormat("%03d/", d)));
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(1)));
  ASSERT_EQ(seen.size(), 2 * domains);
  for (size_t d = 0; d < domains; ++d) {
    const std::string p = absl::StrFormat("%03d/", d);
    EXPECT_EQ(seen[d], (Entries{{p + "b", "before"}})) << d;
    EXPECT_EQ(seen[domains + d], (Entries{{p + "a", "after"}, {p + "b", "before"}, {p + "c", "after"}}))
        << d;
  }
}

TEST(ProjectionScan, PrefixBoundsAreExactAndBytewise) {
  // Keys around prefix "ab", including bytes >= 0x80 (bytewise order, as
  // RocksDB and std::string compare) and a prefix ending in 0xff.
  const std::vector<std::string> keys = {"a", "aa\xff", "ab", std::string("ab\0", 3), "ab\x7f",
                                         "ab\xff", "ab\xff\xff", "ac", "b"};
  const Entries want_ab = {{"ab", "v"}, {std::string("ab\0", 3), "v"}, {"ab\x7f", "v"},
                           {"ab\xff", "v"}, {"ab\xff\xff", "v"}};
  const Entries want_ab_ff = {{"ab\xff", "v"}, {"ab\xff\xff", "v"}};
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 2);
  std::vector<Entries> pending;
  std::vector<Entries> committed;
  auto scans = [&](ProjectionTxn& txn, std::vector<Entries>& out) {
    out.push_back(TxnScan(txn, "ab"));
    out.push_back(TxnScan(txn, "ab\xff"));
    out.push_back(TxnScan(txn, "ab", "a"));    // `after` before the prefix
    out.push_back(TxnScan(txn, "ab", "ab"));   // `after` equal to the prefix
    out.push_back(TxnScan(txn, "ab", "ac"));   // `after` past the prefix
    out.push_back(TxnScan(txn, ""));           // everything
  };
  ScriptFold fold({
      [&](ShardId, ProjectionTxn& txn) {
        for (const std::string& key : keys) txn.Put(key, "v");
        scans(txn, pending);
      },
      [&](ShardId, ProjectionTxn& txn) { scans(txn, committed); },
  });
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), Holds(Sequence(2)));
  Entries all;
  for (const std::string& key : keys) all.emplace_back(key, "v");
  for (const std::vector<Entries>* seen : {&pending, &committed}) {
    ASSERT_EQ(seen->size(), 6u);
    EXPECT_EQ((*seen)[0], want_ab);
    EXPECT_EQ((*seen)[1], want_ab_ff);
    EXPECT_EQ((*seen)[2], want_ab);
    EXPECT_EQ((*seen)[3], Entries(want_ab.begin() + 1, want_ab.end()));
    EXPECT_EQ((*seen)[4], Entries{});
    EXPECT_EQ((*seen)[5], all);  // state only: not the checkpoint key
  }
  EXPECT_EQ(RunnerScan(*runner, kShard, "ab"), want_ab);
  EXPECT_EQ(RunnerScan(*runner, kShard, "ab\xff"), want_ab_ff);
}

TEST(ProjectionScan, ShardsDoNotLeakIntoEachOther) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  const ShardId other(1);
  const ShardId third(2);
  AppendEvents(*log, kShard, "a", 1);
  AppendEvents(*log, other, "b", 1);
  AppendEvents(*log, third, "c", 1);
  Entries seen_in_other;
  ScriptFold fold({[&](ShardId shard, ProjectionTxn& txn) {
    txn.Put("k", absl::StrCat("shard", shard.value()));
    txn.Put("z", absl::StrCat("shard", shard.value()));
    if (shard == other) seen_in_other = TxnScan(txn, "");
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  ASSERT_THAT(runner->CatchUp(kShard), IsOk());
  ASSERT_THAT(runner->CatchUp(third), IsOk());
  ASSERT_THAT(runner->CatchUp(other), IsOk());  // its neighbours are committed
  EXPECT_EQ(seen_in_other, (Entries{{"k", "shard1"}, {"z", "shard1"}}));
  EXPECT_EQ(RunnerScan(*runner, kShard, ""), (Entries{{"k", "shard0"}, {"z", "shard0"}}));
  EXPECT_EQ(RunnerScan(*runner, other, "k"), (Entries{{"k", "shard1"}}));
  EXPECT_EQ(RunnerScan(*runner, ShardId(3), ""), Entries{});
}

TEST(ProjectionScan, InvalidArgumentsAreRejected) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 1);
  const std::string too_long(kProjectionKeyBytesMax + 1, 'k');
  const std::string at_limit(kProjectionKeyBytesMax, 'k');
  std::vector<absl::Status> in_txn;
  ScriptFold fold({[&](ShardId, ProjectionTxn& txn) {
    txn.Put(at_limit, "v");
    in_txn.push_back(txn.Scan(too_long, "", 1).status());
    in_txn.push_back(txn.Scan("", too_long, 1).status());
    in_txn.push_back(txn.Scan("k", "", 0).status());
    absl::StatusOr<std::vector<ProjectionEntry>> ok = txn.Scan(at_limit, at_limit.substr(1), 1);
    in_txn.push_back(ok.status());
    EXPECT_THAT(Pairs(ok), ElementsAre(std::make_pair(at_limit, std::string("v"))));
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
  ASSERT_THAT(runner->CatchUp(kShard), IsOk());
  EXPECT_THAT(in_txn, ElementsAre(StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("prefix: 1025 bytes")),
                                  StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("after: 1025 bytes")),
                                  StatusIs(absl::StatusCode::kInvalidArgument,
                                           HasSubstr("limit: 0")),
                                  IsOk()));
  EXPECT_THAT(runner->Scan(kShard, too_long, "", 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix: 1025 bytes")));
  EXPECT_THAT(runner->Scan(kShard, "", too_long, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("after: 1025 bytes")));
  EXPECT_THAT(runner->Scan(kShard, "", "", 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit: 0")));
  EXPECT_EQ(RunnerScan(*runner, kShard, at_limit, "", 1), (Entries{{at_limit, "v"}}));
}

TEST(ProjectionRunner, FamilyVersionBuildsTheSameFoldIntoAnotherFamily) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendEvents(*log, kShard, "a", 5);
  ASSERT_OK(log->AppendClockTick(kShard));
  CountingFold fold("counts", 1);
  std::unique_ptr<ProjectionRunner> live = MakeRunner(*log, fold);
  ASSERT_THAT(live->CatchUp(kShard), Holds(Sequence(6)));

  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.records_per_commit = 2;
  options.family_version = 4;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> rebuilt =
      ProjectionRunner::Create(log.get(), &fold, options);
  ASSERT_OK(rebuilt);
  EXPECT_EQ((*rebuilt)->Checkpoint(kShard), Sequence(0));  // its own checkpoints
  EXPECT_EQ(StateOf(**rebuilt, kShard, "lead:u:user0"), std::nullopt);
  ASSERT_THAT((*rebuilt)->CatchUp(kShard), Holds(Sequence(6)));
  EXPECT_EQ(Digest(**rebuilt, kShard), Digest(*live, kShard));
  EXPECT_NE(Digest(**rebuilt, kShard), "cbf29ce484222325");
  EXPECT_EQ(RunnerScan(**rebuilt, kShard, "lead:"), RunnerScan(*live, kShard, "lead:"));

  absl::StatusOr<std::unique_ptr<ProjectionCatalog>> catalog = ProjectionCatalog::Create(log.get());
  ASSERT_OK(catalog);
  EXPECT_THAT((*catalog)->Versions("counts"), Holds(ElementsAre(1u, 4u)));
  ASSERT_OK((*catalog)->SetActiveVersion("counts", 4));
  ASSERT_OK((*catalog)->DropVersion("counts", 1));
  EXPECT_THAT((*catalog)->Versions("counts"), Holds(ElementsAre(4u)));
  EXPECT_OK(log->Verify());

  // Errors name the family version (and the fold's, when they differ).
  CountingFold failing("counts", 1);
  failing.fail_at = 6;
  options.family_version = 4;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> again =
      ProjectionRunner::Create(log.get(), &failing, options);
  ASSERT_OK(again);
  EXPECT_EQ((*again)->Checkpoint(kShard), Sequence(6));
  AppendEvents(*log, kShard, "b", 1);
  EXPECT_THAT((*again)->CatchUp(kShard),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("projection counts v4 (fold v1) shard 0 sequence 6")));
  options.family_version = 1;  // equal to the fold's: the default label
  CountingFold failing_v1("counts", 1);
  failing_v1.fail_at = 0;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> same =
      ProjectionRunner::Create(log.get(), &failing_v1, options);
  ASSERT_OK(same);
  EXPECT_THAT((*same)->CatchUp(kShard),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("projection counts v1 shard 0")));
}

// Projection families are read point by point (mostly keys the fold asks
// for and often absent) and rewritten often: their tables carry a bloom
// filter, and the upper levels (flush output, level 1) are not compressed
// (docs/BENCHMARKS.md "Fold locks and projection family options"). Checked
// on the table files themselves, after a flush, and again after a reopen.
TEST(ProjectionRunner, ProjectionFamilyTablesHaveABloomFilterAndUncompressedUpperLevels) {
  LogFixture f;
  const std::string family = internal::ProjectionFamilyName("counts", 1);
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, absl::StrCat("r", round), 5);
    CountingFold fold("counts", 1);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
    ASSERT_THAT(runner->CatchUp(kShard), IsOk());
    internal::Store* store = internal::StoreOf(log.get());
    ASSERT_NE(store, nullptr);
    rocksdb::ColumnFamilyHandle* handle = store->ExtraFamily(family);
    ASSERT_NE(handle, nullptr);
    ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), handle).ok());
    rocksdb::TablePropertiesCollection tables;
    ASSERT_TRUE(store->db()->GetPropertiesOfAllTables(handle, &tables).ok());
    ASSERT_EQ(tables.size(), size_t(round + 1)) << "round " << round;
    for (const auto& [file, properties] : tables) {
      EXPECT_EQ(properties->filter_policy_name, "bloomfilter") << file;
      EXPECT_EQ(properties->compression_name, "NoCompression") << file;
    }
    // The log's own record family keeps the default (compressed, no filter).
    rocksdb::TablePropertiesCollection log_tables;
    ASSERT_TRUE(store->db()->Flush(rocksdb::FlushOptions(), store->families().log).ok());
    ASSERT_TRUE(store->db()->GetPropertiesOfAllTables(store->families().log, &log_tables).ok());
    ASSERT_FALSE(log_tables.empty());
    for (const auto& [file, properties] : log_tables) {
      EXPECT_EQ(properties->filter_policy_name, "") << file;
      EXPECT_NE(properties->compression_name, "NoCompression") << file;
    }
  }
}

TEST(ProjectionRunner, FamilyVersionOnAReadOnlyLogNeedsAnExistingFamily) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendEvents(*log, kShard, "a", 2);
    CountingFold fold("counts", 1);
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold);
    ASSERT_THAT(runner->CatchUp(kShard), IsOk());
  }
  EventLogOptions log_options = f.Options();
  log_options.read_only = true;
  std::unique_ptr<EventLog> log = LogFixture::Open(log_options);
  CountingFold fold("counts", 1);
  ProjectionRunnerOptions options;
  options.family_version = 2;
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &fold, options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("proj_counts_v2")));
  CountingFold version0("counts", 0);
  EXPECT_THAT(ProjectionRunner::Create(log.get(), &version0, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("version: 0")));
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
