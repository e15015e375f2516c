// Codec design note.
//
// JSON is parsed by consumers/internal/json into a flat node tree that
// points into the message (no copies for strings without escapes); only
// properties/traits are converted to google.protobuf.Struct. The Document is
// thread_local and reused, so a steady stream of events parses without
// allocating for the tree.
//
// Validation (internal/event_rules) is split in two. DecodeEvent's JSON path
// gets well-formed, bounded values from the parser and only needs
// ValidateSemantics (call type, ids, names, timestamps, sales facts). Events
// from protobuf or built in code may hold what JSON cannot express
// (non-finite numbers, Values without a kind, deep nesting, invalid UTF-8);
// ValidateEvent runs CheckShape first, so that every valid event renders as
// JSON and decodes back equal.
//
// Canonical form (what makes Decode(Encode(e)) == e hold): sales facts are a
// function of (type, name, properties), so a producer's SalesFact is merged
// into properties and then re-derived; occurred_at_ms falls back to
// original_timestamp_ms; unknown protobuf fields are discarded, as unknown
// JSON fields are.
//
// Definition events: in JSON the `definition` member is the protobuf JSON
// mapping of v1::Definition (unknown fields rejected). The member is read
// into a Struct by our parser, which bounds its depth and checks UTF-8, then
// written back as JSON and handed to protobuf's JSON parser; definitions are
// rare, so the second parse costs nothing that matters.
#include "consumers/codec.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "consumers/internal/event_rules.h"
#include "consumers/internal/json.h"
#include "consumers/internal/rfc3339.h"
#include "engine/event_log.h"
#include "engine/limits.h"
#include "engine/proto_json.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

using codec_internal::CallTypeEntry;
using codec_internal::CallTypeName;
using codec_internal::CheckCallType;
using codec_internal::CheckShape;
using codec_internal::ContextField;
using codec_internal::FieldError;
using codec_internal::FindSalesFact;
using codec_internal::Invalid;
using codec_internal::kCallTypes;
using codec_internal::kCallTypesExpected;
using codec_internal::kContextFields;
using codec_internal::kContextGroups;
using codec_internal::kFieldPayloadUrl;
using codec_internal::kSalesFacts;
using codec_internal::Quote;
using codec_internal::SalesFactSpec;
using codec_internal::ValidateSemantics;
using codec_internal::WrongType;
using google::protobuf::Struct;

// A thread's reused JSON Document is dropped when it holds more than this.
constexpr size_t kDocumentKeepBytes = 256 * 1024;

// ---------------------------------------------------------------- JSON -> Event

// The top-level Segment fields leadlog reads; others are ignored.
struct SegmentFields {
  json::Value type, message_id, anonymous_id, user_id, previous_id, group_id, event, name, category,
      properties, traits, context, timestamp, original_timestamp, sent_at, definition;
};
struct SegmentSlot {
  absl::string_view key;
  json::Value SegmentFields::*slot;
};
constexpr SegmentSlot kSegmentSlots[] = {
    {"type", &SegmentFields::type},
    {"messageId", &SegmentFields::message_id},
    {"anonymousId", &SegmentFields::anonymous_id},
    {"userId", &SegmentFields::user_id},
    {"previousId", &SegmentFields::previous_id},
    {"groupId", &SegmentFields::group_id},
    {"event", &SegmentFields::event},
    {"name", &SegmentFields::name},
    {"category", &SegmentFields::category},
    {"properties", &SegmentFields::properties},
    {"traits", &SegmentFields::traits},
    {"context", &SegmentFields::context},
    {"timestamp", &SegmentFields::timestamp},
    {"originalTimestamp", &SegmentFields::original_timestamp},
    {"sentAt", &SegmentFields::sent_at},
    {"definition", &SegmentFields::definition},
};

void CollectFields(json::Value root, SegmentFields* fields) {
  for (json::Value member : root.children()) {
    const absl::string_view key = member.key();
    for (const SegmentSlot& slot : kSegmentSlots) {
      if (key == slot.key) {
        fields->*slot.slot = member;
        break;
      }
    }
  }
}

