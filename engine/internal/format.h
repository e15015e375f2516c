// The on-disk format of the event log: column family names, key layouts,
// value framing and every persisted constant (engine/FORMAT.md is the prose
// version of this file; keep them in step).
//
// Thread-safety: free functions and constants only.
//
//   std::string key;
//   EncodeLogKey(ShardId(3), Sequence(17), &key);  // 00000003 0000000000000011
//   std::optional<LogKeyParts> parts = DecodeLogKey(key);
#ifndef LEADLOG_ENGINE_INTERNAL_FORMAT_H_
#define LEADLOG_ENGINE_INTERNAL_FORMAT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/ids.h"
#include "leadlog/v1/record.pb.h"

namespace leadlog::internal {

// --- Column families. persisted: do not change. ---
inline constexpr char kLogFamily[] = "log";
inline constexpr char kByLeadFamily[] = "by_lead";
inline constexpr char kDedupFamily[] = "dedup";
inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kDeadLettersFamily[] = "dead_letters";

// --- Versions. persisted: do not change (bump to a new value instead). ---
// Layout of keys and values in this file. Bump when any of it changes; an
// older binary then refuses the data (DataLoss) instead of misreading it.
inline constexpr uint32_t kFormatVersion = 1;
// LogRecord.schema_version written by this binary. Older versions are
// upcast at read time (Upcast); stored bytes are never rewritten.
inline constexpr uint32_t kSchemaVersionCurrent = 1;

// --- Meta keys. persisted: do not change. ---
// Shard id reserved for process-wide meta keys; Append rejects it.
inline constexpr uint32_t kGlobalShard = 0xFFFFFFFFu;
// kGlobalShard ‖ 'V' -> format version (u32 BE).
inline constexpr char kMetaTagFormatVersion = 'V';
// shard ‖ 'c' -> ShardState (kShardStateBytes).
inline constexpr char kMetaTagShardState = 'c';
// shard ‖ 'o' ‖ topic -> next Kafka offset (i64 BE).
inline constexpr char kMetaTagOffset = 'o';
// shard ‖ 'r' ‖ cursor name -> cursor value (engine/cursors.h).
inline constexpr char kMetaTagCursor = 'r';

// --- LogRecord framing. persisted: do not change (field 10, wire type 2). ---
inline constexpr uint8_t kLogRecordEventTag = 0x52;

// Fixed sizes of keys and values (bytes).
inline constexpr size_t kShardBytes = 4;
inline constexpr size_t kLogKeyBytes = kShardBytes + 8;
inline constexpr size_t kDeadLetterKeyBytes = kShardBytes + 8;
inline constexpr size_t kDedupValueBytes = 16;
inline constexpr size_t kShardStateBytes = 40;
inline constexpr size_t kOffsetValueBytes = 8;
inline constexpr size_t kFormatVersionBytes = 4;
// Longest encoded lead key the by_lead layout can hold (u16 length).
inline constexpr size_t kLeadKeyBytesMax = 0xFFFF;

// --- Big-endian integers (bytewise order == numeric order). ---
void PutU16(uint16_t value, std::string* out);
void PutU32(uint32_t value, std::string* out);
void PutU64(uint64_t value, std::string* out);
void PutI64(int64_t value, std::string* out);  // two's complement bits
uint16_t GetU16(const char* p);
uint32_t GetU32(const char* p);
uint64_t GetU64(const char* p);
int64_t GetI64(const char* p);

// --- Keys. Encoders clear `out` first so callers can reuse buffers. ---
void EncodeShardPrefix(ShardId shard, std::string* out);
void EncodeLogKey(ShardId shard, Sequence sequence, std::string* out);
// shard ‖ u16 length ‖ lead key bytes: the range of one lead's entries.
void EncodeByLeadPrefix(ShardId shard, const LeadKey& lead, std::string* out);
void EncodeByLeadKey(ShardId shard, const LeadKey& lead, Sequence sequence, std::string* out);
void EncodeDedupKey(ShardId shard, absl::string_view event_id, std::string* out);
void EncodeDeadLetterKey(ShardId shard, uint64_t id, std::string* out);
void EncodeShardStateKey(ShardId shard, std::string* out);
void EncodeOffsetKey(ShardId shard, absl::string_view topic, std::string* out);
void EncodeOffsetPrefix(ShardId shard, std::string* out);
std::string FormatVersionKey();

// The smallest string greater than every string starting with `prefix`;
// empty when there is none (prefix all 0xff).
std::string PrefixSuccessor(absl::string_view prefix);

struct LogKeyParts {
  ShardId shard;
  Sequence sequence;
};
std::optional<LogKeyParts> DecodeLogKey(absl::string_view key);

struct ByLeadKeyParts {
  ShardId shard;
  absl::string_view lead;  // encoded LeadKey, points into the key
  Sequence sequence;
};
std::optional<ByLeadKeyParts> DecodeByLeadKey(absl::string_view key);

struct DedupKeyParts {
  ShardId shard;
  absl::string_view event_id;  // points into the key
};
std::optional<DedupKeyParts> DecodeDedupKey(absl::string_view key);

struct DeadLetterKeyParts {
  ShardId shard;
  uint64_t id = 0;
};
std::optional<DeadLetterKeyParts> DecodeDeadLetterKey(absl::string_view key);

struct MetaKeyParts {
  ShardId shard;
  char tag = 0;
  absl::string_view rest;  // topic for kMetaTagOffset; points into the key
};
std::optional<MetaKeyParts> DecodeMetaKey(absl::string_view key);

// --- Values. ---
// dedup: the sequence an event id was appended at and that record's log time.
struct DedupEntry {
  Sequence sequence;
  int64_t log_time_ms = 0;
};
void EncodeDedupValue(const DedupEntry& entry, std::string* out);
std::optional<DedupEntry> DecodeDedupValue(absl::string_view value);

// meta shard ‖ 'c': everything an Append needs to know about a shard, and
// the persistent counters. Rewritten in every batch that touches the shard.
struct ShardState {
  Sequence position;             // next sequence == records in the log
  int64_t last_log_time_ms = 0;  // log time of the last record; 0 if none
  uint64_t events_appended = 0;  // event records (clock ticks excluded)
  uint64_t duplicates_skipped = 0;
  uint64_t dead_letters = 0;  // also the next dead-letter id
  bool operator==(const ShardState&) const = default;
};
void EncodeShardState(const ShardState& state, std::string* out);
std::optional<ShardState> DecodeShardState(absl::string_view value);

void EncodeOffsetValue(KafkaOffset offset, std::string* out);
std::optional<KafkaOffset> DecodeOffsetValue(absl::string_view value);

void EncodeFormatVersion(uint32_t version, std::string* out);
std::optional<uint32_t> DecodeFormatVersion(absl::string_view value);

// --- Log records. ---
// Serializes LogRecord{sequence, log_time_ms, schema_version, source,
// event = event_bytes} without parsing event_bytes: the header fields are
// serialized and field 10 is appended (concatenated protobuf messages merge).
// `header` is scratch space, reused across calls.
void EncodeEventRecord(Sequence sequence, int64_t log_time_ms, const v1::SourcePosition& source,
                       absl::string_view event_bytes, v1::LogRecord* header, std::string* out);
void EncodeClockTickRecord(Sequence sequence, int64_t log_time_ms, std::string* out);

// Parses a stored record, checks that its sequence equals the key's, and
// upcasts it to kSchemaVersionCurrent. DataLoss naming shard and sequence
// otherwise.
absl::Status DecodeRecord(ShardId shard, Sequence key_sequence, absl::string_view value,
                          v1::LogRecord* record);

// Rewrites an in-memory record written at an older schema version into the
// current one (schema_version keeps the version as written). Version 1 is
// current, so this only rejects versions it does not know.
absl::Status Upcast(ShardId shard, v1::LogRecord* record);

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_FORMAT_H_
