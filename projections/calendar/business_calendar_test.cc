#include "projections/calendar/business_calendar.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/testing/status_matchers.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = BusinessCalendarClock;

constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr const char* kWeekdays =
    R"(["monday", "tuesday", "wednesday", "thursday", "friday"])";
constexpr const char* kEveryDay =
    R"(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])";

int64_t Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::ToUnixMillis(absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                                            absl::UTCTimeZone()));
}

// A window as JSON: Window(kWeekdays, "09:00", "17:00").
std::string Window(const std::string& days, const std::string& start, const std::string& end) {
  return absl::StrCat(R"({"days": )", days, R"(, "start": ")", start, R"(", "end": ")", end,
                      R"("})");
}

std::string CalendarJson(const std::string& zone, const std::vector<std::string>& windows,
                         const std::vector<std::string>& holidays = {}) {
  std::vector<std::string> quoted;
  for (const std::string& h : holidays) quoted.push_back(absl::StrCat("\"", h, "\""));
  return absl::StrCat(R"({"id": "test", "version": 1, "time_zone": ")", zone,
                      R"(", "windows": [)", absl::StrJoin(windows, ", "), R"(], "holidays": [)",
                      absl::StrJoin(quoted, ", "), "]}");
}

std::unique_ptr<Clock> MakeClock(const std::string& text) {
  absl::StatusOr<v1::BusinessCalendar> calendar = ParseBusinessCalendar(text);
  EXPECT_OK(calendar);
  if (!calendar.ok()) return nullptr;
  absl::StatusOr<std::unique_ptr<Clock>> clock = Clock::Create(*calendar);
  EXPECT_OK(clock);
  return clock.ok() ? std::move(*clock) : nullptr;
}

std::string ReadExample() {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/business_calendar.json");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Mon-Fri 09:00-17:00 UTC.
std::unique_ptr<Clock> NineToFiveUtc() {
  return MakeClock(CalendarJson("UTC", {Window(kWeekdays, "09:00", "17:00")}));
}

TEST(BusinessCalendarClock, WeekendIsSkipped) {
  auto clock = NineToFiveUtc();
  ASSERT_NE(clock, nullptr);
  const int64_t friday_1600 = Utc(2026, 3, 6, 16, 0);
  EXPECT_EQ(clock->AddWorkingMs(friday_1600, 2 * kHourMs), Utc(2026, 3, 9, 10, 0));
  EXPECT_EQ(clock->WorkingMsBetween(friday_1600, Utc(2026, 3, 9, 10, 0)), 2 * kHourMs);
  EXPECT_FALSE(clock->IsWorkingTime(Utc(2026, 3, 7, 12, 0)));
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 7, 12, 0)), Utc(2026, 3, 9, 9, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 6, 17, 0), Utc(2026, 3, 9, 9, 0)), 0);
}

TEST(BusinessCalendarClock, OpenIsInclusiveCloseIsExclusive) {
  auto clock = NineToFiveUtc();
  ASSERT_NE(clock, nullptr);
  const int64_t open = Utc(2026, 3, 9, 9, 0);
  const int64_t close = Utc(2026, 3, 9, 17, 0);
  const int64_t next_open = Utc(2026, 3, 10, 9, 0);
  EXPECT_FALSE(clock->IsWorkingTime(open - 1));
  EXPECT_TRUE(clock->IsWorkingTime(open));
  EXPECT_TRUE(clock->IsWorkingTime(close - 1));
  EXPECT_FALSE(clock->IsWorkingTime(close));

  EXPECT_EQ(clock->NextWorkingStart(open - 1), open);
  EXPECT_EQ(clock->NextWorkingStart(open), open);
  EXPECT_EQ(clock->NextWorkingStart(close - 1), close - 1);
  EXPECT_EQ(clock->NextWorkingStart(close), next_open);

  EXPECT_EQ(clock->AddWorkingMs(open, 8 * kHourMs), close) << "a used-up day ends at its close";
  EXPECT_EQ(clock->AddWorkingMs(open - 1, 8 * kHourMs), close);
  EXPECT_EQ(clock->AddWorkingMs(close - 1, 1), close);
  EXPECT_EQ(clock->AddWorkingMs(close - 1, 2), next_open + 1);
  EXPECT_EQ(clock->AddWorkingMs(close, 1 * kHourMs), next_open + kHourMs);
  EXPECT_EQ(clock->AddWorkingMs(close, 0), close) << "nothing to add: the start itself";

  EXPECT_EQ(clock->WorkingMsBetween(open, close), 8 * kHourMs);
  EXPECT_EQ(clock->WorkingMsBetween(open - 5, open + 5), 5);
  EXPECT_EQ(clock->WorkingMsBetween(close - 5, close + 5), 5);
  EXPECT_EQ(clock->WorkingMsBetween(open, open), 0);
  EXPECT_EQ(clock->WorkingMsBetween(close, open), 0) << "a reversed range is empty";
}

