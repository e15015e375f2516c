#include "consumers/internal/event_rules.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "consumers/internal/json.h"
#include "consumers/internal/rfc3339.h"
#include "engine/limits.h"
#include "engine/redaction.h"
#include "engine/status_macros.h"
#include "projections/definitions/definition.h"

namespace leadlog::codec_internal {
namespace {

using google::protobuf::Struct;
using ProtoValue = google::protobuf::Value;

// How much of an offending value an error message quotes.
constexpr size_t kQuotedValueBytesMax = 64;

absl::string_view KindName(const ProtoValue& value) {
  switch (value.kind_case()) {
    case ProtoValue::kNullValue:
      return "null";
    case ProtoValue::kBoolValue:
      return "boolean";
    case ProtoValue::kNumberValue:
      return "number";
    case ProtoValue::kStringValue:
      return "string";
    case ProtoValue::kStructValue:
      return "object";
    case ProtoValue::kListValue:
      return "array";
    case ProtoValue::KIND_NOT_SET:
      break;
  }
  return "a value with no kind";
}

// The string properties of a sales fact (amount, a number, is separate).
struct SalesStringProperty {
  absl::string_view key;
  absl::string_view path;
  std::string* (v1::SalesFact::*mutable_field)();
  const std::string& (v1::SalesFact::*field)() const;
};
constexpr SalesStringProperty kSalesStrings[] = {
    {"reason", "properties.reason", &v1::SalesFact::mutable_reason, &v1::SalesFact::reason},
    {"owner_id", "properties.owner_id", &v1::SalesFact::mutable_owner_id, &v1::SalesFact::owner_id},
    {"opportunity_id", "properties.opportunity_id", &v1::SalesFact::mutable_opportunity_id,
     &v1::SalesFact::opportunity_id},
    {"currency", "properties.currency", &v1::SalesFact::mutable_currency, &v1::SalesFact::currency},
    {"channel", "properties.channel", &v1::SalesFact::mutable_channel, &v1::SalesFact::channel},
    {"crm_record_id", "properties.crm_record_id", &v1::SalesFact::mutable_crm_record_id,
     &v1::SalesFact::crm_record_id},
};

bool Required(const SalesFactSpec& spec, absl::string_view key) {
  return (key == "reason" && spec.reason_required) || (key == "owner_id" && spec.owner_required) ||
         (key == "opportunity_id" && spec.opportunity_required);
}

// The top-level string fields of an Event other than the name.
struct EventStringField {
  absl::string_view path;
  const std::string& (v1::Event::*field)() const;
};
constexpr EventStringField kEventStrings[] = {
    {"messageId", &v1::Event::event_id}, {"anonymousId", &v1::Event::anonymous_id},
    {"userId", &v1::Event::user_id},     {"previousId", &v1::Event::previous_id},
    {"groupId", &v1::Event::group_id},   {"category", &v1::Event::category},
};

absl::Status CheckLength(absl::string_view path, const std::string& value, size_t max) {
  if (value.size() <= max) return absl::OkStatus();
  return Invalid(path, absl::StrCat(value.size(), " bytes exceeds the limit of ", max));
}

absl::Status ValidateIds(const v1::Event& event) {
  if (event.event_id().empty()) return Invalid("messageId", "required");
  for (const EventStringField& field : kEventStrings) {
    if (field.path == "category") continue;
    RETURN_IF_ERROR(CheckLength(field.path, (event.*field.field)(), kIdBytesMax));
  }
  if (event.user_id().empty() && event.anonymous_id().empty()) {
    return Invalid("userId", "one of userId or anonymousId is required");
  }
  if (event.type() == v1::CALL_TYPE_ALIAS) {
    if (event.user_id().empty()) return Invalid("userId", "required for alias");
    if (event.previous_id().empty()) return Invalid("previousId", "required for alias");
  }
  if (event.type() == v1::CALL_TYPE_GROUP && event.group_id().empty()) {
    return Invalid("groupId", "required for group");
  }
  return absl::OkStatus();
}

absl::Status ValidateName(const v1::Event& event) {
  const bool track = event.type() == v1::CALL_TYPE_TRACK;
  const absl::string_view path = track ? "event" : "name";
  if (track && event.name().empty()) return Invalid(path, "required for track");
  return CheckLength(path, event.name(), kEventNameBytesMax);
}

absl::Status CheckTimestampRange(absl::string_view path, int64_t ms) {
  if (ms >= kRfc3339MsMin && ms <= kRfc3339MsMax) return absl::OkStatus();
  return Invalid(path, absl::StrCat(ms, " ms is outside the years 0000 to 9999"));
}

absl::Status ValidateTimestamps(const v1::Event& event) {
  RETURN_IF_ERROR(CheckTimestampRange("timestamp", event.occurred_at_ms()));
  RETURN_IF_ERROR(CheckTimestampRange("originalTimestamp", event.original_timestamp_ms()));
  return CheckTimestampRange("sentAt", event.sent_at_ms());
}

bool SameScalar(const ProtoValue& a, const ProtoValue& b) {
  if (a.kind_case() != b.kind_case()) return false;
  if (a.kind_case() == ProtoValue::kStringValue) return a.string_value() == b.string_value();
  return a.kind_case() == ProtoValue::kNumberValue && a.number_value() == b.number_value();
}

// Sets properties[key] = value unless it is already there; disagreement is
// an error.
absl::Status MergeProperty(absl::string_view key, const ProtoValue& value, v1::Event* event) {
  auto* fields = event->mutable_properties()->mutable_fields();
  auto [it, inserted] = fields->try_emplace(std::string(key));
  if (inserted || it->second.kind_case() == ProtoValue::kNullValue) {
    it->second = value;
    return absl::OkStatus();
  }
  if (SameScalar(it->second, value)) return absl::OkStatus();
  return Invalid(absl::StrCat("sales.", key), absl::StrCat("disagrees with properties.", key));
}

// A producer's typed SalesFact (protobuf form) joins the properties, which
// are the canonical form of a sales fact.
absl::Status MergeSalesIntoProperties(const SalesFactSpec& spec, v1::Event* event) {
  const v1::SalesFact sales = event->sales();
  if (sales.kind() != v1::SALES_FACT_KIND_UNSPECIFIED && sales.kind() != spec.kind) {
    return Invalid("sales.kind", absl::StrCat("kind ", static_cast<int>(sales.kind()),
                                              " does not match event \"", spec.name, "\""));
  }
  if (!std::isfinite(sales.amount())) return Invalid("sales.amount", "not a finite number");
  ProtoValue value;
  for (const SalesStringProperty& property : kSalesStrings) {
    const std::string& text = (sales.*property.field)();
    if (text.empty()) continue;
    value.set_string_value(text);
    RETURN_IF_ERROR(MergeProperty(property.key, value, event));
  }
  if (sales.amount() != 0) {
    value.set_number_value(sales.amount());
    RETURN_IF_ERROR(MergeProperty("amount", value, event));
  }
  return absl::OkStatus();
}

absl::Status ReadSalesProperties(const SalesFactSpec& spec, const Struct& properties,
                                 v1::SalesFact* sales) {
  const auto& fields = properties.fields();
  for (const SalesStringProperty& property : kSalesStrings) {
    const auto it = fields.find(std::string(property.key));
    const bool absent = it == fields.end() || it->second.kind_case() == ProtoValue::kNullValue;
    if (!absent && it->second.kind_case() != ProtoValue::kStringValue) {
      return WrongType(property.path, "string", KindName(it->second));
    }
    if (absent || it->second.string_value().empty()) {
      if (Required(spec, property.key)) {
        return Invalid(property.path, absl::StrCat("required for sales fact \"", spec.name, "\""));
      }
      continue;
    }
    *(sales->*property.mutable_field)() = it->second.string_value();
  }
  const auto amount = fields.find("amount");
  if (amount == fields.end() || amount->second.kind_case() == ProtoValue::kNullValue) {
    return absl::OkStatus();
  }
  if (amount->second.kind_case() != ProtoValue::kNumberValue) {
    return WrongType("properties.amount", "number", KindName(amount->second));
  }
  sales->set_amount(amount->second.number_value());
  return absl::OkStatus();
}

// Fills event->sales when the event is a sales fact; refuses a SalesFact on
// any other event.
absl::Status FillSales(v1::Event* event) {
  const SalesFactSpec* spec =
      event->type() == v1::CALL_TYPE_TRACK ? FindSalesFact(event->name()) : nullptr;
  if (spec == nullptr) {
    if (!event->has_sales()) return absl::OkStatus();
    return Invalid("sales", "set on an event that is not a sales fact");
  }
  if (event->user_id().empty()) {
    return Invalid("userId", absl::StrCat("required for sales fact \"", spec->name, "\""));
  }
  if (event->has_sales()) RETURN_IF_ERROR(MergeSalesIntoProperties(*spec, event));
  v1::SalesFact* sales = event->mutable_sales();
  sales->Clear();
  sales->set_kind(spec->kind);
  return ReadSalesProperties(*spec, event->properties(), sales);
}

// A ValidateDefinition error ("scoring_model.rules[2].op: reason" or
// "definition: reason") as a codec error on "definition.<path>".
absl::Status DefinitionFieldError(const absl::Status& status) {
  absl::string_view message = status.message();
  size_t n = 0;
  while (n < message.size() && (absl::ascii_isalnum(message[n]) || message[n] == '_' ||
                                message[n] == '.' || message[n] == '[' || message[n] == ']')) {
    ++n;
  }
  if (n == 0 || !absl::StartsWith(message.substr(n), ": ")) {
    return FieldError(status.code(), "definition", message);
  }
  const absl::string_view path = message.substr(0, n);
  return FieldError(
      status.code(),
      path == "definition" ? std::string("definition") : absl::StrCat("definition.", path),
      message.substr(n + 2));
}

// A definition must come back equal from its JSON form (EncodeSegmentJson
// writes it so). The printer accepts what the parser refuses or changes,
// e.g. a NaN operand is printed as the string "NaN", so check the round trip.
absl::Status CheckDefinitionShape(const v1::Definition& definition) {
  std::string json;
  v1::Definition back;
  if (google::protobuf::util::MessageToJsonString(definition, &json).ok() &&
      google::protobuf::util::JsonStringToMessage(json, &back).ok() &&
      google::protobuf::util::MessageDifferencer::Equals(definition, back)) {
    return absl::OkStatus();
  }
  return Invalid("definition",
                 "cannot be written as JSON and read back equal (a number that is not finite?)");
}

// The fields of an event about a lead, which a definition or erasure event
// (`what`: "a definition", "an erasure") leaves empty.
absl::Status CheckNoLeadFields(const v1::Event& event, absl::string_view what = "a definition") {
  const std::string why = absl::StrCat("not allowed on ", what, " event");
  for (const EventStringField& field : kEventStrings) {
    if (field.path != "messageId" && !(event.*field.field)().empty()) {
      return Invalid(field.path, why);
    }
  }
  if (!event.name().empty()) return Invalid("name", why);
  if (event.has_properties()) return Invalid("properties", why);
  if (event.has_traits()) return Invalid("traits", why);
  if (event.has_sales()) return Invalid("sales", why);
  return absl::OkStatus();
}

absl::Status ValidateErasureEvent(const v1::Event& event) {
  if (event.event_id().empty()) return Invalid("messageId", "required");
  RETURN_IF_ERROR(CheckLength("messageId", event.event_id(), kIdBytesMax));
  RETURN_IF_ERROR(CheckNoLeadFields(event, "an erasure"));
  if (event.has_definition()) return Invalid("definition", "not allowed on an erasure event");
  RETURN_IF_ERROR(ValidateTimestamps(event));
  if (!event.has_erasure()) {
    return Invalid("erasure", "required for an erasure event (protobuf form only)");
  }
  const v1::Erasure& erasure = event.erasure();
  if (erasure.lead_keys().empty()) return Invalid("erasure.lead_keys", "at least one required");
  if (erasure.lead_keys_size() > kLeadIdentifiersMax) {
    return Invalid("erasure.lead_keys", absl::StrCat(erasure.lead_keys_size(),
                                                     " keys exceed kLeadIdentifiersMax (",
                                                     kLeadIdentifiersMax, ")"));
  }
  for (const std::string& key : erasure.lead_keys()) {
    if ((!absl::StartsWith(key, "u:") && !absl::StartsWith(key, "a:")) || key.size() < 3 ||
        key.size() > kIdBytesMax + 2 || !json::IsValidUtf8(key)) {
      return Invalid("erasure.lead_keys",
                     absl::StrCat("expected \"u:<userId>\" or \"a:<anonymousId>\" of at most ",
                                  kIdBytesMax, " id bytes, got ", Quote(key.substr(0, 64))));
    }
  }
  if (erasure.request_id().empty()) return Invalid("erasure.request_id", "required");
  RETURN_IF_ERROR(CheckLength("erasure.request_id", erasure.request_id(), kErasureRequestIdBytesMax));
  if (erasure.reason().empty()) return Invalid("erasure.reason", "required");
  RETURN_IF_ERROR(CheckLength("erasure.reason", erasure.reason(), kErasureReasonBytesMax));
  RETURN_IF_ERROR(CheckLength("erasure.requested_id", erasure.requested_id(), kIdBytesMax));
  if (!json::IsValidUtf8(erasure.reason()) || !json::IsValidUtf8(erasure.request_id()) ||
      !json::IsValidUtf8(erasure.requested_id())) {
    return Invalid("erasure", "invalid UTF-8");
  }
  const std::string want = ErasureEventId(erasure.request_id());
  if (event.event_id() != want) {
    return Invalid("messageId", absl::StrCat("an erasure event's id must be ", Quote(want),
                                             " (erasure:<request_id>), got ",
                                             Quote(event.event_id())));
  }
  return absl::OkStatus();
}

absl::Status ValidateDefinitionEvent(const v1::Event& event) {
  if (event.event_id().empty()) return Invalid("messageId", "required");
  RETURN_IF_ERROR(CheckLength("messageId", event.event_id(), kIdBytesMax));
  RETURN_IF_ERROR(CheckNoLeadFields(event));
  RETURN_IF_ERROR(ValidateTimestamps(event));
  if (!event.has_definition()) return Invalid("definition", "required for a definition event");
  if (absl::Status s = ValidateDefinition(event.definition()); !s.ok()) {
    return DefinitionFieldError(s);
  }
  const std::string want = DefinitionEventId(event.definition());
  if (event.event_id() != want) {
    return Invalid("messageId", absl::StrCat("a definition event's id must be ", Quote(want),
                                             " (definition:<kind>:<id>:v<version>), got ",
                                             Quote(event.event_id())));
  }
  return absl::OkStatus();
}

// Checks a Struct for what JSON cannot hold or our limits forbid. Map order
// is unspecified, so a failed check is repeated with sorted keys to name the
// same field every time.
class StructChecker {
 public:
  explicit StructChecker(bool sorted) : sorted_(sorted) {}

