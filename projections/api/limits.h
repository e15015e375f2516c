// Bounds of the HTTP read API (DESIGN.md invariant 10), in one place beside
// the module that enforces them; each has a test at the limit in
// read_api_test.cc or http_server_test.cc.
//
// Thread-safe: constants only.
//
//   if (limit > kApiPageSizeMax) return InvalidArgument("limit: ...");
#ifndef LEADLOG_PROJECTIONS_API_LIMITS_H_
#define LEADLOG_PROJECTIONS_API_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "engine/limits.h"

namespace leadlog {

// Leads per list page: default and ceiling (400 naming "limit" beyond).
// How long HttpServer::Stop waits for the listen thread before leaving it
// to the process's exit.
inline constexpr int kHttpStopWaitSeconds = 5;
inline constexpr int kApiPageSizeDefault = 50;
inline constexpr int kApiPageSizeMax = 500;
// Leads one list request examines before it returns a (possibly short)
// page with a cursor to go on: filters never turn one request into a scan
// of the whole projection.
inline constexpr uint64_t kApiScanLeadsMax = 50'000;
// Leads one funnel report folds; beyond it the report says truncated.
inline constexpr uint64_t kApiReportLeadsMax = 2'000'000;
// Time-in-stage samples kept per stage for the median (mean uses all).
inline constexpr size_t kApiFunnelSamplesMax = 100'000;
// Timeline entries per page: default and ceiling.
inline constexpr int kApiTimelinePageDefault = 100;
inline constexpr int kApiTimelinePageMax = 1000;
// Longest wait for min_position, and concurrent waiting requests (beyond:
// 503 with Retry-After at once, so waiters cannot take every thread).
inline constexpr int kApiMinPositionWaitMsMax = 5000;
inline constexpr int kApiWaitersMax = 32;
// Seconds a 503 asks the client to wait (Retry-After).
inline constexpr int kApiRetryAfterSeconds = 1;
// Shards one min_position may name.
inline constexpr size_t kApiPositionShardsMax = 4096;
// Longest query parameter value and lead id in a path.
inline constexpr size_t kApiParamBytesMax = 1024;
// Largest request body (a definition, as text, with room for JSON framing).
inline constexpr size_t kApiRequestBodyBytesMax = kDefinitionBytesMax + 1024;
// Server threads (httplib pool) default and ceiling.
inline constexpr int kApiThreadsDefault = 8;
inline constexpr int kApiThreadsMax = 256;
// Latency histogram buckets, seconds (Prometheus `le`).
inline constexpr double kApiLatencyBucketsS[] = {0.0005, 0.001, 0.002, 0.005, 0.01,
                                                 0.025,  0.05,  0.1,   0.5,   1,    5};
// The CLI's API client (`--api URL`): how long it waits to connect, and for
// a response (above kApiMinPositionWaitMsMax and a report over a large
// projection).
inline constexpr int kApiClientConnectTimeoutS = 5;
inline constexpr int kApiClientReadTimeoutS = 60;
// Admin/read token files: largest accepted.
inline constexpr size_t kApiTokenBytesMax = 4096;

static_assert(kApiPageSizeDefault <= kApiPageSizeMax);
static_assert(kApiPageSizeMax <= kApiScanLeadsMax, "a page must fit in one scan budget");
static_assert(kApiTimelinePageDefault <= kApiTimelinePageMax);
static_assert(kApiThreadsDefault <= kApiThreadsMax);
static_assert(kApiWaitersMax < kApiThreadsMax);
static_assert(kApiClientReadTimeoutS * 1000 > kApiMinPositionWaitMsMax);
static_assert(kApiRequestBodyBytesMax > kDefinitionBytesMax,
              "a definition at its size limit must reach the validator");

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_API_LIMITS_H_