TEST(BusinessCalendarClock, LunchBreakIsNotWorkingTime) {
  auto clock = MakeClock(CalendarJson(
      "UTC", {Window(kWeekdays, "09:00", "12:00"), Window(kWeekdays, "13:00", "17:00")}));
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 9, 11, 0), 2 * kHourMs), Utc(2026, 3, 9, 14, 0));
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 9, 11, 0), 1 * kHourMs), Utc(2026, 3, 9, 12, 0));
  EXPECT_FALSE(clock->IsWorkingTime(Utc(2026, 3, 9, 12, 30)));
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 9, 12, 0)), Utc(2026, 3, 9, 13, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 9, 0, 0), Utc(2026, 3, 10, 0, 0)), 7 * kHourMs);
}

TEST(BusinessCalendarClock, TouchingWindowsAreContinuous) {
  auto clock = MakeClock(CalendarJson(
      "UTC", {Window(kWeekdays, "12:00", "17:00"), Window(kWeekdays, "09:00", "12:00")}));
  ASSERT_NE(clock, nullptr);
  EXPECT_TRUE(clock->IsWorkingTime(Utc(2026, 3, 9, 12, 0)));
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 9, 11, 0), 2 * kHourMs), Utc(2026, 3, 9, 13, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 9, 0, 0), Utc(2026, 3, 10, 0, 0)), 8 * kHourMs);
}

TEST(BusinessCalendarClock, NightShiftIsTwoWindowsSplitAtMidnight) {
  const std::vector<std::string> windows = {Window(R"(["monday"])", "22:00", "24:00"),
                                            Window(R"(["tuesday"])", "00:00", "06:00")};
  auto clock = MakeClock(CalendarJson("UTC", windows));
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 9, 23, 0), 2 * kHourMs), Utc(2026, 3, 10, 1, 0));
  EXPECT_TRUE(clock->IsWorkingTime(Utc(2026, 3, 10, 0, 0)));
  EXPECT_FALSE(clock->IsWorkingTime(Utc(2026, 3, 10, 6, 0)));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 9, 0, 0), Utc(2026, 3, 11, 0, 0)), 8 * kHourMs);

  // The Tuesday is a holiday: only Monday's part of the shift is worked.
  auto holiday = MakeClock(CalendarJson("UTC", windows, {"2026-03-10"}));
  ASSERT_NE(holiday, nullptr);
  EXPECT_EQ(holiday->AddWorkingMs(Utc(2026, 3, 9, 23, 0), 2 * kHourMs), Utc(2026, 3, 16, 23, 0));
  EXPECT_EQ(holiday->WorkingMsBetween(Utc(2026, 3, 9, 0, 0), Utc(2026, 3, 11, 0, 0)),
            2 * kHourMs);

  // One window across midnight is refused, naming the fix.
  EXPECT_THAT(ParseBusinessCalendar(CalendarJson("UTC", {Window(kWeekdays, "22:00", "06:00")})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("windows[0].end: \"06:00\" is not after start \"22:00\" (a "
                                  "window never crosses midnight: split it in two)")));
}

TEST(BusinessCalendarClock, SameCalendarInOtherTimeZonesGivesOtherInstants) {
  auto tokyo = MakeClock(CalendarJson("Asia/Tokyo", {Window(kWeekdays, "09:00", "17:00")}));
  auto new_york =
      MakeClock(CalendarJson("America/New_York", {Window(kWeekdays, "09:00", "17:00")}));
  ASSERT_NE(tokyo, nullptr);
  ASSERT_NE(new_york, nullptr);
  // Monday 2026-01-12 00:00Z is Monday 09:00 in Tokyo, Sunday 19:00 in New York (EST).
  const int64_t t = Utc(2026, 1, 12, 0, 0);
  EXPECT_TRUE(tokyo->IsWorkingTime(t));
  EXPECT_FALSE(new_york->IsWorkingTime(t));
  EXPECT_EQ(tokyo->NextWorkingStart(t), t);
  EXPECT_EQ(new_york->NextWorkingStart(t), Utc(2026, 1, 12, 14, 0));
  EXPECT_EQ(tokyo->AddWorkingMs(t, 8 * kHourMs), Utc(2026, 1, 12, 8, 0));
  EXPECT_EQ(new_york->AddWorkingMs(t, 8 * kHourMs), Utc(2026, 1, 12, 22, 0));
  // In July New York keeps daylight time (EDT, UTC-4); Tokyo has none.
  EXPECT_EQ(new_york->NextWorkingStart(Utc(2026, 7, 13, 0, 0)), Utc(2026, 7, 13, 13, 0));
  EXPECT_EQ(tokyo->NextWorkingStart(Utc(2026, 7, 12, 0, 0)), Utc(2026, 7, 13, 0, 0));
}

