// Projection runtime on the EventLog's RocksDB instance. Design note:
// - Each projection version has its own column family (created on demand
//   through the Store); state and checkpoint live there, so dropping a
//   version drops both (internal/projection_format.h, FORMAT.md).
// - CatchUp reads one chunk with EventLog::ReadRange, applies the fold with a
//   TxnImpl that buffers writes (a hash map; range deletions in a short
//   list), and commits the buffered range deletions, writes and the new
//   checkpoint in one WriteBatch. The in-memory checkpoint is published
//   only after the write succeeded.
// - Scan merges the txn's pending writes (ordered per scan domain on first
//   use, limits.h kProjectionTxnScanDomainBytes) over an iterator on the
//   committed state of the shard, bounded to the prefix, skipping what
//   pending range deletions hide; encoded keys are shard ‖ 'S' ‖ fold key,
//   so both run in the same order.
// - ProjectionRunnerOptions::family_version lets the same fold build into a
//   family of another version (blue/green rebuild of unchanged code).
// - The active version of each name is a global meta key, written synced.
#include "engine/projection.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "engine/internal/event_log_access.h"
#include "engine/internal/format.h"
#include "engine/internal/projection_format.h"
#include "engine/internal/state_cache.h"
#include "engine/internal/store.h"
#include "engine/status_macros.h"
#include "rocksdb/write_batch.h"

namespace leadlog {
namespace {

using internal::Store;

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

absl::Status CheckKey(absl::string_view key) {
  if (!key.empty() && key.size() <= kProjectionKeyBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("key: ", key.size(),
                                                 " bytes, expected 1..kProjectionKeyBytesMax (",
                                                 kProjectionKeyBytesMax, ")"));
}

absl::Status CheckValue(absl::string_view value) {
  if (value.size() <= kProjectionValueBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("value: ", value.size(),
                                                 " bytes, more than kProjectionValueBytesMax (",
                                                 kProjectionValueBytesMax, ")"));
}

absl::StatusOr<Store*> StoreOrError(EventLog* log) {
  Store* store = log == nullptr ? nullptr : internal::StoreOf(log);
  if (store != nullptr) return store;
  return absl::InvalidArgumentError("log: not an EventLog returned by EventLog::Open");
}

// One chunk's reads and buffered writes for one shard of one version.
//
// Pending writes live in a hash map: point reads and writes are the hot path
// (a tick touches ≈ 5 keys per fired timer), and the commit needs no order
// (a WriteBatch of distinct keys means the same in any order). Key order is
// kept only where Scan asks for it, per scan domain (ScanDomain). Each
// write and range deletion takes the next number of the chunk (`seq`), so a
// range deletion hides exactly the pending writes made before it.
//
// `cache` (optional) is the runner's StateCache of the shard: committed
// values kept across chunks. Transient keys (`transient`, pruned outside
// the runner) never enter it; they and every key without a cache are
// remembered for this chunk only.
class TxnImpl final : public ProjectionTxn {
 public:
  TxnImpl(const Store& store, rocksdb::ColumnFamilyHandle* family, ShardId shard,
          internal::StateCache* cache = nullptr,
          const std::vector<std::string>* transient = nullptr)
      : store_(store),
        family_(family),
        shard_(shard),
        cache_(cache != nullptr && cache->enabled() ? cache : nullptr),
        transient_(transient) {}

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override {
    RETURN_IF_ERROR(CheckKey(key));
    if (auto it = pending_.find(key); it != pending_.end()) {
      if (HiddenByRange(key, it->second.seq)) return std::optional<std::string>();
      return it->second.value;
    }
    if (HiddenByRange(key, 0)) return std::optional<std::string>();
    // Committed values do not change during a chunk (one runner per
    // version; Prune deletes transient keys only): repeated reads of a key
    // are served from memory.
    const bool shared = cache_ != nullptr && !IsTransient(key);
    if (shared) {
      if (const std::optional<std::string>* cached = cache_->Find(key)) return *cached;
    } else if (auto cached = committed_reads_.find(key); cached != committed_reads_.end()) {
      return cached->second;
    }
    internal::EncodeProjectionStateKey(shard_, key, &scratch_);
    std::string value;
    rocksdb::Status s = store_.db()->Get(rocksdb::ReadOptions(), family_, scratch_, &value);
    std::optional<std::string> result;
    if (!s.IsNotFound()) {
      RETURN_IF_ERROR(store_.FromRocks(s, "read projection state"));
      result = std::move(value);
    }
    if (shared) {
      cache_->Insert(key, result);
    } else {
      committed_reads_.emplace(std::string(key), result);
    }
    return result;
  }

