#include "engine/live_projector.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine/internal/test_util.h"
#include "engine/projection.h"
#include "engine/testing/gated_fold.h"
#include "engine/testing/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::internal::BatchOf;
using ::leadlog::internal::LogFixture;
using ::leadlog::internal::MakeEvent;
using ::leadlog::testing::GatedFold;
using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::leadlog::testing::WaitFor;
using ::testing::HasSubstr;

const ShardId kShardA(0);
const ShardId kShardB(1);

// Appends one batch of `per_shard` events to each of shards A and B.
void AppendBoth(EventLog& log, int batch, int per_shard) {
  std::vector<PendingEvent> events;
  for (ShardId shard : {kShardA, kShardB}) {
    for (int i = 0; i < per_shard; ++i) {
      events.push_back(MakeEvent(shard, absl::StrCat("e", shard.value(), "-", batch, "-", i),
                                 absl::StrCat("user", i % 4)));
    }
  }
  AppendBatch appended = BatchOf(std::move(events));
  ASSERT_THAT(log.Append(appended), IsOk());
}

std::unique_ptr<ProjectionRunner> MakeRunner(EventLog& log, ProjectionFold& fold,
                                             uint32_t family_version) {
  ProjectionRunnerOptions options;
  options.sync_per_commit = false;
  options.family_version = family_version;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(&log, &fold, options);
  EXPECT_THAT(runner, IsOk());
  return runner.ok() ? std::move(*runner) : nullptr;
}

LiveProjectorCallbacks CallbacksFor(ProjectionRunner* runner) {
  LiveProjectorCallbacks callbacks;
  callbacks.catch_up = [runner](ShardId shard) { return runner->CatchUp(shard).status(); };
  callbacks.checkpoint = [runner](ShardId shard) { return runner->Checkpoint(shard); };
  return callbacks;
}

// The projection state equals a rebuild from sequence 0 in another family.
void ExpectRebuildEqual(EventLog& log, const ProjectionRunner& live) {
  GatedFold fresh_fold;
  std::unique_ptr<ProjectionRunner> rebuilt = MakeRunner(log, fresh_fold, 2);
  for (ShardId shard : {kShardA, kShardB}) {
    ASSERT_THAT(rebuilt->CatchUp(shard), IsOk());
    EXPECT_EQ(live.Checkpoint(shard), rebuilt->Checkpoint(shard));
    absl::StatusOr<std::string> live_digest = live.StateDigest(shard);
    absl::StatusOr<std::string> rebuilt_digest = rebuilt->StateDigest(shard);
    ASSERT_THAT(live_digest, IsOk());
    ASSERT_THAT(rebuilt_digest, IsOk());
    EXPECT_EQ(*live_digest, *rebuilt_digest) << "shard " << shard.value();
  }
}

TEST(LiveProjector, IngestAppendsWhileTheProjectionLagsAndWaitsJustPastTheLimit) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  LiveProjectorOptions options;
  options.lag_records_max = 60;  // batches of 10 per shard: 60 is allowed, 70 waits
  std::atomic<int> progress{0};
  std::atomic<int> rounds{0};
  LiveProjectorCallbacks callbacks = CallbacksFor(runner.get());
  callbacks.progress = [&] { ++progress; };
  callbacks.round_done = [&] { ++rounds; };
  auto projector = LiveProjector::Start(log.get(), options, std::move(callbacks));
  ASSERT_THAT(projector, IsOk());

  fold.SetOpen(false);  // the projection stalls in its first Apply
  constexpr int kBatches = 30;
  std::atomic<int> batches_appended{0};
  std::thread writer([&] {
    for (int b = 0; b < kBatches; ++b) {
      AppendBoth(*log, b, 10);
      ++batches_appended;
      EXPECT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
    }
  });
  // Ingest keeps appending while nothing is projected, up to the limit:
  // after the batch that takes the lag to 70 (> 60) the writer waits.
  ASSERT_TRUE(WaitFor([&] { return (*projector)->counters().waits == 1; }, absl::Seconds(30)));
  EXPECT_EQ(batches_appended.load(), 7);
  EXPECT_FALSE(WaitFor([&] { return batches_appended.load() > 7; }, absl::Milliseconds(300)));
  EXPECT_EQ(log->Position(kShardA), Sequence(70));
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(0));
  EXPECT_EQ((*projector)->counters().lag_records_max_seen, 70u);

  fold.SetOpen(true);
  writer.join();
  (*projector)->Stop();
  const LiveProjectorCounters c = (*projector)->counters();
  EXPECT_LE(c.lag_records_max_seen, options.lag_records_max + 10);
  EXPECT_EQ(c.errors, 0u);
  // One progress call per successful shard catch-up, one round_done per pass
  // over (here) both shards.
  EXPECT_EQ(static_cast<uint64_t>(progress.load()), c.catch_ups);
  EXPECT_GT(rounds.load(), 0);
  EXPECT_LE(static_cast<uint64_t>(rounds.load()) * 2, c.catch_ups);
  // Stop caught up everything that was signalled.
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(kBatches * 10));
  EXPECT_EQ(runner->Checkpoint(kShardB), Sequence(kBatches * 10));
  ExpectRebuildEqual(*log, *runner);
}

