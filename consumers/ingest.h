// Ingest: turns raw messages into AppendBatches (decode, validate, dead-letter,
// offsets) and ingests JSON lines from a file or stdin. Shared by the Kafka
// consumer and `leadlog ingest`, so both paths decode, validate and dedup the
// same way.
//
// Thread-safety: BatchBuilder is not thread-safe (one per poll thread).
// IngestLines is safe to call from one thread per EventLog shard set.
// Ownership: RawMessage fields are borrowed; Add copies what it keeps.
// Durability: nothing here is durable until EventLog::Append returns.
//
//   BatchBuilder builder(options);
//   builder.Add(RawMessage{...});           // event or dead letter
//   if (builder.full()) log->Append(*builder.mutable_batch());
//   AppendBatch batch = builder.Take();
#ifndef LEADLOG_CONSUMERS_INGEST_H_
#define LEADLOG_CONSUMERS_INGEST_H_

#include <cstdint>
#include <istream>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "consumers/codec.h"
#include "engine/event_log.h"
#include "engine/ids.h"
#include "engine/limits.h"

namespace leadlog {

// One message as it came from Kafka (or one line of a file).
struct RawMessage {
  absl::string_view topic;
  PartitionId partition;
  KafkaOffset offset;
  absl::string_view key;
  absl::string_view value;
  ContentType content_type = ContentType::kUnknown;
  // Store the next offset for (shard, topic) in the batch: true for Kafka,
  // false for files (file ingest relies on dedup to be idempotent).
  bool track_offset = true;
  // 0 for Kafka (the shard is the partition). For files, the partition
  // count: the shard is then ShardForKey(PartitionKeyOf(event)), the shard
  // a keyed Kafka producer would have chosen; dead letters go to shard 0.
  int shard_by_key_partitions = 0;
};

// An admin event's serialized protobuf (a definition, an erasure) appended
// straight to `shard` of a data dir rather than consumed from Kafka
// (DESIGN.md §7: broadcast to every shard): no offset to track, so
// appending it again is a duplicate, decided by the event id. The views
// must outlive the batch the message is added to.
RawMessage DirectProtobufMessage(absl::string_view topic, uint32_t shard, absl::string_view bytes);

struct BatchOptions {
  // A batch closes at this many messages (events + dead letters).
  int batch_events_max = kBatchEventsDefault;
  // ... or when it has been open this long (checked by the caller).
  int batch_interval_ms = kBatchIntervalMsDefault;
};

// Validates options: InvalidArgument naming the field when out of range.
absl::Status ValidateBatchOptions(const BatchOptions& options);

class BatchBuilder {
 public:
  explicit BatchBuilder(const BatchOptions& options) : options_(options) {}

  // Decodes the message into the open batch, as an event or a dead letter.
  void Add(const RawMessage& message);

  bool empty() const { return messages_ == 0; }
  bool full() const { return messages_ >= options_.batch_events_max; }
  int messages() const { return messages_; }
  // Approximate heap bytes held by the open batch.
  size_t bytes() const { return bytes_; }

  // Closes the open batch and returns it (with its offset updates); the
  // builder starts a new one.
  AppendBatch Take();

 private:
  BatchOptions options_;
  AppendBatch batch_;
  // (shard, topic) -> next offset, folded into batch_.offsets by Take().
  absl::flat_hash_map<std::pair<uint32_t, std::string>, int64_t> next_offsets_;
  int messages_ = 0;
  size_t bytes_ = 0;
};

// The shard of a keyed message: librdkafka's default ("consistent") hash
// of the key modulo the partition count, so file-ingested events land in the
// shard Kafka producers would have sent them to.
ShardId ShardForKey(absl::string_view key, int partitions);

struct IngestSummary {
  uint64_t lines = 0;
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t dead_letters = 0;
};

struct FileIngestOptions {
  BatchOptions batch;
  // Partition count used to pick each event's shard (ShardForKey).
  int partitions = 8;
  // Recorded as the source topic of every record ("file:<path>" or "stdin").
  std::string source_name = "stdin";
};

// Reads JSON lines (one Segment-spec message per line; blank lines skipped)
// and appends them in batches. A line longer than kEventBytesMax is a dead
// letter like any other bad message. Returns the first storage error.
absl::StatusOr<IngestSummary> IngestLines(std::istream& in, const FileIngestOptions& options,
                                          EventLog* log);

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_INGEST_H_