// Europe/Berlin 2026: clocks go 02:00 CET -> 03:00 CEST on Sunday 29 March
// (01:00Z) and 03:00 CEST -> 02:00 CET on Sunday 25 October (01:00Z).
TEST(BusinessCalendarClock, DaytimeWindowsKeepTheirLengthOnDstDays) {
  auto clock = MakeClock(CalendarJson("Europe/Berlin", {Window(kEveryDay, "09:00", "17:00")}));
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 28, 0, 0)), Utc(2026, 3, 28, 8, 0));  // CET
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 29, 0, 0)), Utc(2026, 3, 29, 7, 0));  // CEST
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 29, 0, 0), Utc(2026, 3, 30, 0, 0)),
            8 * kHourMs);
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 10, 24, 0, 0)), Utc(2026, 10, 24, 7, 0));
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 10, 25, 0, 0)), Utc(2026, 10, 25, 8, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 10, 25, 0, 0), Utc(2026, 10, 26, 0, 0)),
            8 * kHourMs);
  // Saturday 16:00 CET + 2 h: one hour on Saturday, one on Sunday (CEST).
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 28, 15, 0), 2 * kHourMs), Utc(2026, 3, 29, 8, 0));
}

TEST(BusinessCalendarClock, SpringForwardShortensAWindowAroundTheGap) {
  auto clock =
      MakeClock(CalendarJson("Europe/Berlin", {Window(R"(["sunday"])", "01:00", "04:00")}));
  ASSERT_NE(clock, nullptr);
  // 01:00 CET = 00:00Z; 04:00 CEST = 02:00Z: 2 h of real time.
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 0, 0));
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 3, 28, 12, 0), 2 * kHourMs), Utc(2026, 3, 29, 2, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 28, 0, 0), Utc(2026, 3, 30, 0, 0)),
            2 * kHourMs);
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 21, 0, 0), Utc(2026, 3, 23, 0, 0)),
            3 * kHourMs)
      << "an ordinary Sunday";
}

TEST(BusinessCalendarClock, WindowInsideTheSpringGapIsEmptyThatDay) {
  auto clock =
      MakeClock(CalendarJson("Europe/Berlin", {Window(R"(["sunday"])", "02:15", "02:45")}));
  ASSERT_NE(clock, nullptr);
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 28, 0, 0), Utc(2026, 3, 30, 0, 0)), 0);
  // The next one is Sunday 5 April, 02:15 CEST = 00:15Z.
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 3, 28, 0, 0)), Utc(2026, 4, 5, 0, 15));
}

TEST(BusinessCalendarClock, FallBackLengthensAWindowAroundTheRepeatedHour) {
  auto clock =
      MakeClock(CalendarJson("Europe/Berlin", {Window(R"(["sunday"])", "01:00", "04:00")}));
  ASSERT_NE(clock, nullptr);
  // 01:00 CEST = 23:00Z the day before; 04:00 CET = 03:00Z: 4 h of real time.
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 10, 24, 12, 0)), Utc(2026, 10, 24, 23, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 10, 24, 0, 0), Utc(2026, 10, 26, 0, 0)),
            4 * kHourMs);
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 10, 24, 12, 0), 4 * kHourMs), Utc(2026, 10, 25, 3, 0));
}