  void Put(absl::string_view key, std::string value) override {
    if (!status_.ok()) return;
    status_ = CheckKey(key);
    if (status_.ok()) status_ = CheckValue(value);
    if (status_.ok()) Write(key, std::move(value));
  }

  void Delete(absl::string_view key) override {
    if (!status_.ok()) return;
    status_ = CheckKey(key);
    if (status_.ok()) Write(key, std::nullopt);
  }

  bool DeleteRange(absl::string_view begin, absl::string_view end) override;

  absl::StatusOr<std::vector<ProjectionEntry>> Scan(absl::string_view prefix,
                                                    absl::string_view after,
                                                    size_t limit) override;

  // The first invalid Put/Delete/DeleteRange, or OK.
  const absl::Status& status() const { return status_; }

  // Writes the pending range deletions, then the pending writes they do not
  // hide, and `checkpoint` in one batch; then the cache holds the written
  // values (or, when the write failed, nothing: what is on disk is
  // unknown). The txn is spent afterwards.
  absl::Status Commit(Sequence checkpoint, bool sync);

 private:
  struct PendingWrite {
    std::optional<std::string> value;  // nullopt: deleted
    uint64_t seq = 0;
  };
  // [begin, end) deleted at `seq`. `sealed`: a Put landed inside after it,
  // so a later DeleteRange must not widen it (that would hide the Put).
  struct PendingRange {
    std::string begin;
    std::string end;
    uint64_t seq = 0;
    bool sealed = false;
    bool Covers(absl::string_view key) const { return begin <= key && key < end; }
  };
  // Pending keys starting with `prefix`, ordered, for Scans under it.
  struct ScanDomain {
    std::string prefix;
    std::set<std::string, std::less<>> keys;
  };

  bool IsTransient(absl::string_view key) const {
    if (transient_ == nullptr) return false;
    for (const std::string& prefix : *transient_) {
      if (absl::StartsWith(key, prefix)) return true;
    }
    return false;
  }
  // A pending range deleted after `seq` (0: committed state) covers `key`.
  const PendingRange* RangeHiding(absl::string_view key, uint64_t seq) const {
    for (const PendingRange& range : ranges_) {
      if (range.seq > seq && range.Covers(key)) return &range;
    }
    return nullptr;
  }
  bool HiddenByRange(absl::string_view key, uint64_t seq) const {
    return !ranges_.empty() && RangeHiding(key, seq) != nullptr;
  }
  void Write(absl::string_view key, std::optional<std::string> value);
  // The ordered pending keys covering Scans of `prefix` (created on first use).
  const std::set<std::string, std::less<>>& OrderedKeys(absl::string_view prefix);

