#include "engine/internal/verify.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/event_log.h"
#include "engine/internal/batch_writer.h"
#include "engine/internal/format.h"
#include "engine/internal/projection_format.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "rocksdb/snapshot.h"

namespace leadlog::internal {
namespace {

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

std::string Where(ShardId shard, uint64_t sequence) {
  return absl::StrCat("shard ", shard.value(), " sequence ", sequence, ": ");
}

// What the log pass counted for one shard.
struct LogTally {
  ShardId shard;
  uint64_t records = 0;
  uint64_t events = 0;
  uint64_t next = 0;  // one past the last sequence seen
  uint64_t undecodable = 0;
  int64_t last_log_time_ms = 0;
};

class Verifier {
 public:
  Verifier(const Store& store, int problems_max)
      : store_(store),
        snapshot_(store.db()),
        problems_max_(static_cast<size_t>(std::max(problems_max, 1))) {
    read_.snapshot = snapshot_.snapshot();
  }

  absl::Status Run() {
    RETURN_IF_ERROR(CheckMeta());
    if (!Full()) RETURN_IF_ERROR(CheckLog());
    if (!Full()) RETURN_IF_ERROR(CheckByLead());
    if (!Full()) RETURN_IF_ERROR(CheckDedup());
    if (!Full()) RETURN_IF_ERROR(CheckDeadLetters());
    if (!Full()) RETURN_IF_ERROR(CheckProjections());
    if (problems_.empty()) return absl::OkStatus();
    return absl::DataLossError(
        absl::StrCat("verify found ", problems_.size(),
                     Full() ? " problems (stopped at problems_max)" : " problems", ": ",
                     absl::StrJoin(problems_, "; ")));
  }

 private:
  bool Full() const { return problems_.size() >= problems_max_; }
  void Problem(std::string what) {
    if (!Full()) problems_.push_back(std::move(what));
  }
  std::unique_ptr<rocksdb::Iterator> Scan(rocksdb::ColumnFamilyHandle* family) {
    std::unique_ptr<rocksdb::Iterator> it(store_.db()->NewIterator(read_, family));
    it->SeekToFirst();
    return it;
  }

  enum class Lookup { kFound, kMissing, kUndecodable };
  // Reads the record at `sequence` into *record. An undecodable record is
  // reported by the log pass; cross-checks skip it rather than repeat that.
  absl::StatusOr<Lookup> ReadRecord(ShardId shard, Sequence sequence, v1::LogRecord* record);
  absl::Status CheckMeta();
  void CheckMetaEntry(const MetaKeyParts& key, absl::string_view value, bool* version_seen,
                      absl::flat_hash_set<ShardId>* offset_shards);
  absl::Status CheckLog();
  void FinishLogShard(const LogTally& tally);
  absl::Status CheckEventRecord(ShardId shard, const v1::LogRecord& record);
  absl::Status CheckByLead();
  absl::Status CheckDedup();
  absl::Status CheckDeadLetters();
  void FinishDeadLetterShard(ShardId shard, uint64_t count);
  absl::Status CheckProjections();
  absl::Status CheckProjectionFamily(const std::string& name);

