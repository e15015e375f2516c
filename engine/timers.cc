// TimerIndex on ProjectionTxn. Design note:
// - Deviation from DESIGN.md §4 (a shared `timers` column family): timers
//   live in the state of the projection version that schedules them, so
//   they commit in the same WriteBatch as the state and checkpoint that
//   caused them, are rebuilt by replay with that version (blue/green), and
//   are dropped with its family. A shared family could not be rebuilt per
//   version without double-firing.
// - Two entries per timer (FORMAT.md "Timers in projection state"): the due
//   entry orders timers by (due, id) for PopDue/NextDue through a Scan; the
//   id entry finds a timer's due entry for Cancel, Find and
//   reschedule. Every method writes both or neither, and PopDue/Find check
//   that they agree (DataLoss naming the timer when they do not). PopDue
//   skips its check for ids the caller pairs with its own state
//   (`caller_pairs_prefix`): a tick firing 50 k revenue timers made 50 k
//   point reads of id entries whose due the lead's revenue state, read to
//   fire the timer, holds too (bench/tick_bench: ≈ 7 % of the tick).
// - PopDue deletes the due entries it pops one by one for the first
//   kTimerRangeDeletePopsMin timers, then with one ProjectionTxn range
//   deletion [due prefix, last popped key] that each further pop widens: a
//   tick firing 50 k timers commits one range tombstone instead of 50 k
//   point deletes (one memtable insert per timer less), while a record
//   firing a few timers adds no tombstone (RocksDB re-fragments the
//   memtable's tombstones on reads after each new one).
// - A PopDue loop removes timers from the front of the due range; within one
//   TimerIndex it resumes its Scan after the last removed key instead of
//   skipping the removed (pending-deleted) keys again on every call, and
//   reads kTimerReadAhead due entries per Scan. Writes through the same
//   TimerIndex keep the read-ahead exact; a fold must not change timers
//   through a second TimerIndex on the same txn while a PopDue loop runs
//   (PopDue's paired id check turns a stale read into DataLoss, not a
//   silent double fire).
#include "engine/timers.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/internal/format.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

// persisted: do not change (FORMAT.md "Timers in projection state").
constexpr char kDueTag[] = "d/";
constexpr char kIdTag[] = "i/";
constexpr size_t kDueBytes = 8;
// Due entries one Scan reads ahead for PopDue.
constexpr size_t kTimerReadAhead = 64;

absl::Status CheckId(absl::string_view id) {
  if (!id.empty() && id.size() <= kTimerIdBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "id: ", id.size(), " bytes, expected 1..kTimerIdBytesMax (", kTimerIdBytesMax, ")"));
}

std::string Printable(absl::string_view id) { return absl::CHexEscape(id); }

std::string EncodeDue(int64_t due_ms) {
  std::string out;
  internal::PutU64(static_cast<uint64_t>(due_ms), &out);
  return out;
}

// A stored due time: 8 bytes, at most INT64_MAX.
std::optional<int64_t> DecodeDue(absl::string_view bytes) {
  if (bytes.size() != kDueBytes) return std::nullopt;
  const uint64_t due = internal::GetU64(bytes.data());
  if (due > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(due);
}

}  // namespace

TimerIndex::TimerIndex(ProjectionTxn& txn, std::string prefix)
    : txn_(txn), prefix_(std::move(prefix)), due_prefix_(absl::StrCat(prefix_, kDueTag)) {}

absl::Status TimerIndex::CheckPrefix() const {
  if (prefix_.size() <= kTimerPrefixBytesMax) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("prefix: ", prefix_.size(),
                                                 " bytes, more than kTimerPrefixBytesMax (",
                                                 kTimerPrefixBytesMax, ")"));
}

std::string TimerIndex::DueKey(int64_t due_ms, absl::string_view id) const {
  return absl::StrCat(due_prefix_, EncodeDue(due_ms), id);
}

std::string TimerIndex::IdKey(absl::string_view id) const {
  return absl::StrCat(prefix_, kIdTag, id);
}

absl::StatusOr<std::optional<int64_t>> TimerIndex::DueOf(absl::string_view id) {
  // PopDue deleted it in this txn (a fired timer rescheduled: no lookup).
  if (id == popped_id_) return std::optional<int64_t>();
  std::optional<std::string> stored;
  ASSIGN_OR_RETURN(stored, txn_.Get(IdKey(id)));
  if (!stored.has_value()) return std::optional<int64_t>();
  std::optional<int64_t> due = DecodeDue(*stored);
  if (!due.has_value()) {
    return absl::DataLossError(absl::StrCat("timer \"", Printable(id),
                                            "\": malformed due time in the id entry (",
                                            stored->size(), " bytes)"));
  }
  return due;
}

