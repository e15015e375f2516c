#include "engine/redaction.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace leadlog {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

void CollectStrings(const Value& value, std::vector<std::string>* removed);

void CollectStructStrings(const Struct& object, std::vector<std::string>* removed) {
  for (const auto& [key, value] : object.fields()) CollectStrings(value, removed);
}

void CollectStrings(const Value& value, std::vector<std::string>* removed) {
  if (removed == nullptr) return;
  switch (value.kind_case()) {
    case Value::kStringValue:
      if (!value.string_value().empty()) removed->push_back(value.string_value());
      break;
    case Value::kStructValue:
      CollectStructStrings(value.struct_value(), removed);
      break;
    case Value::kListValue:
      for (const Value& v : value.list_value().values()) CollectStrings(v, removed);
      break;
    default:
      break;
  }
}

// Redacts personal fields nested anywhere inside a non-personal value.
bool RedactNested(Value* value, std::vector<std::string>* removed) {
  if (value->has_struct_value()) return RedactStruct(value->mutable_struct_value(), removed);
  if (!value->has_list_value()) return false;
  bool changed = false;
  for (Value& v : *value->mutable_list_value()->mutable_values()) {
    changed |= RedactNested(&v, removed);
  }
  return changed;
}

bool ClearString(std::string* field, std::vector<std::string>* removed) {
  if (field->empty()) return false;
  if (removed != nullptr) removed->push_back(std::move(*field));
  field->clear();
  return true;
}

}  // namespace

std::string NormalizeFieldName(absl::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsPersonalField(absl::string_view key) {
  const std::string normalized = NormalizeFieldName(key);
  return std::find(std::begin(kPersonalFieldNames), std::end(kPersonalFieldNames), normalized) !=
         std::end(kPersonalFieldNames);
}

bool IsEmailField(absl::string_view key) { return NormalizeFieldName(key) == kEmailFieldName; }

std::string ErasedEmail(absl::string_view value) {
  const size_t at = value.rfind('@');
  if (at == absl::string_view::npos) return std::string(kErasedEmailLocalPart);
  return absl::StrCat(kErasedEmailLocalPart, value.substr(at));
}

std::optional<Value> RedactField(absl::string_view key, const Value& value,
                                 std::vector<std::string>* removed) {
  if (!IsPersonalField(key)) {
    Value out = value;
    RedactNested(&out, removed);
    return out;
  }
  if (IsEmailField(key)) {
    // Masked, never removed: `exists` on an email gives the same answer
    // before and after (scoring_model.cc CheckNotPersonal).
    Value out;
    out.set_string_value(value.has_string_value() ? ErasedEmail(value.string_value())
                                                  : std::string(kErasedEmailLocalPart));
    if (value.has_string_value() && out.string_value() != value.string_value()) {
      if (removed != nullptr) removed->push_back(value.string_value());
    } else if (!value.has_string_value()) {
      CollectStrings(value, removed);
    }
    return out;
  }
  CollectStrings(value, removed);
  return std::nullopt;
}

bool RedactStruct(Struct* object, std::vector<std::string>* removed) {
  bool changed = false;
  auto* fields = object->mutable_fields();
  // Sorted keys: `removed` comes out in the same order every time.
  std::vector<std::string> keys;
  keys.reserve(fields->size());
  for (const auto& [key, value] : *fields) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    Value& value = fields->at(key);
    if (!IsPersonalField(key)) {
      changed |= RedactNested(&value, removed);
      continue;
    }
    std::optional<Value> kept = RedactField(key, value, removed);
    if (!kept.has_value()) {
      fields->erase(key);
      changed = true;
    } else if (!value.has_string_value() || kept->string_value() != value.string_value()) {
      value = *std::move(kept);
      changed = true;
    }
  }
  return changed;
}

std::string ErasureEventId(absl::string_view request_id) {
  return absl::StrCat("erasure:", request_id);
}

bool RedactEvent(v1::Event* event, std::vector<std::string>* removed) {
  bool changed = false;
  if (event->has_traits()) changed |= RedactStruct(event->mutable_traits(), removed);
  if (event->has_properties()) changed |= RedactStruct(event->mutable_properties(), removed);
  if (event->has_context()) {
    changed |= ClearString(event->mutable_context()->mutable_ip(), removed);
    changed |= ClearString(event->mutable_context()->mutable_user_agent(), removed);
  }
  return changed;
}

}  // namespace leadlog
