// Integration through a real Kafka protocol peer (librdkafka's mock cluster):
// produce -> KafkaIngest -> EventLog, read back.
#include "consumers/kafka_ingest.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "consumers/embedded_broker.h"
#include "engine/live_projector.h"
#include "engine/projection.h"
#include "engine/testing/gated_fold.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "engine/testing/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::leadlog::testing::TempDir;
using ::testing::HasSubstr;

constexpr int kPartitions = 4;

std::string TrackJson(int i, const std::string& name = "Page Viewed") {
  return absl::StrCat("{\"type\":\"track\",\"messageId\":\"m-", i, "\",\"anonymousId\":\"a-", i % 97,
                      "\",\"event\":\"", name, "\",\"timestamp\":\"2026-01-05T09:00:00Z\"}");
}

class Producer {
 public:
  explicit Producer(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    conf->set("bootstrap.servers", brokers, error);
    conf->set("enable.idempotence", "true", error);
    conf->set("linger.ms", "5", error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
  }
  void Send(const std::string& key, const std::string& value) {
    while (producer_->produce(kEventsTopic, RdKafka::Topic::PARTITION_UA,
                              RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                              value.size(), key.data(), key.size(), 0, nullptr) ==
           RdKafka::ERR__QUEUE_FULL) {
      producer_->poll(10);
    }
  }
  // Events i in [from, to) as JSON track calls.
  void SendRange(int from, int to) {
    for (int i = from; i < to; ++i) Send(absl::StrCat("a-", i % 97), TrackJson(i));
    Flush();
  }
  void Flush() { ASSERT_EQ(producer_->flush(30000), RdKafka::ERR_NO_ERROR); }

 private:
  std::unique_ptr<RdKafka::Producer> producer_;
};

// Runs one KafkaIngest on its own thread.
class RunningIngest {
 public:
  RunningIngest(const KafkaIngestOptions& options, EventLog* log) {
    auto created = KafkaIngest::Create(options, log);
    EXPECT_OK(created.status());
    ingest_ = std::move(*created);
    thread_ = std::thread([this] { status_ = ingest_->Run(); });
  }
  ~RunningIngest() { EXPECT_OK(Stop()); }
  absl::Status Stop() {
    if (thread_.joinable()) {
      ingest_->Stop();
      thread_.join();
    }
    return status_;
  }
  KafkaIngest* operator->() { return ingest_.get(); }

