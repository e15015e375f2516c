// LiveProjector: runs live projection catch-up on its own thread, fed by the
// ingest writer, with the projection's lag bounded (DESIGN.md §9 pipeline,
// invariant 10). DESIGN.md §1 draws the projections in the ingest thread
// ("same thread, same order"); the order per shard is kept (sequence order,
// one thread at a time per shard), the thread is not, so that appending the
// next batch does not wait for the fold of the last one.
//
// The ingest writer appends a batch and calls Appended(shards); the
// projector's threads (`threads`, 1..kLiveProjectorThreadsMax) catch up the
// signalled shards in passes: a pass takes every shard signalled so far,
// its shards are handed out in ascending shard order, one thread per shard
// at a time (so each shard is folded strictly in sequence order, as
// ProjectionRunner::CatchUp does, and by one thread at a time), different
// shards of a pass concurrently. `progress` runs after each shard (HTTP
// min_position waiters) and `round_done` once per pass, after its last shard
// (the outbox and change emitters, which scan every shard when woken); the
// next pass starts when the last one ended. While a signalled shard's lag
// (log position − projection checkpoint) exceeds lag_records_max, Appended
// blocks: the writer stops appending, its queue fills and the consumer
// pauses its partitions, instead of the projection falling behind without
// bound. A shard's lag therefore never exceeds lag_records_max plus the
// records one batch appends to it.
//
// A failing catch-up (an error from `catch_up`) is counted and reported
// (`error`) once per failure streak; the shard is retried on the next
// Appended. While a shard's last attempt failed Appended does not block on it (ingest goes on, as it did
// when the projection ran in the writer thread): the lag is reported by
// /readyz and /metrics.
//
// Thread-safety: Appended from one thread (the ingest writer); Stop and
// counters from any thread. `catch_up`, `checkpoint`, `progress`,
// `round_done` and `error` run on the projector's threads, concurrently for
// different shards when threads > 1 (checkpoint also on the Appended
// caller's): `catch_up` must allow concurrent calls for different shards.
// Lifetime: `log` and whatever the callbacks reference must outlive the
// projector; Stop (or the destructor) joins the threads.
// Durability: the projector adds none of its own: what is durable is what
// `catch_up` committed (a projection chunk with its checkpoint). Stop ends
// with one more round over every signalled shard, so a clean stop leaves
// the projection caught up with every batch signalled before it; a crash
// leaves the committed checkpoints, from which the next start catches up.
//
//   LiveProjectorCallbacks callbacks;
//   callbacks.catch_up = [&](ShardId s) { return projection->CatchUp({s}); };
//   callbacks.checkpoint = [&](ShardId s) { return projection->runner()->Checkpoint(s); };
//   callbacks.round_done = [&] { emitter->Notify(); };
//   ASSIGN_OR_RETURN(auto projector, LiveProjector::Start(log, {}, std::move(callbacks)));
//   options.after_append = [&](auto& shards) { return projector->Appended(shards); };
//   ...; ingest->Run(); projector->Stop();
#ifndef LEADLOG_ENGINE_LIVE_PROJECTOR_H_
#define LEADLOG_ENGINE_LIVE_PROJECTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/ids.h"
#include "engine/limits.h"