// Absent and null leave *out alone.
absl::Status ReadString(json::Value value, absl::string_view path, std::string* out) {
  if (value.is_null()) return absl::OkStatus();
  if (value.type() != json::Type::kString) {
    return WrongType(path, "string", json::TypeName(value.type()));
  }
  const absl::string_view s = value.string_value();
  out->assign(s.data(), s.size());
  return absl::OkStatus();
}

absl::Status ReadStruct(json::Value value, absl::string_view path,
                        Struct* (v1::Event::*mutable_fn)(), v1::Event* event) {
  if (value.is_null()) return absl::OkStatus();
  if (value.type() != json::Type::kObject) {
    return WrongType(path, "object", json::TypeName(value.type()));
  }
  json::ToProtoStruct(value, (event->*mutable_fn)());
  return absl::OkStatus();
}

absl::Status ReadTimestamp(json::Value value, absl::string_view path, int64_t* ms) {
  if (value.is_null()) return absl::OkStatus();
  if (value.type() != json::Type::kString) {
    return WrongType(path, "string", json::TypeName(value.type()));
  }
  if (!ParseRfc3339Ms(value.string_value(), ms)) {
    return Invalid(
        path, absl::StrCat("cannot parse ", Quote(value.string_value()), " as an ISO-8601 time"));
  }
  return absl::OkStatus();
}

absl::Status ReadCallType(json::Value value, v1::CallType* type) {
  if (value.is_null()) return Invalid("type", absl::StrCat("required; ", kCallTypesExpected));
  if (value.type() != json::Type::kString) {
    return WrongType("type", "string", json::TypeName(value.type()));
  }
  for (const CallTypeEntry& entry : kCallTypes) {
    if (entry.name == value.string_value()) {
      *type = entry.type;
      return absl::OkStatus();
    }
  }
  return Invalid("type", absl::StrCat("unknown call type ", Quote(value.string_value()), "; ",
                                      kCallTypesExpected));
}