 private:
  std::unique_ptr<KafkaIngest> ingest_;
  std::thread thread_;
  absl::Status status_;
};

class KafkaIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddedBrokerOptions broker_options;
    broker_options.partitions = kPartitions;
    auto broker = EmbeddedBroker::Start(broker_options);
    ASSERT_OK(broker.status());
    broker_ = std::move(*broker);
    log_ = OpenLog();
  }

  std::unique_ptr<EventLog> OpenLog() {
    EventLogOptions options;
    options.data_dir = dir_.path() + "/db";
    options.sync_per_batch = false;
    auto log = EventLog::Open(options);
    EXPECT_OK(log.status());
    return log.ok() ? std::move(*log) : nullptr;
  }

  KafkaIngestOptions Options(const std::string& group = "it") {
    KafkaIngestOptions options;
    options.clock_tick_interval_ms = 0;  // only the tick test wants ticks
    options.brokers = broker_->bootstrap();
    options.group = group;
    options.properties = {{"session.timeout.ms", "4000"}, {"heartbeat.interval.ms", "500"}};
    return options;
  }

  uint64_t Appended() {
    uint64_t total = 0;
    for (ShardId shard : log_->Shards()) total += log_->Stats(shard).events_appended;
    return total;
  }

  // event id -> number of records carrying it, over all shards.
  absl::flat_hash_map<std::string, int> EventIdCounts() {
    absl::flat_hash_map<std::string, int> counts;
    for (ShardId shard : log_->Shards()) {
      EXPECT_OK(log_->ReadRange(shard, Sequence(0), log_->Position(shard),
                                [&](const v1::LogRecord& r) {
                                  if (r.has_event()) ++counts[r.event().event_id()];
                                  return absl::OkStatus();
                                }));
    }
    return counts;
  }

  int TicksIn(ShardId shard) {
    int ticks = 0;
    EXPECT_OK(log_->ReadRange(shard, Sequence(0), log_->Position(shard), [&](const v1::LogRecord& r) {
      ticks += r.has_clock_tick() ? 1 : 0;
      return absl::OkStatus();
    }));
    return ticks;
  }

  bool EndsWithTick(ShardId shard) {
    const Sequence end = log_->Position(shard);
    if (end.value() == 0) return false;
    bool tick = false;
    EXPECT_OK(log_->ReadRange(shard, Sequence(end.value() - 1), end, [&](const v1::LogRecord& r) {
      tick = r.has_clock_tick();
      return absl::OkStatus();
    }));
    return tick;
  }

  // A tick marks idleness: it never follows the shard's previous record
  // (event or tick) by much less than `interval_ms` (log time is wall time,
  // idleness is measured on the monotonic clock: half of it as slack), and
  // the shard's last record is a tick because it ended idle.
  void ExpectTicksMarkIdleness(int64_t interval_ms) {
    for (int p = 0; p < kPartitions; ++p) {
      int64_t previous_ms = -1;
      bool last_is_tick = false;
      ASSERT_OK(log_->ReadRange(ShardId(p), Sequence(0), log_->Position(ShardId(p)),
                                [&](const v1::LogRecord& r) {
                                  if (r.has_clock_tick() && previous_ms >= 0) {
                                    EXPECT_GE(r.log_time_ms() - previous_ms, interval_ms / 2)
                                        << "shard " << p << " sequence " << r.sequence();
                                  }
                                  previous_ms = r.log_time_ms();
                                  last_is_tick = r.has_clock_tick();
                                  return absl::OkStatus();
                                }));
      EXPECT_TRUE(last_is_tick) << "shard " << p;
    }
  }

  void ExpectEachEventOnce(int from, int to) {
    auto counts = EventIdCounts();
    EXPECT_EQ(counts.size(), static_cast<size_t>(to - from));
    for (int i = from; i < to; ++i) {
      ASSERT_EQ(counts[absl::StrCat("m-", i)], 1) << "event m-" << i;
    }
    EXPECT_OK(log_->Verify());
  }

  TempDir dir_;
  std::unique_ptr<EmbeddedBroker> broker_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(KafkaIngestTest, ProducedEventsAreIngestedExactlyOnceWithTheirOffsets) {
  Producer(broker_->bootstrap()).SendRange(0, 3000);
  RunningIngest ingest(Options(), log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 3000; }, absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  ExpectEachEventOnce(0, 3000);
  int64_t stored = 0;
  for (ShardId shard : log_->Shards()) {
    stored += log_->StoredOffset(shard, kEventsTopic).value_or(KafkaOffset(0)).value();
    ShardStats stats = log_->Stats(shard);
    ASSERT_EQ(stats.offsets.size(), 1u);
    EXPECT_EQ(stats.offsets[0].first, kEventsTopic) << "offsets are stored under the topic's name";
  }
  EXPECT_EQ(stored, 3000) << "stored offsets must cover exactly what was consumed";
  v1::LogRecord first;
  ASSERT_OK(log_->ReadRange(log_->Shards()[0], Sequence(0), Sequence(1), [&](const v1::LogRecord& r) {
    first = r;
    return absl::OkStatus();
  }));
  EXPECT_EQ(first.source().topic(), kEventsTopic);
  EXPECT_EQ(first.event().name(), "Page Viewed");
}

TEST_F(KafkaIngestTest, RepublishedMessageIdsAreCountedAsDuplicatesNotAppended) {
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 500);
  producer.SendRange(0, 500);  // a producer retry storm: same messageIds again
  RunningIngest ingest(Options(), log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return ingest->counters().duplicates == 500; },
                               absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  EXPECT_EQ(ingest->counters().appended, 500u);
  ExpectEachEventOnce(0, 500);
}

