#include "consumers/kafka_lag.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"

namespace leadlog {

// The producer handle the watermark queries go through (a producer joins no
// group, so it never disturbs the ingest consumer's assignment).
class KafkaLagHandle {
 public:
  std::unique_ptr<RdKafka::Producer> producer;
};

absl::StatusOr<std::unique_ptr<KafkaLagWatcher>> KafkaLagWatcher::Start(
    const KafkaLagOptions& options, const EventLog* log) {
  KafkaProperties props = {{"bootstrap.servers", options.brokers},
                           {"allow.auto.create.topics", "false"},
                           {"log_level", "0"}};  // failures surface in KafkaLag::error
  props.insert(props.end(), options.properties.begin(), options.properties.end());
  ASSIGN_OR_RETURN(auto conf, MakeKafkaConf(props));
  std::string error;
  auto handle = std::make_unique<KafkaLagHandle>();
  handle->producer.reset(RdKafka::Producer::create(conf.get(), error));
  if (handle->producer == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("lag watcher: ", error));
  }
  std::unique_ptr<KafkaLagWatcher> watcher(new KafkaLagWatcher());
  watcher->options_ = options;
  watcher->log_ = log;
  watcher->handle_ = std::move(handle);
  watcher->thread_ = std::thread([w = watcher.get()] {
    NameThisThread("ll-lag");
    w->Run();
  });
  return watcher;
}

KafkaLag KafkaLagWatcher::Measure() {
  KafkaLag lag;
  RdKafka::Producer* producer = handle_->producer.get();
  absl::StatusOr<int> partitions = TopicPartitionCount(producer, options_.topic, options_.query_timeout_ms);
  if (!partitions.ok()) {
    lag.error = std::string(partitions.status().message());
    return lag;
  }
  for (int p = 0; p < *partitions; ++p) {
    int64_t low = 0, high = 0;
    RdKafka::ErrorCode err =
        producer->query_watermark_offsets(options_.topic, p, &low, &high, options_.query_timeout_ms);
    if (err != RdKafka::ERR_NO_ERROR) {
      lag.error = absl::StrCat("partition ", p, ": ", RdKafka::err2str(err));
      return lag;
    }
    KafkaLag::Partition& out = lag.partitions.emplace_back();
    out.partition = p;
    out.end_offset = high;
    std::optional<KafkaOffset> stored = log_->StoredOffset(ShardForPartition(PartitionId(p)), options_.topic);
    out.stored_offset = stored.has_value() ? stored->value() : 0;
    // Messages before `low` are gone from the topic: they cannot be lag.
    out.lag = std::max<int64_t>(0, high - std::max(out.stored_offset, low));
  }
  lag.known = true;
  return lag;
}

void KafkaLagWatcher::Run() {
  do {
    KafkaLag lag = Measure();
    absl::MutexLock lock(&mu_);
    last_ = std::move(lag);
  } while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(options_.interval_ms)));
}

KafkaLag KafkaLagWatcher::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

void KafkaLagWatcher::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

KafkaLagWatcher::~KafkaLagWatcher() { Stop(); }

}  // namespace leadlog
