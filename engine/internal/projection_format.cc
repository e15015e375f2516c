#include "engine/internal/projection_format.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/limits.h"

namespace leadlog::internal {

absl::Status CheckProjectionName(absl::string_view name, absl::string_view field) {
  if (name.empty() || name.size() > kProjectionNameBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", name.size(),
                                                   " bytes, expected 1..kProjectionNameBytesMax (",
                                                   kProjectionNameBytesMax, ")"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": '", name, "' has a character outside [a-z0-9_]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckProjectionVersion(uint32_t version, absl::string_view field) {
  if (version >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": 0, expected >= 1"));
}

std::string ProjectionFamilyName(absl::string_view name, uint32_t version) {
  return absl::StrCat(kProjectionFamilyPrefix, name, "_v", version);
}

std::optional<uint32_t> ParseProjectionFamilyVersion(absl::string_view family,
                                                     absl::string_view name) {
  const std::string head = absl::StrCat(kProjectionFamilyPrefix, name, "_v");
  if (!absl::StartsWith(family, head)) return std::nullopt;
  absl::string_view digits = family.substr(head.size());
  if (digits.empty() || digits[0] == '0') return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint32_t version = 0;
  if (!absl::SimpleAtoi(digits, &version)) return std::nullopt;
  return version;
}

void EncodeProjectionStatePrefix(ShardId shard, std::string* out) {
  EncodeShardPrefix(shard, out);
  out->push_back(kProjectionTagState);
}

void EncodeProjectionStateKey(ShardId shard, absl::string_view key, std::string* out) {
  EncodeProjectionStatePrefix(shard, out);
  out->append(key.data(), key.size());
}

void EncodeProjectionCheckpointKey(ShardId shard, std::string* out) {
  EncodeShardPrefix(shard, out);
  out->push_back(kProjectionTagCheckpoint);
}

void EncodeActiveProjectionKey(absl::string_view name, std::string* out) {
  EncodeShardPrefix(ShardId(kGlobalShard), out);
  out->push_back(kMetaTagActiveProjection);
  out->append(name.data(), name.size());
}

void EncodeProjectionCheckpoint(Sequence sequence, std::string* out) {
  out->clear();
  PutU64(sequence.value(), out);
}

std::optional<Sequence> DecodeProjectionCheckpoint(absl::string_view value) {
  if (value.size() != kProjectionCheckpointBytes) return std::nullopt;
  return Sequence(GetU64(value.data()));
}

void EncodeProjectionVersion(uint32_t version, std::string* out) {
  out->clear();
  PutU32(version, out);
}

std::optional<uint32_t> DecodeProjectionVersion(absl::string_view value) {
  if (value.size() != kProjectionVersionBytes) return std::nullopt;
  uint32_t version = GetU32(value.data());
  if (version == 0) return std::nullopt;
  return version;
}

}  // namespace leadlog::internal