  const Store& store_;
  rocksdb::ManagedSnapshot snapshot_;
  rocksdb::ReadOptions read_;
  const size_t problems_max_;
  std::vector<std::string> problems_;
  ShardStates states_;                       // from meta
  absl::flat_hash_set<ShardId> log_shards_;  // shards with log records
  absl::flat_hash_set<ShardId> dead_letter_shards_;
  // Active projection versions from meta: name -> version.
  std::vector<std::pair<std::string, uint32_t>> active_projections_;
  std::string key_;
  rocksdb::PinnableSlice value_;
};

absl::StatusOr<Verifier::Lookup> Verifier::ReadRecord(ShardId shard, Sequence sequence,
                                                      v1::LogRecord* record) {
  EncodeLogKey(shard, sequence, &key_);
  value_.Reset();
  rocksdb::Status s = store_.db()->Get(read_, store_.families().log, key_, &value_);
  if (s.IsNotFound()) return Lookup::kMissing;
  RETURN_IF_ERROR(store_.FromRocks(s, "read log"));
  return DecodeRecord(shard, sequence, View(value_), record).ok() ? Lookup::kFound
                                                                  : Lookup::kUndecodable;
}

absl::Status Verifier::CheckMeta() {
  bool version_seen = false;
  absl::flat_hash_set<ShardId> offset_shards;
  std::unique_ptr<rocksdb::Iterator> it = Scan(store_.families().meta);
  for (; it->Valid() && !Full(); it->Next()) {
    std::optional<MetaKeyParts> key = DecodeMetaKey(View(it->key()));
    if (!key.has_value()) {
      Problem(absl::StrCat("meta: malformed key of ", it->key().size(), " bytes"));
      continue;
    }
    CheckMetaEntry(*key, View(it->value()), &version_seen, &offset_shards);
  }
  RETURN_IF_ERROR(store_.FromRocks(it->status(), "read meta"));
  if (!version_seen) Problem("meta: no format version record");
  for (ShardId shard : offset_shards) {
    if (!states_.contains(shard)) {
      Problem(absl::StrCat("shard ", shard.value(), ": stored offsets but no state in meta"));
    }
  }
  return absl::OkStatus();
}

void Verifier::CheckMetaEntry(const MetaKeyParts& key, absl::string_view value, bool* version_seen,
                              absl::flat_hash_set<ShardId>* offset_shards) {
  const std::string where =
      absl::StrCat("meta shard ", key.shard.value(), " tag '", std::string(1, key.tag), "': ");
  if (key.shard.value() == kGlobalShard && key.tag == kMetaTagActiveProjection) {
    if (!CheckProjectionName(key.rest, "name").ok() ||
        !DecodeProjectionVersion(value).has_value()) {
      Problem(absl::StrCat(where, "malformed active projection version of '", key.rest, "' (",
                           value.size(), " bytes)"));
    } else {
      active_projections_.emplace_back(std::string(key.rest), *DecodeProjectionVersion(value));
    }
  } else if (key.shard.value() == kGlobalShard) {
    std::optional<uint32_t> version = DecodeFormatVersion(value);
    if (key.tag != kMetaTagFormatVersion || !key.rest.empty()) {
      Problem(absl::StrCat(where, "unknown global key"));
    } else if (!version.has_value() || *version != kFormatVersion) {
      Problem(absl::StrCat(where, "format version is not ", kFormatVersion));
    }
    *version_seen = true;
  } else if (key.tag == kMetaTagShardState) {
    std::optional<ShardState> state = DecodeShardState(value);
    if (!state.has_value() || !key.rest.empty()) {
      Problem(absl::StrCat(where, "malformed shard state (", value.size(), " bytes)"));
    } else {
      states_[key.shard] = *state;
    }
  } else if (key.tag == kMetaTagOffset) {
    std::optional<KafkaOffset> offset = DecodeOffsetValue(value);
    if (key.rest.empty() || key.rest.size() > kTopicBytesMax) {
      Problem(absl::StrCat(where, "offset topic of ", key.rest.size(), " bytes"));
    } else if (!offset.has_value() || offset->value() < 0) {
      Problem(absl::StrCat(where, "offset of topic '", key.rest, "' is malformed or negative"));
    }
    offset_shards->insert(key.shard);
  } else if (key.tag == kMetaTagCursor) {
    // Cursors (engine/cursors.h): opaque values, checked for their bounds.
    bool name_ok = !key.rest.empty() && key.rest.size() <= kCursorNameBytesMax;
    for (char c : key.rest) name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
    if (!name_ok || value.size() > kCursorValueBytesMax) {
      Problem(absl::StrCat(where, "malformed cursor (name of ", key.rest.size(), " bytes, value of ",
                           value.size(), " bytes)"));
    }
  } else {
    Problem(absl::StrCat(where, "unknown tag"));
  }
}

absl::Status Verifier::CheckLog() {
  std::optional<LogTally> tally;
  v1::LogRecord record;
  std::unique_ptr<rocksdb::Iterator> it = Scan(store_.families().log);
  for (; it->Valid() && !Full(); it->Next()) {
    std::optional<LogKeyParts> key = DecodeLogKey(View(it->key()));
    if (!key.has_value()) {
      Problem(absl::StrCat("log: malformed key of ", it->key().size(), " bytes"));
      continue;
    }
    const uint64_t sequence = key->sequence.value();
    if (!tally.has_value() || tally->shard != key->shard) {
      if (tally.has_value()) FinishLogShard(*tally);
      tally = LogTally{key->shard};
      log_shards_.insert(key->shard);
    }
    if (sequence != tally->next) {
      Problem(
          absl::StrCat(Where(key->shard, tally->next), "missing (next record is ", sequence, ")"));
    }
    tally->next = sequence + 1;
    ++tally->records;
    absl::Status decoded = DecodeRecord(key->shard, key->sequence, View(it->value()), &record);
    if (!decoded.ok()) {
      ++tally->undecodable;
      Problem(std::string(decoded.message()));
      continue;
    }
    if (record.log_time_ms() < tally->last_log_time_ms) {
      Problem(absl::StrCat(Where(key->shard, sequence), "log time ", record.log_time_ms(),
                           " is before the previous record's ", tally->last_log_time_ms));
    }
    tally->last_log_time_ms = record.log_time_ms();
    if (record.has_event()) {
      ++tally->events;
      RETURN_IF_ERROR(CheckEventRecord(key->shard, record));
    } else if (!record.has_clock_tick()) {
      Problem(absl::StrCat(Where(key->shard, sequence), "record has no body"));
    }
  }
  RETURN_IF_ERROR(store_.FromRocks(it->status(), "read log"));
  if (Full()) return absl::OkStatus();
  if (tally.has_value()) FinishLogShard(*tally);
  for (const auto& [shard, state] : states_) {
    if (state.position.value() > 0 && !log_shards_.contains(shard)) {
      Problem(absl::StrCat("shard ", shard.value(), ": meta position ", state.position.value(),
                           " but the log holds no records"));
    }
  }
  return absl::OkStatus();
}

void Verifier::FinishLogShard(const LogTally& tally) {
  const std::string where = absl::StrCat("shard ", tally.shard.value(), ": ");
  auto it = states_.find(tally.shard);
  if (it == states_.end()) {
    Problem(absl::StrCat(where, "log records but no state in meta"));
    return;
  }
  const ShardState& state = it->second;
  if (state.position.value() != tally.records || state.position.value() != tally.next) {
    Problem(absl::StrCat(where, "meta position ", state.position.value(), " but the log holds ",
                         tally.records, " records ending at sequence ", tally.next - 1));
  }
  // Counts of undecodable records are unknown; their problem is reported.
  if (tally.undecodable > 0) return;
  if (state.events_appended != tally.events) {
    Problem(absl::StrCat(where, "meta counts ", state.events_appended,
                         " events appended, log holds ", tally.events));
  }
  if (state.last_log_time_ms != tally.last_log_time_ms) {
    Problem(absl::StrCat(where, "meta last log time ", state.last_log_time_ms,
                         ", last record's is ", tally.last_log_time_ms));
  }
}

absl::Status Verifier::CheckEventRecord(ShardId shard, const v1::LogRecord& record) {
  const v1::Event& event = record.event();
  const std::string where = Where(shard, record.sequence());
  const Sequence sequence(record.sequence());
  if (event.event_id().empty()) {
    Problem(absl::StrCat(where, "event has no event_id"));
  } else {
    EncodeDedupKey(shard, event.event_id(), &key_);
    value_.Reset();
    rocksdb::Status s = store_.db()->Get(read_, store_.families().dedup, key_, &value_);
    std::optional<DedupEntry> entry;
    if (s.ok()) entry = DecodeDedupValue(View(value_));
    if (s.IsNotFound()) {
      Problem(absl::StrCat(where, "no dedup entry for event id '", event.event_id(), "'"));
    } else if (!s.ok()) {
      return store_.FromRocks(s, "read dedup");
    } else if (entry.has_value() && entry->sequence < sequence) {
      // A later entry is a re-append after the window; an earlier one means
      // this record is a duplicate that should not have been appended.
      Problem(absl::StrCat(where, "dedup entry for event id '", event.event_id(),
                           "' points at earlier sequence ", entry->sequence.value()));
    }
  }
  for (const LeadKey& lead : IndexKeysOf(event)) {
    EncodeByLeadKey(shard, lead, sequence, &key_);
    value_.Reset();
    rocksdb::Status s = store_.db()->Get(read_, store_.families().by_lead, key_, &value_);
    if (s.IsNotFound()) {
      Problem(absl::StrCat(where, "not indexed under lead '", lead.encoded(), "'"));
    } else if (!s.ok()) {
      return store_.FromRocks(s, "read by_lead");
    }
  }
  return absl::OkStatus();
}

absl::Status Verifier::CheckByLead() {
  v1::LogRecord record;
  std::unique_ptr<rocksdb::Iterator> it = Scan(store_.families().by_lead);
  for (; it->Valid() && !Full(); it->Next()) {
    std::optional<ByLeadKeyParts> key = DecodeByLeadKey(View(it->key()));
    if (!key.has_value()) {
      Problem(absl::StrCat("by_lead: malformed key of ", it->key().size(), " bytes"));
      continue;
    }
    const std::string where = absl::StrCat(Where(key->shard, key->sequence.value()),
                                           "by_lead entry of lead '", key->lead, "' ");
    Lookup lookup = Lookup::kMissing;
    ASSIGN_OR_RETURN(lookup, ReadRecord(key->shard, key->sequence, &record));
    if (lookup == Lookup::kUndecodable) continue;
    if (lookup == Lookup::kMissing) {
      Problem(absl::StrCat(where, "points at a missing record"));
      continue;
    }
    if (!record.has_event()) {
      Problem(absl::StrCat(where, "points at a record that is not an event"));
      continue;
    }
    std::vector<LeadKey> leads = IndexKeysOf(record.event());
    auto carries = [&](const LeadKey& lead) { return lead.encoded() == key->lead; };
    if (std::none_of(leads.begin(), leads.end(), carries)) {
      Problem(absl::StrCat(where, "points at an event that does not carry that lead"));
    }
  }
  return store_.FromRocks(it->status(), "read by_lead");
}

absl::Status Verifier::CheckDedup() {
  v1::LogRecord record;
  std::unique_ptr<rocksdb::Iterator> it = Scan(store_.families().dedup);
  for (; it->Valid() && !Full(); it->Next()) {
    std::optional<DedupKeyParts> key = DecodeDedupKey(View(it->key()));
    if (!key.has_value()) {
      Problem(absl::StrCat("dedup: malformed key of ", it->key().size(), " bytes"));
      continue;
    }
    const std::string where = absl::StrCat("shard ", key->shard.value(),
                                           ": dedup entry of event id '", key->event_id, "' ");
    std::optional<DedupEntry> entry = DecodeDedupValue(View(it->value()));
    if (!entry.has_value()) {
      Problem(absl::StrCat(where, "is malformed (", it->value().size(), " bytes)"));
      continue;
    }
    Lookup lookup = Lookup::kMissing;
    const std::string event_id(key->event_id.data(), key->event_id.size());
    ASSIGN_OR_RETURN(lookup, ReadRecord(key->shard, entry->sequence, &record));
    if (lookup == Lookup::kUndecodable) continue;
    if (lookup == Lookup::kMissing) {
      Problem(absl::StrCat(where, "points at missing sequence ", entry->sequence.value()));
    } else if (!record.has_event() || record.event().event_id() != event_id) {
      Problem(absl::StrCat(where, "points at sequence ", entry->sequence.value(),
                           ", whose event id is '", record.event().event_id(), "'"));
    } else if (record.log_time_ms() != entry->log_time_ms) {
      Problem(absl::StrCat(where, "says log time ", entry->log_time_ms, ", its record has ",
                           record.log_time_ms()));
    }
  }
  return store_.FromRocks(it->status(), "read dedup");
}

absl::Status Verifier::CheckDeadLetters() {
  std::optional<ShardId> shard;
  uint64_t next = 0;
  v1::DeadLetter letter;
  std::unique_ptr<rocksdb::Iterator> it = Scan(store_.families().dead_letters);
  for (; it->Valid() && !Full(); it->Next()) {
    std::optional<DeadLetterKeyParts> key = DecodeDeadLetterKey(View(it->key()));
    if (!key.has_value()) {
      Problem(absl::StrCat("dead_letters: malformed key of ", it->key().size(), " bytes"));
      continue;
    }
    if (shard != key->shard) {
      if (shard.has_value()) FinishDeadLetterShard(*shard, next);
      shard = key->shard;
      next = 0;
      dead_letter_shards_.insert(key->shard);
    }
    const std::string where =
        absl::StrCat("shard ", key->shard.value(), " dead letter ", key->id, ": ");
    if (key->id != next) Problem(absl::StrCat(where, "dead letter ", next, " is missing"));
    next = key->id + 1;
    if (!letter.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      Problem(absl::StrCat(where, "does not decode"));
    } else if (letter.id() != key->id) {
      Problem(absl::StrCat(where, "record says id ", letter.id()));
    }
  }
  RETURN_IF_ERROR(store_.FromRocks(it->status(), "read dead_letters"));
  if (Full()) return absl::OkStatus();
  if (shard.has_value()) FinishDeadLetterShard(*shard, next);
  for (const auto& [id, state] : states_) {
    if (state.dead_letters > 0 && !dead_letter_shards_.contains(id)) {
      Problem(absl::StrCat("shard ", id.value(), ": meta counts ", state.dead_letters,
                           " dead letters but none are stored"));
    }
  }
  return absl::OkStatus();
}

void Verifier::FinishDeadLetterShard(ShardId shard, uint64_t count) {
  auto it = states_.find(shard);
  if (it == states_.end()) {
    Problem(absl::StrCat("shard ", shard.value(), ": dead letters but no state in meta"));
  } else if (it->second.dead_letters != count) {
    Problem(absl::StrCat("shard ", shard.value(), ": meta counts ", it->second.dead_letters,
                         " dead letters, the last stored id is ", count - 1));
  }
}

absl::Status Verifier::CheckProjections() {
  for (const auto& [name, version] : active_projections_) {
    const std::string family = ProjectionFamilyName(name, version);
    if (store_.ExtraFamily(family) == nullptr) {
      Problem(absl::StrCat("projection ", name, ": active version ", version,
                           " has no column family '", family, "'"));
    }
  }
  for (const std::string& family : store_.ExtraFamilyNames()) {
    if (Full()) break;
    if (family.rfind(kProjectionFamilyPrefix, 0) != 0) continue;  // not ours: left alone
    RETURN_IF_ERROR(CheckProjectionFamily(family));
  }
  return absl::OkStatus();
}

// Keys are well-formed and every checkpoint is within its shard's log.
absl::Status Verifier::CheckProjectionFamily(const std::string& name) {
  rocksdb::ColumnFamilyHandle* family = store_.ExtraFamily(name);
  if (family == nullptr) return absl::OkStatus();  // dropped meanwhile
  std::unique_ptr<rocksdb::Iterator> it = Scan(family);
  for (; it->Valid() && !Full(); it->Next()) {
    absl::string_view key = View(it->key());
    const std::string where = absl::StrCat(name, ": ");
    if (key.size() < kShardBytes + 1) {
      Problem(absl::StrCat(where, "malformed key of ", key.size(), " bytes"));
      continue;
    }
    const ShardId shard(GetU32(key.data()));
    const char tag = key[kShardBytes];
    const size_t fold_key_bytes = key.size() - kShardBytes - 1;
    if (tag == kProjectionTagState) {
      if (fold_key_bytes == 0 || fold_key_bytes > kProjectionKeyBytesMax) {
        Problem(absl::StrCat(where, "shard ", shard.value(), ": state key of ", fold_key_bytes,
                             " bytes"));
      }
      continue;
    }
    std::optional<Sequence> checkpoint = DecodeProjectionCheckpoint(View(it->value()));
    auto state = states_.find(shard);
    const uint64_t position = state == states_.end() ? 0 : state->second.position.value();
    if (tag != kProjectionTagCheckpoint || fold_key_bytes != 0 || !checkpoint.has_value()) {
      Problem(absl::StrCat(where, "shard ", shard.value(), ": malformed key or checkpoint"));
    } else if (checkpoint->value() > position) {
      Problem(absl::StrCat(where, "shard ", shard.value(), ": checkpoint ", checkpoint->value(),
                           " is beyond the log position ", position));
    }
  }
  return store_.FromRocks(it->status(), absl::StrCat("read ", name));
}

}  // namespace

absl::Status VerifyLog(const Store& store, int problems_max) {
  return Verifier(store, problems_max).Run();
}

}  // namespace leadlog::internal