TEST_F(KafkaIngestTest, PoisonMessagesAreDeadLetteredAndIngestContinues) {
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 100);
  producer.Send("a-1", "{\"type\":\"track\",\"anonymousId\":\"a-1\",\"event\":\"No Id\"}");
  producer.Send("a-2", std::string("\xff\xfe garbage", 11));
  producer.Send("a-3", "{\"type\":\"track\",\"messageId\":\"x\",\"anonymousId\":\"a\",\"event\":\"E\","
                       "\"properties\":" + std::string(40, '[') + std::string(40, ']') + "}");
  producer.Flush();
  producer.SendRange(100, 200);
  RunningIngest ingest(Options(), log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return ingest->counters().appended == 200 &&
                                            ingest->counters().dead_letters == 3; },
                               absl::Seconds(60)));
  ASSERT_TRUE(testing::WaitFor([&] { return ingest->counters().dead_letters_published == 3; },
                               absl::Seconds(30)));
  ASSERT_OK(ingest.Stop());
  ExpectEachEventOnce(0, 200);
  std::vector<std::string> fields;
  for (ShardId shard : log_->Shards()) {
    ASSERT_OK(log_->ReadDeadLetters(shard, [&](const v1::DeadLetter& d) {
      fields.push_back(d.field());
      EXPECT_FALSE(d.reason().empty());
      EXPECT_EQ(d.source().topic(), kEventsTopic);
      EXPECT_EQ(d.raw().size(), d.raw_size());
      return absl::OkStatus();
    }));
  }
  EXPECT_THAT(fields, ::testing::UnorderedElementsAre("messageId", "", ::testing::StartsWith("properties")));
}

TEST_F(KafkaIngestTest, RestartResumesFromStoredOffsetsNotKafkaCommits) {
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 400);
  {
    RunningIngest first(Options("group-a"), log_.get());
    ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 400; }, absl::Seconds(60)));
  }
  producer.SendRange(400, 700);
  // A new group has no committed offsets: only the stored ones prevent a
  // re-read (which would show up as duplicates).
  RunningIngest second(Options("group-b"), log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 700; }, absl::Seconds(60)));
  ASSERT_OK(second.Stop());
  EXPECT_EQ(second->counters().duplicates, 0u);
  EXPECT_EQ(second->counters().messages, 300u);
  ExpectEachEventOnce(0, 700);
}

TEST_F(KafkaIngestTest, RebalanceBetweenTwoConsumersLosesAndDuplicatesNothing) {
  Producer producer(broker_->bootstrap());
  std::atomic<bool> producing{true};
  std::atomic<int> produced{0};
  std::thread feeder([&] {
    Producer p(broker_->bootstrap());
    for (int wave = 0; producing.load() && wave < 200; ++wave) {
      p.SendRange(wave * 50, wave * 50 + 50);
      produced = wave * 50 + 50;
      // Keep the feed just ahead of ingest, so it spans both rebalances.
      testing::WaitFor([&] { return !producing.load() || Appended() + 200 >= uint64_t(produced.load()); },
                       absl::Seconds(30));
    }
  });
  KafkaIngestOptions options = Options("rebalance");
  options.batch.batch_events_max = 100;
  auto a = std::make_unique<RunningIngest>(options, log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() >= 500; }, absl::Seconds(60)));
  auto b = std::make_unique<RunningIngest>(options, log_.get());  // join: partitions move
  ASSERT_TRUE(testing::WaitFor([&] { return !(*b)->Assignment().empty(); }, absl::Seconds(60)));
  uint64_t before_leave = Appended();
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() >= before_leave + 300; }, absl::Seconds(60)));
  ASSERT_OK(a->Stop());  // leave: b takes everything
  a.reset();
  ASSERT_TRUE(testing::WaitFor([&] { return (*b)->Assignment().size() == kPartitions; },
                               absl::Seconds(60)));
  producing = false;
  feeder.join();
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == static_cast<uint64_t>(produced.load()); },
                               absl::Seconds(60)));
  ASSERT_OK(b->Stop());
  EXPECT_GE((*b)->counters().rebalances, 2u);
  ExpectEachEventOnce(0, produced.load());
}

