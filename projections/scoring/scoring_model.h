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
#include "engine/limits.h"
#include "leadlog/v1/scoring.pb.h"

namespace leadlog {

// Bounds: engine/limits.h ("projections/scoring").

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
