// ExplainLead: renders one lead's state as the plain text of
// `leadlog leads why ID`: its identity and merges, its lifecycle stage and
// how it got there (transitions newest first with time, actor, rule,
// definition version, reason and the causing records), rejected
// transitions and why, the score with every rule's breakdown, the grade
// with the fit rules that hold and the traits they read, and the owner with
// how it was chosen.
//
// Pure and deterministic: the text depends only on the arguments (times in
// RFC 3339 UTC with milliseconds, maps rendered with sorted keys, no
// locale). Thread-safe if `record_at` is. Arguments are borrowed for the
// call. The output is bounded by the state's own bounds (history,
// breakdown sequences, ...) times one line each.
//
//   std::string text = ExplainLead(found->state, [&](uint64_t seq) {
//     return ReadRecordOrNullopt(shard, Sequence(seq));  // the caller's log reader
//   });
//   std::cout << text;
#ifndef LEADLOG_PROJECTIONS_LEAD_EXPLAIN_H_
#define LEADLOG_PROJECTIONS_LEAD_EXPLAIN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/record.pb.h"
#include "leadlog/v1/scoring.pb.h"

namespace leadlog {

// Looks up the log record at a sequence of the lead's shard; nullopt when it
// is not readable (erased, or outside what the caller can read). Records are
// rendered "#<seq> <time> <call> <event name>"; a missing one as
// "#<seq> (record not available)".
using RecordLookup = std::function<std::optional<v1::LogRecord>(uint64_t sequence)>;

std::string ExplainLead(const v1::LeadState& lead, const RecordLookup& record_at);

// As above; when `scoring_model` is non-null and is the model (id and
// version) of lead.score, each fit rule that holds also names the traits it
// reads. Without it the traits are listed once for all fit rules.
std::string ExplainLead(const v1::LeadState& lead, const RecordLookup& record_at,
                        const v1::ScoringModel* scoring_model);

// Milli-points as points with up to 3 decimals, trailing zeros trimmed:
// 42500 -> "42.5", -1 -> "-0.001", 7000 -> "7". Exposed for tests.
std::string FormatPointsMilli(int64_t milli);

// Unix epoch ms as RFC 3339 UTC with milliseconds:
// "2026-01-01T00:00:00.000Z". Exposed for tests.
std::string FormatLogTimeMs(int64_t ms);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LEAD_EXPLAIN_H_
