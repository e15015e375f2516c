// Status helpers missing from Debian 12's Abseil (20220623): RETURN_IF_ERROR,
// ASSIGN_OR_RETURN, and LEADLOG_CHECK, an assertion that is always on.
//
// Thread-safe: macros only.
//
//   absl::StatusOr<int> Parse(absl::string_view s);
//   absl::Status Use(absl::string_view s) {
//     ASSIGN_OR_RETURN(int n, Parse(s));
//     RETURN_IF_ERROR(Check(n));
//     LEADLOG_CHECK(n >= 0) << "negative after Check";  // our bug: crash
//     return absl::OkStatus();
//   }
#ifndef LEADLOG_ENGINE_STATUS_MACROS_H_
#define LEADLOG_ENGINE_STATUS_MACROS_H_

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LEADLOG_CONCAT_INNER_(a, b) a##b
#define LEADLOG_CONCAT_(a, b) LEADLOG_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    ::absl::Status leadlog_status_ = (expr);         \
    if (!leadlog_status_.ok()) return leadlog_status_; \
  } while (0)

#define LEADLOG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(*tmp)

#define ASSIGN_OR_RETURN(lhs, expr) \
  LEADLOG_ASSIGN_OR_RETURN_IMPL_(LEADLOG_CONCAT_(leadlog_statusor_, __LINE__), lhs, expr)

namespace leadlog::internal {

// Collects a message and aborts when destroyed. Used by LEADLOG_CHECK.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition) {
    stream_ << file << ":" << line << ": CHECK failed: " << condition << " ";
  }
  [[noreturn]] ~CheckFailure() {
    std::cerr << stream_.str() << std::endl;
    std::abort();
  }
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace leadlog::internal

// Always-on assertion for our own bugs. Never use it on external data.
#define LEADLOG_CHECK(condition)                   \
  if (__builtin_expect(!!(condition), 1)) {        \
  } else                                           \
    ::leadlog::internal::CheckFailure(__FILE__, __LINE__, #condition).stream()

#define LEADLOG_CHECK_OK(expr)                                          \
  if (::absl::Status leadlog_check_status_ = (expr); leadlog_check_status_.ok()) { \
  } else                                                                \
    ::leadlog::internal::CheckFailure(__FILE__, __LINE__, #expr).stream() \
        << leadlog_check_status_ << " "

#endif  // LEADLOG_ENGINE_STATUS_MACROS_H_
