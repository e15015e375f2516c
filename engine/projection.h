// Projection runtime: stores the state of a versioned pure fold over one
// shard's log records, and its checkpoint, atomically, and drives catch-up
// (DESIGN.md §2 invariants 4–6, §4; engine/FORMAT.md "Projection families").
//
// A projection version (name, version) owns one column family,
// `proj_<name>_v<version>`. The fold (ProjectionFold, implemented in
// projections/) sees records strictly in sequence order and reads/writes its
// state only through a ProjectionTxn; a rebuild of a new version from
// sequence 0 happens in its own family while another version stays active
// (blue/green, ProjectionCatalog).
//
// Thread-safety: ProjectionRunner and ProjectionCatalog are thread-safe.
// CatchUp calls for one shard are serialised inside; CatchUp calls for
// different shards run concurrently (the fold must allow concurrent Applies
// on different shards, each with its own ProjectionTxn). One runner per
// projection version per process: two runners of the same version would
// race on its checkpoints (caller's contract). A ProjectionTxn is used by one
// thread, inside one Apply.
// Ownership: the EventLog and the fold are borrowed and must outlive the
// runner (and the log the catalog).
// Durability: CatchUp commits each chunk of `records_per_commit` records as
// one WriteBatch holding the chunk's state writes and the new checkpoint
// (fsynced when `sync_per_commit`). After a crash, state and checkpoint
// always agree: a chunk is in or out as a whole, and the next CatchUp
// resumes at the checkpoint.
//
//   CountingFold fold;  // a ProjectionFold
//   ASSIGN_OR_RETURN(std::unique_ptr<ProjectionRunner> runner,
//                    ProjectionRunner::Create(log.get(), &fold, ProjectionRunnerOptions{}));
//   ASSIGN_OR_RETURN(Sequence next, runner->CatchUp(ShardId(0)));
//   ASSIGN_OR_RETURN(std::string digest, runner->StateDigest(ShardId(0)));
//
// Invariants:
//   - per shard, Checkpoint() == the number of records whose effect is in
//     the committed state (records 0 .. checkpoint-1, each applied once).
//   - Checkpoint(shard) <= log->Position(shard).
//   - state of a projection version is written only by its runner, only
//     together with its checkpoint (transient entries may also be pruned,
//     see Prune).
#ifndef LEADLOG_ENGINE_PROJECTION_H_
#define LEADLOG_ENGINE_PROJECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event_log.h"
#include "engine/ids.h"
#include "engine/limits.h"
#include "leadlog/v1/record.pb.h"

namespace leadlog {

// One state entry of a projection (fold key and value).
struct ProjectionEntry {
  std::string key;
  std::string value;
};

// The state a fold reads and writes while applying one chunk of records of
// one shard, in one projection version. Writes are buffered and committed
// with the chunk's checkpoint; reads see the buffered writes first.
class ProjectionTxn {
 public:
  virtual ~ProjectionTxn() = default;

  // The value of `key`: this chunk's pending write if any, else the
  // committed state; nullopt when absent or deleted. InvalidArgument ("key:
  // ...") for a key of 0 or more than kProjectionKeyBytesMax bytes; DataLoss
  // or Internal for storage failures.
  virtual absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) = 0;

  // Buffers a write. An invalid key (0 or more than kProjectionKeyBytesMax
  // bytes) or value (more than kProjectionValueBytesMax bytes) poisons the
  // transaction: the runner then fails the chunk with InvalidArgument naming
  // "key" or "value", and commits nothing of it.
  virtual void Put(absl::string_view key, std::string value) = 0;
  virtual void Delete(absl::string_view key) = 0;

  // Buffers the deletion of every key in [begin, end) (bytewise), committed
  // and pending alike; a later Put/Delete of a key in the range wins, as if
  // written after it. Get and Scan see it at once; the commit writes it as
  // one RocksDB range deletion (pending writes it hides are not written).
  // begin == end deletes nothing. Meant for few, wide ranges per chunk (a
  // tick's popped timers): a range that overlaps or touches an earlier one
  // widens it, and each distinct range costs every later Get and Scan of
  // the chunk one check. Returns false, buffering nothing, when the chunk
  // already holds kProjectionTxnRangeDeletesMax distinct ranges: the caller
  // then deletes the keys it knows one by one. Invalid arguments poison the
  // transaction like Put (InvalidArgument naming "begin": 0 or more than
  // kProjectionKeyBytesMax bytes; "end": more than kProjectionKeyBytesMax +
  // 1 bytes, or before begin).
  virtual bool DeleteRange(absl::string_view begin, absl::string_view end) = 0;

