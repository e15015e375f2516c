// The outbox emitter through a real Kafka protocol peer (librdkafka's mock
// cluster): every action published exactly once, in order per shard, across
// restarts, lost cursors, rebuilds and delivery failures.
#include "consumers/outbox_emitter.h"

#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/cursors.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "engine/testing/wait.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/outbox_test_support.h"

namespace leadlog {
namespace {

using ::leadlog::testing::ActionFold;
using ::leadlog::testing::MockCluster;
using ::leadlog::testing::ReadBack;
using ::leadlog::testing::RunnerSource;
using ::leadlog::testing::StatusIs;
using ::leadlog::testing::TempDir;
using ::testing::HasSubstr;

// Actions the fold writes for events [0, n) of a shard: one each, two for
// every third.
size_t ActionsFor(int events) { return static_cast<size_t>(events + (events + 2) / 3); }

class OutboxEmitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventLogOptions options;
    options.data_dir = dir_.path() + "/db";
    options.sync_per_batch = false;
    auto log = EventLog::Open(options);
    ASSERT_OK(log.status());
    log_ = std::move(*log);
    runner_ = MakeRunner(1);
    source_ = std::make_unique<RunnerSource>(runner_.get(), log_.get());
  }

  std::unique_ptr<ProjectionRunner> MakeRunner(uint32_t family_version) {
    ProjectionRunnerOptions options;
    options.family_version = family_version;
    options.sync_per_commit = false;
    auto runner = ProjectionRunner::Create(log_.get(), &fold_, options);
    EXPECT_OK(runner.status());
    return runner.ok() ? std::move(*runner) : nullptr;
  }

  // Appends events [from, to) to each shard and folds them into `runner`.
  void AddEvents(const std::vector<int>& shards, int from, int to,
                 ProjectionRunner* runner = nullptr) {
    for (int s : shards) {
      ASSERT_OK(testing::AppendEvents(log_.get(), ShardId(s), from, to));
      ASSERT_OK((runner != nullptr ? runner : runner_.get())->CatchUp(ShardId(s)).status());
    }
  }

  OutboxEmitterOptions Options(const MockCluster& cluster, int batch = 100) {
    OutboxEmitterOptions options;
    options.brokers = cluster.bootstrap();
    options.batch = batch;
    options.delivery_timeout_ms = 10000;
    options.idle_ms = 50;
    return options;
  }

  std::unique_ptr<OutboxEmitter> MakeEmitter(OutboxEmitterOptions options,
                                             const OutboxSource* source = nullptr) {
    auto emitter = OutboxEmitter::Create(log_.get(), source != nullptr ? source : source_.get(),
                                         std::move(options));
    EXPECT_OK(emitter.status());
    return emitter.ok() ? std::move(*emitter) : nullptr;
  }

  // Rounds until one publishes nothing; the total.
  size_t Drain(OutboxEmitter& emitter) {
    absl::StatusOr<size_t> total = testing::Drain(emitter);
    EXPECT_OK(total.status());
    return total.value_or(0);
  }

  void ExpectNothingPublished(OutboxEmitter& emitter) {
    absl::StatusOr<size_t> n = emitter.EmitOnce();
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 0u);
  }

  std::vector<ReadBack> Topic(const MockCluster& cluster) {
    auto all = testing::ReadTopic(cluster.bootstrap(), kActionsTopic);
    EXPECT_OK(all.status());
    return all.ok() ? *all : std::vector<ReadBack>{};
  }

  // Checks every message against the outbox, and that the topic holds each
  // outbox entry of every shard exactly once, in key order per shard.
  void ExpectEachActionOnce(const std::vector<ReadBack>& messages, int partitions) {
    absl::flat_hash_map<std::string, int> seen;
    std::map<uint32_t, std::string> last_key;
    for (const ReadBack& m : messages) {
      v1::Action action;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(m.value, &action).ok()) << m.value;
      const std::string key = absl::HexStringToBytes(m.headers.at("leadlog-outbox-key"));
      EXPECT_EQ(m.headers.at("leadlog-action-id"), action.action_id());
      EXPECT_EQ(m.headers.at("leadlog-shard"), std::to_string(action.shard()));
      EXPECT_EQ(m.headers.at("content-type"), "application/json");
      EXPECT_EQ(m.key, action.lead_key());
      EXPECT_EQ(m.partition, static_cast<int>(action.shard() % partitions)) << action.action_id();
      EXPECT_GT(key, last_key[action.shard()]) << "out of order: " << action.action_id();
      last_key[action.shard()] = key;
      auto stored = runner_->Get(ShardId(action.shard()), key);
      ASSERT_OK(stored.status());
      ASSERT_TRUE(stored->has_value()) << action.action_id();
      v1::Action original;
      ASSERT_TRUE(original.ParseFromString(**stored));
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(action, original))
          << action.action_id();
      ++seen[action.action_id()];
    }
    size_t outbox = 0;
    for (ShardId shard : log_->Shards()) {
      auto entries = runner_->Scan(shard, kOutboxPrefix, "", 1'000'000);
      ASSERT_OK(entries.status());
      outbox += entries->size();
    }
    EXPECT_EQ(seen.size(), outbox);
    for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << id << " published " << count << " times";
  }

  TempDir dir_;
  ActionFold fold_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ProjectionRunner> runner_;
  std::unique_ptr<RunnerSource> source_;
};