  const Store& store_;
  rocksdb::ColumnFamilyHandle* const family_;
  const ShardId shard_;
  internal::StateCache* const cache_;                // null: none
  const std::vector<std::string>* const transient_;  // null: none
  absl::flat_hash_map<std::string, PendingWrite> pending_;
  std::vector<PendingRange> ranges_;  // at most kProjectionTxnRangeDeletesMax
  std::vector<ScanDomain> domains_;   // at most kProjectionTxnScanDomainsMax
  uint64_t seq_ = 0;                  // of the last write or range deletion
  // Committed values read in this chunk (nullopt: absent).
  absl::flat_hash_map<std::string, std::optional<std::string>> committed_reads_;
  absl::Status status_;
  std::string scratch_;
};

void TxnImpl::Write(absl::string_view key, std::optional<std::string> value) {
  const uint64_t seq = ++seq_;
  if (value.has_value()) {
    for (PendingRange& range : ranges_) range.sealed = range.sealed || range.Covers(key);
  }
  auto it = pending_.find(key);
  if (it != pending_.end()) {  // already in every domain it falls under
    it->second = PendingWrite{std::move(value), seq};
    return;
  }
  pending_.emplace(std::string(key), PendingWrite{std::move(value), seq});
  for (ScanDomain& domain : domains_) {
    if (absl::StartsWith(key, domain.prefix)) domain.keys.emplace(key);
  }
}

absl::Status CheckRange(absl::string_view begin, absl::string_view end) {
  if (begin.empty() || begin.size() > kProjectionKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("begin: ", begin.size(),
                                                   " bytes, expected 1..kProjectionKeyBytesMax (",
                                                   kProjectionKeyBytesMax, ")"));
  }
  if (end.size() > kProjectionKeyBytesMax + 1) {
    return absl::InvalidArgumentError(absl::StrCat("end: ", end.size(),
                                                   " bytes, expected at most "
                                                   "kProjectionKeyBytesMax + 1 (",
                                                   kProjectionKeyBytesMax + 1, ")"));
  }
  if (end < begin) return absl::InvalidArgumentError("end: sorts before begin");
  return absl::OkStatus();
}

bool TxnImpl::DeleteRange(absl::string_view begin, absl::string_view end) {
  if (!status_.ok()) return true;
  status_ = CheckRange(begin, end);
  if (!status_.ok() || begin == end) return true;
  // A PopDue loop deletes [first due key, popped key] again and again with a
  // growing end: widen the range it deleted before instead of adding one per
  // timer. Widening moves the range's seq, so it must not cover a Put made
  // after the range (sealed); a Delete there is deleted either way.
  for (PendingRange& range : ranges_) {
    if (range.sealed || end < range.begin || range.end < begin) continue;
    if (begin < range.begin) range.begin = std::string(begin);
    if (end > range.end) range.end = std::string(end);
    range.seq = ++seq_;
    return true;
  }
  if (ranges_.size() == kProjectionTxnRangeDeletesMax) return false;
  ranges_.push_back(PendingRange{std::string(begin), std::string(end), ++seq_, false});
  return true;
}

const std::set<std::string, std::less<>>& TxnImpl::OrderedKeys(absl::string_view prefix) {
  for (const ScanDomain& domain : domains_) {
    if (absl::StartsWith(prefix, domain.prefix)) return domain.keys;
  }
  // Too many domains: one domain of every key replaces them.
  if (domains_.size() == kProjectionTxnScanDomainsMax) {
    domains_.clear();
    prefix = "";
  }
  ScanDomain& domain = domains_.emplace_back();
  domain.prefix = std::string(prefix.substr(0, kProjectionTxnScanDomainBytes));
  for (const auto& [key, write] : pending_) {
    if (absl::StartsWith(key, domain.prefix)) domain.keys.insert(key);
  }
  return domain.keys;
}

absl::Status TxnImpl::Commit(Sequence checkpoint, bool sync) {
  rocksdb::WriteBatch batch;
  std::string key;
  std::string end_key;
  // Ranges first: a pending write they do not hide was made after them and
  // must stay visible, so it comes later in the batch.
  for (const PendingRange& range : ranges_) {
    internal::EncodeProjectionStateKey(shard_, range.begin, &key);
    internal::EncodeProjectionStateKey(shard_, range.end, &end_key);
    RETURN_IF_ERROR(
        store_.FromRocks(batch.DeleteRange(family_, key, end_key), "build projection batch"));
  }
  // In key order, although any order means the same: RocksDB's skiplist
  // memtable reuses the previous insert's position for ascending keys
  // (tick_bench 100 k / 5 k: the tick took ≈ 20 % more CPU in hash order).
  std::vector<const std::pair<const std::string, PendingWrite>*> writes;
  writes.reserve(pending_.size());
  for (const auto& entry : pending_) {
    if (!HiddenByRange(entry.first, entry.second.seq)) writes.push_back(&entry);
  }
  std::sort(writes.begin(), writes.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* entry : writes) {
    const PendingWrite& write = entry->second;
    internal::EncodeProjectionStateKey(shard_, entry->first, &key);
    rocksdb::Status s = write.value.has_value() ? batch.Put(family_, key, *write.value)
                                                : batch.Delete(family_, key);
    RETURN_IF_ERROR(store_.FromRocks(s, "build projection batch"));
  }
  std::string value;
  internal::EncodeProjectionCheckpointKey(shard_, &key);
  internal::EncodeProjectionCheckpoint(checkpoint, &value);
  RETURN_IF_ERROR(store_.FromRocks(batch.Put(family_, key, value), "build projection batch"));
  rocksdb::WriteOptions options;
  options.sync = sync;
  absl::Status written =
      store_.FromRocks(store_.db()->Write(options, &batch), "write projection batch");
  if (cache_ == nullptr) return written;
  if (!written.ok()) {
    cache_->Clear();
    return written;
  }
  for (const PendingRange& range : ranges_) cache_->EraseRange(range.begin, range.end);
  for (auto& [fold_key, write] : pending_) {
    if (IsTransient(fold_key) || HiddenByRange(fold_key, write.seq)) continue;
    cache_->Insert(fold_key, std::move(write.value));
  }
  pending_.clear();
  ranges_.clear();
  return written;
}

absl::Status CheckScanArguments(absl::string_view prefix, absl::string_view after, size_t limit) {
  if (prefix.size() > kProjectionKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("prefix: ", prefix.size(),
                                                   " bytes, expected 0..kProjectionKeyBytesMax (",
                                                   kProjectionKeyBytesMax, ")"));
  }
  if (after.size() > kProjectionKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("after: ", after.size(),
                                                   " bytes, expected 0..kProjectionKeyBytesMax (",
                                                   kProjectionKeyBytesMax, ")"));
  }
  // A limit of 0 would make a paging caller loop without progress.
  if (limit == 0) return absl::InvalidArgumentError("limit: 0, expected >= 1");
  return absl::OkStatus();
}

