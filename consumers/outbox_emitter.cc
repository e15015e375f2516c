// Design note: one round = read, produce, wait for every acknowledgement,
// then one synced cursor write. The emitter keeps no state that is not
// either in the cursors or re-derived from the topic at recovery, so a
// crash anywhere is handled by the same path as a start (header comment).
#include "consumers/outbox_emitter.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/cursors.h"
#include "engine/outbox.h"
#include "engine/proto_json.h"
#include "engine/status_macros.h"
#include "leadlog/v1/action.pb.h"

namespace leadlog {

namespace {

constexpr char kHeaderActionId[] = "leadlog-action-id";
constexpr char kHeaderShard[] = "leadlog-shard";

// Delivery reports of the current round (librdkafka calls dr_cb from
// flush/poll on the emitter's thread).
class DeliveryTracker : public RdKafka::DeliveryReportCb {
 public:
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      ++delivered;
      return;
    }
    if (failed++ == 0) first_error = KafkaStatus(message.err(), "deliver action");
  }
  void Reset() {
    delivered = failed = 0;
    first_error = absl::OkStatus();
  }
  size_t delivered = 0;
  size_t failed = 0;
  absl::Status first_error;
};

std::string HeaderValue(const RdKafka::Headers* headers, const std::string& name) {
  if (headers == nullptr) return std::string();
  RdKafka::Headers::Header header = headers->get_last(name);
  if (header.err() != RdKafka::ERR_NO_ERROR || header.value() == nullptr) return std::string();
  return std::string(static_cast<const char*>(header.value()), header.value_size());
}

// The entry key in a message's headers, if the message is one of ours.
std::optional<std::pair<ShardId, std::string>> PositionOf(RdKafka::Message& message,
                                                          const std::string& position_header,
                                                          const EntryEncoder& encoder) {
  const RdKafka::Headers* headers = message.headers();
  uint32_t shard = 0;
  if (!absl::SimpleAtoi(HeaderValue(headers, kHeaderShard), &shard)) return std::nullopt;
  const std::string hex = HeaderValue(headers, position_header);
  if (hex.empty() || hex.size() % 2 != 0 || hex.size() > 2 * kProjectionKeyBytesMax ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return std::nullopt;
  }
  std::string key = absl::HexStringToBytes(hex);
  Sequence sequence;
  if (!encoder.ParseKey(key, &sequence)) return std::nullopt;
  return std::make_pair(ShardId(shard), std::move(key));
}

absl::StatusOr<std::string> RenderJson(const v1::Action& action) {
  std::string json;
  auto status = AppendProtoJson(action, {.always_print_primitive_fields = true}, &json);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("action ", action.action_id(), ": JSON: ", status.ToString()));
  }
  return json;
}

// The outbox's actions (see ActionEncoder in the header).
class ActionEncoderImpl final : public EntryEncoder {
 public:
  bool ParseKey(absl::string_view key, Sequence* sequence) const override {
    uint32_t index = 0;
    return ParseOutboxKey(key, sequence, &index);
  }
  absl::Status Encode(ShardId shard, const ProjectionEntry& entry,
                      EmitterMessage* message) const override {
    v1::Action action;
    RETURN_IF_ERROR(DecodeOutboxEntry(shard, entry.key, entry.value, &action));
    ASSIGN_OR_RETURN(std::string json, RenderJson(action));
    message->key = action.lead_key();
    message->value = std::move(json);
    message->headers = {{kHeaderActionId, action.action_id()},
                        {"content-type", "application/json"}};
    return absl::OkStatus();
  }
};

absl::Status CheckRange(absl::string_view field, int64_t value, int64_t max) {
  if (value >= 1 && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", value, " is outside [1, ", max, "]"));
}

}  // namespace

const EntryEncoder& ActionEncoder() {
  static const ActionEncoderImpl* const encoder = new ActionEncoderImpl();
  return *encoder;
}

