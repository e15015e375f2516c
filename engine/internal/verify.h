// VerifyLog: the full consistency check behind EventLog::Verify. Streams
// every column family through iterators on one snapshot (memory does not
// grow with the log; per-shard tallies only) and cross-checks entries with
// point lookups.
//
// Thread-safety: reads only; safe while another thread appends (the
// snapshot hides later writes).
//
//   absl::Status s = VerifyLog(store, /*problems_max=*/20);
//   if (absl::IsDataLoss(s)) std::cerr << s.message();  // "shard 0 sequence 7: ..."
#ifndef LEADLOG_ENGINE_INTERNAL_VERIFY_H_
#define LEADLOG_ENGINE_INTERNAL_VERIFY_H_

#include "absl/status/status.h"
#include "engine/internal/store.h"

namespace leadlog::internal {

// OK, DataLoss listing at most `problems_max` problems (in the order found:
// meta, log, by_lead, dedup, dead_letters,
// projection families), or the error of a failed read.
absl::Status VerifyLog(const Store& store, int problems_max);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_VERIFY_H_
