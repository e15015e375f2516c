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

absl::StatusOr<std::unique_ptr<LiveProjector>> LiveProjector::Start(const EventLog* log,
                                                                    LiveProjectorOptions options,
                                                                    LiveProjectorCallbacks callbacks) {
  if (options.lag_records_max < 1 || options.lag_records_max > kProjectionLagRecordsMax) {
    return absl::InvalidArgumentError(absl::StrCat("lag_records_max: ", options.lag_records_max,
                                                   " is outside [1, ", kProjectionLagRecordsMax, "]"));
  }
  if (!callbacks.catch_up || !callbacks.checkpoint) {
    return absl::InvalidArgumentError("callbacks: catch_up and checkpoint are required");
  }
  std::unique_ptr<LiveProjector> projector(new LiveProjector(log, options, std::move(callbacks)));
  LiveProjector* p = projector.get();
  projector->thread_ = std::thread([p] {
    LowerThreadToBackground().IgnoreError();  // throughput work: --background-nice
    p->Loop();
  });
  return projector;
}

LiveProjector::LiveProjector(const EventLog* log, LiveProjectorOptions options,
                             LiveProjectorCallbacks callbacks)
    : log_(log),
      options_(options),
      callbacks_(std::move(callbacks)),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()) {}

LiveProjector::~LiveProjector() { Stop(); }

void LiveProjector::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_cv_.Signal();
  }
  if (thread_.joinable()) thread_.join();
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
  while (true) {
    std::vector<ShardId> shards;
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_ && !(signalled_ && !pending_.empty())) work_cv_.Wait(&mu_);
      last = stopping_;
      shards.assign(pending_.begin(), pending_.end());  // ascending
      pending_.clear();
      signalled_ = false;
    }
    Round(shards);
    if (last) break;
  }
  absl::MutexLock lock(&mu_);
  stopped_ = true;
  progress_cv_.SignalAll();
}

void LiveProjector::Round(const std::vector<ShardId>& shards) {
  for (ShardId shard : shards) {
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
  if (!shards.empty() && callbacks_.round_done) callbacks_.round_done();
}

LiveProjectorCounters LiveProjector::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

}  // namespace leadlog
