// Cursors: small durable named positions per shard ("how far has consumer
// X got in shard S"), stored in the log's meta column family
// (engine/FORMAT.md "meta", tag 'r'). The outbox emitter keeps its
// "emitter" cursor here: the last outbox key published and acknowledged.
//
// The value is opaque bytes chosen by the cursor's owner (at most
// kCursorValueBytesMax). A cursor is independent of the log's records: it
// is not written with an Append and does not make a shard appear in
// EventLog::Shards().
//
// Thread-safety: thread-safe (RocksDB writes); one writer per (name, shard)
// is the caller's contract.
// Durability: when Store* returns OK with sync = true the value survives a
// machine crash; with sync = false it survives a process crash. StoreCursors
// writes all its values in one WriteBatch: all or none after a crash.
//
//   RETURN_IF_ERROR(StoreCursor(log, "emitter", ShardId(3), key, /*sync=*/true));
//   ASSIGN_OR_RETURN(std::optional<std::string> at, LoadCursor(log, "emitter", ShardId(3)));
#ifndef LEADLOG_ENGINE_CURSORS_H_
#define LEADLOG_ENGINE_CURSORS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/event_log.h"
#include "engine/ids.h"

namespace leadlog {

struct CursorUpdate {
  ShardId shard;
  std::string value;
};

// Stores `value` as cursor `name` of `shard`. InvalidArgument naming "name"
// (not 1..kCursorNameBytesMax bytes of [a-z0-9_]), "shard" (the reserved
// global shard) or "value" (over kCursorValueBytesMax); InvalidArgument when
// `log` is not from EventLog::Open; FailedPrecondition on a read-only log.
absl::Status StoreCursor(EventLog* log, absl::string_view name, ShardId shard,
                         absl::string_view value, bool sync);
// Stores several cursors of `name` in one WriteBatch. Same errors.
absl::Status StoreCursors(EventLog* log, absl::string_view name,
                          const std::vector<CursorUpdate>& updates, bool sync);

// The stored value of cursor `name` of `shard`; nullopt when never stored.
// Works on a read-only log. Errors as StoreCursor (name, shard, log), and
// DataLoss for a stored value over kCursorValueBytesMax.
absl::StatusOr<std::optional<std::string>> LoadCursor(const EventLog* log, absl::string_view name,
                                                      ShardId shard);

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_CURSORS_H_
