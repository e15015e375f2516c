#include "engine/internal/recovery.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/status_macros.h"

namespace leadlog::internal {
namespace {

absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

// `count` entries claimed by the shard state against the last stored id.
absl::Status CompareTail(ShardId shard, uint64_t count, std::optional<uint64_t> last,
                         absl::string_view family_name) {
  if (count == 0 && !last.has_value()) return absl::OkStatus();
  if (last.has_value() && *last + 1 == count) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      "shard ", shard.value(), ": meta counts ", count, " entries in ", family_name,
      " but the last key there is ", last.has_value() ? absl::StrCat(*last) : std::string("absent"),
      " (run `leadlog verify` on a copy for details)"));
}

}  // namespace

absl::Status CheckFormatVersion(const Store& store) {
  const std::string key = FormatVersionKey();
  std::string value;
  rocksdb::Status s = store.db()->Get(rocksdb::ReadOptions(), store.families().meta, key, &value);
  if (s.IsNotFound()) {
    // A new store (or one whose first open stopped before this write).
    if (store.read_only()) return absl::OkStatus();
    EncodeFormatVersion(kFormatVersion, &value);
    rocksdb::WriteOptions options;
    options.sync = true;
    return store.FromRocks(store.db()->Put(options, store.families().meta, key, value),
                           "write format version");
  }
  RETURN_IF_ERROR(store.FromRocks(s, "read format version"));
  std::optional<uint32_t> version = DecodeFormatVersion(value);
  if (!version.has_value()) {
    return absl::DataLossError(absl::StrCat("data in ", store.data_dir(),
                                            ": format version record is malformed (", value.size(),
                                            " bytes)"));
  }
  if (*version > kFormatVersion) {
    return absl::DataLossError(absl::StrCat("data in ", store.data_dir(), " has format version ",
                                            *version, ", newer than this binary's format version ",
                                            kFormatVersion, ": use a newer leadlog"));
  }
  if (*version == 0) {
    return absl::DataLossError(
        absl::StrCat("data in ", store.data_dir(), " has unknown format version 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ShardStates> LoadShardStates(const Store& store) {
  ShardStates states;
  std::unique_ptr<rocksdb::Iterator> it(
      store.db()->NewIterator(rocksdb::ReadOptions(), store.families().meta));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<MetaKeyParts> key = DecodeMetaKey(View(it->key()));
    if (!key.has_value()) {
      return absl::DataLossError(
          absl::StrCat("meta: malformed key of ", it->key().size(), " bytes"));
    }
    if (key->shard.value() == kGlobalShard || key->tag != kMetaTagShardState) continue;
    std::optional<ShardState> state = DecodeShardState(View(it->value()));
    if (!state.has_value() || !key->rest.empty()) {
      return absl::DataLossError(absl::StrCat("meta: state of shard ", key->shard.value(),
                                              " is malformed (", it->value().size(), " bytes)"));
    }
    states[key->shard] = *state;
  }
  RETURN_IF_ERROR(store.FromRocks(it->status(), "read meta"));
  return states;
}

absl::StatusOr<std::map<ShardId, uint64_t>> LastIdPerShard(const Store& store,
                                                           rocksdb::ColumnFamilyHandle* family,
                                                           absl::string_view family_name) {
  std::map<ShardId, uint64_t> last;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(rocksdb::ReadOptions(), family));
  std::string next_shard;
  it->SeekToFirst();
  while (it->Valid()) {
    if (it->key().size() < kShardBytes) {
      return absl::DataLossError(
          absl::StrCat(family_name, ": malformed key of ", it->key().size(), " bytes"));
    }
    const ShardId shard(GetU32(it->key().data()));
    // The last key of this shard is the last one before the next shard's
    // 4-byte prefix (valid keys are longer than 4 bytes).
    next_shard = PrefixSuccessor(View(it->key()).substr(0, kShardBytes));
    if (next_shard.empty()) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(next_shard);
    }
    std::optional<LogKeyParts> key = it->Valid() ? DecodeLogKey(View(it->key())) : std::nullopt;
    if (!key.has_value() || key->shard != shard) {
      return absl::DataLossError(
          absl::StrCat(family_name, ": malformed last key of shard ", shard.value()));
    }
    last[shard] = key->sequence.value();
    if (next_shard.empty()) break;
    it->Seek(next_shard);
  }
  RETURN_IF_ERROR(store.FromRocks(it->status(), absl::StrCat("read ", family_name)));
  return last;
}

absl::Status CheckTails(const Store& store, const ShardStates& states) {
  std::map<ShardId, uint64_t> last_sequence;
  std::map<ShardId, uint64_t> last_dead_letter;
  ASSIGN_OR_RETURN(last_sequence, LastIdPerShard(store, store.families().log, kLogFamily));
  ASSIGN_OR_RETURN(last_dead_letter,
                   LastIdPerShard(store, store.families().dead_letters, kDeadLettersFamily));
  auto find = [](const std::map<ShardId, uint64_t>& last, ShardId shard) {
    auto it = last.find(shard);
    return it == last.end() ? std::nullopt : std::optional<uint64_t>(it->second);
  };
  for (const auto& [shard, state] : states) {
    RETURN_IF_ERROR(
        CompareTail(shard, state.position.value(), find(last_sequence, shard), kLogFamily));
    RETURN_IF_ERROR(
        CompareTail(shard, state.dead_letters, find(last_dead_letter, shard), kDeadLettersFamily));
  }
  for (const auto* last : {&last_sequence, &last_dead_letter}) {
    for (const auto& [shard, id] : *last) {
      if (states.contains(shard)) continue;
      return absl::DataLossError(
          absl::StrCat("shard ", shard.value(), " has stored entries but no state in meta"));
    }
  }
  return absl::OkStatus();
}

}  // namespace leadlog::internal