// Kafka's committed offsets of `group` on the events topic, summed over the
// partitions (-1 when a query fails). They are advisory: only dashboards read
// them, but they must keep being written whichever way partitions are owned.
int64_t CommittedTotal(const std::string& brokers, const std::string& group) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  conf->set("bootstrap.servers", brokers, error);
  conf->set("group.id", group, error);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  std::vector<RdKafka::TopicPartition*> partitions;
  for (int p = 0; p < kPartitions; ++p) partitions.push_back(RdKafka::TopicPartition::create(kEventsTopic, p));
  int64_t total = consumer->committed(partitions, 10000) == RdKafka::ERR_NO_ERROR ? 0 : -1;
  for (RdKafka::TopicPartition* tp : partitions) {
    if (total >= 0 && tp->offset() >= 0) total += tp->offset();
  }
  RdKafka::TopicPartition::destroy(partitions);
  consumer->close();
  return total;
}

TEST_F(KafkaIngestTest, AssignedPartitionsRestartFromStoredOffsetsWithoutAGroupJoin) {
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 400);
  KafkaIngestOptions options = Options("assigned-a");
  options.assign_partitions = true;
  {
    RunningIngest first(options, log_.get());
    ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 400; }, absl::Seconds(60)));
    EXPECT_EQ(first->Assignment().size(), static_cast<size_t>(kPartitions));
    ASSERT_OK(first.Stop());
    EXPECT_EQ(first->counters().rebalances, 0u) << "no group assigned anything";
  }
  EXPECT_TRUE(testing::WaitFor([&] { return CommittedTotal(broker_->bootstrap(), "assigned-a") == 400; },
                               absl::Seconds(30)))
      << "advisory commits are written without group membership too";
  producer.SendRange(400, 700);
  // Another group, without committed offsets: only the stored offsets keep
  // the restart from re-reading (which would show up as duplicates).
  options.group = "assigned-b";
  RunningIngest second(options, log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 700; }, absl::Seconds(60)));
  ASSERT_OK(second.Stop());
  EXPECT_EQ(second->counters().duplicates, 0u);
  EXPECT_EQ(second->counters().messages, 300u);
  EXPECT_EQ(second->counters().rebalances, 0u);
  ExpectEachEventOnce(0, 700);
}

TEST_F(KafkaIngestTest, AssignedConsumerIsNotAGroupMember) {
  // If the assigning consumer had joined group "shared", a group member
  // arriving later would get only part of the partitions.
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 300);
  KafkaIngestOptions assigned = Options("shared");
  assigned.assign_partitions = true;
  RunningIngest sole(assigned, log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 300; }, absl::Seconds(60)));
  TempDir other_dir;
  EventLogOptions other_options;
  other_options.data_dir = other_dir.path() + "/db";
  other_options.sync_per_batch = false;
  auto other_log = EventLog::Open(other_options);
  ASSERT_OK(other_log.status());
  RunningIngest member(Options("shared"), other_log->get());
  ASSERT_TRUE(testing::WaitFor([&] { return member->Assignment().size() == kPartitions; },
                               absl::Seconds(60)))
      << "the group member got " << member->Assignment().size() << " partitions";
  EXPECT_GE(member->counters().rebalances, 1u);
  producer.SendRange(300, 500);
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 500; }, absl::Seconds(60)));
  ASSERT_OK(sole.Stop());
  ASSERT_OK(member.Stop());
  EXPECT_EQ(sole->counters().rebalances, 0u);
  EXPECT_EQ(sole->Assignment().size(), static_cast<size_t>(kPartitions));
  ExpectEachEventOnce(0, 500);
}