// The first fold key a scan of (`prefix`, `after`) may return: the larger of
// `prefix` and the smallest key after `after` (after ‖ 0x00).
std::string ScanStart(absl::string_view prefix, absl::string_view after) {
  if (after.empty()) return std::string(prefix);
  std::string past_after(after);
  past_after.push_back('\0');
  return std::max(std::string(prefix), std::move(past_after));
}

// Committed state of one shard in fold-key order, starting at a fold key,
// restricted to keys that start with a prefix. Encoded state keys are
// shard ‖ 'S' ‖ fold key, so encoded order within a shard is fold-key order
// (bytewise, as std::string compares).
class CommittedCursor {
 public:
  CommittedCursor(const Store& store, rocksdb::ColumnFamilyHandle* family, ShardId shard,
                  absl::string_view prefix, absl::string_view start) {
    std::string upper;
    internal::EncodeProjectionStateKey(shard, prefix, &upper);
    upper = internal::PrefixSuccessor(upper);  // never empty: shard ‖ 'S' ‖ ... < shard ‖ 'T'
    std::string lower;
    internal::EncodeProjectionStateKey(shard, start, &lower);
    state_prefix_bytes_ = lower.size() - start.size();
    if (lower >= upper) return;  // nothing can match; it_ stays empty
    it_.emplace(store, family, std::move(lower), std::move(upper));
  }

  bool Valid() const { return it_.has_value() && it_->Valid(); }
  absl::string_view key() const { return View(it_->key()).substr(state_prefix_bytes_); }
  absl::string_view value() const { return View(it_->value()); }
  void Next() { it_->Next(); }
  // To the first entry at or after fold key `key` (> key(): forward only).
  void SeekForward(absl::string_view key) {
    scratch_.assign(it_->lower(), 0, state_prefix_bytes_);
    scratch_.append(key.data(), key.size());
    it_->Seek(scratch_);
  }
  rocksdb::Status status() const { return it_.has_value() ? it_->status() : rocksdb::Status::OK(); }

 private:
  size_t state_prefix_bytes_ = 0;
  std::string scratch_;
  std::optional<internal::RangeIterator> it_;
};

absl::StatusOr<std::vector<ProjectionEntry>> TxnImpl::Scan(absl::string_view prefix,
                                                           absl::string_view after,
                                                           size_t limit) {
  RETURN_IF_ERROR(CheckScanArguments(prefix, after, limit));
  const std::string start = ScanStart(prefix, after);
  CommittedCursor committed(store_, family_, shard_, prefix, start);
  const std::set<std::string, std::less<>>& ordered = OrderedKeys(prefix);
  auto pending = ordered.lower_bound(start);
  auto pending_valid = [&] {
    return pending != ordered.end() && absl::StartsWith(*pending, prefix);
  };
  std::vector<ProjectionEntry> entries;
  while (entries.size() < limit) {
    // Committed entries under a pending range deletion: skip the range.
    if (committed.Valid() && !ranges_.empty()) {
      if (const PendingRange* range = RangeHiding(committed.key(), 0)) {
        committed.SeekForward(range->end);
        continue;
      }
    }
    const bool has_pending = pending_valid();
    if (!has_pending && !committed.Valid()) break;
    // The pending write wins when it is first or at the same key (it
    // overrides or, as a deletion, hides the committed entry).
    if (has_pending && (!committed.Valid() || absl::string_view(*pending) <= committed.key())) {
      if (committed.Valid() && committed.key() == *pending) committed.Next();
      const PendingWrite& write = pending_.find(*pending)->second;
      if (write.value.has_value() && !HiddenByRange(*pending, write.seq)) {
        entries.push_back({*pending, *write.value});
      }
      ++pending;
    } else {
      entries.push_back({std::string(committed.key()), std::string(committed.value())});
      committed.Next();
    }
  }
  RETURN_IF_ERROR(store_.FromRocks(committed.status(), "scan projection state"));
  return entries;
}

