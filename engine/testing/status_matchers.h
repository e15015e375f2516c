// gMock matchers for absl::Status (Debian 12's Abseil ships none).
//
//   EXPECT_THAT(log->Append(batch), IsOk());
//   EXPECT_THAT(Decode("{}"), StatusIs(absl::StatusCode::kInvalidArgument,
//                                      HasSubstr("messageId")));
#ifndef LEADLOG_ENGINE_TESTING_STATUS_MATCHERS_H_
#define LEADLOG_ENGINE_TESTING_STATUS_MATCHERS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace leadlog::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.ok();
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()),
                                       result_listener);
}

}  // namespace leadlog::testing

#define ASSERT_OK(expr) ASSERT_THAT((expr), ::leadlog::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT((expr), ::leadlog::testing::IsOk())

#endif  // LEADLOG_ENGINE_TESTING_STATUS_MATCHERS_H_
