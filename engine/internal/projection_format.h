// The on-disk format of projection state (engine/FORMAT.md "Projection
// families"): family names, keys and the active-version meta key.
//
// Thread-safety: free functions and constants only.
//
//   std::string family = ProjectionFamilyName("lead_state", 2);  // "proj_lead_state_v2"
//   std::string key;
//   EncodeProjectionStateKey(ShardId(3), "lead:u:42", &key);  // 00000003 'S' lead:u:42
#ifndef LEADLOG_ENGINE_INTERNAL_PROJECTION_FORMAT_H_
#define LEADLOG_ENGINE_INTERNAL_PROJECTION_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/ids.h"

namespace leadlog::internal {

// --- persisted: do not change. ---
// Family of projection `name` version `version`: "proj_" ‖ name ‖ "_v" ‖
// decimal version (no leading zeros).
inline constexpr char kProjectionFamilyPrefix[] = "proj_";
// In a projection family: shard ‖ 'S' ‖ fold key -> fold value.
inline constexpr char kProjectionTagState = 'S';
// In a projection family: shard ‖ 'C' -> checkpoint (u64 BE): the next
// sequence to apply.
inline constexpr char kProjectionTagCheckpoint = 'C';
// In meta: kGlobalShard ‖ 'P' ‖ name -> active version (u32 BE).
inline constexpr char kMetaTagActiveProjection = 'P';

inline constexpr size_t kProjectionCheckpointBytes = 8;
inline constexpr size_t kProjectionVersionBytes = 4;

// OK when `name` is 1..kProjectionNameBytesMax bytes of [a-z0-9_];
// InvalidArgument naming `field` otherwise.
absl::Status CheckProjectionName(absl::string_view name, absl::string_view field);
// OK when version >= 1; InvalidArgument naming `field` otherwise.
absl::Status CheckProjectionVersion(uint32_t version, absl::string_view field);

std::string ProjectionFamilyName(absl::string_view name, uint32_t version);
// The version when `family` is ProjectionFamilyName(name, version) for a
// valid version, nullopt otherwise.
std::optional<uint32_t> ParseProjectionFamilyVersion(absl::string_view family,
                                                     absl::string_view name);

void EncodeProjectionStateKey(ShardId shard, absl::string_view key, std::string* out);
// shard ‖ 'S': the prefix of every state key of the shard.
void EncodeProjectionStatePrefix(ShardId shard, std::string* out);
void EncodeProjectionCheckpointKey(ShardId shard, std::string* out);
void EncodeActiveProjectionKey(absl::string_view name, std::string* out);

void EncodeProjectionCheckpoint(Sequence sequence, std::string* out);
std::optional<Sequence> DecodeProjectionCheckpoint(absl::string_view value);
void EncodeProjectionVersion(uint32_t version, std::string* out);
std::optional<uint32_t> DecodeProjectionVersion(absl::string_view value);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_PROJECTION_FORMAT_H_
