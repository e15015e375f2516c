// CPU priority of serve's background threads: a process-wide nice value
// that throughput work (ingest writer, live projection, outbox and change
// emitters) applies to its own thread at start, so that on a machine with
// few cores a latency-bound request (the HTTP API's threads, left at the
// process's own nice) is not queued behind a fold (DESIGN.md §9, issue 7).
//
// Thread-safety: every function may be called from any thread. The value
// is set once by the process (serve, from --background-nice) before it
// starts the threads that apply it; a thread that applied it keeps it
// (setpriority on the thread's own id: Linux nice is per thread, and a
// thread created afterwards inherits its creator's).
//
//   RETURN_IF_ERROR(SetBackgroundNice(10));      // serve, once
//   std::thread worker([] { LowerThreadToBackground(); Loop(); });
#ifndef LEADLOG_ENGINE_THREAD_PRIORITY_H_
#define LEADLOG_ENGINE_THREAD_PRIORITY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/limits.h"  // kBackgroundNiceMin, kBackgroundNiceMax

namespace leadlog {

// Sets the nice value LowerThreadToBackground applies (0 until set: a
// process that never calls this keeps every thread where it is; serve sets
// --background-nice, default kBackgroundNiceDefault = 0). InvalidArgument
// naming `background_nice` outside [kBackgroundNiceMin, kBackgroundNiceMax].
absl::Status SetBackgroundNice(int nice);
int BackgroundNice();

// Lowers the calling thread to the background nice value (no-op at 0).
// Never raises a thread that already runs at a lower priority. Internal
// when setpriority fails (the error text names errno); callers log it and
// go on at their current priority.
absl::Status LowerThreadToBackground();

// The calling thread's nice value (getpriority of its thread id).
int CurrentThreadNice();

// Linux keeps at most this many bytes of a thread name (16 with the NUL).
inline constexpr size_t kThreadNameBytesMax = 15;

// Names the calling thread (what `top -H`, `ps -L`, perf and
// /proc/PID/task/TID/comm show), cut to kThreadNameBytesMax bytes.
// serve's threads are named "ll-<role>" (README "Live projection
// thread"), so that the CPU of each role can be read from /proc
// (bench/http_load.sh does). Never fails: a name the kernel refuses leaves
// the thread's name as it was.
void NameThisThread(absl::string_view name);

// The calling thread's name.
std::string ThisThreadName();

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_THREAD_PRIORITY_H_