TEST(LiveProjector, LagAtTheLimitDoesNotWait) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  LiveProjectorOptions options;
  options.lag_records_max = 20;
  auto projector = LiveProjector::Start(log.get(), options, CallbacksFor(runner.get()));
  ASSERT_THAT(projector, IsOk());
  fold.SetOpen(false);
  AppendBoth(*log, 0, 20);  // lag 20 == the limit: returns at once
  EXPECT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  EXPECT_EQ((*projector)->counters().waits, 0u);
  fold.SetOpen(true);
  (*projector)->Stop();
  EXPECT_EQ(runner->Checkpoint(kShardB), Sequence(20));
}

TEST(LiveProjector, ManySmallAppendsWithTheLiveProjectionRebuildEqual) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  LiveProjectorOptions options;
  options.lag_records_max = 1;  // the smallest bound: nearly lock-step
  auto projector = LiveProjector::Start(log.get(), options, CallbacksFor(runner.get()));
  ASSERT_THAT(projector, IsOk());
  for (int b = 0; b < 50; ++b) {
    AppendBoth(*log, b, 1 + b % 3);
    ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  }
  EXPECT_LE((*projector)->counters().lag_records_max_seen, 1u + 3u);
  (*projector)->Stop();
  ExpectRebuildEqual(*log, *runner);
}

TEST(LiveProjector, FailingCatchUpIsReportedOnceRetriedAndDoesNotStopIngest) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  std::atomic<bool> fail{true};
  std::vector<std::string> errors;  // written on the projector thread only
  LiveProjectorCallbacks callbacks = CallbacksFor(runner.get());
  callbacks.catch_up = [&, r = runner.get()](ShardId shard) -> absl::Status {
    if (fail.load()) return absl::UnavailableError(absl::StrCat("injected, shard ", shard.value()));
    return r->CatchUp(shard).status();
  };
  callbacks.error = [&](const absl::Status& s) { errors.push_back(std::string(s.message())); };
  LiveProjectorOptions options;
  options.lag_records_max = 5;
  options.threads = 1;  // shard A fails first: with two threads either shard may
  auto projector = LiveProjector::Start(log.get(), options, std::move(callbacks));
  ASSERT_THAT(projector, IsOk());
  for (int b = 0; b < 3; ++b) {  // lag 10, 20, 30 > 5: each returns once the catch-up failed
    AppendBoth(*log, b, 10);
    ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  }
  EXPECT_GE((*projector)->counters().errors, 2u);  // both shards failed at least once
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(0));
  fail = false;
  AppendBoth(*log, 3, 10);
  ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  // The next round retries both shards and catches them up.
  ASSERT_TRUE(WaitFor([&] { return runner->Checkpoint(kShardB) == Sequence(40); }, absl::Seconds(30)));
  (*projector)->Stop();
  ASSERT_EQ(errors.size(), 1u);  // one report per failure streak
  EXPECT_THAT(errors[0], HasSubstr("injected, shard 0"));
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(40));
  ExpectRebuildEqual(*log, *runner);
}

