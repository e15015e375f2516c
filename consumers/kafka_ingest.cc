#include "consumers/kafka_ingest.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <iostream>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "consumers/internal/batch_queue.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"

namespace leadlog {

using internal::BatchQueue;
using internal::QueuedBatch;

namespace {

// Counts dead-letter deliveries (librdkafka calls it from producer->poll).
class DeliveryCounter : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      delivered.fetch_add(1, std::memory_order_relaxed);
    } else {
      failed.fetch_add(1, std::memory_order_relaxed);
      std::cerr << "leadlog: dead-letter publish failed: " << message.errstr() << "\n";
    }
  }
  std::atomic<uint64_t> delivered{0};
  std::atomic<uint64_t> failed{0};
};

// Logs consumer-side errors; librdkafka retries them by itself.
class ErrorLogger : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override {
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    errors.fetch_add(1, std::memory_order_relaxed);
    if (quiet.load(std::memory_order_relaxed)) return;
    std::cerr << "leadlog: kafka: " << RdKafka::err2str(event.err()) << ": " << event.str() << "\n";
  }
  std::atomic<uint64_t> errors{0};
  // Set while tearing down a consumer that never ran (Create failed and
  // already reported why): the close's connection errors are noise.
  std::atomic<bool> quiet{false};
};

std::string HeaderValue(const RdKafka::Headers* headers, const std::string& name) {
  if (headers == nullptr) return std::string();
  RdKafka::Headers::Header header = headers->get_last(name);
  if (header.err() != RdKafka::ERR_NO_ERROR || header.value() == nullptr) return std::string();
  return std::string(static_cast<const char*>(header.value()), header.value_size());
}

}  // namespace

class KafkaIngest::Impl : public RdKafka::RebalanceCb {
 public:
  Impl(const KafkaIngestOptions& options, EventLog* log)
      : options_(options),
        log_(log),
        clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
        // Pausing starts at inflight_bytes_max; the queue itself blocks the
        // poll thread only at twice that, a hard bound that pausing keeps us
        // from reaching except when a paused fetch still delivers.
        queue_(2 * options.inflight_bytes_max),
        builder_(options.batch) {}

  // The Kafka handles go first: their destructors may still call the
  // callback members (rebalance, event, delivery) declared after them.
  ~Impl() override {
    if (consumer_ != nullptr && !consumer_closed_) {
      error_logger_.quiet = true;
      closing_ = true;
      consumer_->close();
    }
    consumer_.reset();
    dead_letter_producer_.reset();
  }

  absl::Status Init();
  absl::Status Run(const std::atomic<bool>& stop_requested);
  absl::Status AssignAllPartitions();
  void rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override;

  IngestCounters counters() const;
  std::vector<PartitionId> Assignment() const {
    absl::MutexLock lock(&mu_);
    return assignment_;
  }

 private:
  void SeekToStoredOffsets(const std::vector<RdKafka::TopicPartition*>& partitions) const;
  void RecordAssignment(const std::vector<RdKafka::TopicPartition*>& current);
  void WriterLoop();
  void RunAfterAppend(const QueuedBatch& item);
  void PublishDeadLetters(const AppendBatch& batch);
  void CommitAdvisory(const AppendBatch& batch);
  void CloseBatch();
  void CloseBatchAndDrain();
  void DropHeld();
  void Backpressure();
  void TickIdleShards();
  void ReportProgress();
  absl::Status FatalError() const {
    absl::MutexLock lock(&mu_);
    return fatal_;
  }

  const KafkaIngestOptions options_;
  EventLog* const log_;
  Clock* const clock_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::unique_ptr<RdKafka::Producer> dead_letter_producer_;
  DeliveryCounter delivery_counter_;
  ErrorLogger error_logger_;
  BatchQueue queue_;
  BatchBuilder builder_;  // poll thread only
  bool consumer_closed_ = false;  // Run closed it (closing twice is an error)
  int64_t batch_opened_ms_ = 0;
  int64_t last_progress_ms_ = 0;
  bool paused_ = false;
  // Set (on the Run thread) just before close(). close() revokes through
  // rebalance_cb, where rebalance_protocol() and assignment() can then block
  // forever: they ask the group thread, which no longer serves them
  // (librdkafka #4041; seen as a serve that never exits after SIGTERM in
  // bench/run.sh). So the callback asks only outside close.
  bool closing_ = false;
  bool cooperative_ = false;  // the protocol, as last read outside close
  std::thread writer_;