// The members of one context object (`group` "" for context itself).
absl::Status ReadContextGroup(json::Value object, absl::string_view group, v1::Context* context) {
  for (json::Value member : object.children()) {
    for (const ContextField& field : kContextFields) {
      if (field.group == group && field.key == member.key()) {
        RETURN_IF_ERROR(ReadString(member, field.path, (context->*field.mutable_field)()));
        break;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReadContext(json::Value value, v1::Event* event) {
  if (value.is_null()) return absl::OkStatus();
  if (value.type() != json::Type::kObject) {
    return WrongType("context", "object", json::TypeName(value.type()));
  }
  v1::Context* context = event->mutable_context();
  RETURN_IF_ERROR(ReadContextGroup(value, "", context));
  for (absl::string_view group : kContextGroups) {
    const json::Value object = value.Find(group);
    if (object.is_null()) continue;
    if (object.type() != json::Type::kObject) {
      return WrongType(absl::StrCat("context.", group), "object", json::TypeName(object.type()));
    }
    RETURN_IF_ERROR(ReadContextGroup(object, group, context));
  }
  return absl::OkStatus();
}

// identify/group may carry traits in context.traits (analytics.js does);
// they are used when there is no top-level traits.
absl::Status ReadTraits(const SegmentFields& fields, v1::Event* event) {
  const bool traits_call =
      event->type() == v1::CALL_TYPE_IDENTIFY || event->type() == v1::CALL_TYPE_GROUP;
  if (!fields.traits.is_null() || !traits_call || fields.context.type() != json::Type::kObject) {
    return ReadStruct(fields.traits, "traits", &v1::Event::mutable_traits, event);
  }
  return ReadStruct(fields.context.Find("traits"), "context.traits", &v1::Event::mutable_traits,
                    event);
}

absl::Status ReadTimestamps(const SegmentFields& fields, v1::Event* event) {
  int64_t timestamp_ms = 0, original_ms = 0, sent_ms = 0;
  RETURN_IF_ERROR(ReadTimestamp(fields.timestamp, "timestamp", &timestamp_ms));
  RETURN_IF_ERROR(ReadTimestamp(fields.original_timestamp, "originalTimestamp", &original_ms));
  RETURN_IF_ERROR(ReadTimestamp(fields.sent_at, "sentAt", &sent_ms));
  event->set_occurred_at_ms(timestamp_ms != 0 ? timestamp_ms : original_ms);
  event->set_original_timestamp_ms(original_ms);
  event->set_sent_at_ms(sent_ms);
  return absl::OkStatus();
}

// A definition event's `definition` member (protobuf JSON mapping).
absl::Status ReadDefinition(json::Value value, v1::Event* event) {
  if (value.is_null()) return absl::OkStatus();  // "required" comes from validation
  if (value.type() != json::Type::kObject) {
    return WrongType("definition", "object", json::TypeName(value.type()));
  }
  google::protobuf::Struct object;
  json::ToProtoStruct(value, &object);
  std::string text;
  json::AppendProtoStruct(object, &text);
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text, event->mutable_definition(), options);
  if (status.ok()) return absl::OkStatus();
  return Invalid("definition", status.message().as_string());
}

// Maps a parsed Segment call onto *event (which is clear). Type errors only;
// ValidateSemantics checks the rest.
absl::Status MapSegment(json::Value root, v1::Event* event) {
  if (root.type() != json::Type::kObject) {
    return Invalid("", absl::StrCat("expected a JSON object, got ", json::TypeName(root.type())));
  }
  SegmentFields fields;
  CollectFields(root, &fields);
  v1::CallType type = v1::CALL_TYPE_UNSPECIFIED;
  RETURN_IF_ERROR(ReadCallType(fields.type, &type));
  event->set_type(type);
  RETURN_IF_ERROR(ReadString(fields.message_id, "messageId", event->mutable_event_id()));
  RETURN_IF_ERROR(ReadString(fields.anonymous_id, "anonymousId", event->mutable_anonymous_id()));
  RETURN_IF_ERROR(ReadString(fields.user_id, "userId", event->mutable_user_id()));
  RETURN_IF_ERROR(ReadString(fields.previous_id, "previousId", event->mutable_previous_id()));
  RETURN_IF_ERROR(ReadString(fields.group_id, "groupId", event->mutable_group_id()));
  if (type == v1::CALL_TYPE_TRACK) {
    RETURN_IF_ERROR(ReadString(fields.event, "event", event->mutable_name()));
  } else {
    RETURN_IF_ERROR(ReadString(fields.name, "name", event->mutable_name()));
  }
  RETURN_IF_ERROR(ReadString(fields.category, "category", event->mutable_category()));
  RETURN_IF_ERROR(
      ReadStruct(fields.properties, "properties", &v1::Event::mutable_properties, event));
  RETURN_IF_ERROR(ReadTraits(fields, event));
  RETURN_IF_ERROR(ReadContext(fields.context, event));
  if (type == v1::CALL_TYPE_DEFINITION) RETURN_IF_ERROR(ReadDefinition(fields.definition, event));
  return ReadTimestamps(fields, event);
}

// ---------------------------------------------------------------- decoding

absl::Status DecodeJson(absl::string_view bytes, v1::Event* event, bool* parse_failed) {
  thread_local json::Document document;
  absl::Status status = document.Parse(bytes);
  if (!status.ok()) {
    *parse_failed = true;
    const json::ParseError& error = document.error();
    status = FieldError(status.code(), error.path, error.reason);
  } else {
    event->Clear();
    status = MapSegment(document.root(), event);
    if (status.ok()) status = ValidateSemantics(event);
  }
  if (document.capacity_bytes() > kDocumentKeepBytes) document = json::Document();
  return status;
}

bool ParseProtobuf(absl::string_view bytes, v1::Event* event) {
  if (!event->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return false;
  event->DiscardUnknownFields();
  return true;
}

// No content-type header: sniff (see codec.h).
absl::Status DecodeSniffed(absl::string_view bytes, v1::Event* event) {
  const size_t first = bytes.find_first_not_of(" \t\r\n");
  if (first != absl::string_view::npos && bytes[first] == '{') {
    bool parse_failed = false;
    absl::Status status = DecodeJson(bytes, event, &parse_failed);
    if (status.ok() || !parse_failed || bytes[0] != '\n') return status;
    // A serialized Event starts with '\n' (field 1) and its length byte may
    // look like JSON whitespace too.
    if (ParseProtobuf(bytes, event)) return ValidateEvent(event);
    return FieldError(
        status.code(), "",
        absl::StrCat("not valid JSON (", status.message(), ") nor a leadlog.v1.Event protobuf"));
  }
  if (ParseProtobuf(bytes, event)) return ValidateEvent(event);
  return Invalid("", "not valid JSON (does not start with '{') nor a leadlog.v1.Event protobuf");
}

// ---------------------------------------------------------------- encoding

// Writes one JSON object's members; empty strings and zero times are left
// out (proto3 cannot tell them from absent).
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string* out) : out_(out) { out_->push_back('{'); }
  void Key(absl::string_view key) {
    if (!first_) out_->push_back(',');
    first_ = false;
    json::AppendQuoted(key, out_);
    out_->push_back(':');
  }
  void String(absl::string_view key, absl::string_view value) {
    if (value.empty()) return;
    Key(key);
    json::AppendQuoted(value, out_);
  }
  void Timestamp(absl::string_view key, int64_t ms) {
    if (ms == 0) return;
    Key(key);
    absl::StrAppend(out_, "\"", FormatRfc3339Ms(ms), "\"");
  }
  void Close() { out_->push_back('}'); }

 private:
  std::string* out_;
  bool first_ = true;
};

void AppendContext(const v1::Context& context, std::string* out) {
  ObjectWriter writer(out);
  for (const ContextField& field : kContextFields) {
    if (field.group.empty()) writer.String(field.key, (context.*field.field)());
  }
  for (absl::string_view group : kContextGroups) {
    const bool any = std::any_of(std::begin(kContextFields), std::end(kContextFields),
                                 [&](const ContextField& field) {
                                   return field.group == group && !(context.*field.field)().empty();
                                 });
    if (!any) continue;
    writer.Key(group);
    ObjectWriter inner(out);
    for (const ContextField& field : kContextFields) {
      if (field.group == group) inner.String(field.key, (context.*field.field)());
    }
    inner.Close();
  }
  writer.Close();
}

}  // namespace

// ---------------------------------------------------------------- public

ContentType ContentTypeFromHeader(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value.substr(0, value.find(';')));
  if (absl::EqualsIgnoreCase(value, "application/json") ||
      absl::EqualsIgnoreCase(value, "text/json") || absl::EndsWithIgnoreCase(value, "+json")) {
    return ContentType::kJson;
  }
  for (absl::string_view protobuf :
       {"application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf",
        "application/x-google-protobuf"}) {
    if (absl::EqualsIgnoreCase(value, protobuf)) return ContentType::kProtobuf;
  }
  return ContentType::kUnknown;
}

