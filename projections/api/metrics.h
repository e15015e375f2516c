// ApiMetrics: request counters and latency histograms per route and status
// code, rendered in the Prometheus text format (version 0.0.4).
//
// Thread-safety: Record and Render are thread-safe (one mutex, held for a
// few increments; rendering copies under it). Bounded: one series per
// (route, status) pair, and routes are the API's fixed patterns.
//
//   ApiMetrics metrics;
//   metrics.Record("/v1/leads/{id}", 200, absl::Microseconds(350));
//   std::string text;
//   metrics.Render(&text);  // leadlog_http_request_duration_seconds_bucket{...}
#ifndef LEADLOG_PROJECTIONS_API_METRICS_H_
#define LEADLOG_PROJECTIONS_API_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "projections/api/limits.h"

namespace leadlog {

inline constexpr size_t kApiLatencyBuckets = std::size(kApiLatencyBucketsS);

class ApiMetrics {
 public:
  void Record(const std::string& route, int status, absl::Duration latency);
  // Appends the request series to `out`.
  void Render(std::string* out) const;

 private:
  struct Series {
    uint64_t count = 0;
    double sum_s = 0;
    std::array<uint64_t, kApiLatencyBuckets> buckets{};  // non-cumulative
  };
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, int>, Series> series_ ABSL_GUARDED_BY(mu_);
};

// One Prometheus sample line: `name{labels} value\n` (labels may be "").
void AppendSample(std::string* out, const std::string& name, const std::string& labels,
                  double value);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_METRICS_H_