// Reads the stored checkpoint of `shard` (0 when none).
absl::StatusOr<Sequence> LoadCheckpoint(const Store& store, rocksdb::ColumnFamilyHandle* family,
                                        ShardId shard, absl::string_view label) {
  std::string key;
  internal::EncodeProjectionCheckpointKey(shard, &key);
  std::string value;
  rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), family, key, &value);
  if (s.IsNotFound()) return Sequence(0);
  RETURN_IF_ERROR(store.FromRocks(s, "read projection checkpoint"));
  std::optional<Sequence> checkpoint = internal::DecodeProjectionCheckpoint(value);
  if (!checkpoint.has_value()) {
    return absl::DataLossError(absl::StrCat(label, " shard ", shard.value(),
                                            ": malformed checkpoint (", value.size(), " bytes)"));
  }
  return *checkpoint;
}

class RunnerImpl final : public ProjectionRunner {
 public:
  RunnerImpl(EventLog* log, Store* store, ProjectionFold* fold, ProjectionRunnerOptions options,
             rocksdb::ColumnFamilyHandle* family, std::string label)
      : log_(log),
        store_(store),
        fold_(fold),
        options_(options),
        family_(family),
        label_(std::move(label)),
        transient_(fold->transient_prefixes()) {}

  absl::Status LoadCheckpoints();
  absl::StatusOr<Sequence> CatchUp(ShardId shard) override;
  Sequence Checkpoint(ShardId shard) const override;
  absl::StatusOr<std::optional<std::string>> Get(ShardId shard,
                                                 absl::string_view key) const override {
    TxnImpl reader(*store_, family_, shard);  // nothing pending: committed state
    return reader.Get(key);
  }
  absl::StatusOr<std::string> StateDigest(ShardId shard) const override;
  ProjectionRunnerStats Stats() const override;
  absl::Status Prune(ShardId shard, absl::string_view prefix, absl::string_view through_key,
                     bool sync) override;
  absl::StatusOr<std::vector<ProjectionEntry>> Scan(ShardId shard, absl::string_view prefix,
                                                    absl::string_view after,
                                                    size_t limit) const override {
    TxnImpl reader(*store_, family_, shard);  // nothing pending: committed state
    return reader.Scan(prefix, after, limit);
  }

 private:
  // What CatchUp of one shard owns: its lock, held for the whole call, and
  // the shard's cache of committed state.
  struct ShardFold {
    explicit ShardFold(size_t cache_bytes) : cache(cache_bytes) {}
    absl::Mutex mu;
    internal::StateCache cache ABSL_GUARDED_BY(mu);
  };
  // The ShardFold of `shard` (created on first use; lives as the runner).
  ShardFold& ShardOf(ShardId shard);
  absl::Status ApplyChunk(ShardId shard, Sequence from, Sequence end, internal::StateCache* cache);
  absl::Status Annotate(const absl::Status& status, ShardId shard, uint64_t sequence) const {
    return absl::Status(status.code(), absl::StrCat(label_, " shard ", shard.value(), " sequence ",
                                                    sequence, ": ", status.message()));
  }

  EventLog* const log_;
  Store* const store_;
  ProjectionFold* const fold_;
  const ProjectionRunnerOptions options_;
  rocksdb::ColumnFamilyHandle* const family_;
  const std::string label_;  // "projection <name> v<family version>[ (fold v<version>)]"
  const std::vector<std::string> transient_;  // fold_->transient_prefixes()
  // CatchUp is serialised per shard; different shards fold concurrently
  // (their state keys and checkpoints are disjoint: every key begins with
  // the shard id).
  mutable absl::Mutex shards_mu_;
  absl::flat_hash_map<ShardId, std::unique_ptr<ShardFold>> shards_ ABSL_GUARDED_BY(shards_mu_);
  mutable absl::Mutex checkpoint_mu_;
  // What is on disk, for every shard whose checkpoint was read or written.
  absl::flat_hash_map<ShardId, Sequence> checkpoints_ ABSL_GUARDED_BY(checkpoint_mu_);
};

