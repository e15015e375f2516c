#include "engine/internal/batch_writer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog::internal {

bool WithinDedupWindow(int64_t now_ms, int64_t then_ms, int64_t window_ms) {
  int64_t age_ms = 0;
  if (__builtin_sub_overflow(now_ms, then_ms, &age_ms)) return then_ms > now_ms;
  return age_ms < window_ms;
}

void CutDeadLetterRaw(v1::DeadLetter* letter) {
  if (letter->raw_size() < letter->raw().size()) letter->set_raw_size(letter->raw().size());
  if (letter->raw().size() > kDeadLetterRawBytesMax) {
    letter->mutable_raw()->resize(kDeadLetterRawBytesMax);
  }
}

BatchWriter::BatchWriter(const Store& store, int64_t now_ms, int64_t dedup_window_ms,
                         ShardStates states)
    : store_(store),
      now_ms_(now_ms),
      dedup_window_ms_(dedup_window_ms),
      states_(std::move(states)) {}

ShardState& BatchWriter::StateOf(ShardId shard) {
  auto it = states_.find(shard);
  LEADLOG_CHECK(it != states_.end()) << "shard " << shard << " was not loaded for this batch";
  return it->second;
}

int64_t BatchWriter::LogTimeOf(const ShardState& state) const {
  return std::max(state.last_log_time_ms, now_ms_);
}

absl::Status BatchWriter::Put(rocksdb::ColumnFamilyHandle* family, const std::string& key,
                              absl::string_view value) {
  rocksdb::Status s = batch_.Put(family, key, rocksdb::Slice(value.data(), value.size()));
  return store_.FromRocks(s, "build write batch");
}

