// Definition design note.
//
// A bare model's kind is told from its top-level JSON keys: the text is
// parsed once as a google.protobuf.Struct (any JSON object parses) only to
// read the keys, then again as the message of that kind with unknown fields
// rejected, so the error for a misspelt field is protobuf's own.
#include "projections/definitions/definition.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/calendar/business_calendar.h"
#include "projections/definition_text.h"
#include "projections/definitions/owner_routing.h"
#include "projections/flows/conditions.h"
#include "projections/flows/flow_engine.h"
#include "projections/lifecycle/lifecycle_model.h"
#include "projections/revenue/revenue_engine.h"
#include "projections/scoring/scoring_model.h"

namespace leadlog {
namespace {

// Nurture flow ids are [a-z0-9_], 1..64 bytes (flow.proto, enforced by
// ValidateNurtureFlow); governance ids have no bound of their own, so
// ValidateDefinition checks the event id of every kind at run time too.
constexpr size_t kFlowIdBytesMax = 64;

// "definition:" + the longest kind ("nurture_governance") + ":" + the
// longest bounded id + ":v" + uint32.
constexpr size_t kDefinitionEventIdBytesMax =
    11 + 18 + 1 +
    std::max({kScoringIdBytesMax, kLifecycleIdBytesMax, kRoutingIdBytesMax, kFlowIdBytesMax,
              kRevenueIdBytesMax, kCalendarIdBytesMax}) + 2 +
    10;
static_assert(kDefinitionEventIdBytesMax <= kIdBytesMax,
              "a definition event id must be a valid event id");
// A flow or governance file is read under the envelope's bound, so the
// flow bound must not be the larger one.
static_assert(kFlowBytesMax <= kDefinitionBytesMax,
              "a flow of kFlowBytesMax must fit in a definition");

struct KindKeys {
  v1::Definition::KindCase kind;
  absl::string_view name;
  // Top-level keys only this kind's model has, in both JSON spellings.
  std::vector<absl::string_view> keys;
};

const std::vector<KindKeys>& Kinds() {
  static const auto* kinds = new std::vector<KindKeys>{
      {v1::Definition::kScoringModel,
       "scoring_model",
       {"rules", "decay", "grade", "total_cap", "totalCap"}},
      {v1::Definition::kLifecycleModel,
       "lifecycle_model",
       {"stages", "initial_stage", "initialStage", "transitions", "identify", "sales_ready",
        "salesReady", "sales_facts", "salesFacts"}},
      {v1::Definition::kOwnerRouting,
       "owner_routing",
       {"queues", "default_queue", "defaultQueue", "territories"}},
      {v1::Definition::kNurtureFlow,
       "nurture_flow",
       {"steps", "triggers", "streams", "entry_filter", "entryFilter", "suppression", "goal",
        "exit_criteria", "exitCriteria", "reenrollment", "migration"}},
      {v1::Definition::kNurtureGovernance,
       "nurture_governance",
       {"caps", "quiet_hours", "quietHours"}},
      {v1::Definition::kRevenueRules,
       "revenue_rules",
       {"recycle_rules", "recycleRules", "recycle_policy", "recyclePolicy", "rejection", "slas",
        "stale_record", "staleRecord", "calendar_id", "calendarId"}},
      {v1::Definition::kBusinessCalendar,
       "business_calendar",
       {"windows", "holidays", "time_zone", "timeZone"}},
  };
  return *kinds;
}

constexpr absl::string_view kEnvelopeKeys[] = {
    "scoring_model", "scoringModel", "lifecycle_model", "lifecycleModel",     "owner_routing",
    "ownerRouting",  "nurture_flow", "nurtureFlow",     "nurture_governance", "nurtureGovernance",
    "revenue_rules", "revenueRules", "business_calendar", "businessCalendar"};

// The kind of a bare model from its keys; InvalidArgument when none or
// several kinds' keys are present.
absl::StatusOr<v1::Definition::KindCase> BareKind(const google::protobuf::Struct& object) {
  std::vector<std::string> found;  // "lifecycle_model (stages)"
  v1::Definition::KindCase kind = v1::Definition::KIND_NOT_SET;
  for (const KindKeys& k : Kinds()) {
    for (absl::string_view key : k.keys) {
      if (object.fields().count(std::string(key)) == 0) continue;
      found.push_back(absl::StrCat(k.name, " (", key, ")"));
      kind = k.kind;
      break;
    }
  }
  if (found.size() == 1) return kind;
  if (found.empty()) {
    return absl::InvalidArgumentError(
        "definition: cannot tell the kind; wrap the model as {\"scoring_model\": {...}}, "
        "{\"lifecycle_model\": {...}}, {\"owner_routing\": {...}}, {\"nurture_flow\": {...}}, "
        "{\"nurture_governance\": {...}}, {\"revenue_rules\": {...}} or "
        "{\"business_calendar\": {...}}");
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "definition: keys of several kinds: ", absl::StrJoin(found, ", "), "; wrap the model"));
}

absl::Status ParseJson(absl::string_view text, v1::Definition* d) {
  google::protobuf::Struct object;
  const std::string input(text);
  if (!google::protobuf::util::JsonStringToMessage(input, &object).ok()) {
    // Not an object we can read keys from: let the envelope parser say why.
    return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax, "definition", d);
  }
  for (absl::string_view key : kEnvelopeKeys) {
    if (object.fields().count(std::string(key)) > 0) {
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax, "definition",
                                 d);
    }
  }
  ASSIGN_OR_RETURN(v1::Definition::KindCase kind, BareKind(object));
  switch (kind) {
    case v1::Definition::kScoringModel:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "scoring model", d->mutable_scoring_model());
    case v1::Definition::kLifecycleModel:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "lifecycle model", d->mutable_lifecycle_model());
    case v1::Definition::kOwnerRouting:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "owner routing", d->mutable_owner_routing());
    case v1::Definition::kNurtureFlow:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax, "nurture flow",
                                 d->mutable_nurture_flow());
    case v1::Definition::kNurtureGovernance:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "nurture governance", d->mutable_nurture_governance());
    case v1::Definition::kRevenueRules:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "revenue rules", d->mutable_revenue_rules());
    case v1::Definition::kBusinessCalendar:
      return ParseDefinitionText(text, DefinitionSyntax::kJson, kDefinitionBytesMax,
                                 "business calendar", d->mutable_business_calendar());
    case v1::Definition::KIND_NOT_SET:
      break;
  }
  return absl::InternalError("definition: no kind after detection");
}