class OutboxEmitter::Impl {
 public:
  Impl(EventLog* log, const OutboxSource* source, OutboxEmitterOptions options)
      : log_(log),
        source_(source),
        options_(std::move(options)),
        encoder_(options_.encoder != nullptr ? *options_.encoder : ActionEncoder()) {}

  absl::Status Init() { return CreateProducer(); }
  absl::StatusOr<size_t> EmitOnce();
  absl::Status Run(const std::atomic<bool>& stop_requested);
  void Notify() {
    absl::MutexLock lock(&mu_);
    notified_ = true;
  }
  OutboxEmitterCounters counters() const {
    absl::MutexLock lock(&mu_);
    return counters_;
  }

 private:
  KafkaProperties BaseProperties() const {
    // Level 3: errors only (level 4 would print a warning on every producer
    // created, because enable.gapless.guarantee is marked experimental).
    KafkaProperties props = {{"bootstrap.servers", options_.brokers}, {"log_level", "3"}};
    return props;
  }
  absl::Status CreateProducer();
  absl::StatusOr<std::string> CursorOf(ShardId shard);
  absl::Status Recover();
  absl::Status ReadTail(const std::map<int, int>& shards_per_partition,
                        absl::flat_hash_map<ShardId, std::string>* highest, uint64_t* past);
  absl::StatusOr<size_t> ProduceRound(std::vector<CursorUpdate>* updates);
  // Produces `entry` and adds its key and value bytes to `bytes`.
  absl::Status ProduceEntry(ShardId shard, const ProjectionEntry& entry, int64_t* bytes);
  absl::Status AwaitDeliveries(size_t produced);
  void PruneDelivered(const std::vector<CursorUpdate>& updates);
  void UpdateCounters(size_t published, bool failed);

  EventLog* const log_;
  const OutboxSource* const source_;
  const OutboxEmitterOptions options_;
  const EntryEncoder& encoder_;
  // Pruning: entries delivered per shard since its last prune; shards
  // pruned at least once since the start.
  absl::flat_hash_map<ShardId, uint64_t> delivered_since_prune_;
  absl::flat_hash_map<ShardId, bool> pruned_since_start_;
  // Entries produced per shard in the current round.
  absl::flat_hash_map<ShardId, uint64_t> round_produced_;
  // Where the next round starts: the shard after the one the last round
  // stopped in (round_bytes_max), so that every shard is served in turn.
  ShardId resume_shard_{0};
  DeliveryTracker tracker_;
  std::unique_ptr<RdKafka::Producer> producer_;
  int partitions_ = 0;         // of the topic, from metadata at recovery
  bool needs_recovery_ = true;  // at start and after a failed round
  bool last_round_full_ = false;
  // shard -> last outbox key published and acknowledged ("" = none).
  absl::flat_hash_map<ShardId, std::string> cursors_;

  mutable absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  OutboxEmitterCounters counters_ ABSL_GUARDED_BY(mu_);
};

absl::Status OutboxEmitter::Impl::CreateProducer() {
  KafkaProperties props = BaseProperties();
  props.insert(props.end(), {{"enable.idempotence", "true"},
                             {"acks", "all"},
                             // A failure that could leave a gap in a shard's
                             // sequence is fatal: recovery relies on no gaps.
                             {"enable.gapless.guarantee", "true"},
                             // The partition count decides the shard ->
                             // partition map: never let a metadata request
                             // create the topic with a broker default.
                             {"allow.auto.create.topics", "false"},
                             {"linger.ms", "5"},
                             {"message.timeout.ms", std::to_string(options_.delivery_timeout_ms)}});
  props.insert(props.end(), options_.properties.begin(), options_.properties.end());
  ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> conf, MakeKafkaConf(props));
  std::string error;
  conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(&tracker_), error);
  producer_.reset(RdKafka::Producer::create(conf.get(), error));
  if (producer_ == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka producer: ", error));
  return CheckBrokersReachable(producer_.get(), options_.brokers, options_.delivery_timeout_ms);
}

