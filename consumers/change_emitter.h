// The change stream: publishes the lead projection's change entries
// (engine/changes.h) to the compacted Kafka topic leadlog.leads, keyed by
// lead, through the outbox emitter's machinery (consumers/outbox_emitter.h:
// idempotent producer, per-shard cursor stored after each acknowledged
// round, topic-tail recovery after a crash).
//
// What a change is. The lead fold writes one change entry (sequence, lead
// key) for every log record that changed a lead: each event resolved to the
// lead (it always moves last_sequence, engagement, ...), both leads of an
// identity merge (the survivor and the absorbed one), and each timer that
// fired for the lead (nurture step, SLA/recycle rule), and each lead a new
// flow version migrates. A record that changes no lead (most definitions,
// a ClockTick with nothing due, an event without identifiers) writes none.
// "Changed" means the fold marked the lead dirty: a timer that fires and
// leaves every field as it was still counts (its message repeats the state). The entries depend only on the records,
// so live chunks (appended batches) and rebuild chunks (fixed-size) write
// the same ones.
//
// Message, one per change entry:
//   key      the lead key ("a:<anonymousId>" or "u:<userId>")
//   value    the lead's state when the emitter publishes it (see below):
//            leadlog.v1.LeadState as JSON (protobuf JSON mapping, proto
//            field names, default values omitted: the same text as `leadlog
//            leads get ID --json`) or as protobuf bytes (deterministic
//            serialization), by ChangeFormat; a null value (tombstone) when
//            the lead no longer exists because it merged into another.
//   headers  leadlog-shard (decimal), leadlog-change-key (hex of the entry
//            key, what recovery reads), leadlog-sequence (decimal: the
//            record that made the change), leadlog-position (decimal: the
//            projection checkpoint of the shard read before the state; the
//            value reflects at least every record below it),
//            content-type (application/json | application/x-protobuf; absent
//            on tombstones), leadlog-merged-into (tombstones only: the lead
//            key of the survivor).
//
// State at emit time, not at change time: the fold serializes each dirty
// lead once per chunk (the hot path), so the state after each individual
// record is never materialized; storing it per change would cost one
// serialization and one stored copy per record. The consumer of a compacted
// topic wants the latest state per key, which is what emit-time values give:
// the value of lead L's last message is L's state after its last change
// (nothing later changed L, or a later entry would exist). Several changes
// of one lead published in one round carry the same (latest) value, read and
// rendered once; they are still published one per change (no coalescing),
// so (lead, sequence) pairs are exactly the change entries.
//
// Guarantees. Per lead key, messages are in log order (a lead lives in one
// shard; a shard's entries are published in key order = (sequence, lead)
// order to partition shard % partitions, idempotent producer with gapless
// guarantee). Each change entry is published exactly once across restarts,
// crashes and blue/green rebuilds under the outbox emitter's assumptions
// (only this emitter writes to its partitions; do not lower the batch
// across a crash; the partition count does not change). The cursor
// ("changes") lives in the log's meta, independent of the projection
// version, so a rebuild (which rewrites every entry since sequence 0) does
// not re-publish history. Delivered entries are pruned (range deletion up
// to the cursor) every prune_entries_min deliveries per shard and at the
// first round after a start, which also removes what a rebuild rewrote
// behind the cursor; the entries are transient (left out of the rebuild
// digest).
//
// Thread-safety: ChangeEncoder is used by the emitter's thread only; the
// LeadStateReader must allow reads concurrent with catch-up.
// Ownership: the reader is borrowed and must outlive the encoder.
//
//   LeadReader reader(projection);          // a LeadStateReader
//   ChangeEncoder encoder(&reader, ChangeFormat::kJson);
//   OutboxEmitterOptions options = ChangeStreamOptions(brokers, &encoder);
//   ASSIGN_OR_RETURN(auto emitter, OutboxEmitter::Create(log, &source, options));
#ifndef LEADLOG_CONSUMERS_CHANGE_EMITTER_H_
#define LEADLOG_CONSUMERS_CHANGE_EMITTER_H_

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "consumers/outbox_emitter.h"
#include "engine/ids.h"
#include "leadlog/v1/lead.pb.h"

namespace leadlog {

// The cursor name of the change stream (engine/cursors.h).
inline constexpr char kChangesCursorName[] = "changes";
// Header names. persisted (consumers read them): do not change.
inline constexpr char kChangeKeyHeader[] = "leadlog-change-key";
inline constexpr char kChangeSequenceHeader[] = "leadlog-sequence";
inline constexpr char kChangePositionHeader[] = "leadlog-position";
inline constexpr char kChangeMergedIntoHeader[] = "leadlog-merged-into";

enum class ChangeFormat { kJson, kProtobuf };
// "json" | "protobuf"; InvalidArgument otherwise.
absl::StatusOr<ChangeFormat> ParseChangeFormat(absl::string_view text);

// A lead as the change stream reads it.
struct LeadRead {
  // The projection checkpoint of the shard, read before the state.
  Sequence position;
  // The state; nullopt when the lead no longer exists.
  std::optional<v1::LeadState> state;
  // When absent: the lead key it merged into ("" when unknown).
  std::string merged_into;
};

// Where the change stream reads the leads' current state (the lead
// projection's active version).
class LeadStateReader {
 public:
  virtual ~LeadStateReader() = default;
  virtual absl::StatusOr<LeadRead> Read(ShardId shard, absl::string_view lead_key) const = 0;
};

class ChangeEncoder final : public EntryEncoder {
 public:
  ChangeEncoder(const LeadStateReader* reader, ChangeFormat format)
      : reader_(reader), format_(format) {}
  bool ParseKey(absl::string_view key, Sequence* sequence) const override;
  // DataLoss for a malformed entry (key or non-empty value); the reader's
  // errors as they are.
  absl::Status Encode(ShardId shard, const ProjectionEntry& entry,
                      EmitterMessage* message) const override;
  void BeginRound() const override;

 private:
  // A lead read and rendered once per shard and round: every change of it
  // in the round carries the same (latest) value.
  struct Rendered {
    Sequence position;
    std::optional<std::string> value;  // nullopt: no state (merged)
    std::string merged_into;
  };
  absl::StatusOr<const Rendered*> Render(ShardId shard, const std::string& lead_key) const;

  const LeadStateReader* const reader_;
  const ChangeFormat format_;
  // The emitter's thread only. Holds at most one round of one shard
  // (<= batch leads).
  mutable ShardId cached_shard_;
  mutable absl::flat_hash_map<std::string, Rendered> cache_;
};

// Emitter options for the change stream: topic kLeadsTopic, cursor
// kChangesCursorName, position header kChangeKeyHeader, `encoder`, pruning
// every kChangesPruneEntriesMin deliveries per shard.
OutboxEmitterOptions ChangeStreamOptions(std::string brokers, const ChangeEncoder* encoder);

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_CHANGE_EMITTER_H_
