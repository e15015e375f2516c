#include "projections/api/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace leadlog {

void AppendSample(std::string* out, const std::string& name, const std::string& labels,
                  double value) {
  absl::StrAppend(out, name, labels.empty() ? "" : absl::StrCat("{", labels, "}"), " ",
                  absl::StrFormat("%.17g", value), "\n");
}

void ApiMetrics::Record(const std::string& route, int status, absl::Duration latency) {
  const double s = absl::ToDoubleSeconds(latency);
  size_t bucket = 0;
  while (bucket < kApiLatencyBuckets && s > kApiLatencyBucketsS[bucket]) ++bucket;
  absl::MutexLock lock(&mu_);
  Series& series = series_[{route, status}];
  ++series.count;
  series.sum_s += s;
  if (bucket < kApiLatencyBuckets) ++series.buckets[bucket];
}

void ApiMetrics::Render(std::string* out) const {
  std::map<std::pair<std::string, int>, Series> copy;
  {
    absl::MutexLock lock(&mu_);
    copy = series_;
  }
  absl::StrAppend(out, "# TYPE leadlog_http_requests_total counter\n");
  for (const auto& [key, s] : copy) {
    AppendSample(out, "leadlog_http_requests_total",
                 absl::StrCat("route=\"", key.first, "\",code=\"", key.second, "\""), s.count);
  }
  // The histogram per route (all codes together).
  std::map<std::string, Series> by_route;
  for (const auto& [key, s] : copy) {
    Series& r = by_route[key.first];
    r.count += s.count;
    r.sum_s += s.sum_s;
    for (size_t i = 0; i < kApiLatencyBuckets; ++i) r.buckets[i] += s.buckets[i];
  }
  absl::StrAppend(out, "# TYPE leadlog_http_request_duration_seconds histogram\n");
  for (const auto& [route, s] : by_route) {
    const std::string label = absl::StrCat("route=\"", route, "\"");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kApiLatencyBuckets; ++i) {
      cumulative += s.buckets[i];
      AppendSample(out, "leadlog_http_request_duration_seconds_bucket",
                   absl::StrCat(label, ",le=\"", kApiLatencyBucketsS[i], "\""), cumulative);
    }
    AppendSample(out, "leadlog_http_request_duration_seconds_bucket",
                 absl::StrCat(label, ",le=\"+Inf\""), s.count);
    AppendSample(out, "leadlog_http_request_duration_seconds_sum", label, s.sum_s);
    AppendSample(out, "leadlog_http_request_duration_seconds_count", label, s.count);
  }
}

}  // namespace leadlog
