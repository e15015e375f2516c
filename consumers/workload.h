// Workload: a deterministic generator of realistic B2B marketing traffic, a
// time-ordered stream of leadlog.v1.Event for `leadlog demo` and bench/.
//
// Thread-safety: a Workload is not thread-safe; use one per thread.
// Ownership: Next() fills a caller-owned Event (cleared first, so reusing one
// message avoids allocation). Nothing is durable: the stream lives in memory.
// Determinism: the stream is a pure function of WorkloadOptions. It uses its
// own PRNG (xoshiro256**) and its own log/exp built from IEEE-754 + - * /
// only (the library is compiled with -ffp-contract=off), so a seed gives the
// same events on every conforming machine. Byte-identical *serialization*
// additionally needs deterministic protobuf serialization, because
// properties and traits are protobuf maps whose iteration order is seeded
// per process.
//
//   WorkloadOptions options;
//   options.leads = 1'000'000;
//   options.events = 10'000'000;
//   ASSIGN_OR_RETURN(std::unique_ptr<Workload> workload, Workload::Create(options));
//   v1::Event event;
//   while (workload->Next(&event)) Publish(PartitionKeyOf(event), EncodeSegmentJson(event));
//
// The traffic model:
//   * Leads: `leads` people, each with an anonymous id ("anon-<16 hex>"),
//     and, once identified, a user id ("user-<n>"), a person (name, title)
//     and a company (account "acct-<n>", ~3 leads each) derived from the lead
//     index, so per-lead state is 4 bytes.
//   * Activity: each organic event picks a lead by a Zipf(zipf_s) draw over
//     activity ranks (rejection-inversion sampling: O(1), no table); ranks are
//     scattered over lead indexes by a seeded affine permutation.
//   * Marketing journey: anonymous page views, then a form ("Form
//     Submitted") followed seconds later by identify, the form's outcome
//     (content download, webinar registration, demo request) and, for some
//     leads, group and alias. Known leads read pages (more pricing, product
//     and docs the more engaged they are), open and click emails, attend
//     webinars, request demos, re-identify.
//   * Sales: an identified lead with enough activity (or a demo request)
//     moves through Owner Assigned → Lead Accepted | Lead Rejected →
//     Lead Contacted → Opportunity Created | Lead Disqualified →
//     Opportunity Won | Opportunity Lost, with recycling back to Owner
//     Assigned after a rejection, disqualification or loss; "Record Updated"
//     comes from CRM syncs. Next() fills Event.sales for sales facts.
//   * Ids: every event carries the lead's anonymous id, and its user id once
//     identified, even server-side ones (email, webinar platform, CRM) that in
//     reality would know only the user id: so PartitionKeyOf keeps a lead's
//     whole history in one partition. Browser events carry ip, userAgent,
//     locale and timezone; pages carry context.page and sometimes
//     context.campaign (utm).
//   * Time: organic events form a Poisson process whose rate follows a weekly
//     UTC profile (weekday business hours of Europe and the Americas are
//     busiest, nights and weekends quiet). Every event, follow-ups included,
//     pushes the next organic event on by one exponential gap of mean
//     duration_ms / events (in activity-weighted time), so the stream spans
//     about `duration_ms`. Follow-ups (identify after a form, ...) come
//     0.5–8 s after their cause. occurred_at_ms is non-decreasing from
//     start_time_ms, and the first event is at start_time_ms.
//
// Invariants: exactly `events` events; event ids (UUID-shaped, derived from
// the seed and the event's index) are unique within a stream; every event
// has context.library.name "leadlog-demo"; an identified lead's events carry
// its user id; sales facts only concern identified leads and follow the
// funnel order above.
#ifndef LEADLOG_CONSUMERS_WORKLOAD_H_
#define LEADLOG_CONSUMERS_WORKLOAD_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog {

// Most leads a workload simulates (4 bytes of state each).
inline constexpr uint32_t kWorkloadLeadsMax = 10'000'000;
// Largest accepted Zipf exponent; beyond it nearly all traffic is one lead.
inline constexpr double kWorkloadZipfSMax = 10.0;
// Longest simulated span (100 years), far from int64 overflow.
inline constexpr int64_t kWorkloadDurationMsMax = 100LL * 366 * 24 * 3600 * 1000;
// Latest accepted start: 2100-01-01T00:00:00Z.
inline constexpr int64_t kWorkloadStartTimeMsMax = 4'102'444'800'000;
// 2026-01-05T09:00:00Z, a Monday morning.
inline constexpr int64_t kWorkloadStartTimeMsDefault = 1'767'603'600'000;
// 30 days.
inline constexpr int64_t kWorkloadDurationMsDefault = 30LL * 24 * 3600 * 1000;

struct WorkloadOptions {
  // PRNG seed: same seed (and other options), same stream. Any value.
  uint64_t seed = 42;
  // Number of simulated people. In [1, kWorkloadLeadsMax]; default 1000.
  uint32_t leads = 1000;
  // Number of events Next() produces, follow-ups included. At least 1;
  // default 10000.
  uint64_t events = 10000;
  // Zipf exponent of activity over leads: the lead of activity rank k is
  // picked with probability ∝ k^-zipf_s. In (0, kWorkloadZipfSMax];
  // default 1.1 (the 1% most active of 1000 leads make ~45% of traffic).
  double zipf_s = 1.1;
  // occurred_at_ms of the first event, Unix epoch ms. In
  // [0, kWorkloadStartTimeMsMax]; default kWorkloadStartTimeMsDefault.
  int64_t start_time_ms = kWorkloadStartTimeMsDefault;
  // Simulated wall time the stream spans, ms: the mean gap between events is
  // duration_ms / events, stretched in quiet hours and compressed in busy
  // ones. In [1, kWorkloadDurationMsMax]; default 30 days.
  int64_t duration_ms = kWorkloadDurationMsDefault;
};

class Workload {
 public:
  // Validates `options`. InvalidArgument naming the option (e.g.
  // "WorkloadOptions.leads: must be in [1, 10000000], got 0") when one is out
  // of range. Allocates 4 bytes per lead; no per-lead strings.
  static absl::StatusOr<std::unique_ptr<Workload>> Create(const WorkloadOptions& options);

  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  // Clears *event and fills it with the next event. Returns false, leaving
  // *event cleared, once `options.events` events have been produced.
  bool Next(v1::Event* event);

  // Events produced so far, in [0, options.events].
  uint64_t produced() const;

  const WorkloadOptions& options() const;

 private:
  class Impl;
  explicit Workload(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_WORKLOAD_H_