  // Up to `limit` entries whose key starts with `prefix` and sorts strictly
  // after `after` ("" = from the first), ascending by key (bytewise), as this
  // chunk sees them: pending Puts override and pending Deletes and
  // DeleteRanges hide committed entries. To page, pass the last key returned as `after`. InvalidArgument
  // naming "prefix" or "after" (more than kProjectionKeyBytesMax bytes) or
  // "limit" (0). The caller bounds memory with `limit`.
  virtual absl::StatusOr<std::vector<ProjectionEntry>> Scan(absl::string_view prefix,
                                                            absl::string_view after,
                                                            size_t limit) = 0;
};

// A versioned pure fold over log records (DESIGN.md invariant 5): Apply must
// depend only on the record and the state read through `txn` (no clock, no
// unseeded randomness, no unordered-container iteration order), so that a
// rebuild from sequence 0 gives byte-identical state.
class ProjectionFold {
 public:
  virtual ~ProjectionFold() = default;
  // 1..kProjectionNameBytesMax bytes of [a-z0-9_]; stable across versions.
  virtual std::string name() const = 0;
  // >= 1. A new version changes what the fold computes; it builds in its own
  // family.
  virtual uint32_t version() const = 0;
  // Folds one record. A non-OK status stops CatchUp; the chunk holding the
  // record is not committed.
  virtual absl::Status Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) = 0;

  // Chunk hooks, for a fold that keeps decoded state between the Applies of
  // one chunk instead of parsing and serializing it on every record: after
  // the chunk's last Apply, EndChunk writes what it kept through `txn` (an
  // error fails the chunk); when the chunk fails (an Apply or EndChunk
  // error, a log read error) AbortChunk forgets it. `txn` identifies the
  // chunk: several runners may share one fold and run chunks concurrently.
  virtual absl::Status EndChunk(ShardId shard, ProjectionTxn& txn) {
    (void)shard;
    (void)txn;
    return absl::OkStatus();
  }
  virtual void AbortChunk(ShardId shard, ProjectionTxn& txn) {
    (void)shard;
    (void)txn;
  }

  // Fold-key prefixes of transient entries: delivery queues the fold
  // writes for a consumer outside it (e.g. change entries, engine/changes.h),
  // which that consumer deletes once handled (ProjectionRunner::Prune).
  // They are deterministic like all state, but a rebuilt version holds every
  // entry since sequence 0 while the live one holds only those not yet
  // pruned, so StateDigest leaves them out. Default: none.
  virtual std::vector<std::string> transient_prefixes() const { return {}; }
};

struct ProjectionRunnerOptions {
  // Records folded per committed WriteBatch (1..kProjectionRecordsPerCommitMax).
  // A crash loses at most the chunk in progress, which is folded again.
  // Default kProjectionRecordsPerCommitDefault (1000).
  uint64_t records_per_commit = kProjectionRecordsPerCommitDefault;
  // fsync the WAL with each chunk. Off: a machine crash may lose the last
  // chunks (state and checkpoint together; they are folded again).
  bool sync_per_commit = true;
  // The family version to build into; 0 means fold->version(). `leadlog
  // rebuild` builds the same fold into a new family version (blue/green):
  // `proj_<name>_v<family_version>`, with its own checkpoints. Error labels
  // read "projection <name> v<family_version> (fold v<version>)" when the
  // two differ.
  uint32_t family_version = 0;
  // Bytes of committed state the runner keeps in memory between chunks,
  // split evenly over the log's shards (a shard created after the runner's
  // first use of a shard gets an even share of the total then, so the sum
  // may exceed the total by one share per added shard)
  // (0..kProjectionStateCacheBytesMax; 0 disables): a chunk's reads of keys
  // an earlier chunk read or wrote skip RocksDB. Filled by reads, updated
  // with each committed chunk, emptied when full and when a chunk fails;
  // transient keys never enter it. Default kProjectionStateCacheBytesDefault.
  // No effect on state or durability (it holds committed values only).
  size_t state_cache_bytes = kProjectionStateCacheBytesDefault;
};

// What the runner's state caches did (summed over shards), for benchmarks
// and metrics.
struct ProjectionRunnerStats {
  uint64_t state_cache_hits = 0;       // reads served from the cache
  uint64_t state_cache_misses = 0;     // reads that went to RocksDB
  uint64_t state_cache_evictions = 0;  // times a full cache was emptied
  uint64_t state_cache_bytes = 0;      // charged bytes held now
};

