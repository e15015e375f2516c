// RFC 3339 timestamps <-> Unix epoch milliseconds, for Segment's
// `timestamp`, `originalTimestamp` and `sentAt`. Internal to consumers/.
//
// Thread-safe: pure functions.
//
//   int64_t ms;
//   if (ParseRfc3339Ms("2024-05-01T14:00:00.123+02:00", &ms)) ...  // 1714564800123
//   FormatRfc3339Ms(ms);  // "2024-05-01T12:00:00.123Z"
#ifndef LEADLOG_CONSUMERS_INTERNAL_RFC3339_H_
#define LEADLOG_CONSUMERS_INTERNAL_RFC3339_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace leadlog {

// The representable range: RFC 3339 years 0000 to 9999.
inline constexpr int64_t kRfc3339MsMin = -62167219200000;  // 0000-01-01T00:00:00.000Z
inline constexpr int64_t kRfc3339MsMax = 253402300799999;  // 9999-12-31T23:59:59.999Z

// Parses an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM)".
// Also accepted: 't' or a space for 'T', 'z' for 'Z', an offset without its
// colon (ISO 8601 basic, "+0530"), any number of fraction digits (cut, not
// rounded, to milliseconds) and second 60 (a leap second, read as the next
// second). Dates are checked (no February 30). False when `text` is anything
// else or the instant is outside [kRfc3339MsMin, kRfc3339MsMax].
bool ParseRfc3339Ms(absl::string_view text, int64_t* ms);

// "YYYY-MM-DDTHH:MM:SS.mmmZ" (always UTC, always milliseconds). `ms` must be
// within [kRfc3339MsMin, kRfc3339MsMax].
std::string FormatRfc3339Ms(int64_t ms);

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_INTERNAL_RFC3339_H_