absl::Status RunnerImpl::LoadCheckpoints() {
  for (ShardId shard : log_->Shards()) {
    Sequence checkpoint;
    ASSIGN_OR_RETURN(checkpoint, LoadCheckpoint(*store_, family_, shard, label_));
    if (checkpoint > log_->Position(shard)) {
      return absl::DataLossError(absl::StrCat(label_, " shard ", shard.value(), ": checkpoint ",
                                              checkpoint.value(), " is beyond the log position ",
                                              log_->Position(shard).value()));
    }
    absl::MutexLock lock(&checkpoint_mu_);
    checkpoints_[shard] = checkpoint;
  }
  return absl::OkStatus();
}

Sequence RunnerImpl::Checkpoint(ShardId shard) const {
  absl::MutexLock lock(&checkpoint_mu_);
  auto it = checkpoints_.find(shard);
  return it == checkpoints_.end() ? Sequence(0) : it->second;
}

RunnerImpl::ShardFold& RunnerImpl::ShardOf(ShardId shard) {
  // The runner's cache budget is split evenly over the log's shards, so the
  // memory bound does not grow with the shard count (64 partitions → 64
  // shards). Read before the lock: Shards() takes the log's own lock.
  const size_t shard_count = std::max<size_t>(1, log_->Shards().size());
  absl::MutexLock lock(&shards_mu_);
  std::unique_ptr<ShardFold>& fold = shards_[shard];
  if (fold == nullptr) {
    fold = std::make_unique<ShardFold>(options_.state_cache_bytes / shard_count);
  }
  return *fold;  // stable: the map owns it for the runner's life
}

ProjectionRunnerStats RunnerImpl::Stats() const {
  ProjectionRunnerStats stats;
  absl::MutexLock lock(&shards_mu_);
  for (const auto& [shard, fold] : shards_) {
    // The counters are atomics: no need for (or wait on) the shard's lock.
    const internal::StateCache& cache = ABSL_TS_UNCHECKED_READ(fold->cache);
    stats.state_cache_hits += cache.hits();
    stats.state_cache_misses += cache.misses();
    stats.state_cache_evictions += cache.evictions();
    stats.state_cache_bytes += cache.bytes();
  }
  return stats;
}

absl::StatusOr<Sequence> RunnerImpl::CatchUp(ShardId shard) {
  if (store_->read_only()) {
    return absl::FailedPreconditionError(
        absl::StrCat(label_, ": event log in ", store_->data_dir(), " is open read-only"));
  }
  ShardFold& fold = ShardOf(shard);
  absl::MutexLock lock(&fold.mu);
  Sequence from;
  ASSIGN_OR_RETURN(from, LoadCheckpoint(*store_, family_, shard, label_));
  const Sequence to = log_->Position(shard);
  if (from > to) {
    return absl::DataLossError(absl::StrCat(label_, " shard ", shard.value(), ": checkpoint ",
                                            from.value(), " is beyond the log position ",
                                            to.value()));
  }
  while (from < to) {
    const Sequence end(std::min(from.value() + options_.records_per_commit, to.value()));
    RETURN_IF_ERROR(ApplyChunk(shard, from, end, &fold.cache));
    from = end;
  }
  absl::MutexLock checkpoint_lock(&checkpoint_mu_);
  checkpoints_[shard] = from;
  return from;
}

absl::Status RunnerImpl::ApplyChunk(ShardId shard, Sequence from, Sequence end,
                                    internal::StateCache* cache) {
  TxnImpl txn(*store_, family_, shard, cache, &transient_);
  uint64_t next = from.value();
  absl::Status read = log_->ReadRange(shard, from, end, [&](const v1::LogRecord& record) {
    absl::Status applied = fold_->Apply(shard, record, txn);
    if (applied.ok()) applied = txn.status();
    if (!applied.ok()) return Annotate(applied, shard, record.sequence());
    ++next;
    return absl::OkStatus();
  });
  if (read.ok() && next != end.value()) {
    read = absl::DataLossError(absl::StrCat(label_, " shard ", shard.value(), ": log ends at ",
                                            next, ", expected records up to ", end.value() - 1));
  }
  // The fold writes what it kept decoded during the chunk (or forgets it).
  if (read.ok()) {
    read = fold_->EndChunk(shard, txn);
    if (read.ok()) read = txn.status();
  }
  if (!read.ok()) {
    fold_->AbortChunk(shard, txn);
    cache->Clear();  // it holds committed values only; dropped to be safe
    return read;
  }
  RETURN_IF_ERROR(txn.Commit(end, options_.sync_per_commit));
  absl::MutexLock lock(&checkpoint_mu_);
  checkpoints_[shard] = end;
  return absl::OkStatus();
}