TEST_F(OutboxEmitterTest, EmitsEveryActionOnceInOrderPerShard) {
  MockCluster cluster(4);
  AddEvents({0, 1, 2}, 0, 250);
  auto emitter = MakeEmitter(Options(cluster, 100));
  ASSERT_NE(emitter, nullptr);
  absl::StatusOr<size_t> first = emitter->EmitOnce();
  ASSERT_OK(first.status());
  EXPECT_EQ(*first, 300u) << "one round: at most `batch` per shard";
  EXPECT_EQ(Drain(*emitter), 3 * ActionsFor(250) - 300);
  std::vector<ReadBack> messages = Topic(cluster);
  EXPECT_EQ(messages.size(), 3 * ActionsFor(250));
  ExpectEachActionOnce(messages, 4);
  OutboxEmitterCounters c = emitter->counters();
  EXPECT_EQ(c.published, 3 * ActionsFor(250));
  EXPECT_EQ(c.recovered_skipped, 0u);
  ASSERT_EQ(c.shards.size(), 3u);
  EXPECT_TRUE(c.shards[2].has_cursor);
  EXPECT_EQ(c.shards[2].sequence, Sequence(249));
  // The cursor is the last key, stored.
  auto cursor = LoadCursor(log_.get(), kEmitterCursorName, ShardId(1));
  ASSERT_OK(cursor.status());
  EXPECT_EQ(*cursor, OutboxKey(Sequence(249), 1));
  EXPECT_THAT(messages.front().value, HasSubstr("\"action_id\":\"")) << "proto field names";
}

TEST_F(OutboxEmitterTest, RoundsStopAtTheByteLimitAndServeTheShardsInTurn) {
  MockCluster cluster(4);
  AddEvents({0, 1, 2}, 0, 50);
  OutboxEmitterOptions options = Options(cluster, 100);
  options.round_bytes_max = 1;  // every message is larger: one per round
  auto emitter = MakeEmitter(options);
  ASSERT_NE(emitter, nullptr);
  // Shard 0 has 50 events of actions pending, yet the next rounds serve
  // shards 1 and 2 before coming back to it.
  auto cursors = [&] {
    std::map<uint32_t, std::string> keys;
    for (const auto& s : emitter->counters().shards) keys[s.shard.value()] = s.key;
    return keys;
  };
  for (uint32_t shard : {0u, 1u, 2u, 0u}) {
    std::map<uint32_t, std::string> before = cursors();
    absl::StatusOr<size_t> n = emitter->EmitOnce();
    ASSERT_OK(n.status());
    EXPECT_EQ(*n, 1u);
    std::map<uint32_t, std::string> after = cursors();
    for (uint32_t s : {0u, 1u, 2u}) {
      EXPECT_EQ(after[s] != before[s], s == shard) << "the round for shard " << shard
                                                   << " moved shard " << s;
    }
  }
  // A limit one message can reach still lets the round fill up to it.
  options.round_bytes_max = 20'000;
  auto second = MakeEmitter(options);
  ASSERT_NE(second, nullptr);
  absl::StatusOr<size_t> n = second->EmitOnce();
  ASSERT_OK(n.status());
  EXPECT_GT(*n, 1u);
  EXPECT_LT(*n, 3 * ActionsFor(50) - 4);
  Drain(*second);
  ExpectEachActionOnce(Topic(cluster), 4);
}