  // `depth`: nesting of `object` counting the event object as 1.
  bool CheckStruct(const Struct& object, int depth) {
    if (depth > kJsonDepthMax) return TooDeep();
    using Entry = google::protobuf::MapPair<std::string, ProtoValue>;
    std::vector<const Entry*> entries;
    if (sorted_) {
      for (const Entry& entry : object.fields()) entries.push_back(&entry);
      std::sort(entries.begin(), entries.end(),
                [](const Entry* a, const Entry* b) { return a->first < b->first; });
    }
    auto check = [&](const Entry& entry) {
      if (!json::IsValidUtf8(entry.first)) return Fail("invalid UTF-8 in object key");
      if (CheckValue(entry.second, depth)) return true;
      segments_.push_back(json::PathSegment{entry.first, -1});
      return false;
    };
    if (sorted_)
      return std::all_of(entries.begin(), entries.end(), [&](auto* e) { return check(*e); });
    return std::all_of(object.fields().begin(), object.fields().end(), check);
  }

  absl::Status ToStatus(absl::string_view root) const {
    std::vector<json::PathSegment> path = {json::PathSegment{root, -1}};
    path.insert(path.end(), segments_.rbegin(), segments_.rend());
    return FieldError(
        too_deep_ ? absl::StatusCode::kResourceExhausted : absl::StatusCode::kInvalidArgument,
        json::FormatPath(path), reason_);
  }

