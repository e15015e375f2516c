// Erasure rewrite: the Puts an erasure record adds to the WriteBatch that
// appends it (engine/FORMAT.md "Erasure"): every earlier log record of the
// erased lead keys is rewritten redacted (same key, same sequence; redaction
// in engine/redaction.h), and every dead letter of the shard whose key or
// raw bytes contain one of the lead's identifiers or erased values loses
// them. The only place the engine rewrites stored bytes (invariant 1).
//
// Thread-safety: none; used by BatchWriter under the append mutex.
//
//   ErasureRewriter rewriter(store, &batch);
//   ASSIGN_OR_RETURN(ErasureCounts n, rewriter.Rewrite(request, staged));
#ifndef LEADLOG_ENGINE_INTERNAL_ERASURE_H_
#define LEADLOG_ENGINE_INTERNAL_ERASURE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/ids.h"
#include "engine/internal/store.h"
#include "leadlog/v1/record.pb.h"
#include "rocksdb/write_batch.h"

namespace leadlog::internal {

// An erased value shorter than this is not searched for in dead letters
// (a one-letter name would match almost every message).
inline constexpr size_t kErasureNeedleBytesMin = 4;

// One erasure record appended in the current batch.
struct ErasureRequest {
  ShardId shard;
  Sequence sequence;  // of the erasure record: records before it are erased
  std::string event_id;
  std::vector<LeadKey> lead_keys;
};

// Log records and dead letters of the current batch (not yet in the DB).
struct StagedRecord {
  ShardId shard;
  Sequence sequence;
  std::vector<LeadKey> lead_keys;
  std::string key;
  std::string value;  // serialized LogRecord; updated when rewritten
};
struct StagedDeadLetter {
  ShardId shard;
  std::string key;
  v1::DeadLetter letter;  // updated when erased
};

struct ErasureCounts {
  uint64_t records_rewritten = 0;
  uint64_t dead_letters_erased = 0;
};

// Adds the rewrite of `request` to `batch` (after the batch's own Puts, so
// a staged record's rewrite wins). Reads the committed state of the shard
// from `store`; DataLoss for a record that does not decode.
absl::StatusOr<ErasureCounts> AddErasureRewrite(const Store& store, const ErasureRequest& request,
                                                std::vector<StagedRecord>& staged_records,
                                                std::vector<StagedDeadLetter>& staged_letters,
                                                rocksdb::WriteBatch* batch);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_ERASURE_H_