absl::StatusOr<std::string> OutboxEmitter::Impl::CursorOf(ShardId shard) {
  if (auto it = cursors_.find(shard); it != cursors_.end()) return it->second;
  ASSIGN_OR_RETURN(std::optional<std::string> stored,
                   LoadCursor(log_, options_.cursor_name, shard));
  Sequence sequence;
  if (stored.has_value() && !stored->empty() && !encoder_.ParseKey(*stored, &sequence)) {
    return absl::DataLossError(absl::StrCat("cursor ", options_.cursor_name, " of shard ",
                                            shard.value(), ": not an entry key (",
                                            absl::BytesToHexString(*stored), ")"));
  }
  cursors_[shard] = stored.value_or("");
  return cursors_[shard];
}

absl::Status OutboxEmitter::Impl::Recover() {
  ASSIGN_OR_RETURN(partitions_, TopicPartitionCount(producer_.get(), options_.topic,
                                                    options_.delivery_timeout_ms));
  std::map<int, int> shards_per_partition;
  for (ShardId shard : source_->Shards()) {
    RETURN_IF_ERROR(CursorOf(shard).status());
    ++shards_per_partition[static_cast<int>(shard.value() % static_cast<uint32_t>(partitions_))];
  }
  absl::flat_hash_map<ShardId, std::string> highest;
  uint64_t past = 0;
  RETURN_IF_ERROR(ReadTail(shards_per_partition, &highest, &past));
  std::vector<CursorUpdate> updates;
  for (const auto& [shard, key] : highest) {
    auto it = cursors_.find(shard);
    if (it == cursors_.end() || key <= it->second) continue;  // not ours, or not past
    updates.push_back({shard, key});
  }
  RETURN_IF_ERROR(StoreCursors(log_, options_.cursor_name, updates, /*sync=*/true));
  for (const CursorUpdate& u : updates) cursors_[u.shard] = u.value;
  absl::MutexLock lock(&mu_);
  counters_.recovered_skipped += past;
  ++counters_.recoveries;
  return absl::OkStatus();
}

// Reads the last batch × n(p) messages of each partition p (header comment)
// and collects, per shard, the highest outbox key found and how many
// messages lie past the shard's cursor.
absl::Status OutboxEmitter::Impl::ReadTail(const std::map<int, int>& shards_per_partition,
                                           absl::flat_hash_map<ShardId, std::string>* highest,
                                           uint64_t* past) {
  KafkaProperties props = BaseProperties();
  props.insert(props.end(), {{"group.id", "leadlog-emitter-recovery"},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"enable.partition.eof", "true"},
                             {"isolation.level", "read_uncommitted"}});
  props.insert(props.end(), options_.properties.begin(), options_.properties.end());
  ASSIGN_OR_RETURN(std::unique_ptr<RdKafka::Conf> conf, MakeKafkaConf(props));
  std::string error;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  // partition -> offset of its last message; reading stops when all are read.
  std::map<int, int64_t> last_offset;
  std::vector<RdKafka::TopicPartition*> assignment;
  absl::Status status;
  for (const auto& [partition, shards] : shards_per_partition) {
    int64_t low = 0, high = 0;
    status = KafkaStatus(consumer->query_watermark_offsets(options_.topic, partition, &low, &high,
                                                           options_.delivery_timeout_ms),
                         absl::StrCat("watermarks of ", options_.topic, "/", partition));
    if (!status.ok()) break;
    const int64_t window = static_cast<int64_t>(options_.batch) * shards;
    const int64_t start = std::max(low, high - window);
    if (start >= high) continue;
    last_offset[partition] = high - 1;
    assignment.push_back(RdKafka::TopicPartition::create(options_.topic, partition, start));
  }
  if (status.ok() && !assignment.empty()) {
    status = KafkaStatus(consumer->assign(assignment), "assign for recovery");
  }
  RdKafka::TopicPartition::destroy(assignment);
  const absl::Time deadline = absl::Now() + absl::Milliseconds(options_.delivery_timeout_ms);
  while (status.ok() && !last_offset.empty()) {
    if (absl::Now() > deadline) {
      status = absl::UnavailableError(absl::StrCat("recovery: reading the tail of ", options_.topic,
                                                   " timed out (", last_offset.size(),
                                                   " partitions unread)"));
      break;
    }
    std::unique_ptr<RdKafka::Message> message(consumer->consume(100));
    const int partition = message->partition();
    if (message->err() == RdKafka::ERR__PARTITION_EOF) {
      last_offset.erase(partition);
      continue;
    }
    if (message->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (message->err() != RdKafka::ERR_NO_ERROR) {
      status = KafkaStatus(message->err(), absl::StrCat("recovery: read ", options_.topic));
      break;
    }
    if (auto ours = PositionOf(*message, options_.position_header, encoder_); ours.has_value()) {
      auto cursor = cursors_.find(ours->first);
      if (cursor != cursors_.end() && ours->second > cursor->second) ++*past;
      std::string& best = (*highest)[ours->first];
      best = std::max(best, ours->second);
    }
    auto it = last_offset.find(partition);
    if (it != last_offset.end() && message->offset() >= it->second) last_offset.erase(it);
  }
  consumer->close();
  return status;
}