TEST(BusinessCalendarClock, BoundInTheRepeatedHourMeansItsFirstOccurrence) {
  // Opens at the first 02:30 (CEST, 00:30Z), closes at 05:00 CET (04:00Z).
  auto opens = MakeClock(
      CalendarJson("Europe/Berlin", {Window(R"(["sunday"])", "02:30", "05:00")}));
  ASSERT_NE(opens, nullptr);
  EXPECT_EQ(opens->NextWorkingStart(Utc(2026, 10, 24, 12, 0)), Utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(opens->WorkingMsBetween(Utc(2026, 10, 24, 0, 0), Utc(2026, 10, 26, 0, 0)),
            3 * kHourMs + 30 * kMinuteMs);
  EXPECT_TRUE(opens->IsWorkingTime(Utc(2026, 10, 25, 1, 15)))
      << "local clock shows 02:15 (CET) again, but the window is open";

  // Closes at the first 02:30 (00:30Z): the second 02:15 (01:15Z) is after it.
  auto closes = MakeClock(
      CalendarJson("Europe/Berlin", {Window(R"(["sunday"])", "01:00", "02:30")}));
  ASSERT_NE(closes, nullptr);
  EXPECT_EQ(closes->WorkingMsBetween(Utc(2026, 10, 24, 0, 0), Utc(2026, 10, 26, 0, 0)),
            90 * kMinuteMs);
  EXPECT_TRUE(closes->IsWorkingTime(Utc(2026, 10, 25, 0, 15)));   // 02:15 CEST
  EXPECT_FALSE(closes->IsWorkingTime(Utc(2026, 10, 25, 1, 15)));  // 02:15 CET
}

TEST(BusinessCalendarClock, HolidaysAreSkipped) {
  auto clock = MakeClock(ReadExample());
  ASSERT_NE(clock, nullptr);
  // Thursday 2 April 2026 16:00 CEST: 1.5 h to the close, Good Friday and
  // Easter Monday off, 0.5 h on Tuesday 7 April from 09:00 CEST.
  EXPECT_EQ(clock->AddWorkingMs(Utc(2026, 4, 2, 14, 0), 2 * kHourMs), Utc(2026, 4, 7, 7, 30));
  EXPECT_FALSE(clock->IsWorkingTime(Utc(2026, 4, 3, 8, 0)));
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 4, 3, 8, 0)), Utc(2026, 4, 7, 7, 0));
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 4, 2, 0, 0), Utc(2026, 4, 8, 0, 0)),
            2 * (8 * kHourMs + 30 * kMinuteMs));
  // New Year's Day 2027 is a Friday.
  EXPECT_EQ(clock->NextWorkingStart(Utc(2026, 12, 31, 17, 0)), Utc(2027, 1, 4, 8, 0));
}

TEST(BusinessCalendarClock, MultiWeekSpans) {
  auto utc = NineToFiveUtc();
  ASSERT_NE(utc, nullptr);
  // 40 business hours of 8 h days from Friday 16:00: the next Friday 16:00.
  EXPECT_EQ(utc->AddWorkingMs(Utc(2026, 3, 6, 16, 0), 40 * kHourMs), Utc(2026, 3, 13, 16, 0));

  auto berlin = MakeClock(ReadExample());
  ASSERT_NE(berlin, nullptr);
  // 8.5 h days: 1.5 + 4 × 8.5 = 35.5 by Thursday, 4.5 more on Friday: 13:30 CET.
  EXPECT_EQ(berlin->AddWorkingMs(Utc(2026, 3, 6, 15, 0), 40 * kHourMs), Utc(2026, 3, 13, 12, 30));
  // 200 h from Friday 20 March 16:00 CET, across the DST change and Easter:
  // 1.5 h, then 23 full days (195.5 h) to Friday 24 April, 3 h on Monday 27
  // April: 12:00 CEST.
  const int64_t start = Utc(2026, 3, 20, 15, 0);
  const int64_t due = berlin->AddWorkingMs(start, 200 * kHourMs);
  EXPECT_EQ(due, Utc(2026, 4, 27, 10, 0));
  EXPECT_EQ(berlin->WorkingMsBetween(start, due), 200 * kHourMs);
}

// Mon-Fri with a lunch break, Saturday mornings, a Sunday night window that
// the DST changes cut and stretch, a Wednesday night shift across midnight,
// German holidays.
std::string MixedBerlinCalendar() {
  v1::BusinessCalendar calendar = *ParseBusinessCalendar(ReadExample());
  calendar.clear_windows();
  std::string text;
  google::protobuf::TextFormat::PrintToString(calendar, &text);
  for (const char* w : {
           R"(windows { days: ["monday", "tuesday", "wednesday", "thursday", "friday"] start: "08:00" end: "12:00" })",
           R"(windows { days: ["monday", "tuesday", "wednesday", "thursday", "friday"] start: "12:45" end: "17:30" })",
           R"(windows { days: ["saturday"] start: "10:00" end: "14:00" })",
           R"(windows { days: ["sunday"] start: "01:30" end: "03:30" })",
           R"(windows { days: ["wednesday"] start: "22:00" end: "24:00" })",
           R"(windows { days: ["thursday"] start: "00:00" end: "02:00" })",
       }) {
    absl::StrAppend(&text, w, "\n");
  }
  return text;
}

