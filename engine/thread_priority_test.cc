#include "engine/thread_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

// Restores the process-wide value after each test.
class ThreadPriority : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(SetBackgroundNice(0).ok()); }
};

// Runs `body` on a fresh thread and returns the thread's nice afterwards.
template <typename F>
int NiceAfterOnNewThread(F body) {
  int nice = -100;
  std::thread t([&] {
    body();
    nice = CurrentThreadNice();
  });
  t.join();
  return nice;
}

TEST_F(ThreadPriority, RejectsValuesOutsideTheBoundsNamingTheField) {
  EXPECT_THAT(SetBackgroundNice(kBackgroundNiceMin - 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("background_nice: -1")));
  EXPECT_THAT(SetBackgroundNice(kBackgroundNiceMax + 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("background_nice: 20")));
  EXPECT_EQ(BackgroundNice(), 0);
  EXPECT_TRUE(SetBackgroundNice(kBackgroundNiceMax).ok());
  EXPECT_EQ(BackgroundNice(), kBackgroundNiceMax);
}

TEST_F(ThreadPriority, LowersOnlyTheCallingThreadAndItsLaterChildren) {
  const int process_nice = CurrentThreadNice();
  ASSERT_LT(process_nice, 7) << "run the test at a nice below 7";
  ASSERT_TRUE(SetBackgroundNice(7).ok());
  int child_nice = -100;
  const int lowered = NiceAfterOnNewThread([&] {
    ASSERT_TRUE(LowerThreadToBackground().ok());
    std::thread child([&] { child_nice = CurrentThreadNice(); });
    child.join();
  });
  EXPECT_EQ(lowered, 7);
  EXPECT_EQ(child_nice, 7);
  EXPECT_EQ(CurrentThreadNice(), process_nice);  // the caller of SetBackgroundNice is untouched
  EXPECT_EQ(NiceAfterOnNewThread([] {}), process_nice);
}

TEST_F(ThreadPriority, ZeroLeavesThreadsAlone) {
  const int process_nice = CurrentThreadNice();
  EXPECT_EQ(NiceAfterOnNewThread([] { ASSERT_TRUE(LowerThreadToBackground().ok()); }),
            process_nice);
}

TEST_F(ThreadPriority, NeverRaisesAThreadAlreadyLower) {
  ASSERT_TRUE(SetBackgroundNice(5).ok());
  const int nice = NiceAfterOnNewThread([] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 12), 0);
    ASSERT_TRUE(LowerThreadToBackground().ok());
  });
  EXPECT_EQ(nice, 12);
}

// What the kernel shows for the calling thread (/proc/self/task/TID/comm).
std::string KernelNameOfThisThread() {
  std::ifstream comm(absl::StrCat("/proc/self/task/", syscall(SYS_gettid), "/comm"));
  std::string name;
  std::getline(comm, name);
  return name;
}

TEST(ThreadName, NamesOnlyTheCallingThreadAsTheKernelShowsIt) {
  const std::string before = ThisThreadName();
  std::string inside, kernel;
  std::thread t([&] {
    NameThisThread("ll-test");
    inside = ThisThreadName();
    kernel = KernelNameOfThisThread();
  });
  t.join();
  EXPECT_EQ(inside, "ll-test");
  EXPECT_EQ(kernel, "ll-test");
  EXPECT_EQ(ThisThreadName(), before);
}

TEST(ThreadName, CutsANameLongerThanTheKernelKeeps) {
  std::string named;
  std::thread t([&] {
    NameThisThread("ll-0123456789abcdef");  // 19 bytes
    named = KernelNameOfThisThread();
  });
  t.join();
  EXPECT_EQ(named, "ll-0123456789ab");
  EXPECT_EQ(named.size(), kThreadNameBytesMax);
}

}  // namespace
}  // namespace leadlog