  // Partition -> monotonic ms of its last message or tick (poll thread).
  absl::flat_hash_map<int32_t, int64_t> last_activity_ms_;
  // Partition -> monotonic ms when the writer appended its latest batch
  // holding a message of it; TickIdleShards moves these into
  // last_activity_ms_, so idleness counts from the append (the record's log
  // time), not from the consume: a batch appended late under load is not
  // followed by a tick sooner than the interval.
  absl::Mutex appended_mu_;
  absl::flat_hash_map<int32_t, int64_t> appended_ms_ ABSL_GUARDED_BY(appended_mu_);
  // A partition whose last pushed batch is not appended yet is not idle,
  // however long ago its message was consumed (the writer may be slow).
  uint64_t batches_pushed_ = 0;                            // poll thread
  absl::flat_hash_map<int32_t, uint64_t> last_batch_of_;  // poll thread
  std::atomic<uint64_t> last_batch_appended_{0};  // after appended_ms_ is updated

  std::atomic<uint64_t> erasures_{0}, records_rewritten_{0}, dead_letters_erased_{0};
  std::atomic<uint64_t> messages_{0}, appended_{0}, duplicates_{0}, dead_letters_{0},
      batches_{0}, pauses_{0}, rebalances_{0}, dropped_on_loss_{0}, clock_ticks_{0},
      after_append_errors_{0};

  mutable absl::Mutex mu_;
  std::vector<PartitionId> assignment_ ABSL_GUARDED_BY(mu_);
  absl::Status fatal_ ABSL_GUARDED_BY(mu_);
};

absl::Status KafkaIngest::Impl::Init() {
  KafkaProperties props = {
      {"bootstrap.servers", options_.brokers},
      {"group.id", options_.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"fetch.wait.max.ms", "100"},
      {"queued.max.messages.kbytes", "65536"},
      {"log_level", "4"},
  };
  props.insert(props.end(), options_.properties.begin(), options_.properties.end());
  ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> conf, MakeKafkaConf(props));
  std::string error;
  conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(this), error);
  conf->set("event_cb", static_cast<RdKafka::EventCb*>(&error_logger_), error);
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer_ == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  RETURN_IF_ERROR(CheckBrokersReachable(consumer_.get(), options_.brokers, options_.broker_timeout_ms));

  if (!options_.dead_letter_topic.empty()) {
    KafkaProperties producer_props = {{"bootstrap.servers", options_.brokers},
                                      {"enable.idempotence", "true"},
                                      {"linger.ms", "5"},
                                      {"log_level", "4"}};
    for (const auto& p : options_.properties) {
      // Consumer-only properties would make the producer conf fail.
      if (p.first.rfind("session.", 0) == 0 || p.first.rfind("heartbeat.", 0) == 0 ||
          p.first.rfind("group.", 0) == 0 || p.first.rfind("fetch.", 0) == 0 ||
          p.first.rfind("auto.offset", 0) == 0 || p.first.rfind("partition.assignment", 0) == 0 ||
          p.first.rfind("max.poll", 0) == 0 || p.first.rfind("isolation", 0) == 0) {
        continue;
      }
      producer_props.push_back(p);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> pconf, MakeKafkaConf(producer_props));
    pconf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&delivery_counter_), error);
    dead_letter_producer_.reset(RdKafka::Producer::create(pconf.get(), error));
    if (dead_letter_producer_ == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("dead-letter producer: ", error));
    }
  }
  return absl::OkStatus();
}