TEST(LiveProjector, StopReleasesAWaitingAppendedAndAppendedAfterStopNeverWaits) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  LiveProjectorOptions options;
  options.lag_records_max = 5;
  auto projector = LiveProjector::Start(log.get(), options, CallbacksFor(runner.get()));
  ASSERT_THAT(projector, IsOk());
  fold.SetOpen(false);
  AppendBoth(*log, 0, 10);
  std::atomic<bool> returned{false};
  std::thread writer([&] {
    EXPECT_THAT((*projector)->Appended({kShardA}), IsOk());
    returned = true;
  });
  ASSERT_TRUE(WaitFor([&] { return (*projector)->counters().waits == 1; }, absl::Seconds(30)));
  EXPECT_FALSE(returned.load());
  std::thread stopper([&] { (*projector)->Stop(); });
  fold.SetOpen(true);  // the final round can finish
  stopper.join();
  writer.join();
  EXPECT_TRUE(returned.load());
  AppendBoth(*log, 1, 10);
  EXPECT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());  // stopped: no wait
  EXPECT_EQ((*projector)->counters().waits, 1u);
}

// A catch_up callback that counts how many calls run at once, per shard and
// in total, around the runner's CatchUp.
struct ConcurrencyProbe {
  absl::Mutex mu;
  std::map<ShardId, int> running;
  int running_total = 0;
  int max_per_shard = 0;
  int max_total = 0;
  void Enter(ShardId shard) {
    absl::MutexLock lock(&mu);
    max_per_shard = std::max(max_per_shard, ++running[shard]);
    max_total = std::max(max_total, ++running_total);
  }
  void Leave(ShardId shard) {
    absl::MutexLock lock(&mu);
    --running[shard];
    --running_total;
  }
};

TEST(LiveProjector, TwoShardsFoldConcurrentlyOnTwoThreads) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  // Shard A's catch-up returns only once shard B's has started: with one
  // thread, or with the shards of a pass folded one after the other, B never
  // starts while A waits and A gives up at the deadline.
  absl::Notification b_started;
  std::atomic<bool> a_saw_b{false};
  LiveProjectorCallbacks callbacks = CallbacksFor(runner.get());
  callbacks.catch_up = [&, r = runner.get()](ShardId shard) -> absl::Status {
    if (shard == kShardB) {
      b_started.Notify();
    } else if (b_started.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      a_saw_b = true;
    }
    return r->CatchUp(shard).status();
  };
  LiveProjectorOptions options;
  options.threads = 2;
  auto projector = LiveProjector::Start(log.get(), options, std::move(callbacks));
  ASSERT_THAT(projector, IsOk());
  EXPECT_EQ((*projector)->threads(), 2u);
  AppendBoth(*log, 0, 10);
  ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  (*projector)->Stop();
  EXPECT_TRUE(a_saw_b.load()) << "shard A's catch-up never overlapped shard B's";
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(10));
  EXPECT_EQ(runner->Checkpoint(kShardB), Sequence(10));
}