// "kind.path: reason" when the message starts with a field path
// (`steps[2].next`, `migration.step_map["a b"]`: anything goes inside
// brackets), else "kind: message".
absl::Status Prefixed(absl::string_view kind, const absl::Status& status) {
  if (status.ok()) return status;
  const absl::string_view message = status.message();
  size_t n = 0;
  bool in_brackets = false;
  for (; n < message.size(); ++n) {
    const char c = message[n];
    if (in_brackets) {
      in_brackets = c != ']';
    } else if (c == '[') {
      in_brackets = true;
    } else if (!absl::ascii_isalnum(c) && c != '_' && c != '.') {
      break;
    }
  }
  const bool path = n > 0 && n < message.size() && message[n] == ':';
  return absl::Status(status.code(), absl::StrCat(kind, path ? "." : ": ", message));
}

// The kind's own validation, its error path prefixed with the kind.
absl::Status ValidateKind(const v1::Definition& d) {
  switch (d.kind_case()) {
    case v1::Definition::kScoringModel:
      return Prefixed("scoring_model", ValidateScoringModel(d.scoring_model()));
    case v1::Definition::kLifecycleModel:
      return Prefixed("lifecycle_model", ValidateLifecycleModel(d.lifecycle_model()));
    case v1::Definition::kOwnerRouting:
      return Prefixed("owner_routing", ValidateOwnerRouting(d.owner_routing()));
    case v1::Definition::kNurtureFlow:
      return Prefixed("nurture_flow", ValidateNurtureFlow(d.nurture_flow()));
    case v1::Definition::kNurtureGovernance:
      return Prefixed("nurture_governance", ValidateGovernance(d.nurture_governance()));
    case v1::Definition::kRevenueRules:
      return Prefixed("revenue_rules", ValidateRevenueOpsRules(d.revenue_rules()));
    case v1::Definition::kBusinessCalendar:
      return Prefixed("business_calendar", ValidateBusinessCalendar(d.business_calendar()));
    case v1::Definition::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("definition: no kind set");
}

}  // namespace