void KafkaIngest::Impl::rebalance_cb(RdKafka::KafkaConsumer* consumer, RdKafka::ErrorCode err,
                                     std::vector<RdKafka::TopicPartition*>& partitions) {
  rebalances_.fetch_add(1, std::memory_order_relaxed);
  if (!closing_) cooperative_ = consumer->rebalance_protocol() == "COOPERATIVE";
  const bool cooperative = cooperative_;
  if (err == RdKafka::ERR__REVOKE_PARTITIONS && consumer->assignment_lost()) {
    DropHeld();
  } else {
    // Write everything consumed so far, so stored offsets are final.
    CloseBatchAndDrain();
  }
  absl::Status status;
  if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
    SeekToStoredOffsets(partitions);
    status = cooperative ? KafkaStatus(consumer->incremental_assign(partitions), "incremental assign")
                         : KafkaStatus(consumer->assign(partitions), "assign");
  } else if (err == RdKafka::ERR__REVOKE_PARTITIONS) {
    status = cooperative ? KafkaStatus(consumer->incremental_unassign(partitions),
                                       "incremental unassign")
                         : KafkaStatus(consumer->unassign(), "unassign");
  } else {
    status = KafkaStatus(consumer->unassign(), "unassign after rebalance error");
  }
  if (!status.ok()) std::cerr << "leadlog: rebalance: " << status << "\n";
  std::vector<RdKafka::TopicPartition*> current;
  if (!closing_) consumer->assignment(current);  // close() revokes everything
  RecordAssignment(current);
  RdKafka::TopicPartition::destroy(current);
}

void KafkaIngest::Impl::SeekToStoredOffsets(
    const std::vector<RdKafka::TopicPartition*>& partitions) const {
  for (RdKafka::TopicPartition* tp : partitions) {
    std::optional<KafkaOffset> stored =
        log_->StoredOffset(ShardForPartition(PartitionId(tp->partition())), tp->topic());
    tp->set_offset(stored ? stored->value()
                          : (options_.start_from_beginning ? RdKafka::Topic::OFFSET_BEGINNING
                                                           : RdKafka::Topic::OFFSET_END));
  }
}

void KafkaIngest::Impl::RecordAssignment(const std::vector<RdKafka::TopicPartition*>& current) {
  // A newly assigned shard starts its idle clock now.
  absl::flat_hash_map<int32_t, int64_t> activity;
  for (RdKafka::TopicPartition* tp : current) {
    auto it = last_activity_ms_.find(tp->partition());
    activity[tp->partition()] =
        it != last_activity_ms_.end() ? it->second : clock_->MonotonicMs();
  }
  last_activity_ms_ = std::move(activity);
  absl::MutexLock lock(&mu_);
  assignment_.clear();
  for (RdKafka::TopicPartition* tp : current) assignment_.push_back(PartitionId(tp->partition()));
  paused_ = false;
}

