// Change entries: the changelog a fold keeps of which entities (leads) each
// log record changed, stored in the projection's own state under ordered
// keys (DESIGN.md §1 "changelog → leadlog.leads", engine/FORMAT.md
// "Changes"). The change emitter (consumers/change_emitter.h) publishes one
// message per entry to the compacted topic leadlog.leads and then prunes the
// entries it has delivered.
//
// A change is the pair (record sequence, entity key): "record `sequence`
// changed entity `key`". A fold writes it with WriteChange through its
// ProjectionTxn, so it commits in the same WriteBatch as the state it
// describes: after a crash the entry is there if and only if the change is.
// Writing the same pair twice in one chunk is one entry (same key). The
// entry holds no state (the value is empty): the emitter reads the entity's
// state when it publishes, so the fold still serializes each entity once per
// chunk, whatever the chunk boundaries are (live chunks are the appended
// batches, rebuild chunks are fixed-size; entries depend on records only).
//
// Entries are a delivery queue, not state: the fold lists kChangePrefix in
// ProjectionFold::transient_prefixes(), so StateDigest leaves them out (a
// rebuilt version holds every entry since sequence 0, the live one only
// those not yet pruned) and ProjectionRunner::Prune may delete them.
//
// Thread-safety: free functions; WriteChange uses `txn` from the thread of
// the Apply it is called in.
//
//   WriteChange(txn, Sequence(record.sequence()), "a:anon-1");
//   // key "c/" ‖ BE64(sequence) ‖ "a:anon-1", value ""
#ifndef LEADLOG_ENGINE_CHANGES_H_
#define LEADLOG_ENGINE_CHANGES_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "engine/ids.h"
#include "engine/projection.h"

namespace leadlog {

// Fold-key prefix of change entries. persisted: do not change.
inline constexpr absl::string_view kChangePrefix = "c/";
// Bytes of a change key before the entity key: prefix ‖ u64 BE sequence.
inline constexpr size_t kChangeKeyHeaderBytes = 2 + 8;

// "c/" ‖ BE64(sequence) ‖ entity_key: key order == (sequence, entity key).
std::string ChangeKey(Sequence sequence, absl::string_view entity_key);
// True (filling both) when `key` is a well-formed change key: the prefix,
// 8 bytes of sequence and a non-empty entity key.
bool ParseChangeKey(absl::string_view key, Sequence* sequence, std::string* entity_key);

// Records that `sequence` changed `entity_key` (a Put of an empty value).
// An empty or over-long key poisons the txn like any invalid Put.
void WriteChange(ProjectionTxn& txn, Sequence sequence, absl::string_view entity_key);

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_CHANGES_H_