TEST_F(OutboxEmitterTest, SeveralShardsShareFewerPartitions) {
  MockCluster cluster(2);
  AddEvents({0, 1, 2, 3, 4}, 0, 40);
  auto emitter = MakeEmitter(Options(cluster, 7));
  ASSERT_NE(emitter, nullptr);
  EXPECT_EQ(Drain(*emitter), 5 * ActionsFor(40));
  ExpectEachActionOnce(Topic(cluster), 2);
}

TEST_F(OutboxEmitterTest, RestartPublishesOnlyWhatIsNew) {
  MockCluster cluster(4);
  AddEvents({0, 1}, 0, 60);
  {
    auto first = MakeEmitter(Options(cluster, 25));
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(Drain(*first), 2 * ActionsFor(60));
  }
  auto second = MakeEmitter(Options(cluster, 25));
  ASSERT_NE(second, nullptr);
  ExpectNothingPublished(*second);
  EXPECT_EQ(second->counters().recovered_skipped, 0u);
  AddEvents({0, 1}, 60, 90);
  EXPECT_EQ(Drain(*second), 2 * (ActionsFor(90) - ActionsFor(60)));
  std::vector<ReadBack> messages = Topic(cluster);
  EXPECT_EQ(messages.size(), 2 * ActionsFor(90));
  ExpectEachActionOnce(messages, 4);
}

TEST_F(OutboxEmitterTest, LostCursorIsRecoveredFromTheTopicNotRepublished) {
  MockCluster cluster(3);
  AddEvents({0, 1, 2, 3}, 0, 30);
  OutboxEmitterOptions options = Options(cluster, 10);
  std::vector<CursorUpdate> before_last_round;
  {
    // Remember the cursors before each round: the last round's "crash"
    // rewinds to them (as if the process died before storing its cursors).
    auto first = MakeEmitter(options);
    ASSERT_NE(first, nullptr);
    while (true) {
      std::vector<CursorUpdate> now;
      for (int s = 0; s < 4; ++s) {
        now.push_back({ShardId(s), LoadCursor(log_.get(), kEmitterCursorName, ShardId(s))->value_or("")});
      }
      absl::StatusOr<size_t> n = first->EmitOnce();
      ASSERT_OK(n.status());
      if (*n == 0) break;
      before_last_round = now;
    }
  }
  ASSERT_OK(StoreCursors(log_.get(), kEmitterCursorName, before_last_round, true));
  auto second = MakeEmitter(options);
  ASSERT_NE(second, nullptr);
  ExpectNothingPublished(*second);
  EXPECT_GT(second->counters().recovered_skipped, 0u);
  // Wiped entirely: the highest published key is still in the tail.
  for (int s = 0; s < 4; ++s) ASSERT_OK(StoreCursor(log_.get(), kEmitterCursorName, ShardId(s), "", true));
  auto third = MakeEmitter(options);
  ASSERT_NE(third, nullptr);
  ExpectNothingPublished(*third);
  AddEvents({0, 3}, 30, 45);
  EXPECT_EQ(Drain(*third), 2 * (ActionsFor(45) - ActionsFor(30)));
  ExpectEachActionOnce(Topic(cluster), 3);
}

TEST_F(OutboxEmitterTest, RebuiltProjectionWithTheSameOutboxPublishesNothingNew) {
  MockCluster cluster(4);
  AddEvents({0, 1}, 0, 50);
  {
    auto emitter = MakeEmitter(Options(cluster));
    ASSERT_NE(emitter, nullptr);
    EXPECT_EQ(Drain(*emitter), 2 * ActionsFor(50));
  }
  // Blue/green: version 2 rebuilds from sequence 0 in its own family.
  std::unique_ptr<ProjectionRunner> rebuilt = MakeRunner(2);
  ASSERT_NE(rebuilt, nullptr);
  for (int s : {0, 1}) ASSERT_OK(rebuilt->CatchUp(ShardId(s)).status());
  RunnerSource rebuilt_source(rebuilt.get(), log_.get());
  auto emitter = MakeEmitter(Options(cluster), &rebuilt_source);
  ASSERT_NE(emitter, nullptr);
  ExpectNothingPublished(*emitter);
  AddEvents({1}, 50, 60, rebuilt.get());
  EXPECT_EQ(Drain(*emitter), ActionsFor(60) - ActionsFor(50));
  ASSERT_OK(runner_->CatchUp(ShardId(1)).status());  // for the comparison below
  ExpectEachActionOnce(Topic(cluster), 4);
}