// Forwards to a real log, but Append waits until released.
class GatedLog : public EventLog {
 public:
  explicit GatedLog(EventLog* log) : log_(log) {}
  void Release() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  int appends_waiting() {
    absl::MutexLock lock(&mu_);
    return waiting_;
  }
  absl::StatusOr<AppendResult> Append(AppendBatch& batch) override {
    {
      absl::MutexLock lock(&mu_);
      ++waiting_;
      mu_.Await(absl::Condition(&open_));
      --waiting_;
    }
    return log_->Append(batch);
  }
  absl::StatusOr<Sequence> AppendClockTick(ShardId shard) override { return log_->AppendClockTick(shard); }
  absl::Status PurgeErased(ShardId shard) override { return log_->PurgeErased(shard); }
  absl::Status ReadRange(ShardId s, Sequence f, Sequence t,
                         const std::function<absl::Status(const v1::LogRecord&)>& v) const override {
    return log_->ReadRange(s, f, t, v);
  }
  absl::Status ReadLead(ShardId s, const LeadKey& l,
                        const std::function<absl::Status(const v1::LogRecord&)>& v) const override {
    return log_->ReadLead(s, l, v);
  }
  Sequence Position(ShardId s) const override { return log_->Position(s); }
  std::optional<Sequence> LookupEventId(ShardId s, absl::string_view id) const override {
    return log_->LookupEventId(s, id);
  }
  std::optional<KafkaOffset> StoredOffset(ShardId s, absl::string_view t) const override {
    return log_->StoredOffset(s, t);
  }
  std::vector<ShardId> Shards() const override { return log_->Shards(); }
  ShardStats Stats(ShardId s) const override { return log_->Stats(s); }
  absl::Status ReadDeadLetters(ShardId s,
                               const std::function<absl::Status(const v1::DeadLetter&)>& v) const override {
    return log_->ReadDeadLetters(s, v);
  }
  absl::Status Verify(int problems_max) const override { return log_->Verify(problems_max); }

 private:
  EventLog* log_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(KafkaIngestTest, FullQueuePausesPartitionsAndBoundsWhatIsConsumed) {
  Producer(broker_->bootstrap()).SendRange(0, 4000);
  GatedLog gated(log_.get());
  KafkaIngestOptions options = Options();
  options.batch.batch_events_max = 100;
  options.inflight_bytes_max = 64 * 1024;  // about two batches of these events
  RunningIngest ingest(options, &gated);
  ASSERT_TRUE(testing::WaitFor(
      [&] { return ingest->counters().pauses >= 1 && gated.appends_waiting() == 1; },
      absl::Seconds(60)));
  // The writer is stuck: what is consumed stays bounded by the queue, one
  // open batch and what the poll loop held when it paused, not by the topic.
  EXPECT_FALSE(testing::WaitFor([&] { return ingest->counters().messages >= 1500; },
                                absl::Seconds(1)));
  gated.Release();
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 4000; }, absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  ExpectEachEventOnce(0, 4000);
}