// FNV-1a 64 (persisted meaning: digests are compared across processes).
class Fnv1a64 {
 public:
  void Add(absl::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  void AddSized(absl::string_view bytes) {
    std::string size;
    internal::PutU32(static_cast<uint32_t>(bytes.size()), &size);
    Add(size);
    Add(bytes);
  }
  std::string Hex() const { return absl::StrFormat("%016x", hash_); }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ULL;
};

absl::StatusOr<std::string> RunnerImpl::StateDigest(ShardId shard) const {
  std::string lower;
  internal::EncodeProjectionStatePrefix(shard, &lower);
  const size_t prefix_bytes = lower.size();
  std::string upper = internal::PrefixSuccessor(lower);
  internal::RangeIterator it(*store_, family_, std::move(lower), std::move(upper));
  Fnv1a64 hash;
  const std::vector<std::string> transient = fold_->transient_prefixes();
  for (; it.Valid(); it.Next()) {
    const absl::string_view fold_key = View(it.key()).substr(prefix_bytes);
    bool skip = false;
    for (const std::string& prefix : transient) skip = skip || absl::StartsWith(fold_key, prefix);
    if (skip) continue;
    hash.AddSized(fold_key);
    hash.AddSized(View(it.value()));
  }
  RETURN_IF_ERROR(store_->FromRocks(it.status(), "read projection state"));
  return hash.Hex();
}

absl::Status RunnerImpl::Prune(ShardId shard, absl::string_view prefix,
                               absl::string_view through_key, bool sync) {
  const std::vector<std::string> transient = fold_->transient_prefixes();
  if (prefix.empty() || std::find(transient.begin(), transient.end(), prefix) == transient.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(label_, ": prefix \"", prefix, "\" is not a transient prefix of the fold"));
  }
  if (!absl::StartsWith(through_key, prefix) || through_key.size() > kProjectionKeyBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat(label_, ": through_key is not a key under \"", prefix, "\""));
  }
  if (store_->read_only()) {
    return absl::FailedPreconditionError(absl::StrCat(label_, ": prune on a read-only log"));
  }
  std::string begin, end;
  internal::EncodeProjectionStateKey(shard, prefix, &begin);
  internal::EncodeProjectionStateKey(shard, through_key, &end);
  end.push_back('\0');  // exclusive end: the smallest key after through_key
  rocksdb::WriteOptions write;
  write.sync = sync;
  return store_->FromRocks(store_->db()->DeleteRange(write, family_, begin, end),
                           "prune projection entries");
}

class CatalogImpl final : public ProjectionCatalog {
 public:
  explicit CatalogImpl(Store* store) : store_(store) {}

  absl::StatusOr<std::vector<uint32_t>> Versions(absl::string_view name) const override;
  absl::StatusOr<std::optional<uint32_t>> ActiveVersion(absl::string_view name) const override;
  absl::Status SetActiveVersion(absl::string_view name, uint32_t version) override;
  absl::Status DropVersion(absl::string_view name, uint32_t version) override;

 private:
  absl::Status CheckWritable() const {
    if (!store_->read_only()) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("event log in ", store_->data_dir(), " is open read-only"));
  }

  Store* const store_;
  // Serialises SetActiveVersion and DropVersion (never drop the active one).
  absl::Mutex mu_;
};

