// Distinct id types, so that a sequence cannot be passed where a Kafka offset
// is expected (STYLE.md "Names").
//
// Thread-safe: value types.
//
//   Sequence next(0);
//   next = next.Next();                       // 1
//   ShardId shard = ShardForPartition(PartitionId(3));
//   LeadKey lead = LeadKey::ForUser("u-42");  // "u:u-42"
#ifndef LEADLOG_ENGINE_IDS_H_
#define LEADLOG_ENGINE_IDS_H_

#include <compare>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace leadlog {

// A typed integer: Tag makes each instantiation its own type.
template <typename Tag, typename Rep>
class StrongId {
 public:
  using rep = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}
  constexpr Rep value() const { return value_; }
  constexpr StrongId Next() const { return StrongId(value_ + 1); }
  constexpr auto operator<=>(const StrongId&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const StrongId& id) {
    return H::combine(std::move(h), id.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, const StrongId& id) {
    return os << id.value_;
  }

 private:
  Rep value_ = 0;
};

// Position in one shard's log; gapless from 0.
using Sequence = StrongId<struct SequenceTag, uint64_t>;
// Position of a message in a Kafka partition.
using KafkaOffset = StrongId<struct KafkaOffsetTag, int64_t>;
// A Kafka partition of leadlog.events.
using PartitionId = StrongId<struct PartitionIdTag, int32_t>;
// A shard: the unit of ordering and ownership (one per partition).
using ShardId = StrongId<struct ShardIdTag, uint32_t>;

inline ShardId ShardForPartition(PartitionId p) {
  return ShardId(static_cast<uint32_t>(p.value()));
}
inline PartitionId PartitionForShard(ShardId s) {
  return PartitionId(static_cast<int32_t>(s.value()));
}

// Identity of a lead in the index: a namespaced user id or anonymous id, so
// that a user id and an anonymous id that happen to be equal stay distinct.
// Persisted: the prefixes "u:" and "a:" are part of by_lead keys.
class LeadKey {
 public:
  LeadKey() = default;
  static LeadKey ForUser(absl::string_view user_id) {
    return LeadKey(std::string("u:").append(user_id.data(), user_id.size()));
  }
  static LeadKey ForAnonymous(absl::string_view anonymous_id) {
    return LeadKey(std::string("a:").append(anonymous_id.data(), anonymous_id.size()));
  }
  // From the stored form ("u:..." / "a:..."), e.g. read back from a key.
  static LeadKey FromEncoded(std::string encoded) { return LeadKey(std::move(encoded)); }

  const std::string& encoded() const { return encoded_; }
  bool empty() const { return encoded_.empty(); }
  auto operator<=>(const LeadKey&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const LeadKey& k) {
    return H::combine(std::move(h), k.encoded_);
  }
  friend std::ostream& operator<<(std::ostream& os, const LeadKey& k) {
    return os << k.encoded_;
  }

 private:
  explicit LeadKey(std::string encoded) : encoded_(std::move(encoded)) {}
  std::string encoded_;
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_IDS_H_