// serve's wiring (DESIGN.md §9): the writer appends and signals a
// LiveProjector, which folds on its own thread. A stalled projection lets
// ingest run ahead only up to its lag limit; then the writer waits, the
// queue fills and the partitions pause. Once the projection moves again
// everything is ingested once and folded to the state a rebuild gives.
TEST_F(KafkaIngestTest, LaggingLiveProjectionHoldsIngestAtItsLagLimit) {
  constexpr int kEvents = 4000;
  constexpr uint64_t kLagMax = 100;
  constexpr int kBatch = 50;
  Producer(broker_->bootstrap()).SendRange(0, kEvents);
  testing::GatedFold fold;
  ProjectionRunnerOptions runner_options;
  runner_options.sync_per_commit = false;
  auto runner = ProjectionRunner::Create(log_.get(), &fold, runner_options);
  ASSERT_OK(runner.status());
  LiveProjectorOptions projector_options;
  projector_options.lag_records_max = kLagMax;
  LiveProjectorCallbacks callbacks;
  callbacks.catch_up = [&](ShardId shard) { return (*runner)->CatchUp(shard).status(); };
  callbacks.checkpoint = [&](ShardId shard) { return (*runner)->Checkpoint(shard); };
  auto projector = LiveProjector::Start(log_.get(), projector_options, std::move(callbacks));
  ASSERT_OK(projector.status());

  fold.SetOpen(false);
  KafkaIngestOptions options = Options();
  options.batch.batch_events_max = kBatch;
  options.inflight_bytes_max = 32 * 1024;  // a few batches of these events
  options.after_append = [&](const std::vector<ShardId>& shards) {
    return (*projector)->Appended(shards);
  };
  RunningIngest ingest(options, log_.get());
  ASSERT_TRUE(testing::WaitFor(
      [&] { return (*projector)->counters().waits >= 1 && ingest->counters().pauses >= 1; },
      absl::Seconds(60)));
  // Ingest appended ahead of the stalled projection, but no shard by more
  // than the limit plus one batch, and it stays there.
  const uint64_t held = Appended();
  EXPECT_GT(held, kLagMax);
  EXPECT_LT(held, static_cast<uint64_t>(kEvents));
  for (ShardId shard : log_->Shards()) {
    EXPECT_LE(log_->Position(shard).value(), kLagMax + kBatch) << "shard " << shard.value();
  }
  EXPECT_FALSE(testing::WaitFor([&] { return Appended() > held; }, absl::Seconds(1)));

  fold.SetOpen(true);
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == kEvents; }, absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  (*projector)->Stop();
  EXPECT_LE((*projector)->counters().lag_records_max_seen, kLagMax + kBatch);
  ExpectEachEventOnce(0, kEvents);
  // Live state == a rebuild from sequence 0 (another family version).
  testing::GatedFold fresh;
  runner_options.family_version = 2;
  auto rebuilt = ProjectionRunner::Create(log_.get(), &fresh, runner_options);
  ASSERT_OK(rebuilt.status());
  for (ShardId shard : log_->Shards()) {
    EXPECT_EQ((*runner)->Checkpoint(shard), log_->Position(shard));
    ASSERT_OK((*rebuilt)->CatchUp(shard).status());
    auto live_digest = (*runner)->StateDigest(shard);
    auto rebuilt_digest = (*rebuilt)->StateDigest(shard);
    ASSERT_OK(live_digest.status());
    ASSERT_OK(rebuilt_digest.status());
    EXPECT_EQ(*live_digest, *rebuilt_digest) << "shard " << shard.value();
  }
}