absl::StatusOr<std::vector<uint32_t>> CatalogImpl::Versions(absl::string_view name) const {
  RETURN_IF_ERROR(internal::CheckProjectionName(name, "name"));
  std::vector<uint32_t> versions;
  for (const std::string& family : store_->ExtraFamilyNames()) {
    std::optional<uint32_t> version = internal::ParseProjectionFamilyVersion(family, name);
    if (version.has_value()) versions.push_back(*version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<std::optional<uint32_t>> CatalogImpl::ActiveVersion(absl::string_view name) const {
  RETURN_IF_ERROR(internal::CheckProjectionName(name, "name"));
  std::string key;
  internal::EncodeActiveProjectionKey(name, &key);
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->families().meta, key, &value);
  if (s.IsNotFound()) return std::optional<uint32_t>();
  RETURN_IF_ERROR(store_->FromRocks(s, "read active projection version"));
  std::optional<uint32_t> version = internal::DecodeProjectionVersion(value);
  if (!version.has_value()) {
    return absl::DataLossError(
        absl::StrCat("projection ", name, ": malformed active version (", value.size(), " bytes)"));
  }
  return version;
}

absl::Status CatalogImpl::SetActiveVersion(absl::string_view name, uint32_t version) {
  RETURN_IF_ERROR(internal::CheckProjectionName(name, "name"));
  RETURN_IF_ERROR(internal::CheckProjectionVersion(version, "version"));
  RETURN_IF_ERROR(CheckWritable());
  absl::MutexLock lock(&mu_);
  const std::string family = internal::ProjectionFamilyName(name, version);
  if (store_->ExtraFamily(family) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("projection ", name, " v", version, ": no column family '", family, "'"));
  }
  std::string key;
  std::string value;
  internal::EncodeActiveProjectionKey(name, &key);
  internal::EncodeProjectionVersion(version, &value);
  rocksdb::WriteOptions write;
  write.sync = true;
  return store_->FromRocks(store_->db()->Put(write, store_->families().meta, key, value),
                           "write active projection version");
}

absl::Status CatalogImpl::DropVersion(absl::string_view name, uint32_t version) {
  RETURN_IF_ERROR(internal::CheckProjectionName(name, "name"));
  RETURN_IF_ERROR(internal::CheckProjectionVersion(version, "version"));
  RETURN_IF_ERROR(CheckWritable());
  absl::MutexLock lock(&mu_);
  std::optional<uint32_t> active;
  ASSIGN_OR_RETURN(active, ActiveVersion(name));
  if (active == version) {
    return absl::FailedPreconditionError(
        absl::StrCat("projection ", name, " v", version, " is the active version"));
  }
  return store_->DropFamily(internal::ProjectionFamilyName(name, version));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProjectionRunner>> ProjectionRunner::Create(
    EventLog* log, ProjectionFold* fold, ProjectionRunnerOptions options) {
  Store* store = nullptr;
  ASSIGN_OR_RETURN(store, StoreOrError(log));
  if (fold == nullptr) return absl::InvalidArgumentError("fold: null");
  const std::string name = fold->name();
  const uint32_t version = fold->version();
  RETURN_IF_ERROR(internal::CheckProjectionName(name, "name"));
  RETURN_IF_ERROR(internal::CheckProjectionVersion(version, "version"));
  if (options.state_cache_bytes > kProjectionStateCacheBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "state_cache_bytes: ", options.state_cache_bytes,
        ", expected 0..kProjectionStateCacheBytesMax (", kProjectionStateCacheBytesMax, ")"));
  }
  if (options.records_per_commit < 1 ||
      options.records_per_commit > kProjectionRecordsPerCommitMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "records_per_commit: ", options.records_per_commit,
        ", expected 1..kProjectionRecordsPerCommitMax (", kProjectionRecordsPerCommitMax, ")"));
  }
  // 0 = the fold's own version; otherwise a blue/green rebuild of the same
  // fold into another family.
  const uint32_t family_version = options.family_version == 0 ? version : options.family_version;
  RETURN_IF_ERROR(internal::CheckProjectionVersion(family_version, "family_version"));
  std::string label = absl::StrCat("projection ", name, " v", family_version);
  if (family_version != version) absl::StrAppend(&label, " (fold v", version, ")");
  rocksdb::ColumnFamilyHandle* family = nullptr;
  ASSIGN_OR_RETURN(family,
                   store->CreateOrGetFamily(internal::ProjectionFamilyName(name, family_version)));
  auto runner =
      std::make_unique<RunnerImpl>(log, store, fold, options, family, std::move(label));
  RETURN_IF_ERROR(runner->LoadCheckpoints());
  return std::unique_ptr<ProjectionRunner>(std::move(runner));
}

absl::StatusOr<std::unique_ptr<ProjectionCatalog>> ProjectionCatalog::Create(EventLog* log) {
  Store* store = nullptr;
  ASSIGN_OR_RETURN(store, StoreOrError(log));
  return std::unique_ptr<ProjectionCatalog>(std::make_unique<CatalogImpl>(store));
}

}  // namespace leadlog
