// The rules of a valid leadlog.v1.Event, shared by the codec's decoder,
// validator and encoder: field tables (Segment names <-> Event fields), the
// error convention, and the validation steps. Internal to consumers/.
//
// Thread-safe: constants and pure functions.
//
//   absl::Status s = Invalid("userId", "required for alias");
//   // s.message() == "userId: required for alias"; payload "leadlog.dev/field" = "userId"
//   RETURN_IF_ERROR(CheckShape(event));
//   RETURN_IF_ERROR(ValidateSemantics(&event));
#ifndef LEADLOG_CONSUMERS_INTERNAL_EVENT_RULES_H_
#define LEADLOG_CONSUMERS_INTERNAL_EVENT_RULES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog::codec_internal {

// --- Errors. A codec error's message is "path: reason" ("message: reason"
// when the path is "", the message as a whole) and the path is also the
// Status payload under kFieldPayloadUrl (absent for "").
inline constexpr char kFieldPayloadUrl[] = "leadlog.dev/field";
absl::Status FieldError(absl::StatusCode code, absl::string_view path, absl::string_view reason);
// InvalidArgument FieldError.
absl::Status Invalid(absl::string_view path, absl::string_view reason);
// "path: expected <expected>, got <got>".
absl::Status WrongType(absl::string_view path, absl::string_view expected, absl::string_view got);
// A value as an error message shows it: JSON-quoted, cut after 64 bytes
// (then followed by "..."). `value` must be valid UTF-8.
std::string Quote(absl::string_view value);

// --- Call types.
struct CallTypeEntry {
  v1::CallType type;
  absl::string_view name;  // Segment's `type`
};
inline constexpr CallTypeEntry kCallTypes[] = {
    {v1::CALL_TYPE_TRACK, "track"}, {v1::CALL_TYPE_IDENTIFY, "identify"},
    {v1::CALL_TYPE_PAGE, "page"},   {v1::CALL_TYPE_ALIAS, "alias"},
    {v1::CALL_TYPE_GROUP, "group"}, {v1::CALL_TYPE_DEFINITION, "definition"},
    {v1::CALL_TYPE_ERASURE, "erasure"},
};
inline constexpr absl::string_view kCallTypesExpected =
    "expected one of track, identify, page, alias, group, definition, erasure";
// "track", ...; "" for UNSPECIFIED and unknown values.
absl::string_view CallTypeName(v1::CallType type);
// OK for the known call types; "type: required; ..." or
// "type: unknown call type 42; ..." otherwise.
absl::Status CheckCallType(v1::CallType type);

// --- Sales facts: the reserved track names and what each requires.
struct SalesFactSpec {
  v1::SalesFactKind kind;
  absl::string_view name;     // the track event name
  bool reason_required;       // properties.reason
  bool owner_required;        // properties.owner_id
  bool opportunity_required;  // properties.opportunity_id
};
inline constexpr SalesFactSpec kSalesFacts[] = {
    {v1::SALES_FACT_KIND_LEAD_ACCEPTED, "Lead Accepted", false, false, false},
    {v1::SALES_FACT_KIND_LEAD_REJECTED, "Lead Rejected", true, false, false},
    {v1::SALES_FACT_KIND_LEAD_CONTACTED, "Lead Contacted", false, false, false},
    {v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, "Lead Disqualified", true, false, false},
    {v1::SALES_FACT_KIND_OPPORTUNITY_CREATED, "Opportunity Created", false, false, true},
    {v1::SALES_FACT_KIND_OPPORTUNITY_WON, "Opportunity Won", false, false, true},
    {v1::SALES_FACT_KIND_OPPORTUNITY_LOST, "Opportunity Lost", true, false, true},
    {v1::SALES_FACT_KIND_OWNER_ASSIGNED, "Owner Assigned", false, true, false},
    {v1::SALES_FACT_KIND_RECORD_UPDATED, "Record Updated", false, false, false},
};
// nullptr when `track_name` is not reserved (names are case-sensitive).
const SalesFactSpec* FindSalesFact(absl::string_view track_name);