TEST_F(KafkaIngestTest, LostAssignmentDropsWhatWasHeldAndLosesNothing) {
  Producer(broker_->bootstrap()).SendRange(0, 2000);
  KafkaIngestOptions options = Options("lost");
  options.batch.batch_events_max = kBatchEventsMax;
  options.batch.batch_interval_ms = kBatchIntervalMsMax;  // the open batch is held
  // A poll thread stalled longer than max.poll.interval.ms is thrown out of
  // the group: its next poll reports the assignment as lost.
  options.properties = {{"session.timeout.ms", "3000"},
                        {"heartbeat.interval.ms", "500"},
                        {"max.poll.interval.ms", "3000"}};
  // The progress hook runs on the poll thread: stall it there once messages
  // are held in the open batch.
  absl::Notification stalled, resume;
  options.progress_interval_ms = 50;
  options.progress = [&](const IngestCounters& c) {
    if (c.messages == 0 || stalled.HasBeenNotified()) return;
    stalled.Notify();
    resume.WaitForNotification();
  };
  RunningIngest ingest(options, log_.get());
  ASSERT_TRUE(stalled.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_EQ(Appended(), 0u) << "the held batch must not have been written";
  // Past max.poll.interval.ms (3 s) plus the background check's slack.
  EXPECT_FALSE(testing::WaitFor([&] { return Appended() > 0; }, absl::Seconds(5)));
  resume.Notify();
  ASSERT_TRUE(testing::WaitFor([&] { return ingest->counters().dropped_on_loss > 0; },
                               absl::Seconds(30)));
  // What was dropped is consumed again from the stored offsets.
  ASSERT_TRUE(testing::WaitFor([&] { return Appended() == 2000; }, absl::Seconds(90)));
  ASSERT_OK(ingest.Stop());
  EXPECT_GT(ingest->counters().messages, 2000u) << "dropped messages are consumed twice";
  ExpectEachEventOnce(0, 2000);
}

TEST_F(KafkaIngestTest, StopWritesTheOpenBatchAndItsOffsets) {
  Producer(broker_->bootstrap()).SendRange(0, 50);
  KafkaIngestOptions options = Options();
  options.batch.batch_events_max = kBatchEventsMax;
  options.batch.batch_interval_ms = kBatchIntervalMsMax;  // the batch stays open
  RunningIngest ingest(options, log_.get());
  ASSERT_TRUE(testing::WaitFor([&] { return ingest->counters().messages == 50; }, absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  EXPECT_EQ(Appended(), 50u);
  ExpectEachEventOnce(0, 50);
}

TEST_F(KafkaIngestTest, IdleShardsGetClockTicksSpacedByTheInterval) {
  Producer(broker_->bootstrap()).SendRange(0, 200);
  KafkaIngestOptions options = Options();
  options.clock_tick_interval_ms = 300;
  RunningIngest ingest(options, log_.get());
  // Every assigned shard, busy before or never used, keeps getting ticks.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int p = 0; p < kPartitions; ++p) {
          if (TicksIn(ShardId(p)) < 2) return false;
        }
        return true;
      },
      absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  EXPECT_GE(ingest->counters().clock_ticks, 2u * kPartitions);
  ExpectTicksMarkIdleness(300);
  ExpectEachEventOnce(0, 200);
}

TEST_F(KafkaIngestTest, ATickNeverFollowsABatchTheWriterAppendedLate) {
  // The writer is slow on its first batch (as under load, or behind a
  // stalled projection): messages consumed meanwhile wait in the queue for
  // longer than the tick interval. Their partitions must not count as idle
  // from the consume: a tick would land right after their late append.
  Producer producer(broker_->bootstrap());
  producer.SendRange(0, 20);
  absl::Notification entered, sent;
  std::atomic<int> calls{0};
  KafkaIngestOptions options = Options();
  options.clock_tick_interval_ms = 300;
  options.after_append = [&](const std::vector<ShardId>&) {
    if (calls.fetch_add(1) == 0) {
      entered.Notify();
      sent.WaitForNotification();
      absl::SleepFor(absl::Milliseconds(900));  // the slow writer itself, not a wait for an event
    }
    return absl::OkStatus();
  };
  RunningIngest ingest(options, log_.get());
  entered.WaitForNotification();
  producer.SendRange(20, 220);
  sent.Notify();
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        if (Appended() < 220) return false;
        for (int p = 0; p < kPartitions; ++p) {
          if (!EndsWithTick(ShardId(p))) return false;
        }
        return true;
      },
      absl::Seconds(60)));
  ASSERT_OK(ingest.Stop());
  ExpectTicksMarkIdleness(300);
  ExpectEachEventOnce(0, 220);
}

TEST(KafkaIngestCreate, UnreachableBrokersAreUnavailable) {
  TempDir dir;
  EventLogOptions log_options;
  log_options.data_dir = dir.path() + "/db";
  auto log = EventLog::Open(log_options);
  ASSERT_OK(log.status());
  KafkaIngestOptions options;
  options.brokers = "127.0.0.1:1";
  options.broker_timeout_ms = 1000;
  EXPECT_THAT(KafkaIngest::Create(options, log->get()).status(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("unreachable")));
  options.brokers = "";
  EXPECT_THAT(KafkaIngest::Create(options, log->get()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("brokers")));
  options.brokers = "127.0.0.1:1";
  options.clock_tick_interval_ms = -1;
  EXPECT_THAT(KafkaIngest::Create(options, log->get()).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("clock_tick_interval_ms")));
}

}  // namespace
}  // namespace leadlog