absl::Status OutboxEmitter::Impl::ProduceEntry(ShardId shard, const ProjectionEntry& entry,
                                              int64_t* bytes) {
  EmitterMessage message;
  RETURN_IF_ERROR(encoder_.Encode(shard, entry, &message));
  *bytes += static_cast<int64_t>(message.key.size() +
                                 (message.value.has_value() ? message.value->size() : 0));
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add(kHeaderShard, std::to_string(shard.value()));
  headers->add(options_.position_header, absl::BytesToHexString(entry.key));
  for (const auto& [name, value] : message.headers) headers->add(name, value);
  const int32_t partition = static_cast<int32_t>(shard.value() % static_cast<uint32_t>(partitions_));
  // A null payload (tombstone) is a nullptr with length 0.
  char* payload = message.value.has_value() ? message.value->data() : nullptr;
  const size_t length = message.value.has_value() ? message.value->size() : 0;
  while (true) {
    RdKafka::ErrorCode err = producer_->produce(
        options_.topic, partition, RdKafka::Producer::RK_MSG_COPY, payload, length,
        message.key.data(), message.key.size(), 0, headers, nullptr);
    if (err == RdKafka::ERR_NO_ERROR) return absl::OkStatus();  // headers now librdkafka's
    if (err != RdKafka::ERR__QUEUE_FULL) {
      delete headers;
      return KafkaStatus(err, absl::StrCat("produce ", options_.topic, " entry ",
                                           absl::BytesToHexString(entry.key), " of shard ",
                                           shard.value()));
    }
    producer_->poll(10);
  }
}

absl::Status OutboxEmitter::Impl::AwaitDeliveries(size_t produced) {
  // Every message gets a report within message.timeout.ms; the slack covers
  // the report itself.
  RdKafka::ErrorCode err = producer_->flush(options_.delivery_timeout_ms + 5000);
  if (err != RdKafka::ERR_NO_ERROR) return KafkaStatus(err, "wait for action deliveries");
  if (tracker_.failed > 0) {
    return absl::UnavailableError(absl::StrCat(tracker_.failed, " of ", produced,
                                               " actions not delivered; first: ",
                                               tracker_.first_error.message()));
  }
  if (tracker_.delivered != produced) {
    return absl::InternalError(absl::StrCat("delivery reports for ", tracker_.delivered, " of ",
                                            produced, " actions"));
  }
  return absl::OkStatus();
}

