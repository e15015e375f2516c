#include "consumers/ingest.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"

namespace leadlog {

RawMessage DirectProtobufMessage(absl::string_view topic, uint32_t shard, absl::string_view bytes) {
  RawMessage message;
  message.topic = topic;
  message.partition = PartitionId(static_cast<int32_t>(shard));
  message.offset = KafkaOffset(0);
  message.value = bytes;
  message.content_type = ContentType::kProtobuf;
  message.track_offset = false;
  return message;
}

absl::Status ValidateBatchOptions(const BatchOptions& options) {
  if (options.batch_events_max < 1 || options.batch_events_max > kBatchEventsMax) {
    return absl::InvalidArgumentError(absl::StrCat("batch_events_max: ", options.batch_events_max,
                                                   " is outside [1, ", kBatchEventsMax, "]"));
  }
  if (options.batch_interval_ms < 0 || options.batch_interval_ms > kBatchIntervalMsMax) {
    return absl::InvalidArgumentError(absl::StrCat("batch_interval_ms: ", options.batch_interval_ms,
                                                   " is outside [0, ", kBatchIntervalMsMax, "]"));
  }
  return absl::OkStatus();
}

void BatchBuilder::Add(const RawMessage& message) {
  v1::SourcePosition source;
  source.set_topic(std::string(message.topic));
  source.set_partition(message.partition.value());
  source.set_offset(message.offset.value());

  v1::Event event;
  absl::Status status = DecodeEvent(message.value, message.content_type, &event);
  ShardId shard = ShardForPartition(message.partition);
  if (message.shard_by_key_partitions > 0) {
    shard = status.ok() ? ShardForKey(PartitionKeyOf(event), message.shard_by_key_partitions)
                        : ShardId(0);
  }
  if (status.ok()) {
    PendingEvent pending;
    pending.shard = shard;
    pending.event_id = event.event_id();
    pending.lead_keys = LeadKeysOf(event);
    for (const std::string& key : event.erasure().lead_keys()) {
      pending.erase_lead_keys.push_back(LeadKey::FromEncoded(key));
    }
    pending.event_bytes = event.SerializeAsString();
    pending.source = std::move(source);
    bytes_ += pending.event_bytes.size() + pending.event_id.size() + 128;
    batch_.events.push_back(std::move(pending));
  } else {
    PendingDeadLetter dead;
    dead.shard = shard;
    dead.letter.set_field(ErrorField(status));
    dead.letter.set_reason(std::string(status.message()));
    dead.letter.set_key(std::string(message.key));
    dead.letter.set_raw_size(message.value.size());
    dead.letter.set_raw(std::string(
        message.value.substr(0, std::min(message.value.size(), kDeadLetterRawBytesMax))));
    *dead.letter.mutable_source() = std::move(source);
    bytes_ += dead.letter.raw().size() + dead.letter.reason().size() + 128;
    batch_.dead_letters.push_back(std::move(dead));
  }
  if (message.track_offset) {
    next_offsets_[{shard.value(), std::string(message.topic)}] = message.offset.value() + 1;
  }
  ++messages_;
}

AppendBatch BatchBuilder::Take() {
  for (auto& [shard_topic, next] : next_offsets_) {
    batch_.offsets.push_back(
        OffsetUpdate{ShardId(shard_topic.first), shard_topic.second, KafkaOffset(next)});
  }
  // Deterministic order of offset updates (hash-map iteration is not).
  std::sort(batch_.offsets.begin(), batch_.offsets.end(),
            [](const OffsetUpdate& a, const OffsetUpdate& b) {
              return std::tie(a.shard, a.topic) < std::tie(b.shard, b.topic);
            });
  next_offsets_.clear();
  messages_ = 0;
  bytes_ = 0;
  return std::exchange(batch_, AppendBatch{});
}

ShardId ShardForKey(absl::string_view key, int partitions) {
  if (partitions <= 1) return ShardId(0);
  // The partitioner ignores its topic and opaque arguments.
  int32_t p = rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partitions,
                                                  nullptr, nullptr);
  return ShardId(static_cast<uint32_t>(p));
}

namespace {

absl::Status AppendAndCount(EventLog* log, AppendBatch batch, IngestSummary* summary) {
  if (batch.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(AppendResult result, log->Append(batch));
  summary->appended += result.appended;
  summary->duplicates += result.duplicates;
  summary->dead_letters += result.dead_letters;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<IngestSummary> IngestLines(std::istream& in, const FileIngestOptions& options,
                                          EventLog* log) {
  RETURN_IF_ERROR(ValidateBatchOptions(options.batch));
  if (options.partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("partitions: ", options.partitions, " < 1"));
  }
  IngestSummary summary;
  BatchBuilder builder(options.batch);
  std::string line;
  while (std::getline(in, line)) {
    ++summary.lines;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    RawMessage message;
    message.topic = options.source_name;
    message.partition = PartitionId(-1);
    message.offset = KafkaOffset(static_cast<int64_t>(summary.lines));
    message.value = line;
    message.content_type = ContentType::kJson;
    message.track_offset = false;
    message.shard_by_key_partitions = options.partitions;
    builder.Add(message);
    if (builder.full()) RETURN_IF_ERROR(AppendAndCount(log, builder.Take(), &summary));
  }
  if (in.bad()) return absl::DataLossError("input: read error");
  RETURN_IF_ERROR(AppendAndCount(log, builder.Take(), &summary));
  return summary;
}

}  // namespace leadlog