absl::StatusOr<v1::Definition> ParseDefinition(absl::string_view text) {
  if (text.size() > kDefinitionBytesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("definition: ", text.size(), " bytes, at most ", kDefinitionBytesMax));
  }
  v1::Definition d;
  const absl::string_view body = absl::StripLeadingAsciiWhitespace(text);
  if (!body.empty() && body.front() == '{') {
    RETURN_IF_ERROR(ParseJson(text, &d));
  } else {
    RETURN_IF_ERROR(
        ParseDefinitionText(text, DefinitionSyntax::kText, kDefinitionBytesMax, "definition", &d));
  }
  RETURN_IF_ERROR(ValidateDefinition(d));
  return d;
}

absl::Status ValidateDefinition(const v1::Definition& d) {
  if (d.ByteSizeLong() > kDefinitionBytesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("definition: ", d.ByteSizeLong(), " bytes, at most ", kDefinitionBytesMax));
  }
  RETURN_IF_ERROR(ValidateKind(d));
  // The identity every kind needs for its event id and version in force,
  // checked here too for kinds whose own validation leaves it out.
  if (DefinitionId(d).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(DefinitionKind(d), ".id: required"));
  }
  if (DefinitionVersion(d) < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(DefinitionKind(d), ".version: 0: versions start at 1"));
  }
  const std::string event_id = DefinitionEventId(d);
  if (event_id.size() > kIdBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        DefinitionKind(d), ".id: ", DefinitionId(d).size(), " bytes make the definition event id ",
        event_id.size(), " bytes, at most ", kIdBytesMax));
  }
  return absl::OkStatus();
}

std::string DefinitionKind(const v1::Definition& d) {
  for (const KindKeys& k : Kinds()) {
    if (k.kind == d.kind_case()) return std::string(k.name);
  }
  return "";
}

std::string DefinitionId(const v1::Definition& d) {
  switch (d.kind_case()) {
    case v1::Definition::kScoringModel:
      return d.scoring_model().id();
    case v1::Definition::kLifecycleModel:
      return d.lifecycle_model().id();
    case v1::Definition::kOwnerRouting:
      return d.owner_routing().id();
    case v1::Definition::kNurtureFlow:
      return d.nurture_flow().id();
    case v1::Definition::kNurtureGovernance:
      return d.nurture_governance().id();
    case v1::Definition::kRevenueRules:
      return d.revenue_rules().id();
    case v1::Definition::kBusinessCalendar:
      return d.business_calendar().id();
    case v1::Definition::KIND_NOT_SET:
      break;
  }
  return "";
}

uint32_t DefinitionVersion(const v1::Definition& d) {
  switch (d.kind_case()) {
    case v1::Definition::kScoringModel:
      return d.scoring_model().version();
    case v1::Definition::kLifecycleModel:
      return d.lifecycle_model().version();
    case v1::Definition::kOwnerRouting:
      return d.owner_routing().version();
    case v1::Definition::kNurtureFlow:
      return d.nurture_flow().version();
    case v1::Definition::kNurtureGovernance:
      return d.nurture_governance().version();
    case v1::Definition::kRevenueRules:
      return d.revenue_rules().version();
    case v1::Definition::kBusinessCalendar:
      return d.business_calendar().version();
    case v1::Definition::KIND_NOT_SET:
      break;
  }
  return 0;
}

std::string DefinitionEventId(const v1::Definition& d) {
  return absl::StrCat("definition:", DefinitionKind(d), ":", DefinitionId(d), ":v",
                      DefinitionVersion(d));
}

v1::Event MakeDefinitionEvent(const v1::Definition& d, int64_t occurred_at_ms) {
  v1::Event event;
  event.set_type(v1::CALL_TYPE_DEFINITION);
  event.set_event_id(DefinitionEventId(d));
  event.set_occurred_at_ms(occurred_at_ms);
  *event.mutable_definition() = d;
  return event;
}

}  // namespace leadlog