// Produces up to `batch` entries per shard past its cursor, the shards in
// order from where the last round left off, until the round holds
// `round_bytes_max` message bytes; fills the cursor updates to store once
// they are all acknowledged.
absl::StatusOr<size_t> OutboxEmitter::Impl::ProduceRound(std::vector<CursorUpdate>* updates) {
  size_t produced = 0;
  int64_t bytes = 0;
  bool full = false;     // a shard had `batch` or more: come back soon
  bool stopped = false;  // the round reached round_bytes_max
  std::vector<ShardId> shards = source_->Shards();
  std::sort(shards.begin(), shards.end());
  // The first shard at or after the one the last round left off at.
  const size_t start = static_cast<size_t>(
      std::lower_bound(shards.begin(), shards.end(), resume_shard_) - shards.begin());
  round_produced_.clear();
  encoder_.BeginRound();
  for (size_t i = 0; i < shards.size() && !stopped; ++i) {
    const ShardId shard = shards[(start + i) % shards.size()];
    ASSIGN_OR_RETURN(std::string cursor, CursorOf(shard));
    ASSIGN_OR_RETURN(std::vector<ProjectionEntry> entries,
                     source_->Read(shard, cursor, static_cast<size_t>(options_.batch)));
    if (entries.empty()) continue;
    size_t taken = 0;
    for (const ProjectionEntry& entry : entries) {
      if (bytes >= options_.round_bytes_max) {  // produced > 0: the round is not empty
        // The next round starts at the next shard: a shard that always has
        // a backlog cannot keep the others waiting.
        stopped = true;
        resume_shard_ = shards[(start + i + 1) % shards.size()];
        break;
      }
      if (entry.key <= cursor) {
        return absl::InternalError(absl::StrCat("outbox source returned shard ", shard.value(),
                                                " key ", absl::BytesToHexString(entry.key),
                                                " not after the cursor"));
      }
      RETURN_IF_ERROR(ProduceEntry(shard, entry, &bytes));
      cursor = entry.key;
      ++taken;
      ++produced;
    }
    if (taken == 0) continue;
    round_produced_[shard] = taken;
    full = full || taken >= static_cast<size_t>(options_.batch);
    updates->push_back({shard, std::move(cursor)});
  }
  last_round_full_ = full || stopped;
  return produced;
}

absl::StatusOr<size_t> OutboxEmitter::Impl::EmitOnce() {
  tracker_.Reset();
  absl::Status status;
  if (producer_ == nullptr) status = CreateProducer();
  if (status.ok() && needs_recovery_) {
    status = Recover();
    if (status.ok()) needs_recovery_ = false;
  }
  std::vector<CursorUpdate> updates;
  size_t produced = 0;
  if (status.ok()) {
    absl::StatusOr<size_t> round = ProduceRound(&updates);
    status = round.status();
    produced = round.value_or(0);
  }
  if (status.ok() && produced > 0) status = AwaitDeliveries(produced);
  if (status.ok() && produced > 0 && options_.round_delivered_hook) {
    options_.round_delivered_hook(produced);
  }
  if (status.ok()) status = StoreCursors(log_, options_.cursor_name, updates, /*sync=*/true);
  if (!status.ok()) {
    // Some messages may have landed: find them again before producing more.
    // A new producer also clears a fatal idempotence error.
    needs_recovery_ = true;
    if (producer_ != nullptr) {
      producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
      producer_->poll(0);
      producer_.reset();
    }
    UpdateCounters(0, /*failed=*/true);
    return status;
  }
  for (const CursorUpdate& u : updates) cursors_[u.shard] = u.value;
  PruneDelivered(updates);
  UpdateCounters(produced, /*failed=*/false);
  return produced;
}

