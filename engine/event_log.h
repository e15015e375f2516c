// EventLog: the append-only, sharded event log in one RocksDB instance
// (DESIGN.md §4, engine/FORMAT.md).
//
// Thread-safety: all methods are thread-safe. Appends are serialised inside
// (one writer per shard is the caller's contract: two threads must not append
// to the same shard concurrently, but may append to different shards). Reads
// use RocksDB snapshots/iterators and never block appends.
//
// Durability: when Append returns OK, the batch is visible to readers and has
// been written to the RocksDB WAL; with `sync_per_batch` it has also been
// fsynced (survives a machine crash), otherwise it survives a process crash.
// Everything in one AppendBatch (records, by_lead index, dedup keys, dead
// letters, counters, Kafka offsets) commits atomically in one WriteBatch.
//
// Ownership: Append consumes the contents of its batch argument.
//
//   EventLogOptions options;
//   options.data_dir = "/var/lib/leadlog";
//   ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, EventLog::Open(options));
//   AppendBatch batch;
//   batch.events.push_back(std::move(pending));  // from consumers/codec
//   batch.offsets.push_back({ShardId(0), "leadlog.events", KafkaOffset(42)});
//   ASSIGN_OR_RETURN(AppendResult result, log->Append(batch));
//
// Invariants:
//   - per shard, sequences are 0,1,2,... with no gap; Position() is the next.
//   - log_time_ms never decreases within a shard.
//   - every record's event id has a dedup entry; every event record has one
//     by_lead entry per identity it carries.
//   - a stored offset equals one past the last message whose effect (record,
//     duplicate or dead letter) is in the log.
#ifndef LEADLOG_ENGINE_EVENT_LOG_H_
#define LEADLOG_ENGINE_EVENT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/clock.h"
#include "engine/ids.h"
#include "engine/limits.h"
#include "leadlog/v1/record.pb.h"

namespace leadlog {

struct EventLogOptions {
  // Directory of the RocksDB instance. Created when missing (unless
  // read_only). Required.
  std::string data_dir;
  // Open without taking the lock, for inspection (stats, verify,
  // dead-letters) while another process may be writing. Append fails with
  // FailedPrecondition.
  bool read_only = false;
  // fsync the WAL at the end of every Append. Off: a process crash loses
  // nothing, a machine crash may lose the last batches (and their offsets, so
  // they are re-consumed: still exactly once).
  bool sync_per_batch = true;
  // An event id seen within this much log time is a duplicate. Default 7 days.
  int64_t dedup_window_ms = kDedupWindowMsDefault;
  // Source of log_time_ms. Not owned; nullptr means SystemClock::Get().
  Clock* clock = nullptr;
};

// A decoded, validated event waiting for its sequence.
struct PendingEvent {
  ShardId shard;
  // Event::event_id, kept apart so the engine need not parse event_bytes.
  std::string event_id;
  // Identities to index in by_lead (user id, anonymous id, previous id).
  std::vector<LeadKey> lead_keys;
  // A serialized leadlog.v1.Event.
  std::string event_bytes;
  v1::SourcePosition source;
  // Non-empty only for an erasure event (CALL_TYPE_ERASURE): the lead keys
  // whose earlier records and dead letters of this shard the append rewrites
  // redacted, in the same WriteBatch (engine/FORMAT.md "Erasure").
  std::vector<LeadKey> erase_lead_keys;
};

// A message that failed decoding or validation. id and log_time_ms are
// assigned at append.
struct PendingDeadLetter {
  ShardId shard;
  v1::DeadLetter letter;
};

// Where consumption of one partition should resume: one past the last
// message whose effect is in this batch.
struct OffsetUpdate {
  ShardId shard;
  std::string topic;
  KafkaOffset next_offset;
};

// The lead keys an event is indexed under in by_lead, in this order and
// each at most once: ForUser(user_id), ForAnonymous(anonymous_id), and for
// an alias call ForUser(previous_id) (the user id being replaced); empty ids
// are skipped. PendingEvent::lead_keys should be exactly this; Verify checks
// the index against it.
std::vector<LeadKey> IndexKeysOf(const v1::Event& event);

struct AppendBatch {
  std::vector<PendingEvent> events;
  std::vector<PendingDeadLetter> dead_letters;
  std::vector<OffsetUpdate> offsets;
  bool empty() const { return events.empty() && dead_letters.empty() && offsets.empty(); }
};

struct AppendResult {
  uint64_t appended = 0;      // new log records
  uint64_t duplicates = 0;    // events skipped as already in the log or batch
  uint64_t dead_letters = 0;  // dead-letter records stored
  uint64_t erasures = 0;             // erasure records appended
  uint64_t records_rewritten = 0;    // earlier records rewritten redacted by them
  uint64_t dead_letters_erased = 0;  // dead letters whose key and raw they removed
};

// Persistent per-shard counters (kept in meta, updated in each batch).
struct ShardStats {
  ShardId shard;
  Sequence position;            // next sequence == number of records
  uint64_t events_appended = 0;
  uint64_t duplicates_skipped = 0;
  uint64_t dead_letters = 0;
  int64_t last_log_time_ms = 0;  // 0 when the shard is empty
  // Stored Kafka offsets: topic -> next offset.
  std::vector<std::pair<std::string, KafkaOffset>> offsets;
};

class EventLog {
 public:
  // Opens or creates the log. Errors: InvalidArgument (no data_dir),
  // FailedPrecondition ("data dir ... is locked by another process"),
  // NotFound (read_only and no log there), DataLoss (corruption, or a schema
  // version newer than this binary), Internal (other RocksDB failures).
  static absl::StatusOr<std::unique_ptr<EventLog>> Open(const EventLogOptions& options);

