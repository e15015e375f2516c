// LeadProjection: hosts the lead fold (lead_fold.h) on an EventLog for the
// processes that use it (serve, ingest, rebuild, the read commands): picks
// the active family version, catches it up live after each append and on
// start (restart catch-up), rebuilds blue/green into a new family version
// while the active one keeps serving, and serves reads and the outbox from
// the active version.
//
// Thread-safety: all methods are thread-safe. CatchUp calls for different
// shards run concurrently (each shard's are serialised by the runner); the
// final phase of Rebuild excludes them (an internal reader/writer mutex);
// reads take a snapshot of the active runner and never wait for a catch-up.
// Durability: live catch-ups commit without fsync (the log itself is synced
// per batch; a machine crash loses at most projection chunks that are folded
// again from the checkpoint). Rebuild syncs its chunks and the switch.
//
//   ASSIGN_OR_RETURN(auto projection, LeadProjection::Open(log.get(), {}));
//   RETURN_IF_ERROR(projection->CatchUpAll());                 // after a restart
//   callbacks.catch_up = [&](ShardId s) { return projection->CatchUp({s}); };  // LiveProjector
//   ASSIGN_OR_RETURN(RebuildReport report, projection->Rebuild());
#ifndef LEADLOG_PROJECTIONS_LEAD_LEAD_PROJECTION_H_
#define LEADLOG_PROJECTIONS_LEAD_LEAD_PROJECTION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/event_log.h"
#include "engine/ids.h"
#include "engine/projection.h"
#include "projections/lead/lead_fold.h"

namespace leadlog {

struct LeadProjectionOptions {
  // Read-only processes (leads get, definitions list) never create or switch
  // versions: Open fails with FailedPrecondition when no version is active.
  bool read_only = false;
  // fsync each live chunk (off by default, see the durability note).
  bool sync_live = false;
  // Threads Rebuild folds shards on (each shard on one thread, in sequence
  // order; shards in parallel): 1..kRebuildFoldThreadsMax, or 0 for
  // std::thread::hardware_concurrency() capped at kRebuildFoldThreadsMax.
  // Never more than the log has shards. Same state whatever the count.
  uint32_t rebuild_fold_threads = 0;
};

struct RebuildReport {
  uint32_t old_version = 0;  // 0 when there was no active version
  uint32_t new_version = 0;
  uint64_t records = 0;      // records folded by the rebuild
  double seconds = 0;        // wall time of the fold (reported, never asserted)
  // Per shard: digest of the new version, and of the old one when it was at
  // the same checkpoint at the switch (empty otherwise).
  struct Shard {
    ShardId shard;
    Sequence checkpoint;
    std::string new_digest;
    std::string old_digest;
  };
  std::vector<Shard> shards;
  // True when every shard's old digest was compared and equal.
  bool identical = false;
  // The new version's state caches after the rebuild (benchmarks).
  ProjectionRunnerStats cache;
  // The fold's decoded-lead cache after the rebuild (shared with the live
  // version's catch-ups; benchmarks).
  DecodedLeadsStats decoded;
};

// The cursor (engine/cursors.h) holding the sequence (BE64) of the latest
// erasure whose replaced bytes were purged. persisted: do not change.
inline constexpr absl::string_view kErasurePurgeCursor = "erasure_purge";

class LeadProjection {
 public:
  static absl::StatusOr<std::unique_ptr<LeadProjection>> Open(EventLog* log,
                                                              LeadProjectionOptions options);

  // Folds the new records of `shards` into the active version. When the
  // fold has applied an erasure the shard's "erasure_purge" cursor does not
  // cover yet, purges the replaced bytes (EventLog::PurgeErased) and then
  // advances the cursor: a crash in between purges again on the next call.
  // With `threads` > 1 different shards fold concurrently on that many
  // threads (each shard on one), the calling thread among them; the first
  // error stops the rest.
  absl::Status CatchUp(const std::vector<ShardId>& shards, uint32_t threads = 1);
  // ... of every shard of the log.
  absl::Status CatchUpAll();

  // Blue/green rebuild: folds every shard from sequence 0 into a new family
  // version while the active one keeps serving and catching up, then, under
  // the catch-up lock, brings both to the log's position, compares their
  // digests, makes the new version active (durable) and drops the old one.
  // The bulk phase folds shards on up to rebuild_fold_threads threads.
  // `progress` (optional) gets the records folded so far, from one of those
  // threads at a time.
  absl::StatusOr<RebuildReport> Rebuild(const std::function<void(uint64_t)>& progress = nullptr);

  // A lead of the active version as the change stream publishes it
  // (consumers/change_emitter.h): the shard's checkpoint read first, then
  // the committed state; when the lead no longer exists, `merged_into` is
  // the lead its key resolves to now ("" when none). DataLoss for an
  // undecodable state.
  struct CurrentLead {
    Sequence position;
    std::optional<v1::LeadState> state;
    std::string merged_into;
  };
  absl::StatusOr<CurrentLead> ReadLead(ShardId shard, absl::string_view lead_key) const;
  // Deletes the active version's change entries ("c/", engine/changes.h) of
  // `shard` up to and including `through_key` (ProjectionRunner::Prune,
  // unsynced: a pruned entry that comes back after a machine crash is
  // behind the cursor and pruned again).
  absl::Status PruneChanges(ShardId shard, absl::string_view through_key);

  // The active version's runner (a snapshot: stays valid after a switch).
  std::shared_ptr<const ProjectionRunner> runner() const;
  uint32_t active_version() const;
  EventLog* log() const { return log_; }

 private:
  LeadProjection(EventLog* log, LeadProjectionOptions options);
  absl::Status PurgeAfterErasure(const ProjectionRunner& runner, ShardId shard)
      ABSL_SHARED_LOCKS_REQUIRED(catch_up_mu_);

  EventLog* const log_;
  const LeadProjectionOptions options_;
  LeadFold fold_;
  std::unique_ptr<ProjectionCatalog> catalog_;
  // Shared by live catch-ups, exclusive for the rebuild's switch.
  absl::Mutex catch_up_mu_;
  mutable absl::Mutex mu_;
  std::shared_ptr<ProjectionRunner> active_ ABSL_GUARDED_BY(mu_);
  uint32_t active_version_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LEAD_LEAD_PROJECTION_H_