TEST_F(OutboxEmitterTest, DeliveryFailureFailsTheRoundAndKeepsTheCursor) {
  MockCluster cluster(2);
  AddEvents({0, 1}, 0, 20);
  OutboxEmitterOptions options = Options(cluster, 1000);
  options.delivery_timeout_ms = 1500;
  auto emitter = MakeEmitter(options);
  ASSERT_NE(emitter, nullptr);
  EXPECT_EQ(Drain(*emitter), 2 * ActionsFor(20));
  const std::string cursor = LoadCursor(log_.get(), kEmitterCursorName, ShardId(0))->value_or("");
  AddEvents({0, 1}, 20, 40);
  cluster.SetDown(true);
  EXPECT_THAT(emitter->EmitOnce(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("not delivered")));
  EXPECT_EQ(LoadCursor(log_.get(), kEmitterCursorName, ShardId(0))->value_or(""), cursor);
  EXPECT_EQ(emitter->counters().failed_rounds, 1u);
  cluster.SetDown(false);
  // The next rounds recover (whatever landed is not sent again) and finish.
  ASSERT_TRUE(testing::WaitFor([&] { return emitter->EmitOnce().ok(); }, absl::Seconds(60)));
  Drain(*emitter);
  EXPECT_EQ(LoadCursor(log_.get(), kEmitterCursorName, ShardId(0))->value_or(""),
            OutboxKey(Sequence(39), 1));
  ExpectEachActionOnce(Topic(cluster), 2);
}

// A missing topic (NotFound from metadata) is not testable here: librdkafka
// 2.0.2's mock creates any topic a metadata request names, whatever
// allow.auto.create.topics says.

TEST_F(OutboxEmitterTest, RunPublishesWhatIsNotifiedUntilStopped) {
  MockCluster cluster(4);
  AddEvents({0, 1}, 0, 10);
  auto emitter = MakeEmitter(Options(cluster, 4));
  ASSERT_NE(emitter, nullptr);
  std::atomic<bool> stop{false};
  absl::Status run_status;
  std::thread run([&] { run_status = emitter->Run(stop); });
  ASSERT_TRUE(testing::WaitFor([&] { return emitter->counters().published == 2 * ActionsFor(10); },
                               absl::Seconds(60)));
  AddEvents({1}, 10, 30);
  emitter->Notify();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return emitter->counters().published == ActionsFor(10) + ActionsFor(30); },
      absl::Seconds(60)));
  stop = true;
  emitter->Notify();
  run.join();
  EXPECT_OK(run_status);
  ExpectEachActionOnce(Topic(cluster), 4);
}

TEST(OutboxEmitterCreate, BadOptionsAndUnreachableBrokersAreRejected) {
  TempDir dir;
  EventLogOptions log_options;
  log_options.data_dir = dir.path() + "/db";
  auto log = EventLog::Open(log_options);
  ASSERT_OK(log.status());
  ActionFold fold;
  auto runner = ProjectionRunner::Create(log->get(), &fold, {});
  ASSERT_OK(runner.status());
  RunnerSource source(runner->get(), log->get());
  OutboxEmitterOptions options;
  // Create with `options` fails with InvalidArgument naming `field`.
  auto rejected = [&](absl::string_view field) {
    EXPECT_THAT(OutboxEmitter::Create(log->get(), &source, options).status(),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(std::string(field))));
  };
  rejected("brokers");
  options.brokers = "127.0.0.1:1";
  options.batch = 0;
  rejected("batch");
  options.batch = kEmitterBatchMax + 1;
  rejected("batch");
  options.batch = kEmitterBatchMax;
  options.delivery_timeout_ms = 0;
  rejected("delivery_timeout_ms");
  options.delivery_timeout_ms = 1000;
  options.round_bytes_max = 0;
  rejected("round_bytes_max: 0");
  options.round_bytes_max = kEmitterRoundBytesMax + 1;
  rejected("round_bytes_max");
  options.round_bytes_max = kEmitterRoundBytesMax;
  EXPECT_THAT(OutboxEmitter::Create(log->get(), &source, options).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
}

}  // namespace
}  // namespace leadlog
