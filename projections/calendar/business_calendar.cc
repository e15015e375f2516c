#include "projections/calendar/business_calendar.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/status_macros.h"
#include "projections/definition_text.h"

namespace leadlog {
namespace {

constexpr int kMinutesPerDay = 24 * 60;
constexpr const char* kDayNames[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                      "friday", "saturday", "sunday"};

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// 0 = monday .. 6 = sunday, or nullopt.
std::optional<int> ParseDay(absl::string_view name) {
  for (int i = 0; i < 7; ++i) {
    if (name == kDayNames[i]) return i;
  }
  return std::nullopt;
}

// Minutes after midnight of "HH:MM" (00:00..23:59, and 24:00 when
// allow_midnight_end), or nullopt.
std::optional<int> ParseTimeOfDay(absl::string_view text, bool allow_midnight_end) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (!absl::ascii_isdigit(text[i])) return std::nullopt;
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours == 24 && minutes == 0 && allow_midnight_end) return kMinutesPerDay;
  if (hours > 23 || minutes > 59) return std::nullopt;
  return hours * 60 + minutes;
}

// A "YYYY-MM-DD" date of years 1970..9999 that exists, or nullopt.
std::optional<absl::CivilDay> ParseDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  int fields[3] = {0, 0, 0};
  const int starts[3] = {0, 5, 8};
  const int lengths[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (int i = starts[f]; i < starts[f] + lengths[f]; ++i) {
      if (!absl::ascii_isdigit(text[i])) return std::nullopt;
      fields[f] = fields[f] * 10 + (text[i] - '0');
    }
  }
  const absl::CivilDay day(fields[0], fields[1], fields[2]);
  // CivilDay normalizes (2026-02-30 becomes 2026-03-02): a changed field
  // means the date does not exist.
  if (day.year() != fields[0] || day.month() != fields[1] || day.day() != fields[2] ||
      day.year() < 1970) {
    return std::nullopt;
  }
  return day;
}

std::string TimeOfDay(int minutes) {
  return absl::StrFormat("%02d:%02d", minutes / 60, minutes % 60);
}

absl::Status CheckId(absl::string_view id) {
  if (id.empty()) return Invalid("id", "required");
  if (id.size() > kCalendarIdBytesMax) {
    return Invalid("id", absl::StrCat("longer than ", kCalendarIdBytesMax, " bytes"));
  }
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return Invalid("id", absl::StrCat("\"", id, "\": expected [a-z0-9_]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSizes(const v1::BusinessCalendar& calendar) {
  if (calendar.windows_size() > kCalendarWindowsMax) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "windows: ", calendar.windows_size(), " windows, at most ", kCalendarWindowsMax));
  }
  if (calendar.holidays_size() > kCalendarHolidaysMax) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "holidays: ", calendar.holidays_size(), " holidays, at most ", kCalendarHolidaysMax));
  }
  return absl::OkStatus();
}

// Names are refused before they reach the tzdata loader when they could
// name a file outside the zoneinfo tree or depend on the host.
bool PlausibleZoneName(absl::string_view name) {
  if (name.front() == '/' || name.find("..") != absl::string_view::npos) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(c) && c != '/' && c != '_' && c != '-' && c != '+') return false;
  }
  return true;
}

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  if (name.empty()) return Invalid("time_zone", "required");
  if (name.size() > kCalendarTimeZoneBytesMax) {
    return Invalid("time_zone", absl::StrCat("longer than ", kCalendarTimeZoneBytesMax, " bytes"));
  }
  if (name == "localtime") {
    return Invalid("time_zone", "\"localtime\" differs between hosts; name an IANA time zone");
  }
  absl::TimeZone zone;
  if (!PlausibleZoneName(name) || !absl::LoadTimeZone(std::string(name), &zone)) {
    return Invalid("time_zone", absl::StrCat("unknown time zone \"", name, "\""));
  }
  return zone;
}

struct DayWindow {
  int start_min;
  int end_min;
  int index;  // in BusinessCalendar.windows
};
using WeekWindows = std::array<std::vector<DayWindow>, 7>;

