#include "projections/api/position.h"

#include <atomic>
#include <thread>

#include "engine/testing/status_matchers.h"
#include "projections/api/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseMinPosition, AcceptsPairsAndABareSequenceForShardZero) {
  absl::StatusOr<MinPosition> p = ParseMinPosition("3:7,0:120");
  ASSERT_THAT(p.status(), IsOk());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].first, ShardId(0));
  EXPECT_EQ((*p)[0].second, Sequence(120));
  EXPECT_EQ((*p)[1].first, ShardId(3));
  absl::StatusOr<MinPosition> bare = ParseMinPosition("42");
  ASSERT_THAT(bare.status(), IsOk());
  ASSERT_EQ(bare->size(), 1u);
  EXPECT_EQ((*bare)[0].first, ShardId(0));
  EXPECT_EQ((*bare)[0].second, Sequence(42));
  EXPECT_THAT(ParseMinPosition(""), IsOk());
}

TEST(ParseMinPosition, RejectsBadSyntaxNamingTheField) {
  for (const char* bad : {"x", "1:", ":1", "1:2,", "1:2,1:3", "-1", "1:-2", "1:2:3", "+4",
                          "99999999999:1", "1:99999999999999999999999", "1,2"}) {
    EXPECT_THAT(ParseMinPosition(bad),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("min_position: ")))
        << bad;
  }
}

TEST(ParseMinPosition, RejectsMoreShardsThanTheLimit) {
  std::string text;
  for (size_t i = 0; i <= kApiPositionShardsMax; ++i) text += (i ? "," : "") + std::to_string(i) + ":1";
  EXPECT_THAT(ParseMinPosition(text),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than")));
}

TEST(PositionWaiter, ReturnsFalseAfterTheTimeoutWhenNeverReached) {
  PositionWaiter waiter;
  absl::StatusOr<bool> r = waiter.Wait([] { return false; }, absl::Milliseconds(20));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_FALSE(*r);
  EXPECT_EQ(waiter.waiters(), 0);
}

TEST(PositionWaiter, WakesOnNotifyWhenTheConditionHolds) {
  PositionWaiter waiter;
  std::atomic<bool> done{false};
  std::thread notifier([&] {
    // Notifies until the waiter is gone: no sleep, no lost wake-up.
    while (!done.load()) waiter.Notify();
  });
  std::atomic<int> calls{0};
  absl::StatusOr<bool> r = waiter.Wait([&] { return ++calls > 3; }, absl::Seconds(30));
  done.store(true);
  notifier.join();
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(*r);
}

TEST(PositionWaiter, RefusesWaitersBeyondTheLimit) {
  PositionWaiter waiter;
  std::atomic<bool> release{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kApiWaitersMax; ++i) {
    threads.emplace_back([&] {
      (void)waiter.Wait([&] { return release.load(); }, absl::Seconds(30));
    });
  }
  while (waiter.waiters() < kApiWaitersMax) waiter.Notify();
  EXPECT_THAT(waiter.Wait([] { return false; }, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
  release.store(true);
  waiter.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(waiter.waiters(), 0);
}

}  // namespace
}  // namespace leadlog
