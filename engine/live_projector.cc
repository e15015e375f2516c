// Design note: one mutex guards the signalled set and the counters; the
// catch-up itself, `progress` and `error` run without it, so Appended only
// ever waits for the lag, never for a fold. Appended computes lags under the
// mutex through `checkpoint` (a runner's checkpoint mutex, held briefly):
// the lock order is projector -> projection, and the projector thread never
// takes its own mutex while inside a callback.
#include "engine/live_projector.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/thread_priority.h"

namespace leadlog {

namespace {

uint32_t ResolveThreads(uint32_t requested) {
  if (requested != 0) return requested;
  return std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, kLiveProjectorThreadsAuto);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LiveProjector>> LiveProjector::Start(const EventLog* log,
                                                                    LiveProjectorOptions options,
                                                                    LiveProjectorCallbacks callbacks) {
  if (options.lag_records_max < 1 || options.lag_records_max > kProjectionLagRecordsMax) {
    return absl::InvalidArgumentError(absl::StrCat("lag_records_max: ", options.lag_records_max,
                                                   " is outside [1, ", kProjectionLagRecordsMax, "]"));
  }
  if (options.threads > kLiveProjectorThreadsMax) {
    return absl::InvalidArgumentError(absl::StrCat("threads: ", options.threads, " is outside [0, ",
                                                   kLiveProjectorThreadsMax, "]"));
  }
  if (!callbacks.catch_up || !callbacks.checkpoint) {
    return absl::InvalidArgumentError("callbacks: catch_up and checkpoint are required");
  }
  std::unique_ptr<LiveProjector> projector(new LiveProjector(log, options, std::move(callbacks)));
  LiveProjector* p = projector.get();
  for (uint32_t t = 0; t < p->threads_; ++t) {
    p->pool_.emplace_back([p] {
      NameThisThread("ll-projector");
      LowerThreadToBackground().IgnoreError();  // throughput work: --background-nice
      p->Loop();
    });
  }
  return projector;
}

LiveProjector::LiveProjector(const EventLog* log, LiveProjectorOptions options,
                             LiveProjectorCallbacks callbacks)
    : log_(log),
      options_(options),
      callbacks_(std::move(callbacks)),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
      threads_(ResolveThreads(options.threads)) {}

LiveProjector::~LiveProjector() { Stop(); }

void LiveProjector::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_cv_.SignalAll();
  }
  for (std::thread& thread : pool_) {
    if (thread.joinable()) thread.join();
  }
}

uint64_t LiveProjector::LagMax(const std::vector<ShardId>& shards) const {
  uint64_t lag_max = 0;
  for (ShardId shard : shards) {
    if (failing_.contains(shard)) continue;
    const uint64_t position = log_->Position(shard).value();
    const uint64_t checkpoint = callbacks_.checkpoint(shard).value();
    if (position > checkpoint) lag_max = std::max(lag_max, position - checkpoint);
  }
  return lag_max;
}

absl::Status LiveProjector::Appended(const std::vector<ShardId>& shards) {
  absl::MutexLock lock(&mu_);
  pending_.insert(shards.begin(), shards.end());
  signalled_ = true;
  work_cv_.Signal();
  uint64_t lag = LagMax(shards);
  counters_.lag_records_max_seen = std::max(counters_.lag_records_max_seen, lag);
  if (lag <= options_.lag_records_max || stopped_) return absl::OkStatus();
  ++counters_.waits;
  const int64_t started_ms = clock_->MonotonicMs();
  while (lag > options_.lag_records_max && !stopped_) {
    progress_cv_.Wait(&mu_);
    lag = LagMax(shards);
  }
  counters_.wait_ms += static_cast<uint64_t>(std::max<int64_t>(0, clock_->MonotonicMs() - started_ms));
  return absl::OkStatus();
}

void LiveProjector::Loop() {
  absl::MutexLock lock(&mu_);
  while (!stopped_) {
    if (pass_next_ < pass_.size()) {  // a shard of the pass is free: fold it
      const ShardId shard = pass_[pass_next_++];
      ++pass_folding_;
      mu_.Unlock();
      CatchUpShard(shard);
      mu_.Lock();
      if (--pass_folding_ > 0 || pass_next_ < pass_.size()) continue;
      // This thread folded the pass's last shard: the pass ended.
      const bool last = pass_last_;
      const bool any = !pass_.empty();
      pass_.clear();
      pass_next_ = 0;
      if (last) {
        stopped_ = true;
        progress_cv_.SignalAll();
      }
      mu_.Unlock();
      if (any && callbacks_.round_done) callbacks_.round_done();
      mu_.Lock();
      work_cv_.SignalAll();  // the next pass may start
      continue;
    }
    const bool pass_running = pass_folding_ > 0;
    if (!pass_running && (stopping_ || (signalled_ && !pending_.empty()))) {
      pass_last_ = stopping_;
      pass_.assign(pending_.begin(), pending_.end());  // ascending
      pass_next_ = 0;
      pending_.clear();
      signalled_ = false;
      if (pass_.empty()) {  // Stop with nothing signalled
        stopped_ = true;
        progress_cv_.SignalAll();
      } else {
        work_cv_.SignalAll();  // the other threads take shards of it
      }
      continue;
    }
    work_cv_.Wait(&mu_);
  }
  work_cv_.SignalAll();  // the other threads see stopped_
}

void LiveProjector::CatchUpShard(ShardId shard) {
  absl::Status status = callbacks_.catch_up(shard);
  bool report = false;
  {
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      ++counters_.catch_ups;
      failing_.erase(shard);
    } else {
      ++counters_.errors;
      report = failing_.empty();  // the first error of a streak
      failing_.insert(shard);
      pending_.insert(shard);  // retried on the next Appended (or at Stop)
    }
    progress_cv_.SignalAll();
  }
  if (report && callbacks_.error) callbacks_.error(status);
  if (status.ok() && callbacks_.progress) callbacks_.progress();
}

LiveProjectorCounters LiveProjector::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

}  // namespace leadlog