absl::Status TimerIndex::Schedule(int64_t due_ms, absl::string_view id, std::string payload) {
  RETURN_IF_ERROR(CheckPrefix());
  RETURN_IF_ERROR(CheckId(id));
  if (payload.size() > kTimerPayloadBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("payload: ", payload.size(),
                                                   " bytes, more than kTimerPayloadBytesMax (",
                                                   kTimerPayloadBytesMax, ")"));
  }
  if (due_ms < 0) {
    return absl::InvalidArgumentError(absl::StrCat("due_ms: ", due_ms, ", expected >= 0"));
  }
  std::optional<int64_t> old_due;
  ASSIGN_OR_RETURN(old_due, DueOf(id));
  if (old_due.has_value()) {
    std::string old_key = DueKey(*old_due, id);
    Touch(old_key);
    txn_.Delete(old_key);
  }
  std::string due_key = DueKey(due_ms, id);
  Touch(due_key);
  if (due_key <= popped_through_) popped_through_.clear();  // PopDue must see it
  txn_.Put(due_key, std::move(payload));
  txn_.Put(IdKey(id), EncodeDue(due_ms));
  if (id == popped_id_) popped_id_.clear();
  return absl::OkStatus();
}

absl::StatusOr<bool> TimerIndex::Cancel(absl::string_view id) {
  RETURN_IF_ERROR(CheckPrefix());
  RETURN_IF_ERROR(CheckId(id));
  std::optional<int64_t> due;
  ASSIGN_OR_RETURN(due, DueOf(id));
  if (!due.has_value()) return false;
  std::string due_key = DueKey(*due, id);
  Touch(due_key);
  txn_.Delete(due_key);
  txn_.Delete(IdKey(id));
  return true;
}

absl::StatusOr<std::optional<Timer>> TimerIndex::Find(absl::string_view id) {
  RETURN_IF_ERROR(CheckPrefix());
  RETURN_IF_ERROR(CheckId(id));
  std::optional<int64_t> due;
  ASSIGN_OR_RETURN(due, DueOf(id));
  if (!due.has_value()) return std::optional<Timer>();
  std::optional<std::string> payload;
  ASSIGN_OR_RETURN(payload, txn_.Get(DueKey(*due, id)));
  if (!payload.has_value()) {
    return absl::DataLossError(absl::StrCat("timer \"", Printable(id), "\": id entry says due ",
                                            *due, " but there is no due entry"));
  }
  return std::optional<Timer>(Timer{*due, std::string(id), std::move(*payload)});
}

void TimerIndex::Touch(absl::string_view due_key) {
  if (!ahead_.empty() && due_key <= ahead_.back().key) ahead_.clear();
}

absl::StatusOr<std::optional<Timer>> TimerIndex::First() {
  RETURN_IF_ERROR(CheckPrefix());
  if (ahead_.empty()) {
    std::vector<ProjectionEntry> read;
    ASSIGN_OR_RETURN(read, txn_.Scan(due_prefix_, popped_through_, kTimerReadAhead));
    ahead_.assign(std::make_move_iterator(read.begin()), std::make_move_iterator(read.end()));
  }
  if (ahead_.empty()) return std::optional<Timer>();
  const ProjectionEntry& entry = ahead_.front();
  absl::string_view rest = absl::string_view(entry.key).substr(due_prefix_.size());
  std::optional<int64_t> due = DecodeDue(rest.substr(0, kDueBytes));
  if (!due.has_value() || rest.size() <= kDueBytes || rest.size() > kDueBytes + kTimerIdBytesMax) {
    return absl::DataLossError(
        absl::StrCat("timer due entry \"", Printable(entry.key), "\": malformed key"));
  }
  return std::optional<Timer>(Timer{*due, std::string(rest.substr(kDueBytes)), entry.value});
}

absl::StatusOr<std::optional<Timer>> TimerIndex::PopDue(int64_t now_ms,
                                                        absl::string_view caller_pairs_prefix) {
  std::optional<Timer> timer;
  ASSIGN_OR_RETURN(timer, First());
  if (!timer.has_value() || timer->due_ms > now_ms) return std::optional<Timer>();
  const bool caller_pairs =
      !caller_pairs_prefix.empty() && absl::StartsWith(timer->id, caller_pairs_prefix);
  if (!caller_pairs) {
    // Paired check: the id entry written with this due entry must agree.
    std::optional<int64_t> indexed_due;
    ASSIGN_OR_RETURN(indexed_due, DueOf(timer->id));
    if (indexed_due != timer->due_ms) {
      return absl::DataLossError(absl::StrCat(
          "timer \"", Printable(timer->id), "\": due entry says ", timer->due_ms,
          ", id entry says ",
          indexed_due.has_value() ? absl::StrCat(*indexed_due) : std::string("nothing")));
    }
  }
  popped_through_ = DueKey(timer->due_ms, timer->id);
  ahead_.pop_front();  // First() returned the front
  // Every due key before this one is absent (PopDue pops the first), so
  // deleting [first due key, this one] removes this one only: after
  // kTimerRangeDeletePopsMin pops, one widening range replaces a delete per
  // timer (the txn refuses a range beyond its limit: delete the key then).
  const bool ranged =
      ++pops_ >= kTimerRangeDeletePopsMin &&
      txn_.DeleteRange(due_prefix_, absl::StrCat(popped_through_, absl::string_view("\0", 1)));
  if (!ranged) txn_.Delete(popped_through_);
  txn_.Delete(IdKey(timer->id));
  popped_id_ = timer->id;
  return timer;
}

absl::StatusOr<std::optional<int64_t>> TimerIndex::NextDue() {
  std::optional<Timer> timer;
  ASSIGN_OR_RETURN(timer, First());
  if (!timer.has_value()) return std::optional<int64_t>();
  return timer->due_ms;
}

}  // namespace leadlog
