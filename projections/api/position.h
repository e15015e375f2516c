// Positions of the HTTP read API: what a response reflects (the lead
// projection's per-shard checkpoints) and what a request may require
// (`min_position`), plus PositionWaiter, which lets a request wait, bounded,
// for the live catch-up to reach it (read-your-writes without polling).
//
// min_position syntax: "SHARD:SEQUENCE[,SHARD:SEQUENCE...]" (each shard at
// most once), or a bare "SEQUENCE" meaning shard 0. A shard's position is
// reached when its checkpoint (next sequence to fold) is >= SEQUENCE; pass
// the `token` of an earlier response to read at least what it reflected.
//
// Thread-safety: free functions are pure; PositionWaiter is thread-safe.
//
//   ASSIGN_OR_RETURN(MinPosition min, ParseMinPosition("0:120,3:7"));
//   bool ok = waiter.Wait([&] { return Reached(*projection->runner(), min); },
//                         absl::Milliseconds(5000));
//   // writer thread, after each CatchUp: waiter.Notify();
#ifndef LEADLOG_PROJECTIONS_API_POSITION_H_
#define LEADLOG_PROJECTIONS_API_POSITION_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/ids.h"
#include "engine/projection.h"
#include "leadlog/v1/api.pb.h"

namespace leadlog {

// (shard, sequence) pairs, ascending by shard.
using MinPosition = std::vector<std::pair<ShardId, Sequence>>;

// InvalidArgument naming "min_position" for bad syntax, a repeated shard,
// or more than kApiPositionShardsMax shards. "" parses to no requirement.
absl::StatusOr<MinPosition> ParseMinPosition(absl::string_view text);

// True when every named shard's checkpoint in `runner` is >= its sequence.
bool Reached(const ProjectionRunner& runner, const MinPosition& min);

// The checkpoints of `shards` in `runner`, with the token form.
v1::ApiPosition CurrentPosition(const ProjectionRunner& runner, const std::vector<ShardId>& shards);

class PositionWaiter {
 public:
  // Wakes every waiter to re-check its condition (call after each catch-up
  // and after a projection switch).
  void Notify();

  // Waits until `reached()` is true or `timeout` passes; returns the last
  // value of `reached()`. `reached` is called without the internal lock.
  // ResourceExhausted (without waiting) when kApiWaitersMax requests already
  // wait.
  absl::StatusOr<bool> Wait(const std::function<bool()>& reached, absl::Duration timeout);

  int waiters() const;

 private:
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  int waiters_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_POSITION_H_
