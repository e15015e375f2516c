// Engine-internal access to the Store behind an EventLog, for the parts of
// engine/ that keep their own families in the same RocksDB instance
// (projection.cc). Not for use outside engine/.
//
// Thread-safety: StoreOf is thread-safe; see store.h for the Store.
// Lifetime: the Store lives as long as the EventLog.
//
//   Store* store = StoreOf(log);  // nullptr for an EventLog not from Open
#ifndef LEADLOG_ENGINE_INTERNAL_EVENT_LOG_ACCESS_H_
#define LEADLOG_ENGINE_INTERNAL_EVENT_LOG_ACCESS_H_

#include "engine/event_log.h"
#include "engine/internal/store.h"

namespace leadlog::internal {

// The Store of a log returned by EventLog::Open; nullptr for any other
// EventLog implementation (e.g. a test fake).
Store* StoreOf(EventLog* log);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_EVENT_LOG_ACCESS_H_