absl::Status KafkaIngest::Impl::AssignAllPartitions() {
  ASSIGN_OR_RETURN(int count, TopicPartitionCount(consumer_.get(), options_.topic,
                                                  options_.broker_timeout_ms));
  std::vector<RdKafka::TopicPartition*> partitions;
  for (int p = 0; p < count; ++p) {
    partitions.push_back(RdKafka::TopicPartition::create(options_.topic, p));
  }
  SeekToStoredOffsets(partitions);
  absl::Status status = KafkaStatus(consumer_->assign(partitions), "assign");
  if (status.ok()) RecordAssignment(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  return status;
}

void KafkaIngest::Impl::DropHeld() {
  // Another member may own our partitions already: what we hold is stale and
  // is consumed again, from the stored offsets, by whoever owns them next.
  dropped_on_loss_ += builder_.messages() + queue_.Discard();
  builder_.Take();
  queue_.WaitIdle();
}

void KafkaIngest::Impl::PublishDeadLetters(const AppendBatch& batch) {
  if (dead_letter_producer_ == nullptr) return;
  for (const PendingDeadLetter& dead : batch.dead_letters) {
    const v1::DeadLetter& letter = dead.letter;
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("leadlog-reason", letter.reason());
    headers->add("leadlog-field", letter.field());
    headers->add("leadlog-source-topic", letter.source().topic());
    headers->add("leadlog-source-partition", std::to_string(letter.source().partition()));
    headers->add("leadlog-source-offset", std::to_string(letter.source().offset()));
    RdKafka::ErrorCode err = dead_letter_producer_->produce(
        options_.dead_letter_topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
        const_cast<char*>(letter.raw().data()), letter.raw().size(), letter.key().data(),
        letter.key().size(), 0, headers, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;  // ownership passes to librdkafka only on success
      delivery_counter_.failed.fetch_add(1, std::memory_order_relaxed);
      std::cerr << "leadlog: " << KafkaStatus(err, "dead-letter publish") << "\n";
    }
  }
  dead_letter_producer_->poll(0);
}

void KafkaIngest::Impl::CommitAdvisory(const AppendBatch& batch) {
  std::vector<RdKafka::TopicPartition*> offsets;
  for (const OffsetUpdate& update : batch.offsets) {
    offsets.push_back(RdKafka::TopicPartition::create(
        update.topic, PartitionForShard(update.shard).value(), update.next_offset.value()));
  }
  if (!offsets.empty()) consumer_->commitAsync(offsets);
  RdKafka::TopicPartition::destroy(offsets);
}

void KafkaIngest::Impl::RunAfterAppend(const QueuedBatch& item) {
  std::vector<ShardId> shards(item.ticks.begin(), item.ticks.end());
  for (const PendingEvent& e : item.batch.events) shards.push_back(e.shard);
  for (const PendingDeadLetter& d : item.batch.dead_letters) shards.push_back(d.shard);
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  if (shards.empty()) return;
  absl::Status status = options_.after_append(shards);
  if (status.ok()) return;
  if (after_append_errors_.fetch_add(1, std::memory_order_relaxed) == 0) {
    std::cerr << "leadlog: after append (live projections): " << status << "\n";
  }
}

void KafkaIngest::Impl::WriterLoop() {
  while (std::optional<QueuedBatch> item = queue_.Pop()) {
    PublishDeadLetters(item->batch);
    absl::StatusOr<AppendResult> result =
        item->batch.empty() ? AppendResult{} : log_->Append(item->batch);
    for (ShardId shard : item->ticks) {
      if (!result.ok()) break;
      absl::StatusOr<Sequence> tick = log_->AppendClockTick(shard);
      if (!tick.ok()) result = tick.status();
      clock_ticks_ += tick.ok() ? 1 : 0;
    }
    if (!result.ok()) {
      {
        absl::MutexLock lock(&mu_);
        fatal_ = result.status();
      }
      queue_.Close();
      queue_.Done(item->bytes);
      return;
    }
    if (options_.clock_tick_interval_ms > 0 && !item->batch.offsets.empty()) {
      const int64_t now = clock_->MonotonicMs();
      absl::MutexLock lock(&appended_mu_);
      for (const OffsetUpdate& update : item->batch.offsets) {
        appended_ms_[PartitionForShard(update.shard).value()] = now;
      }
    }
    if (item->id > 0) last_batch_appended_.store(item->id, std::memory_order_release);
    if (options_.after_append) RunAfterAppend(*item);
    appended_ += result->appended;
    duplicates_ += result->duplicates;
    dead_letters_ += result->dead_letters;
    erasures_ += result->erasures;
    records_rewritten_ += result->records_rewritten;
    dead_letters_erased_ += result->dead_letters_erased;
    batches_ += item->batch.empty() ? 0 : 1;
    CommitAdvisory(item->batch);
    queue_.Done(item->bytes);
  }
}

void KafkaIngest::Impl::CloseBatch() {
  if (builder_.empty()) return;
  QueuedBatch item;
  item.bytes = builder_.bytes();
  item.messages = builder_.messages();
  item.batch = builder_.Take();
  item.id = ++batches_pushed_;
  for (const OffsetUpdate& update : item.batch.offsets) {
    last_batch_of_[PartitionForShard(update.shard).value()] = item.id;
  }
  queue_.Push(std::move(item));
  Backpressure();
}

void KafkaIngest::Impl::CloseBatchAndDrain() {
  CloseBatch();
  queue_.WaitIdle();
}

void KafkaIngest::Impl::Backpressure() {
  size_t queued = queue_.bytes();
  bool pause = !paused_ && queued >= options_.inflight_bytes_max;
  bool resume = paused_ && queued <= options_.inflight_bytes_max / 2;
  if (!pause && !resume) return;
  std::vector<RdKafka::TopicPartition*> partitions;
  consumer_->assignment(partitions);
  RdKafka::ErrorCode err = pause ? consumer_->pause(partitions) : consumer_->resume(partitions);
  RdKafka::TopicPartition::destroy(partitions);
  if (err != RdKafka::ERR_NO_ERROR) {
    std::cerr << "leadlog: " << KafkaStatus(err, pause ? "pause" : "resume") << "\n";
    return;
  }
  paused_ = pause;
  if (pause) pauses_.fetch_add(1, std::memory_order_relaxed);
}

void KafkaIngest::Impl::TickIdleShards() {
  if (options_.clock_tick_interval_ms <= 0) return;
  const uint64_t appended = last_batch_appended_.load(std::memory_order_acquire);
  {
    absl::MutexLock lock(&appended_mu_);
    for (const auto& [partition, appended_ms] : appended_ms_) {
      auto it = last_activity_ms_.find(partition);  // only partitions still assigned
      if (it != last_activity_ms_.end()) it->second = std::max(it->second, appended_ms);
    }
    appended_ms_.clear();
  }
  const int64_t now = clock_->MonotonicMs();
  QueuedBatch item;
  for (auto& [partition, last_ms] : last_activity_ms_) {
    if (now - last_ms < options_.clock_tick_interval_ms) continue;
    if (auto it = last_batch_of_.find(partition); it != last_batch_of_.end() && it->second > appended) {
      continue;  // its messages are still on their way to the log
    }
    item.ticks.push_back(ShardForPartition(PartitionId(partition)));
    last_ms = now;
  }
  if (item.ticks.empty()) return;
  // Deterministic order (hash-map iteration is not); after the open batch,
  // so a tick never precedes a message consumed before it.
  std::sort(item.ticks.begin(), item.ticks.end());
  CloseBatch();
  queue_.Push(std::move(item));
}

void KafkaIngest::Impl::ReportProgress() {
  if (!options_.progress || options_.progress_interval_ms <= 0) return;
  int64_t now = clock_->MonotonicMs();
  if (now - last_progress_ms_ < options_.progress_interval_ms) return;
  last_progress_ms_ = now;
  options_.progress(counters());
}

absl::Status KafkaIngest::Impl::Run(const std::atomic<bool>& stop_requested) {
  RETURN_IF_ERROR(options_.assign_partitions
                      ? AssignAllPartitions()
                      : KafkaStatus(consumer_->subscribe({options_.topic}), "subscribe"));
  writer_ = std::thread([this] {
    NameThisThread("ll-append");
    WriterLoop();
  });
  last_progress_ms_ = clock_->MonotonicMs();
  while (!stop_requested.load(std::memory_order_relaxed) && FatalError().ok()) {
    Backpressure();
    int64_t now = clock_->MonotonicMs();
    int timeout_ms = 100;
    if (!builder_.empty()) {
      timeout_ms = static_cast<int>(std::max<int64_t>(
          0, std::min<int64_t>(100, batch_opened_ms_ + options_.batch.batch_interval_ms - now)));
    }
    std::unique_ptr<RdKafka::Message> message(consumer_->consume(timeout_ms));
    if (message->err() == RdKafka::ERR_NO_ERROR) {
      if (builder_.empty()) batch_opened_ms_ = clock_->MonotonicMs();
      // topic_name() returns a temporary: keep it alive while raw views it.
      const std::string topic = message->topic_name();
      RawMessage raw;
      raw.topic = topic;
      raw.partition = PartitionId(message->partition());
      raw.offset = KafkaOffset(message->offset());
      if (message->key() != nullptr) raw.key = *message->key();
      raw.value = absl::string_view(static_cast<const char*>(message->payload()), message->len());
      raw.content_type = ContentTypeFromHeader(HeaderValue(message->headers(), "content-type"));
      builder_.Add(raw);
      last_activity_ms_[raw.partition.value()] = clock_->MonotonicMs();
      messages_.fetch_add(1, std::memory_order_relaxed);
    } else if (message->err() == RdKafka::ERR__MAX_POLL_EXCEEDED) {
      // We have left the group; the lost-assignment callback follows on a
      // later poll. Do not write what we hold in between.
      std::cerr << "leadlog: max.poll.interval.ms exceeded: dropping "
                << builder_.messages() << " unwritten messages, rejoining\n";
      DropHeld();
    } else if (message->err() != RdKafka::ERR__TIMED_OUT) {
      std::cerr << "leadlog: " << KafkaStatus(message->err(), "consume") << "\n";
    }
    if (builder_.full() || (!builder_.empty() && clock_->MonotonicMs() - batch_opened_ms_ >=
                                                     options_.batch.batch_interval_ms)) {
      CloseBatch();
    }
    TickIdleShards();
    if (dead_letter_producer_ != nullptr) dead_letter_producer_->poll(0);  // delivery reports
    ReportProgress();
  }
  // Orderly stop: write what was consumed, then leave the group (close()
  // revokes through rebalance_cb, which drains again).
  if (FatalError().ok()) CloseBatchAndDrain();
  closing_ = true;
  consumer_->close();
  consumer_closed_ = true;
  queue_.Close();
  writer_.join();
  if (dead_letter_producer_ != nullptr) dead_letter_producer_->flush(10000);
  return FatalError();
}

IngestCounters KafkaIngest::Impl::counters() const {
  IngestCounters c;
  c.messages = messages_.load();
  c.appended = appended_.load();
  c.duplicates = duplicates_.load();
  c.dead_letters = dead_letters_.load();
  c.erasures = erasures_.load();
  c.records_rewritten = records_rewritten_.load();
  c.dead_letters_erased = dead_letters_erased_.load();
  c.batches = batches_.load();
  c.pauses = pauses_.load();
  c.rebalances = rebalances_.load();
  c.dropped_on_loss = dropped_on_loss_.load();
  c.dead_letters_published = delivery_counter_.delivered.load();
  c.dead_letter_publish_errors = delivery_counter_.failed.load();
  c.consumer_errors = error_logger_.errors.load();
  c.clock_ticks = clock_ticks_.load();
  c.after_append_errors = after_append_errors_.load();
  return c;
}

absl::StatusOr<std::unique_ptr<KafkaIngest>> KafkaIngest::Create(const KafkaIngestOptions& options,
                                                                 EventLog* log) {
  if (options.brokers.empty()) return absl::InvalidArgumentError("brokers: required");
  if (options.topic.empty()) return absl::InvalidArgumentError("topic: required");
  if (options.group.empty()) return absl::InvalidArgumentError("group: required");
  if (options.inflight_bytes_max < 1 || options.inflight_bytes_max > kInflightBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("inflight_bytes_max: ", options.inflight_bytes_max,
                                                   " is outside [1, ", kInflightBytesMax, "]"));
  }
  RETURN_IF_ERROR(ValidateBatchOptions(options.batch));
  if (options.clock_tick_interval_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("clock_tick_interval_ms: ", options.clock_tick_interval_ms, " < 0"));
  }
  auto impl = std::make_unique<Impl>(options, log);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<KafkaIngest>(new KafkaIngest(std::move(impl)));
}

KafkaIngest::KafkaIngest(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaIngest::~KafkaIngest() = default;

absl::Status KafkaIngest::Run() { return impl_->Run(stop_requested_); }
IngestCounters KafkaIngest::counters() const { return impl_->counters(); }
std::vector<PartitionId> KafkaIngest::Assignment() const { return impl_->Assignment(); }

}  // namespace leadlog