 private:
  bool Fail(absl::string_view reason) {
    reason_ = std::string(reason);
    return false;
  }
  bool TooDeep() {
    too_deep_ = true;
    return Fail(absl::StrCat("nesting deeper than ", kJsonDepthMax));
  }

  // `depth`: nesting of the container holding `value`.
  bool CheckValue(const ProtoValue& value, int depth) {
    switch (value.kind_case()) {
      case ProtoValue::KIND_NOT_SET:
        return Fail("a value with no kind cannot be written as JSON");
      case ProtoValue::kNullValue:
        return value.null_value() == google::protobuf::NULL_VALUE || Fail("bad null_value");
      case ProtoValue::kNumberValue:
        return std::isfinite(value.number_value()) || Fail("number is not finite");
      case ProtoValue::kStringValue:
        return json::IsValidUtf8(value.string_value()) || Fail("invalid UTF-8");
      case ProtoValue::kBoolValue:
        return true;
      case ProtoValue::kStructValue:
        return CheckStruct(value.struct_value(), depth + 1);
      case ProtoValue::kListValue:
        return CheckList(value.list_value(), depth + 1);
    }
    return Fail("unknown value kind");
  }

  bool CheckList(const google::protobuf::ListValue& list, int depth) {
    if (depth > kJsonDepthMax) return TooDeep();
    for (int i = 0; i < list.values_size(); ++i) {
      if (!CheckValue(list.values(i), depth)) {
        segments_.push_back(json::PathSegment{absl::string_view(), i});
        return false;
      }
    }
    return true;
  }

