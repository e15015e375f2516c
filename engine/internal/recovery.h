// Recovery: what EventLog::Open reads back before it serves anything: the
// format version, every shard's state, and a cheap check that the stored
// positions agree with the last keys of the log and dead_letters families.
//
// Thread-safety: call before the EventLog is shared.
//
//   RETURN_IF_ERROR(CheckFormatVersion(*store));
//   ASSIGN_OR_RETURN(ShardStates states, LoadShardStates(*store));
//   RETURN_IF_ERROR(CheckTails(*store, states));
#ifndef LEADLOG_ENGINE_INTERNAL_RECOVERY_H_
#define LEADLOG_ENGINE_INTERNAL_RECOVERY_H_

#include <cstdint>
#include <map>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/internal/batch_writer.h"
#include "engine/internal/store.h"

namespace leadlog::internal {

// DataLoss when the stored format version is newer than kFormatVersion (or
// unreadable). A writable store without one (new) gets kFormatVersion.
absl::Status CheckFormatVersion(const Store& store);

// Reads every shard ‖ 'c' meta record. DataLoss on a malformed one.
absl::StatusOr<ShardStates> LoadShardStates(const Store& store);

// The last u64 key suffix (sequence or dead-letter id) of each shard in a
// family whose keys are shard ‖ u64; one seek per shard. DataLoss on a
// malformed key.
absl::StatusOr<std::map<ShardId, uint64_t>> LastIdPerShard(const Store& store,
                                                           rocksdb::ColumnFamilyHandle* family,
                                                           absl::string_view family_name);

// DataLoss when a shard's stored position / dead-letter count disagrees with
// the last key of log / dead_letters (records without a state, a state that
// claims records that are not there).
absl::Status CheckTails(const Store& store, const ShardStates& states);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_RECOVERY_H_
