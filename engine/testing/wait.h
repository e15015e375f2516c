// WaitFor: wait on a condition with a deadline, for tests of asynchronous
// work (STYLE.md "Tests": no fixed sleeps). Polls `condition` about every
// 20 ms; the condition is always evaluated once more at the deadline.
//
// Thread-safety: call from any thread; `condition` runs on the caller's
// thread.
//
//   ASSERT_TRUE(WaitFor([&] { return Appended() == 3000; }, absl::Seconds(60)));
//   // Expect something NOT to happen for a while:
//   EXPECT_FALSE(WaitFor([&] { return child.Exited(); }, absl::Milliseconds(500)));
#ifndef LEADLOG_ENGINE_TESTING_WAIT_H_
#define LEADLOG_ENGINE_TESTING_WAIT_H_

#include <algorithm>
#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace leadlog::testing {

inline constexpr absl::Duration kWaitPollInterval = absl::Milliseconds(20);

// True as soon as `condition()` is true; false if it is still false at
// `timeout`. A slow condition (e.g. one that runs a process) is polled less
// often: the interval is between the ends of consecutive calls.
inline bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    absl::Time now = absl::Now();
    if (now >= deadline) return false;
    absl::SleepFor(std::min(kWaitPollInterval, deadline - now));
  }
}

}  // namespace leadlog::testing

#endif  // LEADLOG_ENGINE_TESTING_WAIT_H_