namespace {

absl::Status DecodeBounded(absl::string_view bytes, ContentType content_type, v1::Event* event) {
  if (bytes.empty()) return Invalid("", "empty message");
  switch (content_type) {
    case ContentType::kJson: {
      bool parse_failed = false;
      return DecodeJson(bytes, event, &parse_failed);
    }
    case ContentType::kProtobuf:
      if (ParseProtobuf(bytes, event)) return ValidateEvent(event);
      return Invalid("", "not a valid leadlog.v1.Event protobuf");
    case ContentType::kUnknown:
      break;
  }
  return DecodeSniffed(bytes, event);
}

absl::Status TooLarge(size_t bytes, size_t max) {
  return FieldError(absl::StatusCode::kResourceExhausted, "",
                    absl::StrCat(bytes, " bytes exceeds the limit of ", max));
}

}  // namespace

absl::Status DecodeEvent(absl::string_view bytes, ContentType content_type, v1::Event* event) {
  static_assert(kEventBytesMax <= kDefinitionBytesMax);
  if (bytes.size() <= kEventBytesMax) return DecodeBounded(bytes, content_type, event);
  // Only a definition event may be larger (up to kDefinitionBytesMax); any
  // other message, valid or not, is refused for its size.
  if (bytes.size() > kDefinitionBytesMax) return TooLarge(bytes.size(), kDefinitionBytesMax);
  event->Clear();  // a JSON syntax error leaves the type unset, not stale
  absl::Status status = DecodeBounded(bytes, content_type, event);
  if (event->type() == v1::CALL_TYPE_DEFINITION) return status;
  return TooLarge(bytes.size(), kEventBytesMax);
}