uint64_t TestSeed() {
  const char* env = std::getenv("LEADLOG_TEST_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 20260329;
}

TEST(BusinessCalendarClock, AddAndBetweenAgreeOnRandomSpans) {
  auto clock = MakeClock(MixedBerlinCalendar());
  ASSERT_NE(clock, nullptr);
  const uint64_t seed = TestSeed();
  std::cout << "seed " << seed << " (replay: LEADLOG_TEST_SEED=" << seed << ")\n";
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 random(seed);
  const int64_t from = Utc(2026, 1, 1, 0, 0);
  const int64_t until = Utc(2028, 1, 1, 0, 0);
  std::uniform_int_distribution<int64_t> instant(from, until);
  for (int i = 0; i < 1500; ++i) {
    const int64_t s = instant(random);
    // Half short (within a day or two), half up to 300 h.
    const int64_t w_max = i % 2 == 0 ? 10 * kHourMs : 300 * kHourMs;
    const int64_t w = std::uniform_int_distribution<int64_t>(0, w_max)(random);
    SCOPED_TRACE(absl::StrCat("i ", i, " s ", s, " w ", w));
    const int64_t t = clock->AddWorkingMs(s, w);
    ASSERT_NE(t, Clock::kNever);
    ASSERT_GE(t, s);
    ASSERT_EQ(clock->WorkingMsBetween(s, t), w);
    if (w > 0) {
      ASSERT_EQ(clock->WorkingMsBetween(s, t - 1), w - 1) << "t is the earliest such instant";
    }
    ASSERT_EQ(clock->AddWorkingMs(s, 1), clock->NextWorkingStart(s) + 1);

    const int64_t r = instant(random);
    ASSERT_EQ(clock->IsWorkingTime(r), clock->WorkingMsBetween(r, r + 1) == 1);
    const int64_t next = clock->NextWorkingStart(r);
    ASSERT_TRUE(clock->IsWorkingTime(next));
    ASSERT_EQ(clock->WorkingMsBetween(r, next), 0);

    // Additivity over a split point.
    const int64_t a = std::min(s, r), c = std::max(s, r);
    const int64_t b = std::uniform_int_distribution<int64_t>(a, c)(random);
    if (c - a < 60LL * 24 * kHourMs) {
      ASSERT_EQ(clock->WorkingMsBetween(a, c),
                clock->WorkingMsBetween(a, b) + clock->WorkingMsBetween(b, c));
    }
  }
}

// With daytime windows the DST transitions (02:00-03:00) never touch a
// window, so working time is exactly "the local clock is in a window on a
// working date": checked against that naive rule at random instants.
TEST(BusinessCalendarClock, DaytimeWindowsMatchTheWallClockRule) {
  auto clock = MakeClock(ReadExample());
  ASSERT_NE(clock, nullptr);
  const v1::BusinessCalendar calendar = *ParseBusinessCalendar(ReadExample());
  absl::TimeZone berlin;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Berlin", &berlin));
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int64_t> instant(Utc(2026, 1, 1, 0, 0), Utc(2028, 1, 1, 0, 0));
  int working = 0;
  for (int i = 0; i < 20000; ++i) {
    const int64_t t = instant(random);
    const absl::CivilSecond local = berlin.At(absl::FromUnixMillis(t)).cs;
    const absl::CivilDay day(local);
    const std::string date = absl::FormatCivilTime(day);
    bool holiday = false;
    for (const std::string& h : calendar.holidays()) holiday |= h == date;
    const int minute = local.hour() * 60 + local.minute();
    const bool expected = !holiday && absl::GetWeekday(day) <= absl::Weekday::friday &&
                          minute >= 9 * 60 && minute < 17 * 60 + 30;
    ASSERT_EQ(clock->IsWorkingTime(t), expected) << "t " << t << " local " << local;
    working += expected;
  }
  EXPECT_GT(working, 20000 / 10) << "the sample must reach working time";
}

TEST(BusinessCalendarClock, FindsWorkingTimeBehindTheMostHolidays) {
  // Mondays only, and the first kCalendarHolidaysMax Mondays from 5 January
  // 2026 are holidays.
  v1::BusinessCalendar calendar;
  calendar.set_id("mondays");
  calendar.set_version(1);
  calendar.set_time_zone("UTC");
  v1::WorkingWindow* window = calendar.add_windows();
  window->add_days("monday");
  window->set_start("09:00");
  window->set_end("17:00");
  for (int i = 0; i < kCalendarHolidaysMax; ++i) {
    calendar.add_holidays(absl::FormatCivilTime(absl::CivilDay(2026, 1, 5) + 7 * i));
  }
  absl::StatusOr<std::unique_ptr<Clock>> clock = Clock::Create(calendar);
  ASSERT_OK(clock);
  const absl::CivilDay first_working = absl::CivilDay(2026, 1, 5) + 7 * kCalendarHolidaysMax;
  const int64_t expected = absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(first_working) + 9 * 3600, absl::UTCTimeZone()));
  EXPECT_EQ((*clock)->NextWorkingStart(Utc(2026, 1, 1, 0, 0)), expected);
  EXPECT_EQ((*clock)->AddWorkingMs(Utc(2026, 1, 1, 0, 0), kHourMs), expected + kHourMs);
  EXPECT_FALSE((*clock)->IsWorkingTime(Utc(2026, 1, 5, 10, 0)));

  calendar.add_holidays("2099-01-01");
  EXPECT_THAT(Clock::Create(calendar),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       StartsWith("holidays: 1001 holidays, at most 1000")));
}