absl::Status CheckWindow(const v1::WorkingWindow& window, int index, WeekWindows* week) {
  const std::string path = absl::StrCat("windows[", index, "]");
  if (window.days().empty()) return Invalid(path + ".days", "at least one day required");
  const std::optional<int> start = ParseTimeOfDay(window.start(), /*allow_midnight_end=*/false);
  if (!start) {
    return Invalid(path + ".start",
                   window.start() == "24:00"
                       ? "\"24:00\" is allowed only as an end"
                       : absl::StrCat("\"", window.start(), "\" is not a time of day HH:MM"));
  }
  const std::optional<int> end = ParseTimeOfDay(window.end(), /*allow_midnight_end=*/true);
  if (!end) {
    return Invalid(path + ".end",
                   absl::StrCat("\"", window.end(), "\" is not a time of day HH:MM"));
  }
  if (*end <= *start) {
    return Invalid(path + ".end",
                   absl::StrCat("\"", window.end(), "\" is not after start \"", window.start(),
                                "\" (a window never crosses midnight: split it in two)"));
  }
  std::array<bool, 7> seen = {};
  for (int j = 0; j < window.days_size(); ++j) {
    const std::string day_path = absl::StrCat(path, ".days[", j, "]");
    const std::optional<int> day = ParseDay(window.days(j));
    if (!day) {
      return Invalid(day_path,
                     absl::StrCat("\"", window.days(j), "\" is not a day monday..sunday"));
    }
    if (seen[*day]) return Invalid(day_path, absl::StrCat("duplicate \"", window.days(j), "\""));
    seen[*day] = true;
    (*week)[*day].push_back({*start, *end, index});
  }
  return absl::OkStatus();
}

