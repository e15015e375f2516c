// BatchQueue: closed batches waiting for the writer thread, bounded in bytes.
//
// Thread-safety: all methods are thread-safe (one producer, one consumer).
// Invariant: bytes() is the sum of the sizes of queued batches plus the one
// being written; it is never above `bytes_max` except for a single batch
// larger than the bound, which is admitted alone so progress is possible.
#ifndef LEADLOG_CONSUMERS_INTERNAL_BATCH_QUEUE_H_
#define LEADLOG_CONSUMERS_INTERNAL_BATCH_QUEUE_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "engine/event_log.h"

namespace leadlog::internal {

struct QueuedBatch {
  AppendBatch batch;
  // Shards to append a ClockTick to, after the batch (idle shards).
  std::vector<ShardId> ticks;
  size_t bytes = 0;
  int messages = 0;
  // Push order of a batch of consumed messages (1, 2, ...); 0 for ticks
  // alone. KafkaIngest counts a partition idle only once its last batch is
  // appended.
  uint64_t id = 0;
};

class BatchQueue {
 public:
  explicit BatchQueue(size_t bytes_max) : bytes_max_(bytes_max) {}

  // Blocks while the queue is over its bound. False once closed.
  bool Push(QueuedBatch item) {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || bytes_ == 0 || bytes_ + pending_bytes_ <= bytes_max_;
    };
    pending_bytes_ = item.bytes;
    mu_.Await(absl::Condition(&has_room));
    pending_bytes_ = 0;
    if (closed_) return false;
    bytes_ += item.bytes;
    items_.push_back(std::move(item));
    return true;
  }

  // Blocks until a batch is queued (and marks it in flight) or the queue is
  // closed and empty.
  std::optional<QueuedBatch> Pop() {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !items_.empty(); };
    mu_.Await(absl::Condition(&ready));
    if (items_.empty()) return std::nullopt;
    QueuedBatch item = std::move(items_.front());
    items_.pop_front();
    writing_ = true;
    return item;
  }

  // The writer finished the batch Pop returned.
  void Done(size_t bytes) {
    absl::MutexLock lock(&mu_);
    bytes_ -= bytes;
    writing_ = false;
  }

  // Blocks until nothing is queued or being written (or closed).
  void WaitIdle() {
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || (items_.empty() && !writing_);
    };
    mu_.Await(absl::Condition(&idle));
  }

  // Drops queued batches (not the one being written); returns their
  // message count.
  int Discard() {
    absl::MutexLock lock(&mu_);
    int messages = 0;
    for (const QueuedBatch& item : items_) {
      messages += item.messages;
      bytes_ -= item.bytes;
    }
    items_.clear();
    return messages;
  }

  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

  size_t bytes() const {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }

 private:
  const size_t bytes_max_;
  mutable absl::Mutex mu_;
  std::deque<QueuedBatch> items_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace leadlog::internal

#endif  // LEADLOG_CONSUMERS_INTERNAL_BATCH_QUEUE_H_
