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

void SortedPuts::Reserve(size_t entries, size_t bytes) {
  entries_.reserve(entries);
  bytes_.reserve(bytes);
}

void SortedPuts::Add(absl::string_view key, absl::string_view value) {
  entries_.push_back(
      Entry{bytes_.size(), static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size())});
  bytes_.append(key.data(), key.size());
  bytes_.append(value.data(), value.size());
}

rocksdb::Status SortedPuts::PutInKeyOrder(rocksdb::ColumnFamilyHandle* family,
                                          rocksdb::WriteBatch* batch) {
  // Ties broken by position in bytes_ (= order of Add): a stable sort
  // without std::stable_sort's scratch allocation.
  std::sort(entries_.begin(), entries_.end(), [this](const Entry& a, const Entry& b) {
    const int order = KeyOf(a).compare(KeyOf(b));
    return order != 0 ? order < 0 : a.begin < b.begin;
  });
  for (const Entry& entry : entries_) {
    const rocksdb::Slice key(bytes_.data() + entry.begin, entry.key_size);
    const rocksdb::Slice value(bytes_.data() + entry.begin + entry.key_size, entry.value_size);
    rocksdb::Status s = batch->Put(family, key, value);
    if (!s.ok()) return s;
  }
  return rocksdb::Status::OK();
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

template <typename T>
std::vector<size_t> BatchWriter::ShardOrder(const std::vector<T>& items) const {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&items](size_t a, size_t b) { return items[a].shard < items[b].shard; });
  return order;
}

absl::Status BatchWriter::AddEvents(std::vector<PendingEvent>& events) {
  if (events.empty()) return absl::OkStatus();
  for (const PendingEvent& event : events) stage_ |= !event.erase_lead_keys.empty();
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

  by_lead_puts_.Reserve(2 * events.size(), 2 * total_bytes);
  dedup_puts_.Reserve(events.size(), total_bytes + kDedupValueBytes * events.size());
  absl::flat_hash_set<absl::string_view> in_batch;
  in_batch.reserve(events.size());
  // Shard by shard (stable: arrival order within a shard decides sequences
  // and which of two equal ids is the duplicate, as before).
  for (size_t i : ShardOrder(events)) {
    const size_t begin = i == 0 ? 0 : key_ends[i - 1];
    absl::string_view dedup_key(dedup_keys_.data() + begin, key_ends[i] - begin);
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
    by_lead_puts_.Add(key_, absl::string_view());
  }
  EncodeDedupValue(DedupEntry{sequence, log_time_ms}, &value_);
  dedup_puts_.Add(dedup_key, value_);
  if (stage_) {
    staged_records_.push_back(StagedRecord{event.shard, sequence, event.lead_keys, key_, value_});
    EncodeLogKey(event.shard, sequence, &staged_records_.back().key);
    staged_records_.back().value.clear();
    EncodeEventRecord(sequence, log_time_ms, event.source, event.event_bytes, &header_,
                      &staged_records_.back().value);
  }
  if (!event.erase_lead_keys.empty()) {
    erasures_.push_back(ErasureRequest{event.shard, sequence, event.event_id,
                                       std::move(event.erase_lead_keys)});
  }

  state.position = sequence.Next();
  state.last_log_time_ms = log_time_ms;
  ++state.events_appended;
  ++result_.appended;
  return absl::OkStatus();
}

absl::Status BatchWriter::AddDeadLetters(std::vector<PendingDeadLetter>& letters) {
  for (size_t i : ShardOrder(letters)) {
    PendingDeadLetter& pending = letters[i];
    ShardState& state = StateOf(pending.shard);
    v1::DeadLetter& letter = pending.letter;
    letter.set_id(state.dead_letters);
    letter.set_log_time_ms(LogTimeOf(state));
    CutDeadLetterRaw(&letter);
    EncodeDeadLetterKey(pending.shard, state.dead_letters, &key_);
    value_.clear();
    letter.AppendToString(&value_);
    RETURN_IF_ERROR(Put(store_.families().dead_letters, key_, value_));
    if (stage_) staged_letters_.push_back(StagedDeadLetter{pending.shard, key_, letter});
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
    meta_puts_.Add(key_, value_);
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
  for (const ErasureRequest& erasure : erasures_) {
    ErasureCounts counts;
    ASSIGN_OR_RETURN(counts, AddErasureRewrite(store_, erasure, staged_records_, staged_letters_,
                                               &batch_));
    ++result_.erasures;
    result_.records_rewritten += counts.records_rewritten;
    result_.dead_letters_erased += counts.dead_letters_erased;
  }
  for (const auto& [shard, state] : states_) {
    EncodeShardStateKey(shard, &key_);
    EncodeShardState(state, &value_);
    meta_puts_.Add(key_, value_);
  }
  const Families& families = store_.families();
  rocksdb::Status s = by_lead_puts_.PutInKeyOrder(families.by_lead, &batch_);
  if (s.ok()) s = dedup_puts_.PutInKeyOrder(families.dedup, &batch_);
  if (s.ok()) s = meta_puts_.PutInKeyOrder(families.meta, &batch_);
  RETURN_IF_ERROR(store_.FromRocks(s, "build write batch"));
  rocksdb::WriteOptions options;
  options.sync = sync;
  return store_.FromRocks(store_.db()->Write(options, &batch_), "write batch");
}

}  // namespace leadlog::internal
