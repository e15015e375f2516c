// Pure evaluation of the nurture building blocks shared by the flow engine:
// lead conditions, event matches, suppression, local times, the governance
// send gate and content streams (proto/leadlog/v1/flow.proto).
//
// Pure and deterministic: no clock (times are log time passed in), no I/O
// beyond loading tzdata once per zone name (cached per process, bounded).
// Thread-safe: free functions and immutable objects.
#ifndef LEADLOG_PROJECTIONS_FLOWS_CONDITIONS_H_
#define LEADLOG_PROJECTIONS_FLOWS_CONDITIONS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/flow.pb.h"
#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "leadlog/v1/record.pb.h"

namespace leadlog {

// The lead's score in points as conditions and triggers see it:
// (score.score_milli + score_adjustment_milli) / 1000.
double EffectiveScore(const v1::LeadState& lead);

// True when `record` is an event matching `match` (call, event name,
// predicates with ScoringPredicate semantics). `match` must be valid
// (ValidateEventMatch).
bool MatchesEvent(const v1::EventMatch& match, const v1::LogRecord& record);

// Evaluates `condition` on `lead` at log time `now_ms` (event windows look
// at lead.nurture().recent_events()). `condition` must be valid
// (ValidateCondition). When `why` is non-null it gets a short explanation:
// the first part that failed ("score 12.000 < 40 (score_min)"), or every
// part that held ("score 42.000 >= 40 holds; grade B >= C holds; stage known
// in [known, mql] holds"; "empty condition holds").
bool EvaluateCondition(const v1::LeadCondition& condition, const v1::LeadState& lead,
                       int64_t now_ms, std::string* why);

// The suppression reason that applies to `lead` ("unsubscribed",
// "disqualified", "stage customer", "email domain competitor.example",
// "listed"), or nullopt. `model` tells which stages are DISQUALIFIED (may be
// null: then only stages listed in `suppression.stages` count).
std::optional<std::string> SuppressionReason(const v1::Suppression& suppression,
                                             const v1::LeadState& lead,
                                             const v1::LifecycleModel* model);

// Validation helpers (errors start with `path`, e.g. "steps[3].wait.time:
// \"25:00\" is not HH:MM").
absl::Status ValidateEventMatch(const v1::EventMatch& match, absl::string_view path);
absl::Status ValidateCondition(const v1::LeadCondition& condition, absl::string_view path);

// "HH:MM" -> minutes after midnight (0..1439; "24:00" is not accepted).
absl::StatusOr<int> ParseTimeOfDay(absl::string_view text);
// "monday".."sunday" -> 1..7 (ISO), "" -> 0 (any day).
absl::StatusOr<int> ParseWeekday(absl::string_view text);

// The first instant strictly after `after_ms` that is at `minute_of_day` in
// IANA zone `time_zone` on ISO weekday `weekday` (0 = any day). A local time
// skipped by a DST gap maps to the instant the gap ends
// (absl::TimeZone::TimeInfo::trans: 02:30 on a 02:00->03:00 day is 03:00);
// a repeated local time maps to its first occurrence (TimeInfo::pre), and a
// local day yields at most one candidate. InvalidArgument for an unknown
// zone, a weekday outside 0..7, a minute outside 0..1439 or after_ms outside
// [0, kFlowTimeMsMax].
absl::StatusOr<int64_t> NextLocalTime(int64_t after_ms, int weekday, int minute_of_day,
                                      absl::string_view time_zone);

// Whether a send may happen now under the governance in force.
struct SendDecision {
  bool allowed = true;
  // When not allowed: the earliest log time at which Check allows it, all
  // reasons considered (the end of quiet hours, or when enough counted
  // sends left a cap window: a send at t counts while t > now - window_ms).
  int64_t retry_at_ms = 0;
  // "frequency cap email 3 per 604800000 ms", "quiet hours 21:00-08:00 Europe/Berlin".
  std::string why;
};

class SendGate {
 public:
  // Validates `governance` (ValidateGovernance).
  static absl::StatusOr<std::unique_ptr<SendGate>> Create(const v1::NurtureGovernance& governance);

  // Checks caps against nurture.sends() and quiet hours in `time_zone` (the
  // lead's; "" = the governance default, else UTC).
  SendDecision Check(const v1::NurtureLeadState& nurture, absl::string_view channel,
                     int64_t now_ms, absl::string_view time_zone) const;

  // Records a send and drops sends older than the longest cap window.
  void Record(v1::NurtureLeadState* nurture, absl::string_view channel, int64_t now_ms) const;

  const v1::NurtureGovernance& governance() const { return governance_; }

 private:
  explicit SendGate(v1::NurtureGovernance governance) : governance_(std::move(governance)) {}
  v1::NurtureGovernance governance_;
};

absl::Status ValidateGovernance(const v1::NurtureGovernance& governance);

// Marks `content_id` as sent (nurture.sent_content stays sorted, unique,
// bounded by kNurtureSentContentMax: when full, new ids are not added, so
// such a piece could be sent again).
void RecordSentContent(v1::NurtureLeadState* nurture, absl::string_view content_id);
bool WasSent(const v1::NurtureLeadState& nurture, absl::string_view content_id);

// The next piece of `stream` at or after `position` that the lead has not
// had and its index; when exhausted, content is nullopt and index is
// max(position, number of pieces).
struct StreamPick {
  std::optional<v1::StreamContent> content;
  uint32_t index = 0;
};
StreamPick NextStreamContent(const v1::ContentStream& stream, const v1::NurtureLeadState& nurture,
                             uint32_t position);

// Appends `record`'s event to nurture.recent_events (bounded by
// kNurtureRecentEventsMax, oldest dropped).
void RecordRecentEvent(const v1::LogRecord& record, v1::NurtureLeadState* nurture);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_FLOWS_CONDITIONS_H_
