// DecodedLeads: the lead fold's bounded cache of decoded leads kept across
// chunks (DESIGN.md §9 "hot state in memory with bounded write-back"), so a
// lead that every chunk touches is not parsed from its bytes in each one.
//
// An entry is a decoded v1::LeadState together with the exact bytes it was
// serialized to. A chunk takes a lead out (Take) only when the committed
// bytes it just read equal the entry's bytes, so the decoded lead is always
// what parsing those bytes would give: a failed chunk, a commit that never
// happened, an erasure, a blue/green runner folding the same shard into
// another family or anything else that changes the committed bytes makes
// the entry a miss (dropped), never a stale hit. The key is (shard, lead
// key); entries of one runner never serve another unless the bytes are
// equal, in which case the lead is the same. A chunk owns what it took (the
// entry leaves the cache) and gives back what it wrote at its end (Keep):
// an aborted chunk gives nothing back.
//
// Bounded (invariant 10): each entry is charged its key, its bytes times
// kLeadDecodedCacheChargePerByte (a decoded message's heap is several times
// its wire size) and kLeadDecodedCacheEntryCharge; when Keep would go over
// `bytes_max` the cache is emptied first (whole eviction, as the runner's
// state cache does: O(1) bookkeeping, and a hot lead comes back in its next
// chunk). An entry larger than the bound is not kept. 0 disables it.
//
// Thread-safety: thread-safe (one mutex; Take and Keep hold it for a hash
// lookup). Chunks of different shards and runners call it concurrently.
//
//   DecodedLeads cache(kLeadDecodedCacheBytesDefault);
//   std::unique_ptr<v1::LeadState> lead = cache.Take(shard, key, committed_bytes);
//   if (lead == nullptr) { lead = std::make_unique<v1::LeadState>(); lead->ParseFromString(...); }
//   ...; cache.Keep(shard, key, SerializeDeterministic(*lead), std::move(lead));
#ifndef LEADLOG_PROJECTIONS_LEAD_DECODED_LEADS_H_
#define LEADLOG_PROJECTIONS_LEAD_DECODED_LEADS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "engine/ids.h"
#include "leadlog/v1/lead.pb.h"
#include "projections/lead/lead_limits.h"

namespace leadlog {

struct DecodedLeadsStats {
  uint64_t hits = 0;       // Take returned a lead
  uint64_t misses = 0;     // Take found none, or bytes that differ
  uint64_t stale = 0;      // ... of which the bytes differed (dropped)
  uint64_t evictions = 0;  // times Keep emptied a full cache
  uint64_t entries = 0;    // held now
  uint64_t bytes = 0;      // charged bytes held now
};

class DecodedLeads {
 public:
  explicit DecodedLeads(size_t bytes_max) : bytes_max_(bytes_max) {}

  // What an entry of `key_bytes` and `value_bytes` is charged.
  static size_t Charge(size_t key_bytes, size_t value_bytes) {
    return key_bytes + value_bytes * kLeadDecodedCacheChargePerByte + kLeadDecodedCacheEntryCharge;
  }

  // The decoded lead of `key` in `shard` when the cache holds it for exactly
  // `committed` bytes; nullptr otherwise. The entry leaves the cache either
  // way (the caller owns the lead now, or the entry was stale).
  std::unique_ptr<v1::LeadState> Take(ShardId shard, absl::string_view key,
                                      absl::string_view committed) {
    absl::MutexLock lock(&mu_);
    auto shard_it = shards_.find(shard.value());
    if (shard_it == shards_.end()) {
      ++stats_.misses;
      return nullptr;
    }
    auto it = shard_it->second.find(key);
    if (it == shard_it->second.end()) {
      ++stats_.misses;
      return nullptr;
    }
    std::unique_ptr<v1::LeadState> lead;
    if (it->second.bytes == committed) {
      lead = std::move(it->second.lead);
      ++stats_.hits;
    } else {
      ++stats_.misses;
      ++stats_.stale;
    }
    stats_.bytes -= Charge(key.size(), it->second.bytes.size());
    --stats_.entries;
    shard_it->second.erase(it);
    return lead;
  }

  // Keeps `lead`, whose deterministic serialization is `bytes` (the value
  // the chunk writes for it), for the next chunk of `shard`.
  void Keep(ShardId shard, absl::string_view key, std::string bytes,
            std::unique_ptr<v1::LeadState> lead) {
    const size_t charge = Charge(key.size(), bytes.size());
    if (charge > bytes_max_) return;  // also when disabled (0)
    absl::MutexLock lock(&mu_);
    if (stats_.bytes + charge > bytes_max_) {
      shards_.clear();
      stats_.bytes = 0;
      stats_.entries = 0;
      ++stats_.evictions;
    }
    Entry& entry = shards_[shard.value()][key];
    if (entry.lead != nullptr) {
      stats_.bytes -= Charge(key.size(), entry.bytes.size());
      --stats_.entries;
    }
    entry.bytes = std::move(bytes);
    entry.lead = std::move(lead);
    stats_.bytes += charge;
    ++stats_.entries;
  }

  DecodedLeadsStats stats() const {
    absl::MutexLock lock(&mu_);
    return stats_;
  }

 private:
  struct Entry {
    std::string bytes;
    std::unique_ptr<v1::LeadState> lead;
  };
  const size_t bytes_max_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint32_t, absl::flat_hash_map<std::string, Entry>> shards_
      ABSL_GUARDED_BY(mu_);
  DecodedLeadsStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LEAD_DECODED_LEADS_H_
