// Limits of the lead fold's in-memory state (invariant 10), beside the
// per-lead bounds in engine/limits.h ("projections/lead: one lead's state").
// Each has a test at the limit (lead_fold_test "DecodedLeads.*").
#ifndef LEADLOG_PROJECTIONS_LEAD_LEAD_LIMITS_H_
#define LEADLOG_PROJECTIONS_LEAD_LEAD_LIMITS_H_

#include <cstddef>

namespace leadlog {

// Decoded leads the lead fold keeps across chunks (decoded_leads.h), per
// fold (shared by its runners and shards), in charged bytes: an entry is
// charged its key, its serialized bytes times kLeadDecodedCacheChargePerByte
// and kLeadDecodedCacheEntryCharge, an upper estimate of the decoded
// message's heap (SpaceUsedLong is 5.7x the wire size on average and up to
// 8.1x for the demo's leads; lead_fold_test
// DecodedLeadChargeCoversTheMessagesHeap checks it per lead). 0 disables the
// cache (LeadFoldOptions::decoded_cache_bytes) and is the default: measured
// on the issue-7 log, the cache saved no CPU (rebuild user time +5..10 %
// with 256 MiB: heap-allocated leads and a copy of each written lead's
// bytes cost what the skipped parses saved) and added ~170 MiB of RSS
// (docs/BENCHMARKS.md "Decoded leads, projector threads, fewer writes").
// kLeadDecodedCacheBytesTried is the size that measurement used (~25 k demo
// leads of ~1.3 KB on the wire).
inline constexpr size_t kLeadDecodedCacheChargePerByte = 8;
inline constexpr size_t kLeadDecodedCacheEntryCharge = 512;
inline constexpr size_t kLeadDecodedCacheBytesDefault = 0;
inline constexpr size_t kLeadDecodedCacheBytesTried = 256u << 20;
inline constexpr size_t kLeadDecodedCacheBytesMax = 1u << 30;
static_assert(kLeadDecodedCacheBytesDefault <= kLeadDecodedCacheBytesMax);
static_assert(kLeadDecodedCacheBytesTried <= kLeadDecodedCacheBytesMax);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LEAD_LEAD_LIMITS_H_