TEST(BusinessCalendarClock, AnswersOutOfRangeAreNever) {
  // One minute a week: a year of working time is centuries away.
  auto sparse = MakeClock(CalendarJson("UTC", {Window(R"(["monday"])", "09:00", "09:01")}));
  ASSERT_NE(sparse, nullptr);
  EXPECT_EQ(sparse->AddWorkingMs(Utc(2026, 1, 1, 0, 0), kCalendarWorkingMsMax), Clock::kNever);
  EXPECT_EQ(sparse->AddWorkingMs(Utc(2026, 1, 1, 0, 0), kMinuteMs), Utc(2026, 1, 5, 9, 1));

  auto clock = NineToFiveUtc();
  ASSERT_NE(clock, nullptr);
  // 9999-12-31 is a Friday: nothing after its close is in range.
  EXPECT_EQ(clock->AddWorkingMs(Utc(9999, 12, 31, 16, 0), 2 * kHourMs), Clock::kNever);
  EXPECT_EQ(clock->AddWorkingMs(Utc(9999, 12, 31, 16, 0), kHourMs), Utc(9999, 12, 31, 17, 0));
  EXPECT_EQ(clock->NextWorkingStart(Utc(9999, 12, 31, 17, 0)), Clock::kNever);
  EXPECT_EQ(clock->NextWorkingStart(kCalendarTimeMsMax + 1), Clock::kNever);
  EXPECT_EQ(clock->AddWorkingMs(kCalendarTimeMsMax + 1, 0), Clock::kNever);
  EXPECT_FALSE(clock->IsWorkingTime(Clock::kNever));
  EXPECT_EQ(clock->WorkingMsBetween(kCalendarTimeMsMax + 1, Clock::kNever), 0);
  // Before 1970 reads as 1970-01-01 00:00Z, a Thursday.
  EXPECT_FALSE(clock->IsWorkingTime(-1));
  EXPECT_EQ(clock->NextWorkingStart(-5), Utc(1970, 1, 1, 9, 0));
  EXPECT_EQ(clock->WorkingMsBetween(-kHourMs, Utc(1970, 1, 1, 10, 0)), kHourMs);
}

TEST(BusinessCalendarClockDeathTest, NegativeWorkingTimeIsABug) {
  auto clock = NineToFiveUtc();
  ASSERT_NE(clock, nullptr);
  EXPECT_DEATH(clock->AddWorkingMs(0, -1), "working_ms -1 outside");
  EXPECT_DEATH(clock->AddWorkingMs(0, kCalendarWorkingMsMax + 1), "outside");
}

// --- Parsing and validation ---