  virtual ~EventLog() = default;

  // Appends the batch atomically (see the durability note above). Events
  // whose id is already in the log within the dedup window, or earlier in
  // the same batch, are counted as duplicates and not appended.
  virtual absl::StatusOr<AppendResult> Append(AppendBatch& batch) = 0;

  // Appends one ClockTick record to `shard` at the current log time.
  virtual absl::StatusOr<Sequence> AppendClockTick(ShardId shard) = 0;

  // Calls `visit` for records of `shard` with from <= sequence < to, in
  // sequence order, stopping at the first non-OK status it returns (which is
  // returned). Records are verified as they are read (sequence in key equals
  // sequence in value, no gap): a mismatch or undecodable value is DataLoss.
  // One call visits at most kReadRangeRecordsMax records (from, from+1, ...);
  // to read further, call again from one past the last record visited.
  virtual absl::Status ReadRange(
      ShardId shard, Sequence from, Sequence to,
      const std::function<absl::Status(const v1::LogRecord&)>& visit) const = 0;

  // Calls `visit` for every record of one lead in `shard`, in sequence order.
  virtual absl::Status ReadLead(
      ShardId shard, const LeadKey& lead,
      const std::function<absl::Status(const v1::LogRecord&)>& visit) const = 0;

  // The sequence the next record of `shard` will get (0 for a new shard).
  virtual Sequence Position(ShardId shard) const = 0;

  // The sequence of the record with this event id, if it is in the dedup
  // window of `shard`.
  virtual std::optional<Sequence> LookupEventId(ShardId shard,
                                                absl::string_view event_id) const = 0;

  // The stored next offset of `topic` for `shard`, if any.
  virtual std::optional<KafkaOffset> StoredOffset(ShardId shard,
                                                  absl::string_view topic) const = 0;

  // Every shard that has any record, dead letter or offset, ascending.
  virtual std::vector<ShardId> Shards() const = 0;

  virtual ShardStats Stats(ShardId shard) const = 0;

  // Dead letters of `shard` in id order.
  virtual absl::Status ReadDeadLetters(
      ShardId shard,
      const std::function<absl::Status(const v1::DeadLetter&)>& visit) const = 0;

  // After an erasure: flushes every column family's memtable (so the WAL
  // holding the old bytes is released) and compacts `shard`'s key range in
  // the families an erasure rewrites (log, dead letters, projection
  // families) to the bottommost level, so no SST or WAL file keeps the
  // bytes the erasure replaced. Slow (rewrites the shard's files); called
  // once per erasure, after the projections have applied it.
  virtual absl::Status PurgeErased(ShardId shard) = 0;

  // Checks the whole log: gapless sequences, key/value sequence agreement,
  // every record decodes, non-decreasing log time, by_lead entries point at
  // records that carry that lead (and every record is indexed), dedup entries
  // point at records with that event id (and every record has one), counters
  // match. Returns OK or DataLoss naming the first problems found (at most
  // `problems_max`).
  virtual absl::Status Verify(int problems_max = 20) const = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_EVENT_LOG_H_