TEST(LiveProjector, EachShardFoldsOnOneThreadAtATimeInOrderWithManyThreads) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ConcurrencyProbe probe;
  std::atomic<int> rounds{0};
  LiveProjectorCallbacks callbacks = CallbacksFor(runner.get());
  callbacks.catch_up = [&, r = runner.get()](ShardId shard) -> absl::Status {
    probe.Enter(shard);
    // Checkpoints only grow: each shard's records are folded in order.
    const Sequence before = r->Checkpoint(shard);
    absl::StatusOr<Sequence> after = r->CatchUp(shard);
    probe.Leave(shard);
    if (!after.ok()) return after.status();
    if (*after < before) return absl::InternalError("checkpoint went back");
    return absl::OkStatus();
  };
  callbacks.round_done = [&] { ++rounds; };
  LiveProjectorOptions options;
  options.threads = kLiveProjectorThreadsMax;
  options.lag_records_max = 3;
  auto projector = LiveProjector::Start(log.get(), options, std::move(callbacks));
  ASSERT_THAT(projector, IsOk());
  EXPECT_EQ((*projector)->threads(), kLiveProjectorThreadsMax);
  for (int b = 0; b < 200; ++b) {
    AppendBoth(*log, b, 1 + b % 3);
    ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  }
  (*projector)->Stop();
  EXPECT_EQ((*projector)->counters().errors, 0u);
  EXPECT_EQ(probe.max_per_shard, 1);  // never two catch-ups of one shard at once
  EXPECT_LE(probe.max_total, 2);      // at most one per shard
  EXPECT_GT(rounds.load(), 0);
  EXPECT_EQ(runner->Checkpoint(kShardA), log->Position(kShardA));
  ExpectRebuildEqual(*log, *runner);
}

TEST(LiveProjector, StopWhileTwoThreadsFoldFinishesBothAndCatchesUpTheRest) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ConcurrencyProbe probe;
  LiveProjectorCallbacks callbacks = CallbacksFor(runner.get());
  callbacks.catch_up = [&, r = runner.get()](ShardId shard) -> absl::Status {
    probe.Enter(shard);
    absl::Status status = r->CatchUp(shard).status();
    probe.Leave(shard);
    return status;
  };
  LiveProjectorOptions options;
  options.threads = 2;
  auto projector = LiveProjector::Start(log.get(), options, std::move(callbacks));
  ASSERT_THAT(projector, IsOk());
  fold.SetOpen(false);  // both threads stall inside their shard's first Apply
  AppendBoth(*log, 0, 10);
  ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  ASSERT_TRUE(WaitFor([&] {
    absl::MutexLock lock(&probe.mu);
    return probe.running_total == 2;
  }, absl::Seconds(30)));
  AppendBoth(*log, 1, 5);  // signalled while the pass folds: Stop's last pass takes it
  ASSERT_THAT((*projector)->Appended({kShardA, kShardB}), IsOk());
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    (*projector)->Stop();
    stopped = true;
  });
  EXPECT_FALSE(WaitFor([&] { return stopped.load(); }, absl::Milliseconds(200)));
  fold.SetOpen(true);
  stopper.join();
  EXPECT_EQ(runner->Checkpoint(kShardA), Sequence(15));
  EXPECT_EQ(runner->Checkpoint(kShardB), Sequence(15));
  EXPECT_EQ((*projector)->counters().errors, 0u);
  ExpectRebuildEqual(*log, *runner);
}

TEST(LiveProjector, StartRejectsBadOptionsNamingTheField) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  GatedFold fold;
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  LiveProjectorOptions options;
  options.lag_records_max = 0;
  EXPECT_THAT(LiveProjector::Start(log.get(), options, CallbacksFor(runner.get())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lag_records_max: 0")));
  options.lag_records_max = kProjectionLagRecordsMax + 1;
  EXPECT_THAT(LiveProjector::Start(log.get(), options, CallbacksFor(runner.get())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lag_records_max")));
  options.lag_records_max = kProjectionLagRecordsMax;
  EXPECT_THAT(LiveProjector::Start(log.get(), options, CallbacksFor(runner.get())), IsOk());
  options.threads = kLiveProjectorThreadsMax + 1;
  EXPECT_THAT(LiveProjector::Start(log.get(), options, CallbacksFor(runner.get())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("threads: 17")));
  options.threads = kLiveProjectorThreadsMax;
  EXPECT_THAT(LiveProjector::Start(log.get(), options, CallbacksFor(runner.get())), IsOk());
  LiveProjectorCallbacks missing = CallbacksFor(runner.get());
  missing.checkpoint = nullptr;
  EXPECT_THAT(LiveProjector::Start(log.get(), LiveProjectorOptions{}, missing),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("callbacks")));
}

}  // namespace
}  // namespace leadlog