// After the cursors are stored: entries at or behind a shard's cursor are
// delivered, so deleting them cannot lose a message. A failed prune is
// retried at the next round (nothing depends on it but disk space).
void OutboxEmitter::Impl::PruneDelivered(const std::vector<CursorUpdate>& updates) {
  if (options_.prune_entries_min == 0) return;
  for (const CursorUpdate& u : updates) delivered_since_prune_[u.shard] += round_produced_[u.shard];
  for (const auto& [shard, cursor] : cursors_) {
    if (cursor.empty()) continue;
    const bool first = !pruned_since_start_[shard];
    if (!first && delivered_since_prune_[shard] < options_.prune_entries_min) continue;
    absl::Status pruned = source_->Prune(shard, cursor);
    if (!pruned.ok()) {
      std::cerr << "leadlog: " << options_.topic << " emitter: prune: " << pruned << "\n";
      continue;
    }
    pruned_since_start_[shard] = true;
    delivered_since_prune_[shard] = 0;
    absl::MutexLock lock(&mu_);
    ++counters_.prunes;
  }
}

void OutboxEmitter::Impl::UpdateCounters(size_t published, bool failed) {
  absl::MutexLock lock(&mu_);
  counters_.published += published;
  ++(failed ? counters_.failed_rounds : counters_.rounds);
  counters_.shards.clear();
  std::vector<std::pair<ShardId, std::string>> sorted(cursors_.begin(), cursors_.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [shard, key] : sorted) {
    OutboxEmitterCounters::Shard s;
    s.shard = shard;
    s.has_cursor = encoder_.ParseKey(key, &s.sequence);
    Sequence sequence;
    if (!ParseOutboxKey(key, &sequence, &s.index)) s.index = 0;
    s.key = key;
    counters_.shards.push_back(s);
  }
}

absl::Status OutboxEmitter::Impl::Run(const std::atomic<bool>& stop_requested) {
  while (!stop_requested.load()) {
    absl::StatusOr<size_t> published = EmitOnce();
    const bool retry_soon = published.ok() && last_round_full_;
    if (!published.ok()) {
      const absl::StatusCode code = published.status().code();
      if (code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kInvalidArgument ||
          code == absl::StatusCode::kFailedPrecondition) {
        return published.status();
      }
      std::cerr << "leadlog: " << options_.topic << " emitter: " << published.status()
                << " (retrying)\n";
    }
    if (retry_soon) continue;
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&notified_), absl::Milliseconds(options_.idle_ms));
    notified_ = false;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OutboxEmitter>> OutboxEmitter::Create(EventLog* log,
                                                                     const OutboxSource* source,
                                                                     OutboxEmitterOptions options) {
  if (log == nullptr || source == nullptr) {
    return absl::InvalidArgumentError("outbox emitter: log and source are required");
  }
  if (options.brokers.empty()) return absl::InvalidArgumentError("brokers: required");
  if (options.topic.empty()) return absl::InvalidArgumentError("topic: required");
  if (options.position_header.empty()) {
    return absl::InvalidArgumentError("position_header: required");
  }
  RETURN_IF_ERROR(CheckRange("batch", options.batch, kEmitterBatchMax));
  RETURN_IF_ERROR(CheckRange("round_bytes_max", options.round_bytes_max, kEmitterRoundBytesMax));
  RETURN_IF_ERROR(
      CheckRange("delivery_timeout_ms", options.delivery_timeout_ms, kEmitterDeliveryTimeoutMsMax));
  RETURN_IF_ERROR(CheckRange("idle_ms", options.idle_ms, kEmitterIdleMsMax));
  // Cursors need the log's store: fail here rather than at the first round.
  // (also checks cursor_name).
  RETURN_IF_ERROR(LoadCursor(log, options.cursor_name, ShardId(0)).status());
  auto impl = std::make_unique<Impl>(log, source, std::move(options));
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<OutboxEmitter>(new OutboxEmitter(std::move(impl)));
}

OutboxEmitter::OutboxEmitter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutboxEmitter::~OutboxEmitter() = default;
absl::StatusOr<size_t> OutboxEmitter::EmitOnce() { return impl_->EmitOnce(); }
absl::Status OutboxEmitter::Run(const std::atomic<bool>& stop_requested) {
  return impl_->Run(stop_requested);
}
void OutboxEmitter::Notify() { impl_->Notify(); }
OutboxEmitterCounters OutboxEmitter::counters() const { return impl_->counters(); }

}  // namespace leadlog
