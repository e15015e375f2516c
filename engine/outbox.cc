#include "engine/outbox.h"

#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {

namespace {

bool IsTypeChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

absl::Status CheckAction(const v1::Action& action) {
  const std::string& type = action.type();
  if (type.empty() || type.size() > kActionTypeBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("action.type: ", type.size(),
                                                   " bytes, expected 1..", kActionTypeBytesMax));
  }
  for (char c : type) {
    if (!IsTypeChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("action.type: \"", absl::CEscape(type), "\" is not [a-z0-9_]"));
    }
  }
  if (action.lead_key().size() > kIdBytesMax + 2) {
    return absl::InvalidArgumentError(absl::StrCat("action.lead_key: ", action.lead_key().size(),
                                                   " bytes exceeds the limit of ", kIdBytesMax + 2));
  }
  return absl::OkStatus();
}

}  // namespace

std::string OutboxSequencePrefix(Sequence sequence) {
  std::string key(kOutboxPrefix.data(), kOutboxPrefix.size());
  internal::PutU64(sequence.value(), &key);
  return key;
}

std::string OutboxKey(Sequence sequence, uint32_t index) {
  std::string key = OutboxSequencePrefix(sequence);
  internal::PutU32(index, &key);
  return key;
}

bool ParseOutboxKey(absl::string_view key, Sequence* sequence, uint32_t* index) {
  if (key.size() != kOutboxKeyBytes || !absl::StartsWith(key, kOutboxPrefix)) return false;
  *sequence = Sequence(internal::GetU64(key.data() + kOutboxPrefix.size()));
  *index = internal::GetU32(key.data() + kOutboxPrefix.size() + 8);
  return true;
}

std::string ActionId(ShardId shard, Sequence sequence, absl::string_view type, uint32_t index) {
  return absl::StrCat(shard.value(), "-", sequence.value(), "-", type, "-", index);
}

namespace {

// The next index of `sequence`: one past the last action written for it (by
// this chunk or a committed one), so call order decides.
absl::StatusOr<uint32_t> ScanNextIndex(ProjectionTxn& txn, ShardId shard, Sequence sequence) {
  ASSIGN_OR_RETURN(std::vector<ProjectionEntry> written,
                   txn.Scan(OutboxSequencePrefix(sequence), "", kOutboxActionsPerRecordMax));
  if (written.empty()) return 0;
  Sequence last_sequence;
  uint32_t last_index = 0;
  if (!ParseOutboxKey(written.back().key, &last_sequence, &last_index)) {
    return absl::DataLossError(absl::StrCat("outbox of shard ", shard.value(), ": malformed key ",
                                            absl::BytesToHexString(written.back().key)));
  }
  return last_index + 1;
}

}  // namespace

absl::Status WriteAction(ProjectionTxn& txn, ShardId shard, v1::Action action,
                         OutboxIndexes* indexes) {
  RETURN_IF_ERROR(CheckAction(action));
  const Sequence sequence(action.sequence());
  const std::pair<uint32_t, uint64_t> record{shard.value(), sequence.value()};
  std::optional<uint32_t> hinted;
  if (indexes != nullptr) {
    if (auto it = indexes->next_.find(record); it != indexes->next_.end()) hinted = it->second;
  }
  uint32_t index = 0;
  if (hinted.has_value()) {
    index = *hinted;
  } else {
    ASSIGN_OR_RETURN(index, ScanNextIndex(txn, shard, sequence));
  }
  if (index >= kOutboxActionsPerRecordMax) {
    return absl::InvalidArgumentError(absl::StrCat("action.index: record ", sequence.value(),
                                                   " of shard ", shard.value(), " already has ",
                                                   kOutboxActionsPerRecordMax, " actions (the limit)"));
  }
  action.set_shard(shard.value());
  action.set_index(index);
  action.set_action_id(ActionId(shard, sequence, action.type(), index));
  std::string value;
  if (!action.SerializeToString(&value)) {
    return absl::InternalError(absl::StrCat("action ", action.action_id(), ": serialize failed"));
  }
  if (value.size() > kProjectionValueBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("action: ", action.action_id(), " is ",
                                                   value.size(), " bytes, over the limit of ",
                                                   kProjectionValueBytesMax));
  }
  txn.Put(OutboxKey(sequence, index), std::move(value));
  if (indexes != nullptr) indexes->next_[record] = index + 1;
  return absl::OkStatus();
}

absl::Status DecodeOutboxEntry(ShardId shard, absl::string_view key, absl::string_view value,
                               v1::Action* action) {
  Sequence sequence;
  uint32_t index = 0;
  const auto where = [&] {
    return absl::StrCat("outbox of shard ", shard.value(), " key ", absl::BytesToHexString(key), ": ");
  };
  if (!ParseOutboxKey(key, &sequence, &index)) {
    return absl::DataLossError(absl::StrCat(where(), "malformed key"));
  }
  if (!action->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return absl::DataLossError(absl::StrCat(where(), "value of ", value.size(),
                                            " bytes is not a leadlog.v1.Action"));
  }
  if (action->shard() != shard.value() || action->sequence() != sequence.value() ||
      action->index() != index ||
      action->action_id() != ActionId(shard, sequence, action->type(), index)) {
    return absl::DataLossError(absl::StrCat(where(), "action \"", absl::CEscape(action->action_id()),
                                            "\" (shard ", action->shard(), ", sequence ",
                                            action->sequence(), ", index ", action->index(),
                                            ") does not match its key"));
  }
  return absl::OkStatus();
}

}  // namespace leadlog
