// KafkaLagWatcher: measures the consumer lag of the events topic per
// partition as the brokers' high watermark minus the next offset stored in
// the log (DESIGN.md invariant 2: the log's offsets are the truth; Kafka's
// committed offsets are advisory), on a background thread every interval.
// /readyz and /metrics read the last measurement.
//
// Thread-safety: Snapshot() from any thread; Start/Stop from one.
// Lifetime: `log` is borrowed and must outlive the watcher; Stop (or the
// destructor) joins the thread.
//
//   ASSIGN_OR_RETURN(auto watcher, KafkaLagWatcher::Start(options, log.get()));
//   KafkaLag lag = watcher->Snapshot();  // lag.known, lag.partitions
//   watcher->Stop();
#ifndef LEADLOG_CONSUMERS_KAFKA_LAG_H_
#define LEADLOG_CONSUMERS_KAFKA_LAG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "consumers/kafka_util.h"
#include "engine/event_log.h"

namespace leadlog {

struct KafkaLagOptions {
  std::string brokers;  // required
  std::string topic = kEventsTopic;
  KafkaProperties properties;  // applied last (SASL/TLS ...)
  // Between measurements, and the timeout of one watermark query.
  int interval_ms = 1000;
  int query_timeout_ms = 2000;
};

struct KafkaLag {
  struct Partition {
    int32_t partition = 0;
    int64_t end_offset = 0;     // high watermark
    int64_t stored_offset = 0;  // next offset stored in the log (0 = none)
    int64_t lag = 0;            // max(0, end - stored)
  };
  // False before the first complete measurement and after a failed one
  // (`error` says why).
  bool known = false;
  std::string error;
  std::vector<Partition> partitions;
};

class KafkaLagWatcher {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaLagWatcher>> Start(const KafkaLagOptions& options,
                                                                const EventLog* log);
  ~KafkaLagWatcher();
  KafkaLag Snapshot() const;
  void Stop();

 private:
  KafkaLagWatcher() = default;
  void Run();
  KafkaLag Measure();

  KafkaLagOptions options_;
  const EventLog* log_ = nullptr;
  std::unique_ptr<class KafkaLagHandle> handle_;
  absl::Notification stop_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  KafkaLag last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_KAFKA_LAG_H_