  const bool sorted_;
  std::vector<json::PathSegment> segments_;  // innermost first
  std::string reason_;
  bool too_deep_ = false;
};

absl::Status CheckStructShape(const Struct& object, absl::string_view root) {
  if (StructChecker(/*sorted=*/false).CheckStruct(object, 2)) return absl::OkStatus();
  StructChecker sorted(/*sorted=*/true);
  LEADLOG_CHECK(!sorted.CheckStruct(object, 2)) << "struct check depends on map order";
  return sorted.ToStatus(root);
}

}  // namespace

absl::Status FieldError(absl::StatusCode code, absl::string_view path, absl::string_view reason) {
  absl::Status status(code, absl::StrCat(path.empty() ? "message" : path, ": ", reason));
  if (!path.empty()) status.SetPayload(kFieldPayloadUrl, absl::Cord(path));
  return status;
}

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return FieldError(absl::StatusCode::kInvalidArgument, path, reason);
}

absl::Status WrongType(absl::string_view path, absl::string_view expected, absl::string_view got) {
  return Invalid(path, absl::StrCat("expected ", expected, ", got ", got));
}

std::string Quote(absl::string_view value) {
  std::string out;
  const size_t n = json::Utf8Prefix(value, kQuotedValueBytesMax);
  json::AppendQuoted(value.substr(0, n), &out);
  if (n < value.size()) out.append("...");
  return out;
}