namespace leadlog {

struct LiveProjectorOptions {
  // Records a shard's log may be ahead of its projection before Appended
  // blocks the ingest writer (1..kProjectionLagRecordsMax, default
  // kProjectionLagRecordsDefault). Larger lets the projector fold longer
  // runs per catch-up (fewer, larger chunks) at the cost of staler reads
  // and a longer catch-up on stop or restart.
  uint64_t lag_records_max = kProjectionLagRecordsDefault;
  // Threads folding signalled shards concurrently (different shards only;
  // 0..kLiveProjectorThreadsMax): 0 means the machine's cores, at most
  // kLiveProjectorThreadsAuto. More threads fold more shards at once but
  // take CPU from the ingest writer on a small machine (docs/BENCHMARKS.md
  // "The lead fold per record": measured 1 vs 2 on 2 cores).
  uint32_t threads = kLiveProjectorThreadsDefault;
  // Times the blocked Appended calls (counters().wait_ms). Not owned;
  // nullptr means SystemClock::Get().
  Clock* clock = nullptr;
};

struct LiveProjectorCallbacks {
  // Folds the new records of one shard (required).
  std::function<absl::Status(ShardId)> catch_up;
  // The shard's projection checkpoint: the next sequence to fold (required).
  std::function<Sequence(ShardId)> checkpoint;
  // After each shard's catch-up (optional): wake cheap projection-progress
  // waiters (e.g. HTTP min_position requests).
  std::function<void()> progress;
  // After each pass over the signalled shards (optional): wake consumers
  // that scan every shard per wake-up (the outbox and change emitters), once
  // per pass rather than once per shard.
  std::function<void()> round_done;
  // The first error of a failure streak (optional): log it.
  std::function<void(const absl::Status&)> error;
};

struct LiveProjectorCounters {
  uint64_t catch_ups = 0;        // successful shard catch-ups
  uint64_t errors = 0;           // failed shard catch-ups
  uint64_t waits = 0;            // Appended calls that blocked on the lag bound
  uint64_t wait_ms = 0;          // total time Appended blocked
  uint64_t lag_records_max_seen = 0;  // largest lag Appended saw (after an append)
};

class LiveProjector {
 public:
  // Starts the projector's threads. InvalidArgument naming "lag_records_max"
  // (outside [1, kProjectionLagRecordsMax]), "threads" (above
  // kLiveProjectorThreadsMax) or "callbacks" (catch_up or checkpoint
  // missing).
  static absl::StatusOr<std::unique_ptr<LiveProjector>> Start(const EventLog* log,
                                                              LiveProjectorOptions options,
                                                              LiveProjectorCallbacks callbacks);
  ~LiveProjector();  // Stop()s

  // `shards` were appended to. Signals the projector, then blocks while one
  // of them lags more than lag_records_max (unless the projector's last
  // catch-up failed or it was stopped). Always OK (the KafkaIngest
  // after_append signature); catch-up errors are counted in counters().
  absl::Status Appended(const std::vector<ShardId>& shards);

  // Catches up every signalled shard once more (after the pass in
  // progress, which it waits for), then ends the threads and releases a
  // blocked Appended. Idempotent.
  void Stop();

  LiveProjectorCounters counters() const;

  // The threads the projector folds on (options.threads resolved).
  uint32_t threads() const { return threads_; }

 private:
  LiveProjector(const EventLog* log, LiveProjectorOptions options, LiveProjectorCallbacks callbacks);
  // One folding thread: takes the next shard of the pass, or starts the next
  // pass when the last one ended, until the pass after Stop ended.
  void Loop();
  // Folds `shard` (without mu_) and records the outcome.
  void CatchUpShard(ShardId shard);
  // Largest lag among `shards` that are not failing.
  uint64_t LagMax(const std::vector<ShardId>& shards) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const EventLog* const log_;
  const LiveProjectorOptions options_;
  const LiveProjectorCallbacks callbacks_;
  Clock* const clock_;
  const uint32_t threads_;
  std::vector<std::thread> pool_;

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;      // Appended / Stop / a pass ended -> projector threads
  absl::CondVar progress_cv_;  // projector -> a blocked Appended
  std::set<ShardId> pending_ ABSL_GUARDED_BY(mu_);  // signalled, not in a pass yet
  bool signalled_ ABSL_GUARDED_BY(mu_) = false;  // an Appended since the last pass began
  // The pass in progress: its shards (ascending), the next to hand out and
  // how many are being folded. It ended when next == size and none is.
  std::vector<ShardId> pass_ ABSL_GUARDED_BY(mu_);
  size_t pass_next_ ABSL_GUARDED_BY(mu_) = 0;
  uint32_t pass_folding_ ABSL_GUARDED_BY(mu_) = 0;
  bool pass_last_ ABSL_GUARDED_BY(mu_) = false;  // the pass Stop asked for
  std::set<ShardId> failing_ ABSL_GUARDED_BY(mu_);  // their last catch-up failed
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;    // threads ending (Appended never blocks)
  LiveProjectorCounters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_LIVE_PROJECTOR_H_
