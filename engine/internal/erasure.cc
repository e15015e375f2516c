#include "engine/internal/erasure.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/redaction.h"
#include "engine/status_macros.h"
#include "rocksdb/db.h"

namespace leadlog::internal {
namespace {

// Visits the committed entries of `family` whose keys begin with `prefix`,
// in key order, until `visit` fails; `what` names the read in a RocksDB error.
absl::Status ForEachUnderPrefix(
    const Store& store, rocksdb::ColumnFamilyHandle* family, const std::string& prefix,
    absl::string_view what,
    const std::function<absl::Status(const rocksdb::Slice& key, const rocksdb::Slice& value)>& visit) {
  RangeIterator it(store, family, prefix, PrefixSuccessor(prefix));
  for (; it.Valid(); it.Next()) RETURN_IF_ERROR(visit(it.key(), it.value()));
  return store.FromRocks(it.status(), what);
}

// Sequences (< before) of the committed by_lead entries of `lead`.
absl::Status CommittedSequences(const Store& store, ShardId shard, const LeadKey& lead,
                                Sequence before, std::set<uint64_t>* out) {
  std::string lower;
  EncodeByLeadPrefix(shard, lead, &lower);
  return ForEachUnderPrefix(
      store, store.families().by_lead, lower, "read by_lead for erasure",
      [&](const rocksdb::Slice& key, const rocksdb::Slice&) -> absl::Status {
        if (key.size() != lower.size() + 8) {
          return absl::DataLossError(absl::StrCat("shard ", shard.value(), ": by_lead entry of ",
                                                  lead.encoded(), " has ", key.size(), " bytes"));
        }
        const uint64_t sequence = GetU64(key.data() + lower.size());
        if (sequence < before.value()) out->insert(sequence);
        return absl::OkStatus();
      });
}

bool SharesKey(const std::vector<LeadKey>& a, const std::vector<LeadKey>& b) {
  for (const LeadKey& x : a) {
    if (std::find(b.begin(), b.end(), x) != b.end()) return true;
  }
  return false;
}

// Redacts one serialized record; true (and `value` replaced) when changed.
absl::StatusOr<bool> RedactRecord(ShardId shard, uint64_t sequence, std::string* value,
                                  std::vector<std::string>* removed) {
  v1::LogRecord record;
  if (!record.ParseFromString(*value) || record.sequence() != sequence) {
    return absl::DataLossError(absl::StrCat("shard ", shard.value(), " sequence ", sequence,
                                            ": record does not decode for erasure"));
  }
  if (!record.has_event() || !RedactEvent(record.mutable_event(), removed)) return false;
  *value = record.SerializeAsString();
  return true;
}

bool ContainsAny(absl::string_view haystack, const std::vector<std::string>& needles) {
  for (const std::string& needle : needles) {
    if (absl::StrContains(haystack, needle)) return true;
  }
  return false;
}

// Clears key and raw (and a reason quoting them) of a letter that mentions a
// needle; true when it did.
bool EraseLetter(const std::vector<std::string>& needles, absl::string_view erasure_id,
                 v1::DeadLetter* letter) {
  if (!letter->erased_by().empty()) return false;
  const bool reason = ContainsAny(letter->reason(), needles);
  if (!ContainsAny(letter->raw(), needles) && !ContainsAny(letter->key(), needles) && !reason) {
    return false;
  }
  letter->clear_raw();
  letter->clear_key();
  // A reason may quote the offending value.
  if (reason) letter->set_reason("(removed by erasure: it quoted the erased data)");
  letter->set_erased_by(std::string(erasure_id));
  return true;
}

absl::StatusOr<uint64_t> EraseDeadLetters(const Store& store, const ErasureRequest& request,
                                          const std::vector<std::string>& needles,
                                          std::vector<StagedDeadLetter>& staged,
                                          rocksdb::WriteBatch* batch) {
  uint64_t erased = 0;
  std::string shard_prefix;
  EncodeShardPrefix(request.shard, &shard_prefix);
  v1::DeadLetter letter;
  RETURN_IF_ERROR(ForEachUnderPrefix(
      store, store.families().dead_letters, shard_prefix, "read dead letters for erasure",
      [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> absl::Status {
        if (!letter.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          return absl::DataLossError(absl::StrCat("shard ", request.shard.value(),
                                                  ": a dead letter does not decode for erasure"));
        }
        if (!EraseLetter(needles, request.event_id, &letter)) return absl::OkStatus();
        ++erased;
        return store.FromRocks(
            batch->Put(store.families().dead_letters, key, letter.SerializeAsString()),
            "build erasure batch");
      }));
  for (StagedDeadLetter& s : staged) {
    if (s.shard != request.shard || !EraseLetter(needles, request.event_id, &s.letter)) continue;
    RETURN_IF_ERROR(store.FromRocks(
        batch->Put(store.families().dead_letters, s.key, s.letter.SerializeAsString()),
        "build erasure batch"));
    ++erased;
  }
  return erased;
}

}  // namespace

absl::StatusOr<ErasureCounts> AddErasureRewrite(const Store& store, const ErasureRequest& request,
                                                std::vector<StagedRecord>& staged_records,
                                                std::vector<StagedDeadLetter>& staged_letters,
                                                rocksdb::WriteBatch* batch) {
  std::set<uint64_t> sequences;
  for (const LeadKey& lead : request.lead_keys) {
    RETURN_IF_ERROR(CommittedSequences(store, request.shard, lead, request.sequence, &sequences));
  }
  absl::flat_hash_map<uint64_t, StagedRecord*> staged;
  for (StagedRecord& r : staged_records) {
    if (r.shard != request.shard || r.sequence >= request.sequence) continue;
    if (!SharesKey(r.lead_keys, request.lead_keys)) continue;
    staged[r.sequence.value()] = &r;
    sequences.insert(r.sequence.value());
  }

  ErasureCounts counts;
  std::vector<std::string> removed;
  std::string key;
  std::string value;
  for (uint64_t sequence : sequences) {
    auto s = staged.find(sequence);
    EncodeLogKey(request.shard, Sequence(sequence), &key);
    if (s != staged.end()) {
      value = s->second->value;
    } else {
      RETURN_IF_ERROR(store.FromRocks(
          store.db()->Get(rocksdb::ReadOptions(), store.families().log, key, &value),
          absl::StrCat("read sequence ", sequence, " for erasure")));
    }
    ASSIGN_OR_RETURN(bool changed, RedactRecord(request.shard, sequence, &value, &removed));
    if (!changed) continue;
    if (s != staged.end()) s->second->value = value;
    RETURN_IF_ERROR(store.FromRocks(batch->Put(store.families().log, key, value),
                                    "build erasure batch"));
    ++counts.records_rewritten;
  }

  std::vector<std::string> needles;
  for (const LeadKey& lead : request.lead_keys) {
    absl::string_view id = lead.encoded();
    id.remove_prefix(std::min<size_t>(2, id.size()));  // "u:" / "a:"
    if (id.size() >= kErasureNeedleBytesMin) needles.emplace_back(id);
  }
  for (std::string& value : removed) {
    if (value.size() >= kErasureNeedleBytesMin) needles.push_back(std::move(value));
  }
  std::sort(needles.begin(), needles.end());
  needles.erase(std::unique(needles.begin(), needles.end()), needles.end());
  ASSIGN_OR_RETURN(counts.dead_letters_erased,
                   EraseDeadLetters(store, request, needles, staged_letters, batch));
  return counts;
}

}  // namespace leadlog::internal
