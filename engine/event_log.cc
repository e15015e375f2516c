// EventLog on one RocksDB instance. Layout: engine/FORMAT.md and
// internal/format.h. Design note:
// - Append is serialised by append_mu_ and builds one WriteBatch
//   (internal/batch_writer.h). The per-shard state (position, log time,
//   counters) is read from memory, written to meta in the same batch, and
//   published to memory only after the write succeeded, so a failed write
//   leaves memory equal to disk.
// - Readers never take append_mu_: state_mu_ guards only the in-memory shard
//   states, and RocksDB iterators/snapshots give them a consistent view.
// - Open checks the format version and (unless read-only) that each shard's
//   stored position matches the last key of its log (one seek per shard);
//   Verify is the full check (internal/verify.h).
#include "engine/event_log.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/internal/batch_writer.h"
#include "engine/internal/event_log_access.h"
#include "engine/internal/format.h"
#include "engine/internal/recovery.h"
#include "engine/internal/store.h"
#include "engine/internal/verify.h"
#include "engine/status_macros.h"
#include "rocksdb/snapshot.h"

namespace leadlog {

std::vector<LeadKey> IndexKeysOf(const v1::Event& event) {
  std::vector<LeadKey> keys;
  auto add = [&keys](LeadKey key) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  };
  if (!event.user_id().empty()) add(LeadKey::ForUser(event.user_id()));
  if (!event.anonymous_id().empty()) add(LeadKey::ForAnonymous(event.anonymous_id()));
  // alias: previous_id is the user id being replaced (other calls ignore it).
  if (event.type() == v1::CALL_TYPE_ALIAS && !event.previous_id().empty()) {
    add(LeadKey::ForUser(event.previous_id()));
  }
  return keys;
}

namespace {

using internal::ShardState;
using internal::ShardStates;

// An encoded lead key: "u:" or "a:" and an id of at most kIdBytesMax.
constexpr size_t kIndexedLeadKeyBytesMax = kIdBytesMax + 2;
static_assert(kIndexedLeadKeyBytesMax <= internal::kLeadKeyBytesMax);

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

absl::Status CheckShard(ShardId shard, absl::string_view where) {
  if (shard.value() != internal::kGlobalShard) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(where, "shard: ", shard.value(), " is reserved for global metadata"));
}

absl::Status CheckEvent(const PendingEvent& event, absl::string_view where) {
  RETURN_IF_ERROR(CheckShard(event.shard, where));
  if (event.event_id.empty())
    return absl::InvalidArgumentError(absl::StrCat(where, "event_id: empty"));
  if (event.event_id.size() > kIdBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(where, "event_id: ", event.event_id.size(),
                                                   " bytes, more than kIdBytesMax (", kIdBytesMax,
                                                   ")"));
  }
  for (size_t j = 0; j < event.lead_keys.size(); ++j) {
    size_t bytes = event.lead_keys[j].encoded().size();
    if (bytes == 0 || bytes > kIndexedLeadKeyBytesMax) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "lead_keys[", j, "]: ", bytes, " bytes, expected 1..", kIndexedLeadKeyBytesMax));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckOffset(const OffsetUpdate& update, absl::string_view where) {
  RETURN_IF_ERROR(CheckShard(update.shard, where));
  if (update.topic.empty() || update.topic.size() > kTopicBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(where, "topic: ", update.topic.size(),
                                                   " bytes, expected 1..kTopicBytesMax (",
                                                   kTopicBytesMax, ")"));
  }
  if (update.next_offset.value() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "next_offset: ", update.next_offset.value(), " is negative"));
  }
  return absl::OkStatus();
}

