// TimerIndex: a due-time index of timers kept in a projection's state,
// read and written through the ProjectionTxn of the chunk being folded
// (DESIGN.md invariant 6; engine/FORMAT.md "Timers in projection state").
//
// Time is log time: a fold calls PopDue(record.log_time_ms()) on each record
// and fires what it returns, so a timer fires on the first record whose log
// time reaches its due time; timers that fell due while leadlog was down all
// fire, in due order (ties by id), on the first record after the gap (a
// ClockTick at the latest). Replaying the log fires the same timers on the
// same records.
//
// Thread-safety: like its ProjectionTxn, used by one thread inside one
// Apply. Lifetime: borrows `txn`, which must outlive it. While a TimerIndex
// lives, the keys under its prefix must be written only through it (it
// remembers how far PopDue has removed timers, so that a loop of PopDue calls
// does not rescan the timers it already removed).
// Durability: that of the chunk (ProjectionRunner commits the writes with
// the chunk's checkpoint).
//
//   TimerIndex timers(txn);
//   RETURN_IF_ERROR(timers.Schedule(record.log_time_ms() + 3'600'000, "sla:u:42", "escalate"));
//   std::optional<Timer> due;
//   while (true) {
//     ASSIGN_OR_RETURN(due, timers.PopDue(record.log_time_ms()));
//     if (!due.has_value()) break;
//     Fire(*due);
//   }
#ifndef LEADLOG_ENGINE_TIMERS_H_
#define LEADLOG_ENGINE_TIMERS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/projection.h"

namespace leadlog {

struct Timer {
  // Log time (Unix epoch ms) at or after which the timer fires; >= 0.
  int64_t due_ms = 0;
  // 1..kTimerIdBytesMax bytes, any bytes; unique within one index.
  std::string id;
  // 0..kTimerPayloadBytesMax bytes chosen by the fold.
  std::string payload;
};

// Invariants (of the state under the prefix, kept by every method):
//   - "<prefix>d/" ‖ BE64(due) ‖ id exists iff "<prefix>i/" ‖ id -> BE64(due)
//     exists: each id has at most one timer.
//   - due >= 0, so BE64 order is numeric order and the "d/" range is
//     sorted by (due, id).
class TimerIndex {
 public:
  // Stores under `prefix` (default "t/"): "<prefix>d/" ‖ BE64(due_ms) ‖ id
  // -> payload, and "<prefix>i/" ‖ id -> BE64(due_ms), so that a timer can be
  // found or cancelled by id. `prefix` is at most kTimerPrefixBytesMax bytes
  // (checked by every method: InvalidArgument naming "prefix").
  explicit TimerIndex(ProjectionTxn& txn, std::string prefix = "t/");

  // Schedules a timer, replacing an existing timer with this id
  // (reschedule). InvalidArgument naming "id" (empty or more than
  // kTimerIdBytesMax bytes), "payload" (more than kTimerPayloadBytesMax) or
  // "due_ms" (< 0).
  absl::Status Schedule(int64_t due_ms, absl::string_view id, std::string payload);

  // Removes the timer with this id; false when there was none.
  absl::StatusOr<bool> Cancel(absl::string_view id);

  // The timer with this id, nullopt when there is none.
  absl::StatusOr<std::optional<Timer>> Find(absl::string_view id);

  // Removes and returns the earliest timer with due_ms <= now_ms (ties by
  // id, bytewise), or nullopt when none is due.
  //
  // Pairing: PopDue reads the timer's id entry and returns DataLoss naming
  // the timer unless it names this due (a due entry left behind, or a read
  // made stale by a write through another TimerIndex), except for timers
  // whose id starts with a non-empty `caller_pairs_prefix`: the caller
  // fires those only when their due equals the due its own state holds for
  // them (the revenue rules keep every timer's due in the lead's revenue
  // state, which firing reads anyway), so PopDue deletes their id entry
  // unread and firing costs no point read. Either way PopDue writes the same
  // (both entries deleted). A due entry left behind under that prefix (a
  // stale read, a lost delete) is therefore popped, not reported, and
  // deletes the id entry of the id's live timer, whose due entry then pops
  // without one when it falls due: the caller's pairing fires the live one
  // and ignores the stale one (lead_fold_test
  // StaleRevenueDueEntryFiresNothingAndTheRealTimerStillFires).
  //
  // From the kTimerRangeDeletePopsMin-th pop of this TimerIndex on, the
  // popped due entries are removed by one widening ProjectionTxn::
  // DeleteRange [due prefix, popped key] instead of a Delete each (the same
  // state: every due key before the popped one is already absent).
  absl::StatusOr<std::optional<Timer>> PopDue(int64_t now_ms,
                                              absl::string_view caller_pairs_prefix = "");

  // The earliest due time, nullopt when there is no timer.
  absl::StatusOr<std::optional<int64_t>> NextDue();

  // Longest prefix: a due key ("<prefix>d/" ‖ 8 bytes ‖ id) must fit
  // kProjectionKeyBytesMax.
  static constexpr size_t kTimerPrefixBytesMax = kProjectionKeyBytesMax - 2 - 8 - kTimerIdBytesMax;

 private:
  absl::Status CheckPrefix() const;
  std::string DueKey(int64_t due_ms, absl::string_view id) const;
  std::string IdKey(absl::string_view id) const;
  // The due time stored for `id`, nullopt when it has no timer.
  absl::StatusOr<std::optional<int64_t>> DueOf(absl::string_view id);
  // The first entry of the "d/" range (skipping what PopDue removed).
  absl::StatusOr<std::optional<Timer>> First();

  // Forgets the read-ahead when `due_key` falls inside it (a write there).
  void Touch(absl::string_view due_key);

  ProjectionTxn& txn_;
  const std::string prefix_;
  const std::string due_prefix_;  // prefix_ ‖ "d/"
  // The due key of the last timer PopDue removed ("" = none): every due key
  // <= it is absent, unless Schedule adds one (which resets it).
  std::string popped_through_;
  // The id of the timer PopDue removed last ("" = none) while it has no
  // timer: its id entry is deleted in this txn, so DueOf need not read it
  // (a fired timer is often rescheduled at once). Schedule of it resets it.
  std::string popped_id_;
  // Due entries after popped_through_, read ahead by one Scan (a tick firing
  // 50 k timers would otherwise seek once per timer), front first. Exact
  // while no write lands at or before its last key: Schedule and Cancel
  // call Touch, which drops it then.
  std::deque<ProjectionEntry> ahead_;
  // Timers PopDue removed through this TimerIndex (range deletion after
  // kTimerRangeDeletePopsMin).
  size_t pops_ = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_TIMERS_H_