absl::Status BatchWriter::AddEvents(std::vector<PendingEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  // All dedup keys live back to back in one buffer: no allocation per event.
  size_t total_bytes = 0;
  for (const PendingEvent& event : events) total_bytes += kShardBytes + event.event_id.size();
  dedup_keys_.clear();
  dedup_keys_.reserve(total_bytes);
  std::vector<size_t> key_ends;
  key_ends.reserve(events.size());
  for (const PendingEvent& event : events) {
    PutU32(event.shard.value(), &dedup_keys_);
    dedup_keys_.append(event.event_id);
    key_ends.push_back(dedup_keys_.size());
  }
  std::vector<std::optional<DedupEntry>> stored;
  ASSIGN_OR_RETURN(stored, LookupStored(events, key_ends));

  absl::flat_hash_set<absl::string_view> in_batch;
  in_batch.reserve(events.size());
  size_t begin = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    absl::string_view dedup_key(dedup_keys_.data() + begin, key_ends[i] - begin);
    begin = key_ends[i];
    ShardState& state = StateOf(events[i].shard);
    bool duplicate =
        in_batch.contains(dedup_key) ||
        (stored[i].has_value() &&
         WithinDedupWindow(LogTimeOf(state), stored[i]->log_time_ms, dedup_window_ms_));
    if (duplicate) {
      ++state.duplicates_skipped;
      ++result_.duplicates;
      continue;
    }
    in_batch.insert(dedup_key);
    RETURN_IF_ERROR(PutEvent(events[i], dedup_key));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::optional<DedupEntry>>> BatchWriter::LookupStored(
    const std::vector<PendingEvent>& events, const std::vector<size_t>& key_ends) {
  const size_t n = events.size();
  std::vector<rocksdb::Slice> keys;
  keys.reserve(n);
  size_t begin = 0;
  for (size_t end : key_ends) {
    keys.emplace_back(dedup_keys_.data() + begin, end - begin);
    begin = end;
  }
  std::vector<rocksdb::PinnableSlice> values(n);
  std::vector<rocksdb::Status> statuses(n);
  store_.db()->MultiGet(rocksdb::ReadOptions(), store_.families().dedup, n, keys.data(),
                        values.data(), statuses.data());
  std::vector<std::optional<DedupEntry>> stored(n);
  for (size_t i = 0; i < n; ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return store_.FromRocks(statuses[i], "read dedup entries");
    stored[i] = DecodeDedupValue(absl::string_view(values[i].data(), values[i].size()));
    if (!stored[i].has_value()) {
      return absl::DataLossError(absl::StrCat("shard ", events[i].shard.value(),
                                              ": dedup entry of event id '", events[i].event_id,
                                              "' is malformed (", values[i].size(), " bytes)"));
    }
  }
  return stored;
}

absl::Status BatchWriter::PutEvent(PendingEvent& event, absl::string_view dedup_key) {
  ShardState& state = StateOf(event.shard);
  const int64_t log_time_ms = LogTimeOf(state);
  const Sequence sequence = state.position;
  const Families& families = store_.families();

  EncodeLogKey(event.shard, sequence, &key_);
  EncodeEventRecord(sequence, log_time_ms, event.source, event.event_bytes, &header_, &value_);
  RETURN_IF_ERROR(Put(families.log, key_, value_));
  for (const LeadKey& lead : event.lead_keys) {
    EncodeByLeadKey(event.shard, lead, sequence, &key_);
    RETURN_IF_ERROR(Put(families.by_lead, key_, absl::string_view()));
  }
  key_.assign(dedup_key.data(), dedup_key.size());
  EncodeDedupValue(DedupEntry{sequence, log_time_ms}, &value_);
  RETURN_IF_ERROR(Put(families.dedup, key_, value_));

  state.position = sequence.Next();
  state.last_log_time_ms = log_time_ms;
  ++state.events_appended;
  ++result_.appended;
  return absl::OkStatus();
}

absl::Status BatchWriter::AddDeadLetters(std::vector<PendingDeadLetter>& letters) {
  for (PendingDeadLetter& pending : letters) {
    ShardState& state = StateOf(pending.shard);
    v1::DeadLetter& letter = pending.letter;
    letter.set_id(state.dead_letters);
    letter.set_log_time_ms(LogTimeOf(state));
    CutDeadLetterRaw(&letter);
    EncodeDeadLetterKey(pending.shard, state.dead_letters, &key_);
    value_.clear();
    letter.AppendToString(&value_);
    RETURN_IF_ERROR(Put(store_.families().dead_letters, key_, value_));
    ++state.dead_letters;
    ++result_.dead_letters;
  }
  return absl::OkStatus();
}

absl::Status BatchWriter::AddOffsets(const std::vector<OffsetUpdate>& offsets) {
  for (const OffsetUpdate& update : offsets) {
    StateOf(update.shard);  // the shard's state is written with its offsets
    EncodeOffsetKey(update.shard, update.topic, &key_);
    EncodeOffsetValue(update.next_offset, &value_);
    RETURN_IF_ERROR(Put(store_.families().meta, key_, value_));
  }
  return absl::OkStatus();
}

absl::StatusOr<Sequence> BatchWriter::AddClockTick(ShardId shard) {
  ShardState& state = StateOf(shard);
  const int64_t log_time_ms = LogTimeOf(state);
  const Sequence sequence = state.position;
  EncodeLogKey(shard, sequence, &key_);
  EncodeClockTickRecord(sequence, log_time_ms, &value_);
  RETURN_IF_ERROR(Put(store_.families().log, key_, value_));
  state.position = sequence.Next();
  state.last_log_time_ms = log_time_ms;
  return sequence;
}

absl::Status BatchWriter::Commit(bool sync) {
  for (const auto& [shard, state] : states_) {
    EncodeShardStateKey(shard, &key_);
    EncodeShardState(state, &value_);
    RETURN_IF_ERROR(Put(store_.families().meta, key_, value_));
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  return store_.FromRocks(store_.db()->Write(options, &batch_), "write batch");
}

}  // namespace leadlog::internal