// Checks everything Append must not trust before anything is written.
absl::Status ValidateBatch(const AppendBatch& batch) {
  for (size_t i = 0; i < batch.events.size(); ++i) {
    RETURN_IF_ERROR(CheckEvent(batch.events[i], absl::StrCat("events[", i, "].")));
  }
  for (size_t i = 0; i < batch.dead_letters.size(); ++i) {
    RETURN_IF_ERROR(
        CheckShard(batch.dead_letters[i].shard, absl::StrCat("dead_letters[", i, "].")));
  }
  for (size_t i = 0; i < batch.offsets.size(); ++i) {
    RETURN_IF_ERROR(CheckOffset(batch.offsets[i], absl::StrCat("offsets[", i, "].")));
  }
  return absl::OkStatus();
}

absl::flat_hash_set<ShardId> ShardsOf(const AppendBatch& batch) {
  absl::flat_hash_set<ShardId> shards;
  for (const PendingEvent& event : batch.events) shards.insert(event.shard);
  for (const PendingDeadLetter& letter : batch.dead_letters) shards.insert(letter.shard);
  for (const OffsetUpdate& update : batch.offsets) shards.insert(update.shard);
  return shards;
}

class EventLogImpl final : public EventLog {
 public:
  EventLogImpl(const EventLogOptions& options, std::unique_ptr<internal::Store> store,
               ShardStates states)
      : options_(options),
        clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
        store_(std::move(store)),
        states_(std::move(states)) {}

  absl::StatusOr<AppendResult> Append(AppendBatch& batch) override;
  absl::StatusOr<Sequence> AppendClockTick(ShardId shard) override;
  absl::Status ReadRange(
      ShardId shard, Sequence from, Sequence to,
      const std::function<absl::Status(const v1::LogRecord&)>& visit) const override;
  absl::Status ReadLead(
      ShardId shard, const LeadKey& lead,
      const std::function<absl::Status(const v1::LogRecord&)>& visit) const override;
  Sequence Position(ShardId shard) const override { return StateOf(shard).position; }
  std::optional<Sequence> LookupEventId(ShardId shard, absl::string_view event_id) const override;
  std::optional<KafkaOffset> StoredOffset(ShardId shard, absl::string_view topic) const override;
  std::vector<ShardId> Shards() const override;
  ShardStats Stats(ShardId shard) const override;
  absl::Status ReadDeadLetters(
      ShardId shard,
      const std::function<absl::Status(const v1::DeadLetter&)>& visit) const override;
  absl::Status PurgeErased(ShardId shard) override;
  absl::Status Verify(int problems_max) const override {
    return internal::VerifyLog(*store_, problems_max);
  }
  internal::Store* store() const { return store_.get(); }

 private:
  absl::Status CheckWritable() const;
  ShardState StateOf(ShardId shard) const ABSL_LOCKS_EXCLUDED(state_mu_);
  ShardStates StatesOf(const absl::flat_hash_set<ShardId>& shards) const
      ABSL_LOCKS_EXCLUDED(state_mu_);
  void Publish(const ShardStates& states) ABSL_LOCKS_EXCLUDED(state_mu_);

  const EventLogOptions options_;
  Clock* const clock_;
  const std::unique_ptr<internal::Store> store_;
  // Serialises appends; held for the whole batch, never by readers.
  absl::Mutex append_mu_;
  // Guards states_ only: held for map lookups and copies, never for I/O.
  mutable absl::Mutex state_mu_ ABSL_ACQUIRED_AFTER(append_mu_);
  // What is on disk for each shard that has one (absent == empty shard).
  ShardStates states_ ABSL_GUARDED_BY(state_mu_);
};

absl::Status EventLogImpl::CheckWritable() const {
  if (!store_->read_only()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("event log in ", options_.data_dir, " is open read-only"));
}

ShardState EventLogImpl::StateOf(ShardId shard) const {
  absl::ReaderMutexLock lock(&state_mu_);
  auto it = states_.find(shard);
  return it == states_.end() ? ShardState{} : it->second;
}

ShardStates EventLogImpl::StatesOf(const absl::flat_hash_set<ShardId>& shards) const {
  ShardStates copy;
  absl::ReaderMutexLock lock(&state_mu_);
  for (ShardId shard : shards) {
    auto it = states_.find(shard);
    copy[shard] = it == states_.end() ? ShardState{} : it->second;
  }
  return copy;
}

