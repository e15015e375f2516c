#include "engine/thread_priority.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace leadlog {
namespace {

std::atomic<int> g_background_nice{kBackgroundNiceMin};

id_t ThisThreadId() { return static_cast<id_t>(syscall(SYS_gettid)); }

}  // namespace

absl::Status SetBackgroundNice(int nice) {
  if (nice < kBackgroundNiceMin || nice > kBackgroundNiceMax) {
    return absl::InvalidArgumentError(absl::StrCat("background_nice: ", nice, " is outside [",
                                                   kBackgroundNiceMin, ", ",
                                                   kBackgroundNiceMax, "]"));
  }
  g_background_nice.store(nice, std::memory_order_relaxed);
  return absl::OkStatus();
}

int BackgroundNice() { return g_background_nice.load(std::memory_order_relaxed); }

int CurrentThreadNice() {
  errno = 0;
  return getpriority(PRIO_PROCESS, ThisThreadId());
}

absl::Status LowerThreadToBackground() {
  const int nice = BackgroundNice();
  if (nice == 0 || CurrentThreadNice() >= nice) return absl::OkStatus();
  if (setpriority(PRIO_PROCESS, ThisThreadId(), nice) != 0) {
    return absl::InternalError(
        absl::StrCat("background_nice: setpriority(", nice, "): ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void NameThisThread(absl::string_view name) {
  const std::string cut(name.substr(0, kThreadNameBytesMax));
  pthread_setname_np(pthread_self(), cut.c_str());
}

std::string ThisThreadName() {
  char name[kThreadNameBytesMax + 1] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof(name)) != 0) return "";
  return name;
}

}  // namespace leadlog
