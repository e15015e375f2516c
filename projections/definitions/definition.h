// Definitions (DESIGN.md invariant 7): the envelope v1::Definition (one of a
// scoring model, a lifecycle model, an owner routing, a nurture flow or the
// nurture governance) as marketing ops write it in a file and as it travels
// in a definition event: parsing, validation of whichever kind it holds, its
// identity (kind, id, version) and the definition event that publishes it to
// every shard.
//
// Thread-safety: free functions over their arguments; no shared state. Pure:
// no I/O, no clock (the caller passes the event time).
//
//   ASSIGN_OR_RETURN(v1::Definition d, ParseDefinition(file_text));
//   v1::Event e = MakeDefinitionEvent(d, clock->NowMs());
//   // e.event_id() == "definition:owner_routing:default_routing:v3"
//
// Errors are InvalidArgument (ResourceExhausted for a size bound) whose
// message starts with the path of the offending field below the kind, e.g.
// `scoring_model.rules[2].where[0].op: unknown operator "like"`,
// `nurture_flow.steps[2].next: unknown step "foo"`.
#ifndef LEADLOG_PROJECTIONS_DEFINITIONS_DEFINITION_H_
#define LEADLOG_PROJECTIONS_DEFINITIONS_DEFINITION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/definition.pb.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog {

// Parses a definition file, then validates it (ValidateDefinition). Accepted:
//   - JSON (protobuf JSON mapping, unknown fields rejected) of the envelope:
//     {"scoring_model": {...}} | {"lifecycle_model": {...}} |
//     {"owner_routing": {...}} | {"nurture_flow": {...}} |
//     {"nurture_governance": {...}} (lowerCamel names too);
//   - JSON of a bare model, its kind told by keys only that kind has:
//     stages / initial_stage -> lifecycle model; queues / default_queue ->
//     owner routing; rules / decay / grade / total_cap -> scoring model;
//     steps / triggers / streams / entry_filter / suppression / goal /
//     exit_criteria / reenrollment / migration -> nurture flow; caps /
//     quiet_hours -> nurture governance; recycle_rules / recycle_policy /
//     rejection / slas / stale_record / calendar_id -> revenue rules;
//     windows / holidays / time_zone -> business calendar (examples/*.json and
//     examples/flows/*.json are bare models);
//   - protobuf text format of the envelope (`owner_routing { id: "..." }`).
// JSON is text whose first non-blank character is '{'. Errors:
// ResourceExhausted above kDefinitionBytesMax; InvalidArgument for syntax,
// an undecidable kind, or a failed validation. Flows and governance are
// bounded by kDefinitionBytesMax too (kFlowBytesMax is not larger:
// static_assert in definition.cc).
absl::StatusOr<v1::Definition> ParseDefinition(absl::string_view text);

// Validates the kind that is set with ValidateScoringModel /
// ValidateLifecycleModel / ValidateOwnerRouting / ValidateNurtureFlow
// (projections/flows/flow_engine.h) / ValidateGovernance
// (projections/flows/conditions.h); the error path is prefixed with the kind
// ("owner_routing.territories[1].queue: ...", "nurture_flow.steps[2].next:
// ..."). InvalidArgument "definition: no kind set" for an empty envelope,
// "<kind>.id: ..." for an empty id or one that makes DefinitionEventId
// longer than kIdBytesMax, "<kind>.version: ..." for version 0;
// ResourceExhausted when the serialized envelope exceeds kDefinitionBytesMax.
absl::Status ValidateDefinition(const v1::Definition& d);

// "scoring_model" | "lifecycle_model" | "owner_routing" | "nurture_flow" |
// "nurture_governance" | "revenue_rules" | "business_calendar"; "" when unset.
std::string DefinitionKind(const v1::Definition& d);
// The id and version of the kind that is set ("" and 0 when unset).
std::string DefinitionId(const v1::Definition& d);
uint32_t DefinitionVersion(const v1::Definition& d);

// "definition:<kind>:<id>:v<version>": the event id (dedup key) of the
// definition event, so publishing the same version twice is a duplicate.
// Within kIdBytesMax for every valid definition (ValidateDefinition checks
// it; static_assert in definition.cc for the kinds whose id is bounded).
std::string DefinitionEventId(const v1::Definition& d);

// The definition event: type CALL_TYPE_DEFINITION, event_id
// DefinitionEventId(d), occurred_at_ms, definition = d, and no identity (it
// belongs to no lead; it is in the log and dedup of every shard it is
// appended to, in no lead's index).
v1::Event MakeDefinitionEvent(const v1::Definition& d, int64_t occurred_at_ms);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_DEFINITIONS_DEFINITION_H_
