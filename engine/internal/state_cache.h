// StateCache: committed projection state of one shard of one projection
// version, held in memory between chunks (DESIGN.md §9 "hot state in memory
// with bounded write-back"): fold key -> value, or known absent. The runner
// fills it with what a chunk read from RocksDB and updates it with what a
// chunk committed, so the next chunk's reads of the same keys skip the
// memtable/SST lookup.
//
// Range deletions: EraseRange records the range instead of visiting every
// entry (a 1 M-lead cache took ≈ 0.1 s per pass); an entry cached before a
// recorded range that covers it is dropped when Find meets it. Past
// kStateCacheErasedRangesMax recorded ranges one pass drops every covered
// entry and forgets the ranges, so Find checks at most that many.
//
// Bounded: entries are charged key + value + kStateCacheEntryOverheadBytes;
// an insert that would exceed `bytes_max` first drops every entry (a whole
// eviction: O(1) amortized, no recency bookkeeping on the hot path), and an
// entry larger than `bytes_max` on its own is not kept. bytes_max 0
// disables the cache.
//
// Thread-safety: not thread-safe; the runner uses one per shard under that
// shard's catch-up lock. The counters are atomics, readable from any thread.
//
//   StateCache cache(16 << 20);
//   if (const std::optional<std::string>* v = cache.Find("l/u:1")) use(*v);
//   else cache.Insert("l/u:1", ReadFromRocks("l/u:1"));
#ifndef LEADLOG_ENGINE_INTERNAL_STATE_CACHE_H_
#define LEADLOG_ENGINE_INTERNAL_STATE_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace leadlog::internal {

// What one entry costs beyond its key and value bytes (hash slot, string
// headers, optional), charged against the bound.
inline constexpr size_t kStateCacheEntryOverheadBytes = 96;
// Erased ranges a cache remembers before one pass applies them.
inline constexpr size_t kStateCacheErasedRangesMax = 16;

class StateCache {
 public:
  explicit StateCache(size_t bytes_max) : bytes_max_(bytes_max) {}

  // The cached committed value of `key` (nullopt inside: known absent);
  // nullptr when the cache does not know the key. Valid until the next
  // Insert or Clear.
  const std::optional<std::string>* Find(absl::string_view key) {
    auto it = entries_.find(key);
    if (it != entries_.end() && Erased(it->first, it->second.generation)) {
      Drop(it);
      it = entries_.end();
    }
    if (it == entries_.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    hits_.fetch_add(1, std::memory_order_relaxed);
    return &it->second.value;
  }

  // Records `value` as the committed value of `key` (nullopt: absent),
  // replacing what was cached.
  void Insert(absl::string_view key, std::optional<std::string> value) {
    if (bytes_max_ == 0) return;
    const size_t charge = Charge(key, value);
    auto it = entries_.find(key);
    if (it != entries_.end()) Drop(it);
    if (charge > bytes_max_) return;  // never fits: leave it to RocksDB
    if (bytes_ + charge > bytes_max_) {
      Clear();
      evictions_.fetch_add(1, std::memory_order_relaxed);
    }
    entries_.emplace(std::string(key), Entry{std::move(value), generation_});
    Account(static_cast<int64_t>(charge));
  }

  // Forgets `key` (e.g. its committed value is no longer known).
  void Erase(absl::string_view key) {
    auto it = entries_.find(key);
    if (it != entries_.end()) Drop(it);
  }

  // Forgets every key in [begin, end) (a committed range deletion): O(1)
  // but every kStateCacheErasedRangesMax-th call, which visits every entry.
  void EraseRange(absl::string_view begin, absl::string_view end) {
    if (entries_.empty() || begin >= end) return;
    if (erased_.size() == kStateCacheErasedRangesMax) {
      for (auto it = entries_.begin(); it != entries_.end();) {
        auto next = std::next(it);
        if (Erased(it->first, it->second.generation)) Drop(it);
        it = next;
      }
      erased_.clear();
    }
    erased_.push_back(ErasedRange{std::string(begin), std::string(end), ++generation_});
  }

  void Clear() {
    entries_.clear();
    erased_.clear();
    Account(-static_cast<int64_t>(bytes_));
  }

  bool enabled() const { return bytes_max_ > 0; }
  size_t bytes_max() const { return bytes_max_; }
  size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  // Entries held, including ones a recorded range erased but Find has not
  // met yet (they stay charged until then).
  size_t entries() const { return entries_.size(); }
  uint64_t hits() const { return hits_.load(std::memory_order_relaxed); }
  uint64_t misses() const { return misses_.load(std::memory_order_relaxed); }
  // Whole evictions (Inserts that found the cache full).
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::optional<std::string> value;
    uint64_t generation = 0;  // generation_ when inserted
  };
  struct ErasedRange {
    std::string begin;
    std::string end;
    uint64_t generation = 0;
  };
  using Map = absl::flat_hash_map<std::string, Entry>;

  static size_t Charge(absl::string_view key, const std::optional<std::string>& value) {
    return key.size() + (value.has_value() ? value->size() : 0) + kStateCacheEntryOverheadBytes;
  }
  // A range erased after the entry was inserted covers its key.
  bool Erased(absl::string_view key, uint64_t generation) const {
    for (const ErasedRange& range : erased_) {
      if (range.generation > generation && range.begin <= key && key < range.end) return true;
    }
    return false;
  }
  void Drop(Map::iterator it) {
    Account(-static_cast<int64_t>(Charge(it->first, it->second.value)));
    entries_.erase(it);
  }
  void Account(int64_t delta) { bytes_.fetch_add(static_cast<size_t>(delta), std::memory_order_relaxed); }

  const size_t bytes_max_;
  Map entries_;
  std::vector<ErasedRange> erased_;  // at most kStateCacheErasedRangesMax
  uint64_t generation_ = 0;          // of the last recorded range
  std::atomic<size_t> bytes_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> misses_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_STATE_CACHE_H_
