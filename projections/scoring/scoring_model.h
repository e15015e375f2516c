// Scoring model definitions: parsing (JSON or protobuf text format) and
// validation of a v1::ScoringModel (proto/leadlog/v1/scoring.proto).
//
// Thread-safe: free functions over their arguments; no shared state.
// Pure: no I/O, no clock.
//
//   absl::StatusOr<v1::ScoringModel> model = ParseScoringModel(file_text);
//   if (!model.ok()) return model.status();  // names the offending field
//   ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, Scorer::Create(*model));
//
// Validation errors are InvalidArgument (ResourceExhausted for a size limit)
// whose message starts with the path of the offending field, e.g.
// `rules[2].where[0].op: unknown operator "like"`.
#ifndef LEADLOG_PROJECTIONS_SCORING_SCORING_MODEL_H_
#define LEADLOG_PROJECTIONS_SCORING_SCORING_MODEL_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/scoring.pb.h"

namespace leadlog {

// --- projections/scoring limits (DESIGN.md invariant 10) ---
// Largest definition, as text (JSON / text format) and as serialized proto.
inline constexpr size_t kScoringModelBytesMax = 256 * 1024;
// Behaviour rules per model; fit rules per model.
inline constexpr int kScoringRulesMax = 1000;
inline constexpr int kScoringFitRulesMax = 1000;
// Predicates per rule (behaviour or fit).
inline constexpr int kScoringPredicatesPerRuleMax = 32;
// Operands of one `in` predicate.
inline constexpr int kScoringInValuesMax = 256;
// Longest model id, rule id, field path; longest string operand.
inline constexpr size_t kScoringIdBytesMax = 128;
inline constexpr size_t kScoringFieldBytesMax = 256;
inline constexpr size_t kScoringStringValueBytesMax = 1024;
// Largest |points| of one rule, and of a cap or grade band, in whole points.
inline constexpr int64_t kScoringPointsAbsMax = 1'000'000;
// Longest cap window and decay period, ms.
inline constexpr int64_t kScoringCapWindowMsMax = 366LL * 24 * 3600 * 1000;
inline constexpr int64_t kScoringDecayPeriodMsMax = 366LL * 24 * 3600 * 1000;
// Most awards one rule can hold in its cap window (cap points_max / |points|,
// rounded up); bounds ScoreState size.
inline constexpr int64_t kScoringCapAwardsMax = 1000;
// Most decay periods per half-life; bounds the steps decay takes to reach 0.
inline constexpr int64_t kScoringHalfLifePeriodsMax = 1000;
// Record sequences kept per rule in a breakdown (the count is kept apart).
inline constexpr int kScoringBreakdownSequencesMax = 16;

static_assert(kScoringPointsAbsMax * 1000 * kScoringRulesMax < (int64_t{1} << 62),
              "milli-point sums of all rules must not overflow int64");
static_assert(kScoringInValuesMax * kScoringStringValueBytesMax <= kScoringModelBytesMax);

// Parses a scoring model from JSON (protobuf JSON mapping; text starting with
// '{') or protobuf text format, then validates it. Errors: ResourceExhausted
// above kScoringModelBytesMax, InvalidArgument for syntax or a failed
// validation (message names the field).
absl::StatusOr<v1::ScoringModel> ParseScoringModel(absl::string_view text);

// Checks every rule of `model` (ids, calls, fields, operators, operands,
// caps, decay, grade bands, limits). OK or InvalidArgument/ResourceExhausted
// naming the first offending field's path.
absl::Status ValidateScoringModel(const v1::ScoringModel& model);

// Operators of ScoringPredicate.op. Persisted in definitions: do not rename.
enum class ScoringOp { kEquals, kIn, kPrefix, kContains, kGt, kGte, kLt, kLte, kExists };

// Maps "equals", "in", ... to ScoringOp; false for an unknown name.
bool ParseScoringOp(absl::string_view name, ScoringOp* op);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_SCORING_SCORING_MODEL_H_
