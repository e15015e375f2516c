#include "engine/internal/format.h"

#include "absl/strings/str_cat.h"

namespace leadlog::internal {
namespace {

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

ShardId ShardOf(absl::string_view key) { return ShardId(GetU32(key.data())); }

}  // namespace

void PutU16(uint16_t value, std::string* out) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value));
}

void PutU32(uint32_t value, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

void PutU64(uint64_t value, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

void PutI64(int64_t value, std::string* out) { PutU64(static_cast<uint64_t>(value), out); }

uint16_t GetU16(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | uint32_t{u[3]};
}

uint64_t GetU64(const char* p) { return (uint64_t{GetU32(p)} << 32) | uint64_t{GetU32(p + 4)}; }

int64_t GetI64(const char* p) { return static_cast<int64_t>(GetU64(p)); }

void EncodeShardPrefix(ShardId shard, std::string* out) {
  out->clear();
  PutU32(shard.value(), out);
}

void EncodeLogKey(ShardId shard, Sequence sequence, std::string* out) {
  EncodeShardPrefix(shard, out);
  PutU64(sequence.value(), out);
}

void EncodeByLeadPrefix(ShardId shard, const LeadKey& lead, std::string* out) {
  EncodeShardPrefix(shard, out);
  PutU16(static_cast<uint16_t>(lead.encoded().size()), out);
  out->append(lead.encoded());
}

void EncodeByLeadKey(ShardId shard, const LeadKey& lead, Sequence sequence, std::string* out) {
  EncodeByLeadPrefix(shard, lead, out);
  PutU64(sequence.value(), out);
}

void EncodeDedupKey(ShardId shard, absl::string_view event_id, std::string* out) {
  EncodeShardPrefix(shard, out);
  out->append(event_id.data(), event_id.size());
}

void EncodeDeadLetterKey(ShardId shard, uint64_t id, std::string* out) {
  EncodeShardPrefix(shard, out);
  PutU64(id, out);
}

void EncodeShardStateKey(ShardId shard, std::string* out) {
  EncodeShardPrefix(shard, out);
  out->push_back(kMetaTagShardState);
}

void EncodeOffsetPrefix(ShardId shard, std::string* out) {
  EncodeShardPrefix(shard, out);
  out->push_back(kMetaTagOffset);
}

void EncodeOffsetKey(ShardId shard, absl::string_view topic, std::string* out) {
  EncodeOffsetPrefix(shard, out);
  out->append(topic.data(), topic.size());
}

std::string FormatVersionKey() {
  std::string key;
  EncodeShardPrefix(ShardId(kGlobalShard), &key);
  key.push_back(kMetaTagFormatVersion);
  return key;
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix.data(), prefix.size());
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

std::optional<LogKeyParts> DecodeLogKey(absl::string_view key) {
  if (key.size() != kLogKeyBytes) return std::nullopt;
  return LogKeyParts{ShardOf(key), Sequence(GetU64(key.data() + kShardBytes))};
}

std::optional<ByLeadKeyParts> DecodeByLeadKey(absl::string_view key) {
  if (key.size() < kShardBytes + 2 + 8) return std::nullopt;
  size_t lead_bytes = GetU16(key.data() + kShardBytes);
  if (key.size() != kShardBytes + 2 + lead_bytes + 8) return std::nullopt;
  return ByLeadKeyParts{ShardOf(key), key.substr(kShardBytes + 2, lead_bytes),
                        Sequence(GetU64(key.data() + kShardBytes + 2 + lead_bytes))};
}

std::optional<DedupKeyParts> DecodeDedupKey(absl::string_view key) {
  if (key.size() < kShardBytes + 1) return std::nullopt;
  return DedupKeyParts{ShardOf(key), key.substr(kShardBytes)};
}

std::optional<DeadLetterKeyParts> DecodeDeadLetterKey(absl::string_view key) {
  if (key.size() != kDeadLetterKeyBytes) return std::nullopt;
  return DeadLetterKeyParts{ShardOf(key), GetU64(key.data() + kShardBytes)};
}

std::optional<MetaKeyParts> DecodeMetaKey(absl::string_view key) {
  if (key.size() < kShardBytes + 1) return std::nullopt;
  return MetaKeyParts{ShardOf(key), key[kShardBytes], key.substr(kShardBytes + 1)};
}

void EncodeDedupValue(const DedupEntry& entry, std::string* out) {
  out->clear();
  PutU64(entry.sequence.value(), out);
  PutI64(entry.log_time_ms, out);
}

std::optional<DedupEntry> DecodeDedupValue(absl::string_view value) {
  if (value.size() != kDedupValueBytes) return std::nullopt;
  return DedupEntry{Sequence(GetU64(value.data())), GetI64(value.data() + 8)};
}

void EncodeShardState(const ShardState& state, std::string* out) {
  out->clear();
  PutU64(state.position.value(), out);
  PutI64(state.last_log_time_ms, out);
  PutU64(state.events_appended, out);
  PutU64(state.duplicates_skipped, out);
  PutU64(state.dead_letters, out);
}

std::optional<ShardState> DecodeShardState(absl::string_view value) {
  if (value.size() != kShardStateBytes) return std::nullopt;
  const char* p = value.data();
  ShardState state;
  state.position = Sequence(GetU64(p));
  state.last_log_time_ms = GetI64(p + 8);
  state.events_appended = GetU64(p + 16);
  state.duplicates_skipped = GetU64(p + 24);
  state.dead_letters = GetU64(p + 32);
  return state;
}

void EncodeOffsetValue(KafkaOffset offset, std::string* out) {
  out->clear();
  PutI64(offset.value(), out);
}

std::optional<KafkaOffset> DecodeOffsetValue(absl::string_view value) {
  if (value.size() != kOffsetValueBytes) return std::nullopt;
  return KafkaOffset(GetI64(value.data()));
}

void EncodeFormatVersion(uint32_t version, std::string* out) {
  out->clear();
  PutU32(version, out);
}

std::optional<uint32_t> DecodeFormatVersion(absl::string_view value) {
  if (value.size() != kFormatVersionBytes) return std::nullopt;
  return GetU32(value.data());
}

void EncodeEventRecord(Sequence sequence, int64_t log_time_ms, const v1::SourcePosition& source,
                       absl::string_view event_bytes, v1::LogRecord* header, std::string* out) {
  header->Clear();
  header->set_sequence(sequence.value());
  header->set_log_time_ms(log_time_ms);
  header->set_schema_version(kSchemaVersionCurrent);
  *header->mutable_source() = source;
  out->clear();
  out->reserve(header->ByteSizeLong() + 1 + 10 + event_bytes.size());
  header->AppendToString(out);
  out->push_back(static_cast<char>(kLogRecordEventTag));
  AppendVarint(event_bytes.size(), out);
  out->append(event_bytes.data(), event_bytes.size());
}

void EncodeClockTickRecord(Sequence sequence, int64_t log_time_ms, std::string* out) {
  v1::LogRecord record;
  record.set_sequence(sequence.value());
  record.set_log_time_ms(log_time_ms);
  record.set_schema_version(kSchemaVersionCurrent);
  record.mutable_clock_tick();
  out->clear();
  record.AppendToString(out);
}

absl::Status DecodeRecord(ShardId shard, Sequence key_sequence, absl::string_view value,
                          v1::LogRecord* record) {
  if (value.size() > static_cast<size_t>(INT32_MAX) ||
      !record->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat("shard ", shard.value(), " sequence ",
                                            key_sequence.value(), ": record does not decode (",
                                            value.size(), " bytes)"));
  }
  if (record->sequence() != key_sequence.value()) {
    return absl::DataLossError(absl::StrCat("shard ", shard.value(), " sequence ",
                                            key_sequence.value(), ": record says sequence ",
                                            record->sequence()));
  }
  return Upcast(shard, record);
}

absl::Status Upcast(ShardId shard, v1::LogRecord* record) {
  uint32_t version = record->schema_version();
  if (version == kSchemaVersionCurrent) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "shard ", shard.value(), " sequence ", record->sequence(), ": schema version ", version,
      version > kSchemaVersionCurrent ? " is newer than this binary's "
                                      : " is unknown; current is ",
      kSchemaVersionCurrent));
}

}  // namespace leadlog::internal