v1::BusinessCalendar ValidCalendar() {
  v1::BusinessCalendar calendar;
  calendar.set_id("office");
  calendar.set_version(1);
  calendar.set_time_zone("Europe/Berlin");
  for (const auto& [start, end] : {std::pair{"09:00", "12:00"}, std::pair{"13:00", "17:00"}}) {
    v1::WorkingWindow* window = calendar.add_windows();
    for (const char* day : {"monday", "tuesday", "wednesday", "thursday", "friday"}) {
      window->add_days(day);
    }
    window->set_start(start);
    window->set_end(end);
  }
  calendar.add_holidays("2026-12-25");
  calendar.add_holidays("2026-12-26");
  return calendar;
}

void ExpectInvalid(const std::function<void(v1::BusinessCalendar*)>& edit,
                   const std::string& message_start,
                   absl::StatusCode code = absl::StatusCode::kInvalidArgument) {
  v1::BusinessCalendar calendar = ValidCalendar();
  edit(&calendar);
  EXPECT_THAT(ValidateBusinessCalendar(calendar), StatusIs(code, StartsWith(message_start)));
  EXPECT_THAT(Clock::Create(calendar), StatusIs(code, StartsWith(message_start)));
}

TEST(BusinessCalendar, ValidCalendarsValidate) {
  EXPECT_OK(ValidateBusinessCalendar(ValidCalendar()));
  v1::BusinessCalendar utc = ValidCalendar();
  utc.set_time_zone("UTC");
  utc.mutable_windows(1)->set_end("24:00");
  EXPECT_OK(ValidateBusinessCalendar(utc));
}

TEST(BusinessCalendar, IdAndVersionErrors) {
  ExpectInvalid([](auto* c) { c->clear_id(); }, "id: required");
  ExpectInvalid([](auto* c) { c->set_id("Office!"); }, "id: \"Office!\": expected [a-z0-9_]");
  ExpectInvalid([](auto* c) { c->set_id(std::string(kCalendarIdBytesMax + 1, 'a')); },
                "id: longer than 64 bytes");
  ExpectInvalid([](auto* c) { c->set_version(0); }, "version: expected >= 1, got 0");
}

TEST(BusinessCalendar, TimeZoneErrors) {
  ExpectInvalid([](auto* c) { c->clear_time_zone(); }, "time_zone: required");
  ExpectInvalid([](auto* c) { c->set_time_zone("Mars/Base"); },
                "time_zone: unknown time zone \"Mars/Base\"");
  ExpectInvalid([](auto* c) { c->set_time_zone("../../../etc/passwd"); },
                "time_zone: unknown time zone \"../../../etc/passwd\"");
  ExpectInvalid([](auto* c) { c->set_time_zone("/usr/share/zoneinfo/UTC"); },
                "time_zone: unknown time zone");
  ExpectInvalid([](auto* c) { c->set_time_zone("localtime"); },
                "time_zone: \"localtime\" differs between hosts");
  ExpectInvalid([](auto* c) { c->set_time_zone(std::string(kCalendarTimeZoneBytesMax + 1, 'A')); },
                "time_zone: longer than 64 bytes");
}

TEST(BusinessCalendar, WindowErrors) {
  ExpectInvalid([](auto* c) { c->clear_windows(); },
                "windows: at least one working window required (no working time at all)");
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->clear_days(); },
                "windows[1].days: at least one day required");
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->set_days(2, "Wednesday"); },
                "windows[1].days[2]: \"Wednesday\" is not a day monday..sunday");
  ExpectInvalid([](auto* c) { c->mutable_windows(0)->add_days("monday"); },
                "windows[0].days[5]: duplicate \"monday\"");
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->set_end("25:00"); },
                "windows[1].end: \"25:00\" is not a time of day HH:MM");
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->set_end("16:60"); },
                "windows[1].end: \"16:60\" is not a time of day HH:MM");
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->clear_end(); },
                "windows[1].end: \"\" is not a time of day HH:MM");
  ExpectInvalid([](auto* c) { c->mutable_windows(0)->set_start("9:00"); },
                "windows[0].start: \"9:00\" is not a time of day HH:MM");
  ExpectInvalid([](auto* c) { c->mutable_windows(0)->set_start("24:00"); },
                "windows[0].start: \"24:00\" is allowed only as an end");
  ExpectInvalid([](auto* c) { c->mutable_windows(0)->set_end("08:00"); },
                "windows[0].end: \"08:00\" is not after start \"09:00\"");
  ExpectInvalid([](auto* c) { c->mutable_windows(0)->set_end("09:00"); },
                "windows[0].end: \"09:00\" is not after start \"09:00\"");
}

