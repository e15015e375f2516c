#include "engine/cursors.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/event_log_access.h"
#include "engine/internal/format.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "rocksdb/write_batch.h"

namespace leadlog {

namespace {

// meta shard ‖ internal::kMetaTagCursor ‖ name -> cursor value (FORMAT.md).

absl::Status CheckName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= kCursorNameBytesMax;
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("name: \"", absl::CEscape(name),
                                                 "\" is not 1..", kCursorNameBytesMax,
                                                 " bytes of [a-z0-9_]"));
}

absl::Status CheckShard(ShardId shard) {
  if (shard.value() != internal::kGlobalShard) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("shard: ", shard.value(), " is reserved for global metadata"));
}

std::string CursorKey(absl::string_view name, ShardId shard) {
  std::string key;
  internal::EncodeShardPrefix(shard, &key);
  key.push_back(internal::kMetaTagCursor);
  key.append(name.data(), name.size());
  return key;
}

absl::StatusOr<internal::Store*> StoreFor(const EventLog* log) {
  internal::Store* store = internal::StoreOf(const_cast<EventLog*>(log));
  if (store == nullptr) {
    return absl::InvalidArgumentError("cursors: the log is not from EventLog::Open");
  }
  return store;
}

}  // namespace

absl::Status StoreCursors(EventLog* log, absl::string_view name,
                          const std::vector<CursorUpdate>& updates, bool sync) {
  RETURN_IF_ERROR(CheckName(name));
  ASSIGN_OR_RETURN(internal::Store * store, StoreFor(log));
  if (store->read_only()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cursor ", name, ": the log in ", store->data_dir(), " is open read-only"));
  }
  rocksdb::WriteBatch batch;
  for (const CursorUpdate& update : updates) {
    RETURN_IF_ERROR(CheckShard(update.shard));
    if (update.value.size() > kCursorValueBytesMax) {
      return absl::InvalidArgumentError(absl::StrCat("value: cursor ", name, " of shard ",
                                                     update.shard.value(), " is ",
                                                     update.value.size(), " bytes, over ",
                                                     kCursorValueBytesMax));
    }
    rocksdb::Status s = batch.Put(store->families().meta, CursorKey(name, update.shard), update.value);
    RETURN_IF_ERROR(store->FromRocks(s, "batch cursor"));
  }
  if (batch.Count() == 0) return absl::OkStatus();
  rocksdb::WriteOptions options;
  options.sync = sync;
  return store->FromRocks(store->db()->Write(options, &batch),
                          absl::StrCat("store cursor ", name));
}

absl::Status StoreCursor(EventLog* log, absl::string_view name, ShardId shard,
                         absl::string_view value, bool sync) {
  return StoreCursors(log, name, {CursorUpdate{shard, std::string(value)}}, sync);
}

absl::StatusOr<std::optional<std::string>> LoadCursor(const EventLog* log, absl::string_view name,
                                                      ShardId shard) {
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckShard(shard));
  ASSIGN_OR_RETURN(internal::Store * store, StoreFor(log));
  std::string value;
  rocksdb::Status s =
      store->db()->Get(rocksdb::ReadOptions(), store->families().meta, CursorKey(name, shard), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  RETURN_IF_ERROR(store->FromRocks(s, absl::StrCat("load cursor ", name)));
  if (value.size() > kCursorValueBytesMax) {
    return absl::DataLossError(absl::StrCat("cursor ", name, " of shard ", shard.value(), " is ",
                                            value.size(), " bytes, over ", kCursorValueBytesMax));
  }
  return std::optional<std::string>(std::move(value));
}

}  // namespace leadlog
