// The outbox: actions (side effects) a projection requests, stored in the
// projection's own state under ordered keys (DESIGN.md §2 invariant 8,
// engine/FORMAT.md "Outbox"). The emitter (consumers/outbox_emitter.h)
// publishes them to leadlog.actions exactly once.
//
// A fold writes an action with WriteAction through its ProjectionTxn, so the
// action commits in the same WriteBatch as the fold's state and checkpoint:
// after a crash the action is there if and only if the state change that
// caused it is. Rebuilding the projection from sequence 0 writes the same
// actions under the same keys and ids (the fold is deterministic), which is
// how the emitter recognises what it has already published.
//
// Thread-safety: free functions; WriteAction uses `txn` from the thread of
// the Apply it is called in.
//
//   v1::Action action;
//   action.set_sequence(record.sequence());   // the causing record
//   action.set_log_time_ms(record.log_time_ms());
//   action.set_type("handoff");
//   action.set_lead_key("u:42");
//   RETURN_IF_ERROR(WriteAction(txn, shard, std::move(action)));
#ifndef LEADLOG_ENGINE_OUTBOX_H_
#define LEADLOG_ENGINE_OUTBOX_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/ids.h"
#include "engine/projection.h"
#include "leadlog/v1/action.pb.h"

namespace leadlog {

// Fold-key prefix of outbox entries. persisted: do not change.
inline constexpr absl::string_view kOutboxPrefix = "o/";
// Bytes of an outbox key: prefix ‖ u64 BE sequence ‖ u32 BE index.
inline constexpr size_t kOutboxKeyBytes = 2 + 8 + 4;

// "o/" ‖ BE64(sequence) ‖ BE32(index): key order == (sequence, index) order.
std::string OutboxKey(Sequence sequence, uint32_t index);
// The prefix of every outbox key of one causing record: "o/" ‖ BE64(sequence).
std::string OutboxSequencePrefix(Sequence sequence);
// True (filling both) when `key` is a well-formed outbox key.
bool ParseOutboxKey(absl::string_view key, Sequence* sequence, uint32_t* index);

// The deterministic action id: "<shard>-<sequence>-<type>-<index>".
std::string ActionId(ShardId shard, Sequence sequence, absl::string_view type, uint32_t index);

// The next action index of each record a fold has written actions for in the
// current chunk, so that a record causing many actions (a tick firing
// thousands of due timers) does not read its outbox entries back for every
// one. A record's actions are all written while its chunk is folded and
// commit atomically with it, so the hint is valid for one chunk: Clear() it
// when the chunk ends or aborts (the fold's EndChunk/AbortChunk). Not
// thread-safe; one per fold.
class OutboxIndexes {
 public:
  void Clear() { next_.clear(); }

 private:
  friend absl::Status WriteAction(ProjectionTxn&, ShardId, v1::Action, OutboxIndexes*);
  // (shard, sequence) -> the index the next action of that record gets.
  absl::flat_hash_map<std::pair<uint32_t, uint64_t>, uint32_t> next_;
};

// Writes `action` to the outbox of `shard` through `txn`. The caller sets
// sequence (the causing record), log_time_ms, type, lead_key and the body;
// WriteAction sets shard, index (the number of actions already written for
// that sequence: 0, 1, ... in call order) and action_id, and Puts the
// serialized action under OutboxKey(sequence, index).
// InvalidArgument naming the field: type empty, longer than
// kActionTypeBytesMax or not [a-z0-9_]; lead_key longer than kIdBytesMax + 2;
// more than kOutboxActionsPerRecordMax actions for one sequence; a
// serialized action over kProjectionValueBytesMax. Storage errors from
// txn.Scan are returned as they are. With `indexes`, only the first action
// of a record in the chunk scans for the next index.
absl::Status WriteAction(ProjectionTxn& txn, ShardId shard, v1::Action action,
                         OutboxIndexes* indexes = nullptr);

// Parses a stored outbox entry and checks it against its key (the pair of
// WriteAction's checks): the value decodes, and its shard, sequence and index
// equal `shard` and the key's. DataLoss naming shard and key otherwise.
absl::Status DecodeOutboxEntry(ShardId shard, absl::string_view key, absl::string_view value,
                               v1::Action* action);

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_OUTBOX_H_
