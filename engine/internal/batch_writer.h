// BatchWriter: turns one validated AppendBatch (or a clock tick) into one
// RocksDB WriteBatch: dedup decisions, sequence and dead-letter id
// assignment, log/by_lead/dedup/dead_letters/offset entries and the shard
// states, then writes it.
//
// Thread-safety: none; one BatchWriter per Append, used under the
// EventLog's append mutex.
// Ownership: borrows the Store; Add* consume the contents of their
// arguments.
// Write order: the WriteBatch is applied atomically, so the order of its Puts
// carries no meaning except between Puts of the same key (the later wins).
// For speed, each column family's Puts are issued in key order: log and
// dead_letters entries by processing shards in ascending order (sequences
// and ids ascend within a shard), the other families through SortedPuts.
//
//   BatchWriter writer(store, clock->NowMs(), window_ms, std::move(states));
//   RETURN_IF_ERROR(writer.AddEvents(batch.events));
//   RETURN_IF_ERROR(writer.Commit(/*sync=*/true));
//   publish(writer.states());  // only now: memory follows disk
#ifndef LEADLOG_ENGINE_INTERNAL_BATCH_WRITER_H_
#define LEADLOG_ENGINE_INTERNAL_BATCH_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event_log.h"
#include "engine/internal/erasure.h"
#include "engine/internal/format.h"
#include "engine/internal/store.h"
#include "rocksdb/write_batch.h"

namespace leadlog::internal {

using ShardStates = absl::flat_hash_map<ShardId, ShardState>;

// True when an id last appended at `then_ms` is still a duplicate at log
// time `now_ms`: now_ms - then_ms < window_ms (no overflow).
bool WithinDedupWindow(int64_t now_ms, int64_t then_ms, int64_t window_ms);

// Cuts letter->raw to kDeadLetterRawBytesMax, keeping the original length in
// raw_size (which is never made smaller than raw's length).
void CutDeadLetterRaw(v1::DeadLetter* letter);

// The Puts of one column family, held back so that PutInKeyOrder can issue
// them sorted by key: RocksDB's memtable skiplist reuses its search path
// (splice) between consecutive inserts in key order, while inserts that
// jump around the key space search from the top each time. Of equal keys the
// one added later is put later, so last-write-wins in the batch is kept.
class SortedPuts {
 public:
  void Reserve(size_t entries, size_t bytes);
  void Add(absl::string_view key, absl::string_view value);
  // Puts every entry into `batch` for `family` in key order.
  rocksdb::Status PutInKeyOrder(rocksdb::ColumnFamilyHandle* family, rocksdb::WriteBatch* batch);

 private:
  struct Entry {
    size_t begin;  // of the key in bytes_; the value follows it
    uint32_t key_size;
    uint32_t value_size;
  };
  absl::string_view KeyOf(const Entry& entry) const {
    return absl::string_view(bytes_.data() + entry.begin, entry.key_size);
  }

  std::string bytes_;
  std::vector<Entry> entries_;
};

class BatchWriter {
 public:
  // `states` must hold the current state of every shard the batch touches.
  BatchWriter(const Store& store, int64_t now_ms, int64_t dedup_window_ms, ShardStates states);

  // Skips duplicates (in the dedup window, or earlier in this batch) and
  // puts the others: one MultiGet on dedup for the whole vector.
  absl::Status AddEvents(std::vector<PendingEvent>& events);
  absl::Status AddDeadLetters(std::vector<PendingDeadLetter>& letters);
  absl::Status AddOffsets(const std::vector<OffsetUpdate>& offsets);
  absl::StatusOr<Sequence> AddClockTick(ShardId shard);

  // Adds the rewrites of the batch's erasure records (engine/internal/
  // erasure.h), puts every touched shard's state and writes the batch (sync: fsync the
  // WAL). On error nothing was written.
  absl::Status Commit(bool sync);

  const AppendResult& result() const { return result_; }
  // The shard states as they are on disk after a successful Commit.
  const ShardStates& states() const { return states_; }

 private:
  ShardState& StateOf(ShardId shard);
  // The log time of records appended to this shard in this batch.
  int64_t LogTimeOf(const ShardState& state) const;
  absl::Status Put(rocksdb::ColumnFamilyHandle* family, const std::string& key,
                   absl::string_view value);
  // Dedup entries already stored for each event (nullopt: none).
  absl::StatusOr<std::vector<std::optional<DedupEntry>>> LookupStored(
      const std::vector<PendingEvent>& events, const std::vector<size_t>& key_ends);
  absl::Status PutEvent(PendingEvent& event, absl::string_view dedup_key);
  // Indices of `items` stably sorted by shard.
  template <typename T>
  std::vector<size_t> ShardOrder(const std::vector<T>& items) const;

  const Store& store_;
  const int64_t now_ms_;
  const int64_t dedup_window_ms_;
  ShardStates states_;
  rocksdb::WriteBatch batch_;
  SortedPuts by_lead_puts_;
  SortedPuts dedup_puts_;
  SortedPuts meta_puts_;
  AppendResult result_;
  // Only when the batch holds an erasure: its records and dead letters,
  // which the erasure may have to rewrite before they reach the DB.
  bool stage_ = false;
  std::vector<ErasureRequest> erasures_;
  std::vector<StagedRecord> staged_records_;
  std::vector<StagedDeadLetter> staged_letters_;
  // Scratch, reused per entry.
  std::string dedup_keys_;  // all dedup keys of the batch, back to back
  std::string key_;
  std::string value_;
  v1::LogRecord header_;
};

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_BATCH_WRITER_H_
