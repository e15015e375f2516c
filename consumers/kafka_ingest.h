// KafkaIngest: exactly-once ingest of a Kafka topic into an EventLog
// (DESIGN.md invariant 2).
//
// A high-level consumer in a consumer group polls and decodes on the calling
// thread (Run) and hands closed batches to a writer thread through a queue
// bounded in bytes; the writer appends each batch (events, dead letters and
// the partitions' next offsets in one WriteBatch). Kafka's committed offsets
// are advisory (committed after the append, for lag dashboards): on every
// assignment the consumer seeks to the offsets stored in the log. On
// revocation the open batch is closed and written before the partitions are
// given up; on a lost assignment it is dropped. When the queued bytes reach
// inflight_bytes_max the consumer pauses its partitions and resumes them at
// half; at twice the bound the poll thread blocks (a hard memory bound:
// 2 x inflight_bytes_max + one open batch + librdkafka's fetch queue, set by
// queued.max.messages.kbytes).
//
// Thread-safety: Run() on one thread; Stop() from any thread, including a
// signal handler (it only stores an atomic flag); counters() from any thread.
// Lifetime: `log` is borrowed and must outlive the KafkaIngest.
// Durability: as the EventLog's; a message counts as consumed only once its
// effect and offset are in the log.
//
//   KafkaIngestOptions options;
//   options.brokers = "127.0.0.1:9092";
//   ASSIGN_OR_RETURN(auto ingest, KafkaIngest::Create(options, log.get()));
//   std::thread t([&] { status = ingest->Run(); });
//   ...; ingest->Stop(); t.join();
#ifndef LEADLOG_CONSUMERS_KAFKA_INGEST_H_
#define LEADLOG_CONSUMERS_KAFKA_INGEST_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "consumers/ingest.h"
#include "consumers/kafka_util.h"
#include "engine/event_log.h"
#include "engine/ids.h"

namespace leadlog {

struct IngestCounters {
  uint64_t messages = 0;        // Kafka messages consumed into batches
  uint64_t appended = 0;        // log records appended
  uint64_t duplicates = 0;      // events skipped as duplicates
  uint64_t dead_letters = 0;    // dead-letter records stored
  uint64_t erasures = 0;             // erasure records appended (engine/redaction.h)
  uint64_t records_rewritten = 0;    // earlier records they rewrote redacted
  uint64_t dead_letters_erased = 0;  // dead letters whose raw bytes they cleared
  uint64_t batches = 0;         // batches appended
  uint64_t pauses = 0;          // times the partitions were paused (backpressure)
  uint64_t rebalances = 0;      // assignment changes handled
  uint64_t dropped_on_loss = 0; // messages dropped because the assignment was lost
  uint64_t dead_letters_published = 0;   // delivered to the dead-letter topic
  uint64_t dead_letter_publish_errors = 0;
  uint64_t consumer_errors = 0; // transient consumer errors (logged)
  uint64_t clock_ticks = 0;     // ClockTick records appended to idle shards
  uint64_t after_append_errors = 0;  // failed after_append calls (logged)
};

struct KafkaIngestOptions {
  // bootstrap.servers. Required.
  std::string brokers;
  // The events topic and the consumer group.
  std::string topic = kEventsTopic;
  std::string group = "leadlog";
  // Bad messages are also published here (key, value, reason headers); ""
  // keeps only the stored dead-letter record.
  std::string dead_letter_topic = kDeadLetterTopic;
  BatchOptions batch;
  // Bytes of closed batches queued for the writer before partitions pause.
  size_t inflight_bytes_max = kInflightBytesDefault;
  // librdkafka properties applied last (e.g. SASL/TLS, session.timeout.ms).
  KafkaProperties properties;
  // How long start-up waits for a broker to answer before failing.
  int broker_timeout_ms = 10000;
  // How the partitions are owned (DESIGN.md §7).
  //   false: subscribe to `topic` in consumer group `group`; the group
  //     assigns partitions, several processes share them, and every
  //     assignment seeks to the stored offsets (rebalance_cb). Joining costs
  //     the broker's initial rebalance delay (3 s on the mock cluster,
  //     group.initial.rebalance.delay.ms on a real broker) on every start.
  //   true: this process is the topic's only consumer: Run assigns every
  //     partition (counted from metadata at start) directly, at the stored
  //     offsets, without joining the group, so consuming starts as soon as
  //     the broker answers. Nothing stops a second process from consuming
  //     the same partitions into another log, and partitions added to the
  //     topic later are not picked up until a restart. Kafka's committed
  //     offsets are still written (advisory, under `group`).
  // Either way the stored offsets decide where consuming resumes.
  bool assign_partitions = false;
  // Where a shard with no stored offset starts: true = the beginning of the
  // partition (the log is the source of truth), false = the end.
  bool start_from_beginning = true;
  // A shard that has consumed no message for this long gets a ClockTick
  // record, and another each interval while it stays idle, so that log time
  // (and the timers projections fold over it) advances on replay exactly as
  // it did live (DESIGN.md invariant 6). 0 disables ticks.
  int64_t clock_tick_interval_ms = 60'000;
  // Called on the writer thread after each successful append with the
  // shards it wrote to (ascending, each once), before the next batch is
  // appended: serve signals its live projection thread here, which may block
  // (backpressure: engine/live_projector.h bounds the projection's lag; the
  // queue then fills and the partitions pause). An error is logged and
  // counted; ingest goes on.
  std::function<absl::Status(const std::vector<ShardId>&)> after_append;
  // Called on the Run thread about every progress_interval_ms (0 = never).
  std::function<void(const IngestCounters&)> progress;
  int progress_interval_ms = 0;
  // Not owned; nullptr means SystemClock::Get().
  Clock* clock = nullptr;
};

class KafkaIngest {
 public:
  // Validates options and checks that a broker answers: InvalidArgument
  // naming the option, Unavailable "brokers ... unreachable".
  static absl::StatusOr<std::unique_ptr<KafkaIngest>> Create(const KafkaIngestOptions& options,
                                                             EventLog* log);
  ~KafkaIngest();

  // Consumes until Stop() (returns OK after writing the open batch, storing
  // its offsets and leaving the group) or a storage failure (returned).
  absl::Status Run();

  // Asks Run to finish. Async-signal-safe.
  void Stop() { stop_requested_.store(true, std::memory_order_relaxed); }

  IngestCounters counters() const;
  // Partitions currently assigned (by the group, or all of them with
  // assign_partitions once Run has started).
  std::vector<PartitionId> Assignment() const;

  class Impl;

 private:
  explicit KafkaIngest(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_KAFKA_INGEST_H_