TEST(BusinessCalendar, OverlappingWindowsAreNamed) {
  ExpectInvalid([](auto* c) { c->mutable_windows(1)->set_start("11:30"); },
                "windows[1]: 11:30-17:00 overlaps windows[0] 09:00-12:00 on monday");
  ExpectInvalid(
      [](auto* c) {
        v1::WorkingWindow* extra = c->add_windows();
        extra->add_days("saturday");
        extra->add_days("friday");
        extra->set_start("16:00");
        extra->set_end("18:00");
      },
      "windows[2]: 16:00-18:00 overlaps windows[1] 13:00-17:00 on friday");
  ExpectInvalid(  // the same window twice
      [](auto* c) { *c->add_windows() = c->windows(0); },
      "windows[2]: 09:00-12:00 overlaps windows[0] 09:00-12:00 on monday");
}

TEST(BusinessCalendar, HolidayErrors) {
  ExpectInvalid([](auto* c) { c->set_holidays(1, "2026-02-30"); },
                "holidays[1]: \"2026-02-30\" is not a date YYYY-MM-DD");
  ExpectInvalid([](auto* c) { c->set_holidays(1, "26-12-2026"); },
                "holidays[1]: \"26-12-2026\" is not a date YYYY-MM-DD");
  ExpectInvalid([](auto* c) { c->set_holidays(0, "2026-1-01"); },
                "holidays[0]: \"2026-1-01\" is not a date");
  ExpectInvalid([](auto* c) { c->set_holidays(0, "1969-12-31"); },
                "holidays[0]: \"1969-12-31\" is not a date YYYY-MM-DD of years 1970..9999");
  ExpectInvalid([](auto* c) { c->add_holidays("2026-12-25"); },
                "holidays[2]: duplicate \"2026-12-25\" (holidays[0])");
}

TEST(BusinessCalendar, WindowBoundAtTheLimit) {
  v1::BusinessCalendar calendar = ValidCalendar();
  calendar.clear_windows();
  for (int i = 0; i < kCalendarWindowsMax; ++i) {  // 10-minute windows on Monday
    v1::WorkingWindow* window = calendar.add_windows();
    window->add_days("monday");
    window->set_start(absl::StrFormat("%02d:%02d", i * 10 / 60, i * 10 % 60));
    window->set_end(absl::StrFormat("%02d:%02d", (i * 10 + 5) / 60, (i * 10 + 5) % 60));
  }
  EXPECT_OK(ValidateBusinessCalendar(calendar));
  *calendar.add_windows() = calendar.windows(0);
  EXPECT_THAT(ValidateBusinessCalendar(calendar),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       StartsWith("windows: 65 windows, at most 64")));
}

TEST(BusinessCalendar, ExampleFileIsTheBerlinOffice) {
  absl::StatusOr<v1::BusinessCalendar> calendar = ParseBusinessCalendar(ReadExample());
  ASSERT_OK(calendar);
  EXPECT_EQ(calendar->id(), "berlin_office");
  EXPECT_EQ(calendar->time_zone(), "Europe/Berlin");
  EXPECT_EQ(calendar->holidays_size(), 18);
  auto clock = MakeClock(ReadExample());
  ASSERT_NE(clock, nullptr);
  // A plain week in March: 5 × 8.5 h.
  EXPECT_EQ(clock->WorkingMsBetween(Utc(2026, 3, 9, 0, 0), Utc(2026, 3, 16, 0, 0)),
            5 * (8 * kHourMs + 30 * kMinuteMs));
}

TEST(BusinessCalendar, ParsesTextFormatAndRejectsBadInput) {
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(ValidCalendar(), &text));
  EXPECT_OK(ParseBusinessCalendar(text));
  EXPECT_THAT(ParseBusinessCalendar("{\"id\": "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("business calendar JSON")));
  EXPECT_THAT(ParseBusinessCalendar(R"({"id": "x", "timezone": "UTC"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("timezone")));
  EXPECT_THAT(ParseBusinessCalendar("windows {"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("text format: line 1")));
  EXPECT_THAT(ParseBusinessCalendar(R"({"id": "x", "version": 1})"),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("time_zone: required")));
}

TEST(BusinessCalendar, FileSizeAtTheLimit) {
  EXPECT_THAT(ParseBusinessCalendar(std::string(kCalendarBytesMax + 1, ' ')),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("business calendar: 65537 bytes, at most 65536")));
  EXPECT_THAT(ParseBusinessCalendar(std::string(kCalendarBytesMax, ' ')),
              StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("id: required")));
}

}  // namespace
}  // namespace leadlog