// --- Context: the Segment context keys an Event keeps.
struct ContextField {
  absl::string_view group;  // "" for top-level context keys, else "page"...
  absl::string_view key;    // key inside context or context.<group>
  absl::string_view path;   // "context.page.url"
  std::string* (v1::Context::*mutable_field)();
  const std::string& (v1::Context::*field)() const;
};
#define LEADLOG_CONTEXT_FIELD(group, key, path, name) \
  { group, key, path, &v1::Context::mutable_##name, &v1::Context::name }
inline constexpr ContextField kContextFields[] = {
    LEADLOG_CONTEXT_FIELD("", "ip", "context.ip", ip),
    LEADLOG_CONTEXT_FIELD("", "userAgent", "context.userAgent", user_agent),
    LEADLOG_CONTEXT_FIELD("", "locale", "context.locale", locale),
    LEADLOG_CONTEXT_FIELD("", "timezone", "context.timezone", timezone),
    LEADLOG_CONTEXT_FIELD("page", "url", "context.page.url", page_url),
    LEADLOG_CONTEXT_FIELD("page", "path", "context.page.path", page_path),
    LEADLOG_CONTEXT_FIELD("page", "referrer", "context.page.referrer", page_referrer),
    LEADLOG_CONTEXT_FIELD("page", "title", "context.page.title", page_title),
    LEADLOG_CONTEXT_FIELD("campaign", "name", "context.campaign.name", campaign_name),
    LEADLOG_CONTEXT_FIELD("campaign", "source", "context.campaign.source", campaign_source),
    LEADLOG_CONTEXT_FIELD("campaign", "medium", "context.campaign.medium", campaign_medium),
    LEADLOG_CONTEXT_FIELD("campaign", "term", "context.campaign.term", campaign_term),
    LEADLOG_CONTEXT_FIELD("campaign", "content", "context.campaign.content", campaign_content),
    LEADLOG_CONTEXT_FIELD("library", "name", "context.library.name", library_name),
    LEADLOG_CONTEXT_FIELD("library", "version", "context.library.version", library_version),
};
#undef LEADLOG_CONTEXT_FIELD
inline constexpr absl::string_view kContextGroups[] = {"page", "campaign", "library"};

// --- Validation. Error paths use the Segment JSON names ("messageId",
// "properties.reason") for events from either form.

// A definition event (type definition, `leadlog definitions publish`) is
// checked apart: messageId required and equal to
// DefinitionEventId(definition) (projections/definitions/definition.h); no
// userId, anonymousId, previousId, groupId, name, category, properties,
// traits or sales; the definition must pass ValidateDefinition, its errors
// named "definition.<kind>.<path>". Any other event must not carry a
// definition.
//
// What a well-formed, bounded event still has to satisfy: a known call type;
// messageId present; ids within kIdBytesMax; userId or anonymousId; alias
// needs userId and previousId, group needs groupId; track needs a name;
// names within kEventNameBytesMax; timestamps within RFC 3339 years. Then
// derives event->sales for reserved track names (merging a producer's own
// SalesFact into properties first) and refuses a SalesFact elsewhere.
absl::Status ValidateSemantics(v1::Event* event);

// What protobuf or code can hold but JSON cannot (so the event would not
// survive EncodeSegmentJson): invalid UTF-8 in any string or Struct key,
// non-finite numbers, Values without a kind, Struct nesting deeper than
// kJsonDepthMax (ResourceExhausted; the event object counts as depth 1),
// a definition that does not come back equal through the protobuf JSON
// mapping (e.g. a NaN operand).
absl::Status CheckShape(const v1::Event& event);

}  // namespace leadlog::codec_internal

#endif  // LEADLOG_CONSUMERS_INTERNAL_EVENT_RULES_H_
