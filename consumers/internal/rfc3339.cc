#include "consumers/internal/rfc3339.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

constexpr int64_t kMsPerDay = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t year, int month, int day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t yoe = year - era * 400;
  const int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t days, int64_t* year, int* month, int* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *year = yoe + era * 400 + (*month <= 2);
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Reads exactly `count` digits at *pos.
bool ReadDigits(absl::string_view text, size_t* pos, int count, int* out) {
  if (text.size() - *pos < static_cast<size_t>(count)) return false;
  int value = 0;
  for (int i = 0; i < count; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *pos += count;
  *out = value;
  return true;
}

bool ReadChar(absl::string_view text, size_t* pos, absl::string_view allowed) {
  if (*pos >= text.size() || !absl::StrContains(allowed, text[*pos])) return false;
  ++*pos;
  return true;
}

// ".123456" -> 123 (milliseconds, further digits truncated); none -> 0.
bool ReadFractionMs(absl::string_view text, size_t* pos, int* ms) {
  *ms = 0;
  if (!ReadChar(text, pos, ".")) return true;
  int used = 0;
  const size_t start = *pos;
  for (; *pos < text.size() && absl::ascii_isdigit(text[*pos]); ++*pos) {
    if (used < 3) *ms = *ms * 10 + (text[*pos] - '0'), ++used;
  }
  for (; used < 3; ++used) *ms *= 10;
  return *pos > start;
}

// "Z", "+02:00", "-0530" -> offset east of UTC in minutes.
bool ReadOffsetMinutes(absl::string_view text, size_t* pos, int* minutes) {
  *minutes = 0;
  if (ReadChar(text, pos, "Zz")) return true;
  if (*pos >= text.size()) return false;
  const int sign = text[*pos] == '-' ? -1 : 1;
  int hours, mins;
  if (!ReadChar(text, pos, "+-") || !ReadDigits(text, pos, 2, &hours)) return false;
  ReadChar(text, pos, ":");
  if (!ReadDigits(text, pos, 2, &mins) || hours > 23 || mins > 59) return false;
  *minutes = sign * (hours * 60 + mins);
  return true;
}

}  // namespace

bool ParseRfc3339Ms(absl::string_view text, int64_t* out_ms) {
  size_t pos = 0;
  int year, month, day, hour, minute, second, ms, offset_minutes;
  if (!ReadDigits(text, &pos, 4, &year) || !ReadChar(text, &pos, "-") ||
      !ReadDigits(text, &pos, 2, &month) || !ReadChar(text, &pos, "-") ||
      !ReadDigits(text, &pos, 2, &day) || !ReadChar(text, &pos, "Tt ") ||
      !ReadDigits(text, &pos, 2, &hour) || !ReadChar(text, &pos, ":") ||
      !ReadDigits(text, &pos, 2, &minute) || !ReadChar(text, &pos, ":") ||
      !ReadDigits(text, &pos, 2, &second) || !ReadFractionMs(text, &pos, &ms) ||
      !ReadOffsetMinutes(text, &pos, &offset_minutes) || pos != text.size()) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return false;
  }
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                          second - offset_minutes * 60;
  const int64_t result = seconds * 1000 + ms;
  if (result < kRfc3339MsMin || result > kRfc3339MsMax) return false;
  *out_ms = result;
  return true;
}

std::string FormatRfc3339Ms(int64_t ms) {
  int64_t days = ms / kMsPerDay;
  int64_t rest = ms % kMsPerDay;
  if (rest < 0) rest += kMsPerDay, --days;
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);
  return absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, month, day, rest / 3'600'000,
                         rest / 60'000 % 60, rest / 1000 % 60, rest % 1000);
}

}  // namespace leadlog