void EventLogImpl::Publish(const ShardStates& states) {
  absl::MutexLock lock(&state_mu_);
  for (const auto& [shard, state] : states) states_[shard] = state;
}

absl::StatusOr<AppendResult> EventLogImpl::Append(AppendBatch& batch) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(ValidateBatch(batch));
  if (batch.empty()) return AppendResult{};
  absl::MutexLock lock(&append_mu_);
  internal::BatchWriter writer(*store_, clock_->NowMs(), options_.dedup_window_ms,
                               StatesOf(ShardsOf(batch)));
  RETURN_IF_ERROR(writer.AddEvents(batch.events));
  RETURN_IF_ERROR(writer.AddDeadLetters(batch.dead_letters));
  RETURN_IF_ERROR(writer.AddOffsets(batch.offsets));
  RETURN_IF_ERROR(writer.Commit(options_.sync_per_batch));
  Publish(writer.states());
  return writer.result();
}

absl::Status EventLogImpl::PurgeErased(ShardId shard) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(CheckShard(shard, ""));
  const internal::Families& fixed = store_->families();
  // Where an erasure replaces values: the log, dead letters and projection
  // state. by_lead, dedup and meta hold ids and positions only.
  std::vector<rocksdb::ColumnFamilyHandle*> rewritten = {fixed.log, fixed.dead_letters};
  for (const std::string& name : store_->ExtraFamilyNames()) {
    if (rocksdb::ColumnFamilyHandle* family = store_->ExtraFamily(name)) rewritten.push_back(family);
  }
  // Every family is flushed: the WAL files holding the replaced bytes are
  // released only when no family's memtable still needs them.
  std::vector<rocksdb::ColumnFamilyHandle*> all = rewritten;
  all.insert(all.end(), {fixed.by_lead, fixed.dedup, fixed.meta});
  rocksdb::FlushOptions flush;
  flush.wait = true;
  RETURN_IF_ERROR(store_->FromRocks(store_->db()->Flush(flush, all), "flush for erasure"));
  std::string lower;
  internal::EncodeShardPrefix(shard, &lower);
  const std::string upper = internal::PrefixSuccessor(lower);
  const rocksdb::Slice begin(lower);
  const rocksdb::Slice end(upper);
  rocksdb::CompactRangeOptions compact;
  compact.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  for (rocksdb::ColumnFamilyHandle* family : rewritten) {
    RETURN_IF_ERROR(store_->FromRocks(store_->db()->CompactRange(compact, family, &begin, &end),
                                      "compact for erasure"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Sequence> EventLogImpl::AppendClockTick(ShardId shard) {
  RETURN_IF_ERROR(CheckWritable());
  RETURN_IF_ERROR(CheckShard(shard, ""));
  absl::MutexLock lock(&append_mu_);
  internal::BatchWriter writer(*store_, clock_->NowMs(), options_.dedup_window_ms,
                               StatesOf({shard}));
  Sequence sequence;
  ASSIGN_OR_RETURN(sequence, writer.AddClockTick(shard));
  RETURN_IF_ERROR(writer.Commit(options_.sync_per_batch));
  Publish(writer.states());
  return sequence;
}

absl::Status EventLogImpl::ReadRange(
    ShardId shard, Sequence from, Sequence to,
    const std::function<absl::Status(const v1::LogRecord&)>& visit) const {
  if (from >= to) return absl::OkStatus();
  const uint64_t end = to.value() - from.value() > kReadRangeRecordsMax
                           ? from.value() + kReadRangeRecordsMax
                           : to.value();
  std::string lower;
  std::string upper;
  internal::EncodeLogKey(shard, from, &lower);
  internal::EncodeLogKey(shard, Sequence(end), &upper);
  internal::RangeIterator it(*store_, store_->families().log, std::move(lower), std::move(upper));
  v1::LogRecord record;
  uint64_t expected = from.value();
  for (; it.Valid(); it.Next()) {
    std::optional<internal::LogKeyParts> key = internal::DecodeLogKey(View(it.key()));
    if (!key.has_value() || key->shard != shard) {
      return absl::DataLossError(
          absl::StrCat("shard ", shard.value(), ": malformed log key after sequence ", expected));
    }
    if (key->sequence.value() != expected) {
      return absl::DataLossError(absl::StrCat("shard ", shard.value(), " sequence ", expected,
                                              ": missing (next record is ", key->sequence.value(),
                                              ")"));
    }
    RETURN_IF_ERROR(internal::DecodeRecord(shard, key->sequence, View(it.value()), &record));
    RETURN_IF_ERROR(visit(record));
    ++expected;
  }
  return store_->FromRocks(it.status(), "read log");
}

absl::Status EventLogImpl::ReadLead(
    ShardId shard, const LeadKey& lead,
    const std::function<absl::Status(const v1::LogRecord&)>& visit) const {
  if (lead.empty() || lead.encoded().size() > internal::kLeadKeyBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lead: ", lead.encoded().size(), " bytes, expected 1..", internal::kLeadKeyBytesMax));
  }
  std::string lower;
  internal::EncodeByLeadPrefix(shard, lead, &lower);
  std::string upper = internal::PrefixSuccessor(lower);
  rocksdb::ManagedSnapshot snapshot(store_->db());
  rocksdb::ReadOptions read;
  read.snapshot = snapshot.snapshot();
  internal::RangeIterator it(*store_, store_->families().by_lead, std::move(lower),
                             std::move(upper), snapshot.snapshot());
  v1::LogRecord record;
  std::string log_key;
  rocksdb::PinnableSlice value;
  for (; it.Valid(); it.Next()) {
    std::optional<internal::ByLeadKeyParts> key = internal::DecodeByLeadKey(View(it.key()));
    if (!key.has_value() || key->shard != shard || key->lead != lead.encoded()) {
      return absl::DataLossError(absl::StrCat(
          "shard ", shard.value(), ": malformed by_lead key of lead '", lead.encoded(), "'"));
    }
    internal::EncodeLogKey(shard, key->sequence, &log_key);
    value.Reset();
    rocksdb::Status s = store_->db()->Get(read, store_->families().log, log_key, &value);
    if (s.IsNotFound()) {
      return absl::DataLossError(absl::StrCat("shard ", shard.value(), " sequence ",
                                              key->sequence.value(), ": missing, but lead '",
                                              lead.encoded(), "' is indexed there"));
    }
    RETURN_IF_ERROR(store_->FromRocks(s, "read log"));
    RETURN_IF_ERROR(internal::DecodeRecord(shard, key->sequence, View(value), &record));
    RETURN_IF_ERROR(visit(record));
  }
  return store_->FromRocks(it.status(), "read by_lead");
}

std::optional<Sequence> EventLogImpl::LookupEventId(ShardId shard,
                                                    absl::string_view event_id) const {
  std::string key;
  internal::EncodeDedupKey(shard, event_id, &key);
  rocksdb::PinnableSlice value;
  if (!store_->db()->Get(rocksdb::ReadOptions(), store_->families().dedup, key, &value).ok()) {
    return std::nullopt;
  }
  std::optional<internal::DedupEntry> entry = internal::DecodeDedupValue(View(value));
  if (!entry.has_value()) return std::nullopt;
  const int64_t now_ms = std::max(StateOf(shard).last_log_time_ms, clock_->NowMs());
  if (!internal::WithinDedupWindow(now_ms, entry->log_time_ms, options_.dedup_window_ms)) {
    return std::nullopt;
  }
  return entry->sequence;
}

std::optional<KafkaOffset> EventLogImpl::StoredOffset(ShardId shard,
                                                      absl::string_view topic) const {
  std::string key;
  internal::EncodeOffsetKey(shard, topic, &key);
  rocksdb::PinnableSlice value;
  if (!store_->db()->Get(rocksdb::ReadOptions(), store_->families().meta, key, &value).ok()) {
    return std::nullopt;
  }
  return internal::DecodeOffsetValue(View(value));
}

std::vector<ShardId> EventLogImpl::Shards() const {
  std::vector<ShardId> shards;
  {
    absl::ReaderMutexLock lock(&state_mu_);
    for (const auto& [shard, state] : states_) shards.push_back(shard);
  }
  std::sort(shards.begin(), shards.end());
  return shards;
}

ShardStats EventLogImpl::Stats(ShardId shard) const {
  const ShardState state = StateOf(shard);
  ShardStats stats;
  stats.shard = shard;
  stats.position = state.position;
  stats.events_appended = state.events_appended;
  stats.duplicates_skipped = state.duplicates_skipped;
  stats.dead_letters = state.dead_letters;
  stats.last_log_time_ms = state.last_log_time_ms;

  std::string lower;
  internal::EncodeOffsetPrefix(shard, &lower);
  std::string upper = internal::PrefixSuccessor(lower);
  internal::RangeIterator it(*store_, store_->families().meta, std::move(lower), std::move(upper));
  for (; it.Valid(); it.Next()) {
    std::optional<KafkaOffset> offset = internal::DecodeOffsetValue(View(it.value()));
    if (!offset.has_value()) continue;  // Verify reports it
    stats.offsets.emplace_back(it.key().ToString().substr(it.lower().size()), *offset);
  }
  return stats;
}

absl::Status EventLogImpl::ReadDeadLetters(
    ShardId shard, const std::function<absl::Status(const v1::DeadLetter&)>& visit) const {
  std::string lower;
  internal::EncodeShardPrefix(shard, &lower);
  std::string upper = internal::PrefixSuccessor(lower);
  internal::RangeIterator it(*store_, store_->families().dead_letters, std::move(lower),
                             std::move(upper));
  v1::DeadLetter letter;
  for (; it.Valid(); it.Next()) {
    std::optional<internal::DeadLetterKeyParts> key =
        internal::DecodeDeadLetterKey(View(it.key()));
    const bool decoded =
        key.has_value() &&
        letter.ParseFromArray(it.value().data(), static_cast<int>(it.value().size())) &&
        letter.id() == key->id;
    if (!decoded) {
      return absl::DataLossError(absl::StrCat("shard ", shard.value(), ": dead letter ",
                                              key.has_value() ? key->id : 0,
                                              " is malformed or does not match its key"));
    }
    RETURN_IF_ERROR(visit(letter));
  }
  return store_->FromRocks(it.status(), "read dead_letters");
}

}  // namespace

namespace internal {

Store* StoreOf(EventLog* log) {
  auto* impl = dynamic_cast<EventLogImpl*>(log);
  return impl == nullptr ? nullptr : impl->store();
}

}  // namespace internal

absl::StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const EventLogOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("EventLogOptions.data_dir: empty; name the log's directory");
  }
  if (options.dedup_window_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("EventLogOptions.dedup_window_ms: ", options.dedup_window_ms, " is negative"));
  }
  std::unique_ptr<internal::Store> store;
  ASSIGN_OR_RETURN(store, internal::Store::Open(options.data_dir, options.read_only));
  RETURN_IF_ERROR(internal::CheckFormatVersion(*store));
  ShardStates states;
  ASSIGN_OR_RETURN(states, internal::LoadShardStates(*store));
  // A read-only open skips the tail check so that `leadlog verify` can open
  // a damaged log and report every problem (Verify checks the same thing).
  if (!options.read_only) RETURN_IF_ERROR(internal::CheckTails(*store, states));
  return std::unique_ptr<EventLog>(new EventLogImpl(options, std::move(store), std::move(states)));
}

}  // namespace leadlog
