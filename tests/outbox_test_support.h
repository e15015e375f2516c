// Test-only helpers for the outbox emitter tests (outbox_emitter_test,
// outbox_crash_test, outbox_emit_tool): a fold that writes actions, outbox
// sources, a mock cluster with fault injection, and reading a topic back.
//
//   MockCluster cluster(4);                       // 4 partitions of leadlog.actions
//   RunnerSource source(runner.get(), log.get());
//   std::vector<ReadBack> all = ReadTopic(cluster.bootstrap(), kActionsTopic);
#ifndef LEADLOG_TESTS_OUTBOX_TEST_SUPPORT_H_
#define LEADLOG_TESTS_OUTBOX_TEST_SUPPORT_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <librdkafka/rdkafkacpp.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "consumers/outbox_emitter.h"
#include "engine/event_log.h"
#include "engine/outbox.h"
#include "engine/projection.h"

namespace leadlog::testing {

// One action per event record, two for every third record.
class ActionFold : public ProjectionFold {
 public:
  std::string name() const override { return "outbox_emit_test"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (!record.has_event()) return absl::OkStatus();
    const int actions = record.sequence() % 3 == 0 ? 2 : 1;
    for (int i = 0; i < actions; ++i) {
      v1::Action action;
      action.set_sequence(record.sequence());
      action.set_log_time_ms(record.log_time_ms());
      action.set_type(i == 0 ? "handoff" : "notify_owner");
      action.set_lead_key(absl::StrCat("a:", record.event().anonymous_id()));
      if (absl::Status s = WriteAction(txn, shard, std::move(action)); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
};

// Appends `count` events to `shard` (ids "<prefix>-<shard>-<i>").
inline absl::Status AppendEvents(EventLog* log, ShardId shard, int from, int to) {
  AppendBatch batch;
  for (int i = from; i < to; ++i) {
    v1::Event event;
    event.set_event_id(absl::StrCat("ev-", shard.value(), "-", i));
    event.set_type(v1::CALL_TYPE_TRACK);
    event.set_name("Page Viewed");
    event.set_anonymous_id(absl::StrCat("v", i % 13));
    PendingEvent pending;
    pending.shard = shard;
    pending.event_id = event.event_id();
    pending.lead_keys = IndexKeysOf(event);
    pending.event_bytes = event.SerializeAsString();
    batch.events.push_back(std::move(pending));
  }
  return log->Append(batch).status();
}

// The outbox of a projection runner (what the lead engineer wires over the
// active version).
class RunnerSource : public OutboxSource {
 public:
  RunnerSource(const ProjectionRunner* runner, const EventLog* log) : runner_(runner), log_(log) {}
  std::vector<ShardId> Shards() const override { return log_->Shards(); }
  absl::StatusOr<std::vector<ProjectionEntry>> Read(ShardId shard, absl::string_view after_key,
                                                    size_t limit) const override {
    return runner_->Scan(shard, kOutboxPrefix, after_key, limit);
  }

 private:
  const ProjectionRunner* runner_;
  const EventLog* log_;
};

// librdkafka's mock cluster with leadlog.actions, keeping its handle for
// fault injection (EmbeddedBroker hides it).
class MockCluster {
 public:
  explicit MockCluster(int partitions, const std::string& topic = kActionsTopic) {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
    cluster_ = rd_kafka_mock_cluster_new(owner_, 1);
    rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(owner_);
  }
  const std::string& bootstrap() const { return bootstrap_; }
  void SetDown(bool down) {
    if (down) {
      rd_kafka_mock_broker_set_down(cluster_, 1);
    } else {
      rd_kafka_mock_broker_set_up(cluster_, 1);
    }
  }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

// EmitOnce until a round publishes nothing: the total, or the first error.
inline absl::StatusOr<size_t> Drain(OutboxEmitter& emitter) {
  size_t total = 0;
  for (int round = 0; round < 100000; ++round) {
    absl::StatusOr<size_t> n = emitter.EmitOnce();
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    total += *n;
  }
  return total;
}

struct ReadBack {
  int partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  bool null_value = false;  // a tombstone (no payload at all)
  std::map<std::string, std::string> headers;
};

// Every message of every partition of `topic`, in partition then offset
// order.
inline absl::StatusOr<std::vector<ReadBack>> ReadTopic(const std::string& brokers,
                                                       const std::string& topic) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", brokers}, {"group.id", "outbox-test-reader"},
           {"enable.auto.commit", "false"}, {"enable.partition.eof", "true"}, {"log_level", "3"}}) {
    conf->set(k, v, error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) return absl::InternalError(error);
  RdKafka::Metadata* raw = nullptr;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
  if (consumer->metadata(false, t.get(), &raw, 10000) != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError("metadata");
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  std::vector<RdKafka::TopicPartition*> assignment;
  std::map<int, int64_t> high_of;
  for (const RdKafka::TopicMetadata* tm : *metadata->topics()) {
    if (tm->topic() != topic) continue;
    for (const RdKafka::PartitionMetadata* p : *tm->partitions()) {
      int64_t low = 0, high = 0;
      consumer->query_watermark_offsets(topic, p->id(), &low, &high, 10000);
      if (high > low) {
        high_of[p->id()] = high;
        assignment.push_back(RdKafka::TopicPartition::create(topic, p->id(), low));
      }
    }
  }
  std::vector<ReadBack> out;
  if (assignment.empty()) return out;
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!high_of.empty() && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT || m->err() == RdKafka::ERR__PARTITION_EOF) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(m->errstr());
    ReadBack r;
    r.partition = m->partition();
    r.offset = m->offset();
    if (m->key() != nullptr) r.key = *m->key();
    r.null_value = m->payload() == nullptr;
    if (!r.null_value) r.value.assign(static_cast<const char*>(m->payload()), m->len());
    if (RdKafka::Headers* h = m->headers(); h != nullptr) {
      for (const RdKafka::Headers::Header& header : h->get_all()) {
        r.headers[header.key()] =
            std::string(static_cast<const char*>(header.value()), header.value_size());
      }
    }
    out.push_back(std::move(r));
    if (auto it = high_of.find(m->partition()); it != high_of.end() && m->offset() + 1 >= it->second) {
      high_of.erase(it);
    }
  }
  consumer->close();
  if (!high_of.empty()) return absl::DeadlineExceededError("topic not read to its end");
  std::stable_sort(out.begin(), out.end(), [](const ReadBack& a, const ReadBack& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

}  // namespace leadlog::testing

#endif  // LEADLOG_TESTS_OUTBOX_TEST_SUPPORT_H_