class ProjectionRunner {
 public:
  // Opens (creating when missing) the family of fold->name() /
  // fold->version() (or options.family_version) in log's RocksDB instance
  // and loads the checkpoints of log->Shards(). Errors: InvalidArgument
  // naming "name", "version" or "records_per_commit"; InvalidArgument when
  // `log` is not from EventLog::Open; FailedPrecondition when the family is
  // missing and the log is read-only; DataLoss for a malformed checkpoint.
  static absl::StatusOr<std::unique_ptr<ProjectionRunner>> Create(EventLog* log,
                                                                  ProjectionFold* fold,
                                                                  ProjectionRunnerOptions options);

  virtual ~ProjectionRunner() = default;

  // Folds the records of `shard` from its checkpoint up to
  // log->Position(shard) (as read at the call) in chunks, committing each
  // chunk with its checkpoint. Returns the new checkpoint. On error, the
  // chunks before the failing one stay committed; the status names the
  // projection, shard and sequence.
  virtual absl::StatusOr<Sequence> CatchUp(ShardId shard) = 0;

  // The next sequence to apply for `shard` (0 when nothing was applied).
  virtual Sequence Checkpoint(ShardId shard) const = 0;

  // The committed value of fold key `key` in `shard` (what readers of the
  // projection use); nullopt when absent. InvalidArgument ("key: ...") for
  // a key of 0 or more than kProjectionKeyBytesMax bytes.
  virtual absl::StatusOr<std::optional<std::string>> Get(ShardId shard,
                                                         absl::string_view key) const = 0;

  // A digest of every committed state entry of this version and shard:
  // FNV-1a 64 over, for each entry in key order, u32 BE key length ‖ key ‖
  // u32 BE value length ‖ value; as 16 lowercase hex digits. Stable across
  // processes and builds (not absl::Hash). Equal states give equal digests,
  // whichever version or family they live in. Entries under the fold's
  // transient_prefixes() are left out.
  virtual absl::StatusOr<std::string> StateDigest(ShardId shard) const = 0;

  // The state caches' counters (ProjectionRunnerOptions::state_cache_bytes).
  virtual ProjectionRunnerStats Stats() const = 0;

  // Deletes the committed transient entries of `shard` whose key starts
  // with `prefix` and sorts at or before `through_key` (one RocksDB range
  // deletion; the only write to a version's state outside CatchUp, allowed
  // because transient entries are no part of the fold's state). `sync`
  // fsyncs it. InvalidArgument naming "prefix" (not one of the fold's
  // transient_prefixes()) or "through_key" (not under `prefix`);
  // FailedPrecondition on a read-only log.
  virtual absl::Status Prune(ShardId shard, absl::string_view prefix,
                             absl::string_view through_key, bool sync) = 0;

  // Committed entries of `shard` whose key starts with `prefix` and sorts
  // strictly after `after` ("" = from the first), ascending, at most
  // `limit`; errors as ProjectionTxn::Scan. Reads one consistent view (a
  // RocksDB iterator); a concurrent CatchUp's chunk is seen whole or not.
  virtual absl::StatusOr<std::vector<ProjectionEntry>> Scan(ShardId shard,
                                                            absl::string_view prefix,
                                                            absl::string_view after,
                                                            size_t limit) const = 0;
};

// Which version of each projection is active (the one readers use), and the
// versions that exist. The active version is a meta key; SetActiveVersion is
// the atomic switch at the end of a blue/green rebuild.
class ProjectionCatalog {
 public:
  // InvalidArgument when `log` is not from EventLog::Open.
  static absl::StatusOr<std::unique_ptr<ProjectionCatalog>> Create(EventLog* log);

  virtual ~ProjectionCatalog() = default;

  // The versions of `name` that have a family, ascending.
  virtual absl::StatusOr<std::vector<uint32_t>> Versions(absl::string_view name) const = 0;
  // The active version of `name`; nullopt when none was set.
  virtual absl::StatusOr<std::optional<uint32_t>> ActiveVersion(absl::string_view name) const = 0;
  // Makes `version` active (durable: synced write). NotFound when the
  // version has no family.
  virtual absl::Status SetActiveVersion(absl::string_view name, uint32_t version) = 0;
  // Drops the family of a version that is not active (FailedPrecondition if
  // it is; NotFound if it has no family). No runner of that version may be
  // running.
  virtual absl::Status DropVersion(absl::string_view name, uint32_t version) = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_PROJECTION_H_
