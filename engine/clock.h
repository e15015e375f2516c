// Clock: the only source of wall time (STYLE.md "Determinism"). Production
// code takes a Clock* in its options; tests pass a ManualClock.
//
// Thread-safe: SystemClock and ManualClock may be shared by threads.
//
//   ManualClock clock(1'700'000'000'000);
//   clock.AdvanceMs(60'000);
//   int64_t now = clock.NowMs();
#ifndef LEADLOG_ENGINE_CLOCK_H_
#define LEADLOG_ENGINE_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace leadlog {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix epoch milliseconds.
  virtual int64_t NowMs() = 0;
  // Monotonic milliseconds for measuring intervals (batch deadlines).
  virtual int64_t MonotonicMs() = 0;
};

// Reads the system clocks. A process-wide instance.
class SystemClock final : public Clock {
 public:
  static SystemClock* Get();
  int64_t NowMs() override;
  int64_t MonotonicMs() override;
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() override { return now_ms_.load(); }
  int64_t MonotonicMs() override { return now_ms_.load(); }
  void AdvanceMs(int64_t delta_ms) { now_ms_ += delta_ms; }
  void SetMs(int64_t now_ms) { now_ms_ = now_ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_CLOCK_H_