// Windows sharing a day may touch but not overlap. Reports the later window
// (by index) of the first overlapping pair in start order.
absl::Status CheckOverlaps(WeekWindows* week) {
  for (int day = 0; day < 7; ++day) {
    std::vector<DayWindow>& windows = (*week)[day];
    std::sort(windows.begin(), windows.end(), [](const DayWindow& a, const DayWindow& b) {
      return std::tie(a.start_min, a.index) < std::tie(b.start_min, b.index);
    });
    for (size_t k = 1; k < windows.size(); ++k) {
      const DayWindow& a = windows[k - 1];
      const DayWindow& b = windows[k];
      if (b.start_min >= a.end_min) continue;
      const DayWindow& first = a.index < b.index ? a : b;
      const DayWindow& second = a.index < b.index ? b : a;
      return Invalid(absl::StrCat("windows[", second.index, "]"),
                     absl::StrCat(TimeOfDay(second.start_min), "-", TimeOfDay(second.end_min),
                                  " overlaps windows[", first.index, "] ",
                                  TimeOfDay(first.start_min), "-", TimeOfDay(first.end_min),
                                  " on ", kDayNames[day]));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWindows(const v1::BusinessCalendar& calendar, WeekWindows* week) {
  if (calendar.windows().empty()) {
    return Invalid("windows", "at least one working window required (no working time at all)");
  }
  for (int i = 0; i < calendar.windows_size(); ++i) {
    RETURN_IF_ERROR(CheckWindow(calendar.windows(i), i, week));
  }
  return CheckOverlaps(week);
}

absl::Status CheckHolidays(const v1::BusinessCalendar& calendar,
                           std::vector<absl::CivilDay>* days) {
  std::map<absl::CivilDay, int> seen;  // day -> first index
  for (int i = 0; i < calendar.holidays_size(); ++i) {
    const std::string path = absl::StrCat("holidays[", i, "]");
    const std::string& text = calendar.holidays(i);
    const std::optional<absl::CivilDay> day = ParseDate(text);
    if (!day) {
      return Invalid(path, absl::StrCat("\"", text,
                                        "\" is not a date YYYY-MM-DD of years 1970..9999"));
    }
    auto [it, inserted] = seen.emplace(*day, i);
    if (!inserted) {
      return Invalid(path,
                     absl::StrCat("duplicate \"", text, "\" (holidays[", it->second, "])"));
    }
  }
  days->clear();
  for (const auto& [day, index] : seen) days->push_back(day);
  return absl::OkStatus();
}

// Everything Create needs, checked.
struct Checked {
  absl::TimeZone zone;
  WeekWindows week;
  std::vector<absl::CivilDay> holidays;  // ascending
};

absl::Status Check(const v1::BusinessCalendar& calendar, Checked* out) {
  RETURN_IF_ERROR(CheckId(calendar.id()));
  if (calendar.version() < 1) return Invalid("version", "expected >= 1, got 0");
  RETURN_IF_ERROR(CheckSizes(calendar));
  ASSIGN_OR_RETURN(out->zone, LoadZone(calendar.time_zone()));
  RETURN_IF_ERROR(CheckWindows(calendar, &out->week));
  return CheckHolidays(calendar, &out->holidays);
}

int64_t ClampMs(int64_t ms) { return std::clamp<int64_t>(ms, 0, kCalendarTimeMsMax); }

}  // namespace

absl::Status ValidateBusinessCalendar(const v1::BusinessCalendar& calendar) {
  Checked checked;
  return Check(calendar, &checked);
}

absl::StatusOr<v1::BusinessCalendar> ParseBusinessCalendar(absl::string_view text) {
  v1::BusinessCalendar calendar;
  RETURN_IF_ERROR(ParseDefinitionText(text, DefinitionSyntax::kAuto, kCalendarBytesMax,
                                      "business calendar", &calendar));
  RETURN_IF_ERROR(ValidateBusinessCalendar(calendar));
  return calendar;
}

absl::StatusOr<std::unique_ptr<BusinessCalendarClock>> BusinessCalendarClock::Create(
    const v1::BusinessCalendar& calendar) {
  Checked checked;
  RETURN_IF_ERROR(Check(calendar, &checked));
  std::unique_ptr<BusinessCalendarClock> clock(new BusinessCalendarClock());
  clock->id_ = calendar.id();
  clock->version_ = calendar.version();
  clock->zone_ = checked.zone;
  for (int day = 0; day < 7; ++day) {
    for (const DayWindow& w : checked.week[day]) {  // sorted by CheckOverlaps
      clock->windows_[day].push_back({w.start_min, w.end_min});
    }
  }
  clock->holidays_ = std::move(checked.holidays);
  return clock;
}

int64_t BusinessCalendarClock::FirstInstantAt(absl::CivilSecond local) const {
  const absl::TimeZone::TimeInfo info = zone_.At(local);
  // SKIPPED: the clock jumps over `local`; it first shows a later time at
  // the transition. REPEATED: pre is the first occurrence. UNIQUE: all equal.
  return absl::ToUnixMillis(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans
                                                                           : info.pre);
}

bool BusinessCalendarClock::IsHoliday(absl::CivilDay day) const {
  return std::binary_search(holidays_.begin(), holidays_.end(), day);
}

bool BusinessCalendarClock::VisitSpansFrom(int64_t ms,
                                           absl::FunctionRef<bool(const Span&)> visit) const {
  // Spans of earlier days close by the first instant the local clock shows
  // ms's day, so ms's own day would do; the day before is a cheap margin for
  // zones whose clock moves back across midnight.
  absl::CivilDay day = absl::CivilDay(zone_.At(absl::FromUnixMillis(ClampMs(ms))).cs) - 1;
  for (int64_t n = 0; n < kCalendarSearchDaysMax; ++n, ++day) {
    if (IsHoliday(day)) continue;
    const absl::CivilSecond midnight(day);
    for (const Window& w : windows_[static_cast<int>(absl::GetWeekday(day))]) {
      Span span{FirstInstantAt(midnight + w.start_min * 60),
                FirstInstantAt(midnight + w.end_min * 60)};
      if (span.begin_ms > kCalendarTimeMsMax) return false;
      span.end_ms = std::min(span.end_ms, kCalendarTimeMsMax + 1);
      if (span.begin_ms >= span.end_ms) continue;  // inside a DST gap
      if (!visit(span)) return true;
    }
  }
  return false;
}

bool BusinessCalendarClock::IsWorkingTime(int64_t ms) const {
  if (ms < 0 || ms > kCalendarTimeMsMax) return false;
  bool working = false;
  VisitSpansFrom(ms, [&](const Span& span) {
    if (span.begin_ms > ms) return false;
    working = ms < span.end_ms;
    return !working;
  });
  return working;
}

int64_t BusinessCalendarClock::NextWorkingStart(int64_t ms) const {
  if (ms > kCalendarTimeMsMax) return kNever;
  ms = ClampMs(ms);
  int64_t next = kNever;
  VisitSpansFrom(ms, [&](const Span& span) {
    if (span.end_ms <= ms) return true;
    next = std::max(span.begin_ms, ms);
    return false;
  });
  return next;
}

int64_t BusinessCalendarClock::AddWorkingMs(int64_t start_ms, int64_t working_ms) const {
  LEADLOG_CHECK(working_ms >= 0 && working_ms <= kCalendarWorkingMsMax)
      << "working_ms " << working_ms << " outside [0, kCalendarWorkingMsMax]";
  if (start_ms > kCalendarTimeMsMax) return kNever;
  start_ms = ClampMs(start_ms);
  if (working_ms == 0) return start_ms;
  int64_t remaining = working_ms;
  int64_t due = kNever;
  VisitSpansFrom(start_ms, [&](const Span& span) {
    if (span.end_ms <= start_ms) return true;
    const int64_t begin = std::max(span.begin_ms, start_ms);
    if (remaining <= span.end_ms - begin) {
      due = begin + remaining;
      return false;
    }
    remaining -= span.end_ms - begin;
    return true;
  });
  return due > kCalendarTimeMsMax ? kNever : due;
}

int64_t BusinessCalendarClock::WorkingMsBetween(int64_t from_ms, int64_t to_ms) const {
  if (from_ms > kCalendarTimeMsMax) return 0;
  from_ms = ClampMs(from_ms);
  to_ms = std::clamp<int64_t>(to_ms, 0, kCalendarTimeMsMax + 1);
  if (to_ms <= from_ms) return 0;
  int64_t total = 0;
  VisitSpansFrom(from_ms, [&](const Span& span) {
    if (span.begin_ms >= to_ms) return false;
    const int64_t overlap = std::min(span.end_ms, to_ms) - std::max(span.begin_ms, from_ms);
    if (overlap > 0) total += overlap;
    return true;
  });
  return total;
}

}  // namespace leadlog