absl::Status ValidateEvent(v1::Event* event) {
  RETURN_IF_ERROR(CheckCallType(event->type()));
  RETURN_IF_ERROR(CheckShape(*event));
  if (event->occurred_at_ms() == 0) event->set_occurred_at_ms(event->original_timestamp_ms());
  return ValidateSemantics(event);
}

std::string ErrorField(const absl::Status& status) {
  const absl::optional<absl::Cord> path = status.GetPayload(kFieldPayloadUrl);
  return path.has_value() ? std::string(*path) : std::string();
}

std::string EncodeSegmentJson(const v1::Event& event) {
  std::string out;
  out.reserve(512);
  ObjectWriter writer(&out);
  writer.String("type", CallTypeName(event.type()));
  writer.String("messageId", event.event_id());
  writer.String("anonymousId", event.anonymous_id());
  writer.String("userId", event.user_id());
  writer.String("previousId", event.previous_id());
  writer.String("groupId", event.group_id());
  writer.String(event.type() == v1::CALL_TYPE_TRACK ? "event" : "name", event.name());
  writer.String("category", event.category());
  if (event.has_definition()) {
    // Valid events print (CheckShape); "{}" only for an event never validated.
    writer.Key("definition");
    const size_t start = out.size();
    if (!AppendProtoJson(event.definition(), ProtoJsonOptions{}, &out).ok()) {
      out.resize(start);
      out.append("{}");
    }
  }
  if (event.has_properties()) {
    writer.Key("properties");
    json::AppendProtoStruct(event.properties(), &out);
  }
  if (event.has_traits()) {
    writer.Key("traits");
    json::AppendProtoStruct(event.traits(), &out);
  }
  if (event.has_context()) {
    writer.Key("context");
    AppendContext(event.context(), &out);
  }
  writer.Timestamp("timestamp", event.occurred_at_ms());
  writer.Timestamp("originalTimestamp", event.original_timestamp_ms());
  writer.Timestamp("sentAt", event.sent_at_ms());
  writer.Close();
  return out;
}

std::vector<LeadKey> LeadKeysOf(const v1::Event& event) {
  // One rule for ingest and for the engine's Verify.
  return IndexKeysOf(event);
}

std::string PartitionKeyOf(const v1::Event& event) {
  return event.anonymous_id().empty() ? event.user_id() : event.anonymous_id();
}

absl::string_view SalesFactName(v1::SalesFactKind kind) {
  for (const SalesFactSpec& spec : kSalesFacts) {
    if (spec.kind == kind) return spec.name;
  }
  return "";
}

v1::SalesFactKind SalesFactKindOf(absl::string_view track_name) {
  const SalesFactSpec* spec = FindSalesFact(track_name);
  return spec == nullptr ? v1::SALES_FACT_KIND_UNSPECIFIED : spec->kind;
}

}  // namespace leadlog
