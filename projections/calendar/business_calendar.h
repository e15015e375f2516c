// Business calendars (v1::BusinessCalendar): parsing from JSON or protobuf
// text format, validation with the path of the offending field, and
// BusinessCalendarClock, the pure working-time arithmetic SLA clocks use
// ("accepted within 8 business hours": deadline = AddWorkingMs(mql_at, 8h)).
//
// Thread-safety: free functions have no shared state; a clock is immutable
// after Create() and its const methods may run concurrently. Arguments are
// borrowed for the duration of the call; a clock copies what it needs.
//
//   ASSIGN_OR_RETURN(v1::BusinessCalendar calendar, ParseBusinessCalendar(file_text));
//   ASSIGN_OR_RETURN(std::unique_ptr<BusinessCalendarClock> clock,
//                    BusinessCalendarClock::Create(calendar));
//   constexpr int64_t kHourMs = 3600 * 1000;
//   int64_t due_ms = clock->AddWorkingMs(record.log_time_ms(), 8 * kHourMs);
//   int64_t warn_ms = clock->AddWorkingMs(record.log_time_ms(), 6 * kHourMs);
//
// Semantics (all instants are log time, Unix epoch ms; no wall clock):
//   - Working time is a set of half-open spans [open, close). Each window of
//     each non-holiday local date D whose weekday is in the window's `days`
//     gives one span: it opens at the first instant the local clock of
//     `time_zone` shows D start, and closes at the first instant it shows
//     D end ("24:00" is D+1 00:00). Holidays are local dates: a night shift
//     split at midnight loses only the part on the holiday.
//   - DST: a span is real elapsed time. 09:00-17:00 is 8 h on any day whose
//     transition is outside it. A spring-forward gap inside a window shortens
//     it (01:00-04:00 is 2 h in Europe/Berlin on the last Sunday of March; a
//     window wholly inside the gap is empty that day). A fall-back inside a
//     window lengthens it (01:00-04:00 is 4 h on the last Sunday of October);
//     a bound that falls in the repeated hour means its first occurrence,
//     so after a close at 02:30 (CEST) the clock showing 02:15 again (CET)
//     is not working time.
//   - Spans are ordered in time across days and may touch; touching spans
//     (12:00 | 12:00, or 24:00 | 00:00 on the next day) are continuous
//     working time.
//   - Instants before 0 are read as 0; answers after kCalendarTimeMsMax, or
//     more than kCalendarSearchDaysMax local days after the day before the
//     start, are kNever. Validation guarantees a validated calendar always
//     has a next working instant within that range (engine/limits.h).
//   - Time zone rules come from the host's tzdata: two hosts with different
//     tzdata releases may disagree about a zone's future offsets. Fold state
//     should keep computed deadlines (ms), not recompute them on replay.
//   - Cost: O(local days examined × windows per weekday); each call examines
//     the days from the day before its start to its answer.
#ifndef LEADLOG_PROJECTIONS_CALENDAR_BUSINESS_CALENDAR_H_
#define LEADLOG_PROJECTIONS_CALENDAR_BUSINESS_CALENDAR_H_

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "leadlog/v1/calendar.pb.h"

namespace leadlog {

// Bounds: engine/limits.h ("projections/calendar").

// Checks `calendar`: id ([a-z0-9_]), version >= 1, a loadable IANA time
// zone, 1..kCalendarWindowsMax windows each with valid days, "HH:MM" bounds,
// end after start and no overlap with another window on a shared day, and
// unique valid holiday dates. Returns OK, InvalidArgument whose message
// starts with the field path (`windows[2].end: "25:00" is not a time of day
// HH:MM`, `time_zone: unknown time zone "Mars/Base"`), or ResourceExhausted
// beyond a bound (`holidays: 1001 holidays, at most 1000`).
absl::Status ValidateBusinessCalendar(const v1::BusinessCalendar& calendar);

// Parses a calendar from protobuf JSON (field names snake_case or
// lowerCamel, unknown fields rejected) when the first non-blank character is
// '{', else protobuf text format, and validates it. ResourceExhausted beyond
// kCalendarBytesMax.
absl::StatusOr<v1::BusinessCalendar> ParseBusinessCalendar(absl::string_view text);

// Working-time arithmetic over one validated calendar (semantics above).
//
// Invariants:
//   - for 0 <= w <= kCalendarWorkingMsMax and t = AddWorkingMs(s, w) != kNever:
//     WorkingMsBetween(s, t) == w, and t is the earliest such instant;
//   - IsWorkingTime(t) == (WorkingMsBetween(t, t + 1) == 1);
//   - NextWorkingStart(t) is the earliest working instant >= t.
class BusinessCalendarClock {
 public:
  // "No such instant within the computed range."
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  // Validates `calendar` (ValidateBusinessCalendar's errors) and builds the
  // clock.
  static absl::StatusOr<std::unique_ptr<BusinessCalendarClock>> Create(
      const v1::BusinessCalendar& calendar);

  // True when `ms` lies in a working span.
  bool IsWorkingTime(int64_t ms) const;

  // The earliest working instant >= ms: ms itself during working time, else
  // the next opening; kNever if none in range.
  int64_t NextWorkingStart(int64_t ms) const;

  // The earliest instant by which `working_ms` of working time has elapsed
  // since start_ms. A start outside working time counts from the next
  // opening; working_ms == 0 gives start_ms. A deadline that uses up a span
  // exactly is that span's close (17:00, not the next morning). kNever when
  // out of range. working_ms must be in [0, kCalendarWorkingMsMax] (callers
  // validate their durations against it; anything else is our bug: crash).
  int64_t AddWorkingMs(int64_t start_ms, int64_t working_ms) const;

  // Working time in [from_ms, to_ms), ms; 0 when to_ms <= from_ms. Working
  // time more than kCalendarSearchDaysMax local days after from_ms's day is
  // not counted.
  int64_t WorkingMsBetween(int64_t from_ms, int64_t to_ms) const;

  const std::string& id() const { return id_; }
  uint32_t version() const { return version_; }

 private:
  // A window as minutes after local midnight: [start_min, end_min).
  struct Window {
    int start_min;
    int end_min;
  };
  // One working span, Unix epoch ms: [begin_ms, end_ms), never empty.
  struct Span {
    int64_t begin_ms;
    int64_t end_ms;
  };

  BusinessCalendarClock() = default;

  // Calls visit(span) for every span of the local days from the day before
  // ms's local day onwards, in time order, until it returns false or the
  // search range ends. Returns false when the range ended first.
  bool VisitSpansFrom(int64_t ms, absl::FunctionRef<bool(const Span&)> visit) const;
  // The instant at which the local clock first shows `local` (see above).
  int64_t FirstInstantAt(absl::CivilSecond local) const;
  bool IsHoliday(absl::CivilDay day) const;

  std::string id_;
  uint32_t version_ = 0;
  absl::TimeZone zone_;
  // Windows by weekday (0 = monday), ascending, non-overlapping.
  std::array<std::vector<Window>, 7> windows_;
  // Ascending, unique.
  std::vector<absl::CivilDay> holidays_;
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_CALENDAR_BUSINESS_CALENDAR_H_