absl::string_view CallTypeName(v1::CallType type) {
  for (const CallTypeEntry& entry : kCallTypes) {
    if (entry.type == type) return entry.name;
  }
  return "";
}

absl::Status CheckCallType(v1::CallType type) {
  if (!CallTypeName(type).empty()) return absl::OkStatus();
  if (type == v1::CALL_TYPE_UNSPECIFIED) {
    return Invalid("type", absl::StrCat("required; ", kCallTypesExpected));
  }
  return Invalid(
      "type", absl::StrCat("unknown call type ", static_cast<int>(type), "; ", kCallTypesExpected));
}

const SalesFactSpec* FindSalesFact(absl::string_view track_name) {
  for (const SalesFactSpec& spec : kSalesFacts) {
    if (spec.name == track_name) return &spec;
  }
  return nullptr;
}

absl::Status ValidateSemantics(v1::Event* event) {
  RETURN_IF_ERROR(CheckCallType(event->type()));
  if (event->type() == v1::CALL_TYPE_DEFINITION) return ValidateDefinitionEvent(*event);
  if (event->type() == v1::CALL_TYPE_ERASURE) return ValidateErasureEvent(*event);
  if (event->has_erasure()) return Invalid("erasure", "set on an event that is not an erasure event");
  if (event->has_definition()) {
    return Invalid("definition", "set on an event that is not a definition event");
  }
  RETURN_IF_ERROR(ValidateIds(*event));
  RETURN_IF_ERROR(ValidateName(*event));
  RETURN_IF_ERROR(ValidateTimestamps(*event));
  return FillSales(event);
}

absl::Status CheckShape(const v1::Event& event) {
  for (const EventStringField& field : kEventStrings) {
    if (!json::IsValidUtf8((event.*field.field)())) return Invalid(field.path, "invalid UTF-8");
  }
  if (!json::IsValidUtf8(event.name())) {
    return Invalid(event.type() == v1::CALL_TYPE_TRACK ? "event" : "name", "invalid UTF-8");
  }
  for (const ContextField& field : kContextFields) {
    if (!json::IsValidUtf8((event.context().*field.field)())) {
      return Invalid(field.path, "invalid UTF-8");
    }
  }
  for (const SalesStringProperty& property : kSalesStrings) {
    if (!json::IsValidUtf8((event.sales().*property.field)())) {
      return Invalid(absl::StrCat("sales.", property.key), "invalid UTF-8");
    }
  }
  if (event.has_properties()) RETURN_IF_ERROR(CheckStructShape(event.properties(), "properties"));
  if (event.has_traits()) RETURN_IF_ERROR(CheckStructShape(event.traits(), "traits"));
  if (event.has_definition()) RETURN_IF_ERROR(CheckDefinitionShape(event.definition()));
  return absl::OkStatus();
}

}  // namespace leadlog::codec_internal
