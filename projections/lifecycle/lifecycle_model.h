// Lifecycle stage models (v1::LifecycleModel): parsing from JSON or protobuf
// text format, validation with the path of the offending field, and the
// default demand-waterfall model of DESIGN.md §5.
//
// Thread-safe: free functions over values; no shared state. Arguments are
// borrowed for the duration of the call.
//
//   absl::StatusOr<v1::LifecycleModel> model = ParseLifecycleModel(file_text);
//   if (!model.ok()) return model.status();  // "transitions[3].to_stage: ..."
//   ASSIGN_OR_RETURN(auto lifecycle, Lifecycle::Create(*model));
//
// Model rules beyond the field comments in lifecycle.proto (checked by
// ValidateLifecycleModel):
//   - ids are [a-z0-9_]; stage ids and rule ids are each unique;
//   - a funnel stage never moves to an earlier funnel stage (backward moves go
//     through a recycled stage);
//   - every rule's from -> to move is an allowed transition, and engine rules
//     never target a stage that requires a reason;
//   - every stage is reachable from the initial stage.
#ifndef LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_MODEL_H_
#define LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_MODEL_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/limits.h"
#include "leadlog/v1/lifecycle.pb.h"

namespace leadlog {

// Bounds: engine/limits.h ("projections/lifecycle").
static_assert(kLifecycleStagesMax * kLifecycleNameBytesMax <= kLifecycleModelBytesMax,
              "a model of maximal stages must fit in a model file");
static_assert(kLifecycleCauseSequencesMax >= 1, "a cause always names its record");

// Checks `model` against the rules above and the bounds. Returns OK or
// InvalidArgument whose message starts with the field path, e.g.
// `transitions[3].to_stage: unknown stage "sq1"` or
// `stages[2].id: duplicate "mql"`; ResourceExhausted when a bound is exceeded.
absl::Status ValidateLifecycleModel(const v1::LifecycleModel& model);

// Parses a model from protobuf JSON (field names in snake_case or lowerCamel,
// enums by name) and validates it. InvalidArgument on syntax errors or
// unknown fields; ResourceExhausted beyond kLifecycleModelBytesMax.
absl::StatusOr<v1::LifecycleModel> ParseLifecycleModelJson(absl::string_view json);

// As ParseLifecycleModelJson, for protobuf text format.
absl::StatusOr<v1::LifecycleModel> ParseLifecycleModelText(absl::string_view text);

// JSON when the first non-blank character is '{', text format otherwise.
absl::StatusOr<v1::LifecycleModel> ParseLifecycleModel(absl::string_view text);

// The demand waterfall (id "demand_waterfall", version 1):
//   anonymous -> known -> mql -> sal -> sql -> opportunity -> customer,
// with detours "recycled" (reason required; re-enters at mql through the
// sales-ready rule) and "disqualified" (reason required; terminal). Rules:
//   identified:        any user_id, anonymous -> known            (engine)
//   sales_ready:       score >= 100 and grade >= B,
//                      known | recycled -> mql                    (engine)
//   lead_accepted:     mql -> sal                                 (sales)
//   lead_contacted:    sal | sql -> sql (no-op in sql)            (sales)
//   opportunity_created: sal | sql -> opportunity                 (sales)
//   opportunity_won:   any stage -> customer (allowed only from
//                      opportunity; elsewhere rejected)           (sales)
//   opportunity_lost:  opportunity -> recycled                    (sales)
//   lead_rejected:     mql | sal | sql -> recycled                (sales)
//   lead_disqualified: any stage -> disqualified                  (sales)
// examples/lifecycle_model.json holds the same model.
v1::LifecycleModel DefaultLifecycleModel();

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_LIFECYCLE_LIFECYCLE_MODEL_H_
