// Design note: protobuf 3.21's MessageToJsonString serializes the message,
// then walks the bytes with ProtoStreamObjectSource into a JsonObjectWriter
// (through a DefaultValueObjectWriter tree when always_print_primitive_fields
// is set). This file walks the message's reflection instead and reproduces
// that pipeline's observable rules:
//  - fields print in wire order, i.e. by field number; with always-print, in
//    declaration order (the TypeResolver's field order), except that a field
//    the default tree has no node of the rendered kind for (a set oneof or
//    proto3-optional scalar, a Value holding a scalar, null or list) is
//    appended after the others, in field-number order;
//  - 64-bit integers are quoted, doubles print as SimpleDtoa (%.15g, else
//    %.17g) or "NaN" / "Infinity" / "-Infinity";
//  - strings go through protobuf's JSON escaping (below), bytes as padded
//    base64;
//  - an unknown enum number prints as a number; map keys print as strings;
//  - a Value without a kind prints nothing (not even its key).
#include "engine/proto_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace leadlog {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// How a field renders.
enum class FieldKind { kScalar, kMessage, kValue, kStruct, kListValue, kMap };

struct TypePlan;

struct FieldPlan {
  const FieldDescriptor* field;
  FieldKind kind;
  // The plan of the message type (or map value type) kMessage / kMap
  // fields print, resolved when the plan is built so that the walk takes
  // no lock; nullptr otherwise.
  const TypePlan* child;
  // An enum field of google.protobuf.NullValue (prints null).
  bool null_value;
  // Cached from the descriptor (its accessors run a call_once check).
  FieldDescriptor::CppType cpp_type;
  bool repeated;
  bool bytes;
  // ,"<name>": with the name escaped: FieldKey appends it in one go (without
  // the comma for an object's first member).
  std::string key;
  // Always-print: the field has no default node of its rendered kind and is
  // appended after the others (set oneof / optional scalars; a Value unless
  // it holds a struct).
  bool always_print_appended;
};

// Per message type: the fields in the two orders protobuf prints them.
struct TypePlan {
  bool direct = true;                   // false: hand to MessageToJsonString
  // The generated class's reflection (GetReflection() costs a call_once
  // check per call; the walk asks once per type instead). A message whose
  // reflection differs (a DynamicMessage) is handed to MessageToJsonString.
  const Reflection* reflection = nullptr;
  std::vector<FieldPlan> by_number;     // wire order
  std::vector<FieldPlan> declared;      // always-print order
};

bool IsWellKnown(const Descriptor* type) { return type->file()->package() == "google.protobuf"; }

bool IsNullValue(const FieldDescriptor* field) {
  return field->cpp_type() == FieldDescriptor::CPPTYPE_ENUM &&
         field->enum_type() == google::protobuf::NullValue_descriptor();
}

void AppendQuoted(absl::string_view s, std::string* out);

// A scalar field's plan (the caller sets the rest for other kinds).
FieldPlan PlanField(const FieldDescriptor* field) {
  FieldPlan f;
  f.field = field;
  f.kind = FieldKind::kScalar;
  f.child = nullptr;
  f.null_value = IsNullValue(field);
  f.cpp_type = field->cpp_type();
  f.repeated = field->is_repeated();
  f.bytes = field->type() == FieldDescriptor::TYPE_BYTES;
  f.always_print_appended = false;
  std::string key(1, ',');
  AppendQuoted(field->name(), &key);
  key.append(":");
  f.key = std::move(key);
  return f;
}

FieldKind KindOf(const FieldDescriptor* field) {
  if (field->is_map()) return FieldKind::kMap;
  if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return FieldKind::kScalar;
  const Descriptor* type = field->message_type();
  if (type == google::protobuf::Value::descriptor()) return FieldKind::kValue;
  if (type == google::protobuf::Struct::descriptor()) return FieldKind::kStruct;
  if (type == google::protobuf::ListValue::descriptor()) return FieldKind::kListValue;
  return FieldKind::kMessage;
}

class PlanCache {
 public:
  const TypePlan& Get(const Descriptor* type) {
    {
      absl::ReaderMutexLock lock(&mu_);
      auto it = plans_.find(type);
      if (it != plans_.end()) return *it->second;
    }
    absl::MutexLock lock(&mu_);
    const TypePlan& plan = Build(type);
    PropagateIndirect();
    return plan;
  }

 private:
  // Plans `type` and every type it reaches (a cycle finds the plan in
  // progress); `direct` here only reflects the type's own fields.
  const TypePlan& Build(const Descriptor* type) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = plans_.find(type);
    if (it != plans_.end()) return *it->second;
    auto owned = std::make_unique<TypePlan>();
    TypePlan& plan = *owned;
    plans_.emplace(type, std::move(owned));
    if (IsWellKnown(type)) plan.direct = false;
    const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
    if (prototype == nullptr) {
      plan.direct = false;
    } else {
      plan.reflection = prototype->GetReflection();
    }
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      const FieldKind kind = KindOf(field);
      if (!FieldSupported(field, kind)) plan.direct = false;
      const bool scalar_in_oneof = kind == FieldKind::kScalar && field->containing_oneof() != nullptr;
      const TypePlan* child = nullptr;
      if (kind == FieldKind::kMessage) child = &Build(field->message_type());
      const FieldDescriptor* map_value = kind == FieldKind::kMap ? field->message_type()->map_value() : nullptr;
      if (map_value != nullptr && map_value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        child = &Build(map_value->message_type());
      }
      FieldPlan f = PlanField(field);
      f.kind = kind;
      f.child = child;
      f.always_print_appended = scalar_in_oneof || kind == FieldKind::kValue;
      plan.declared.push_back(f);
    }
    plan.by_number = plan.declared;
    std::sort(plan.by_number.begin(), plan.by_number.end(),
              [](const FieldPlan& a, const FieldPlan& b) { return a.field->number() < b.field->number(); });
    return plan;
  }

  // A type that prints a non-direct type is not direct either; to a fixed
  // point, as types may form cycles (plans are few: one per type reached).
  void PropagateIndirect() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (bool changed = true; changed;) {
      changed = false;
      for (auto& [type, plan] : plans_) {
        if (!plan->direct) continue;
        for (const FieldPlan& f : plan->declared) {
          if (f.child != nullptr && !f.child->direct) {
            plan->direct = false;
            changed = true;
            break;
          }
        }
      }
    }
  }

  static bool FieldSupported(const FieldDescriptor* field, FieldKind kind) {
    if (field->is_extension() || field->type() == FieldDescriptor::TYPE_GROUP) return false;
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) return false;
    switch (kind) {
      case FieldKind::kScalar:
        return true;
      case FieldKind::kValue:
      case FieldKind::kStruct:
        return !field->is_repeated();
      case FieldKind::kListValue:  // no leadlog field: its always-print place is untested
        return false;
      case FieldKind::kMap: {
        const FieldDescriptor* value = field->message_type()->map_value();
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) return false;
        if (value->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return true;
        return !IsWellKnown(value->message_type());
      }
      case FieldKind::kMessage:
        return !IsWellKnown(field->message_type());
    }
    return false;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<TypePlan>> plans_ ABSL_GUARDED_BY(mu_);
};

PlanCache& Plans() {
  static PlanCache* cache = new PlanCache();
  return *cache;
}

// --- Scalars -----------------------------------------------------------

// protobuf's JSON escape of a code point below 0xa0 ("" = as is).
const char* CommonEscape(uint32_t cp) {
  static const char* const kC0[32] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  if (cp < 0x20) return kC0[cp];
  switch (cp) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '<': return "\\u003c";
    case '>': return "\\u003e";
    default: break;
  }
  return "";
}

void AppendHex4(uint32_t unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char buffer[6] = {'\\', 'u', kHex[(unit >> 12) & 0xf], kHex[(unit >> 8) & 0xf],
                    kHex[(unit >> 4) & 0xf], kHex[unit & 0xf]};
  out->append(buffer, sizeof(buffer));
}

// Appends protobuf's escape of `cp` and returns true, or returns false when
// it is written as is. C1 controls, DEL, and the invisible / bidi / tag code
// points JavaScript mishandles are escaped; supplementary ones as a pair.
bool AppendEscapedCodePoint(uint32_t cp, std::string* out) {
  if (cp < 0x7f) {
    const char* escape = CommonEscape(cp);
    if (*escape == '\0') return false;
    out->append(escape);
    return true;
  }
  const bool bmp_escaped =
      cp < 0xa0 || cp == 0xad || cp == 0x6dd || cp == 0x70f || cp == 0x17b4 || cp == 0x17b5 ||
      cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0x600 && cp <= 0x603) ||
      (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
      (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x206a && cp <= 0x206f);
  if (bmp_escaped) {
    AppendHex4(cp, out);
    return true;
  }
  if (cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f)) {
    const uint32_t v = cp - 0x10000;
    AppendHex4(0xd800 + (v >> 10), out);
    AppendHex4(0xdc00 + (v & 0x3ff), out);
    return true;
  }
  return false;
}

// Bytes written as they are: printable ASCII but " \\ < >.
constexpr std::array<bool, 256> kPlainAscii = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[c] = c != '"' && c != '\\' && c != '<' && c != '>';
  return plain;
}();

bool PlainAscii(unsigned char c) { return kPlainAscii[c]; }

// protobuf's JSON string escaping, byte for byte. Invalid UTF-8 is dropped
// the way protobuf drops it: a stray lead or continuation byte alone, a
// sequence broken by a non-continuation byte together with that byte, a
// truncated sequence at the end, and a decoded surrogate or code point above
// U+10FFFF whole. Overlong forms decode and print as their raw bytes unless
// the code point is escaped.
void AppendEscaped(absl::string_view s, std::string* out) {
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && PlainAscii(static_cast<unsigned char>(s[run]))) ++run;
    out->append(s.data() + i, run - i);
    i = run;
    if (i == n) break;
    const unsigned char lead = static_cast<unsigned char>(s[i]);
    if (lead < 0x80) {
      AppendEscapedCodePoint(lead, out);
      ++i;
      continue;
    }
    uint32_t cp;
    int left;
    if (lead <= 0xbf || lead > 0xf7) {
      ++i;  // stray continuation byte or no UTF-8 lead: dropped
      continue;
    } else if (lead <= 0xdf) {
      cp = lead & 0x1f, left = 1;
    } else if (lead <= 0xef) {
      cp = lead & 0x0f, left = 2;
    } else {
      cp = lead & 0x07, left = 3;
    }
    size_t j = i + 1;
    bool broken = false;
    while (left > 0 && j < n) {
      const unsigned char c = static_cast<unsigned char>(s[j++]);
      --left;
      cp = (cp << 6) | (c & 0x3f);
      if (c < 0x80 || c > 0xbf) {
        broken = true;
        break;
      }
    }
    const bool valid = !broken && left == 0 && (cp & 0xfffff800) != 0xd800 && cp <= 0x10ffff;
    if (valid && !AppendEscapedCodePoint(cp, out)) out->append(s.data() + i, j - i);
    i = j;
  }
}

void AppendQuoted(absl::string_view s, std::string* out) {
  out->push_back('"');
  AppendEscaped(s, out);
  out->push_back('"');
}

// protobuf's SimpleDtoa for finite values: 15 significant digits when they
// round-trip, else 17.
void AppendDouble(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("\"NaN\"");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  // Integers below 1e15 print as their digits under %.15g.
  if (value > -1e15 && value < 1e15 && value == std::trunc(value) && !(value == 0 && std::signbit(value))) {
    absl::StrAppend(out, static_cast<int64_t>(value));
    return;
  }
  char buffer[32];
  int length = std::snprintf(buffer, sizeof(buffer), "%.15g", value);
  if (std::strtod(buffer, nullptr) != value) {
    length = std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  }
  out->append(buffer, static_cast<size_t>(length));
}

// --- The walk ------------------------------------------------------------

class Printer {
 public:
  Printer(bool always_print, std::string* out) : always_print_(always_print), out_(out) {}

  absl::Status PrintMessage(const Message& message, const TypePlan& plan, int depth);

 private:
  absl::Status Deeper(int depth, const Descriptor* type) const;
  // `r` is `message`'s reflection (TypePlan::reflection).
  static bool Present(const Message& message, const Reflection* r, const FieldPlan& f);
  static bool StructValue(const Message& message, const Reflection* r, const FieldPlan& f);
  absl::Status PrintField(const Message& message, const Reflection* r, const FieldPlan& f, int depth);
  void Key(absl::string_view name);
  void FieldKey(const FieldPlan& f);
  void Scalar(const Message& message, const Reflection* r, const FieldPlan& f, int index);
  void Default(const FieldPlan& f);
  absl::Status Repeated(const Message& message, const Reflection* r, const FieldPlan& f, int depth);
  absl::Status Map(const Message& message, const Reflection* r, const FieldPlan& f, int depth);
  void MapKey(const Message& entry, const Reflection* r, const FieldDescriptor* key);
  void Separator();
  // Value / Struct / ListValue. key == nullptr: a list element. A Value
  // without a kind prints nothing, not even its key.
  absl::Status PrintValue(const std::string* key, const google::protobuf::Value& value, int depth);
  absl::Status PrintStruct(const google::protobuf::Struct& object, int depth);
  absl::Status PrintList(const google::protobuf::ListValue& list, int depth);

  const bool always_print_;
  std::string* const out_;
  bool first_ = true;  // no member printed yet in the innermost object / list
};

absl::Status Printer::Deeper(int depth, const Descriptor* type) const {
  if (depth <= kProtoJsonDepthMax) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("Message too deep. Max recursion depth reached for type '", type->name(),
                   "', nested ", kProtoJsonDepthMax, " levels"));
}

void Printer::Separator() {
  if (!first_) out_->push_back(',');
  first_ = false;
}

void Printer::FieldKey(const FieldPlan& f) {
  const size_t skip = first_ ? 1 : 0;  // the comma
  out_->append(f.key.data() + skip, f.key.size() - skip);
  first_ = false;
}

void Printer::Key(absl::string_view name) {
  if (!first_) out_->push_back(',');
  first_ = false;
  AppendQuoted(name, out_);
  out_->push_back(':');
}

// A Value field holding a struct: protobuf's default tree has an object
// node for the field in its declared place, so it prints there; as a
// scalar, null or list it gets a new node after the others.
bool Printer::StructValue(const Message& message, const Reflection* r, const FieldPlan& f) {
  if (f.kind != FieldKind::kValue || !r->HasField(message, f.field)) return false;
  const auto& value = static_cast<const google::protobuf::Value&>(r->GetMessage(message, f.field));
  return value.kind_case() == google::protobuf::Value::kStructValue;
}

bool Printer::Present(const Message& message, const Reflection* r, const FieldPlan& f) {
  if (f.repeated) return r->FieldSize(message, f.field) > 0;
  return r->HasField(message, f.field);
}

absl::Status Printer::PrintMessage(const Message& message, const TypePlan& plan, int depth) {
  if (depth > kProtoJsonDepthMax) return Deeper(depth, message.GetDescriptor());  // (GetDescriptor costs)
  const Reflection* r = plan.reflection;
  out_->push_back('{');
  first_ = true;
  if (!always_print_) {
    for (const FieldPlan& f : plan.by_number) {
      if (Present(message, r, f)) RETURN_IF_ERROR(PrintField(message, r, f, depth));
    }
  } else {
    bool any_appended = false;
    for (const FieldPlan& f : plan.declared) {
      if (f.always_print_appended && !StructValue(message, r, f)) {
        any_appended = true;
        continue;
      }
      const FieldDescriptor* field = f.field;
      if (Present(message, r, f)) {
        RETURN_IF_ERROR(PrintField(message, r, f, depth));
      } else if (f.repeated) {
        FieldKey(f);
        out_->append(field->is_map() ? "{}" : "[]");
      } else if (f.cpp_type != FieldDescriptor::CPPTYPE_MESSAGE) {
        Default(f);
      }
    }
    if (any_appended) {
      for (const FieldPlan& f : plan.by_number) {
        if (f.always_print_appended && !StructValue(message, r, f) && Present(message, r, f)) {
          RETURN_IF_ERROR(PrintField(message, r, f, depth));
        }
      }
    }
  }
  out_->push_back('}');
  first_ = false;
  return absl::OkStatus();
}

absl::Status Printer::PrintField(const Message& message, const Reflection* reflection, const FieldPlan& f,
                                 int depth) {
  const FieldDescriptor* field = f.field;
  switch (f.kind) {
    case FieldKind::kMap:
      FieldKey(f);
      return Map(message, reflection, f, depth);
    case FieldKind::kValue:
      return PrintValue(&field->name(),
                        static_cast<const google::protobuf::Value&>(reflection->GetMessage(message, field)),
                        depth + 1);
    case FieldKind::kStruct:
      FieldKey(f);
      return PrintStruct(static_cast<const google::protobuf::Struct&>(reflection->GetMessage(message, field)),
                         depth + 1);
    case FieldKind::kListValue:
      FieldKey(f);
      return PrintList(static_cast<const google::protobuf::ListValue&>(reflection->GetMessage(message, field)),
                       depth + 1);
    case FieldKind::kScalar:
    case FieldKind::kMessage:
      break;
  }
  FieldKey(f);
  if (f.repeated) return Repeated(message, reflection, f, depth);
  if (f.kind == FieldKind::kMessage) {
    const Message& child = reflection->GetMessage(message, field);
    return PrintMessage(child, *f.child, depth + 1);
  }
  Scalar(message, reflection, f, -1);
  return absl::OkStatus();
}

absl::Status Printer::Repeated(const Message& message, const Reflection* reflection, const FieldPlan& f,
                               int depth) {
  const FieldDescriptor* field = f.field;
  const int size = reflection->FieldSize(message, field);
  out_->push_back('[');
  if (f.cpp_type == FieldDescriptor::CPPTYPE_MESSAGE) {
    const TypePlan& plan = *f.child;
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_->push_back(',');
      RETURN_IF_ERROR(PrintMessage(reflection->GetRepeatedMessage(message, field, i), plan, depth + 1));
    }
  } else {
    for (int i = 0; i < size; ++i) {
      if (i > 0) out_->push_back(',');
      Scalar(message, reflection, f, i);
    }
  }
  out_->push_back(']');
  first_ = false;
  return absl::OkStatus();
}

absl::Status Printer::Map(const Message& message, const Reflection* reflection, const FieldPlan& f, int depth) {
  const FieldDescriptor* field = f.field;
  const FieldDescriptor* key = field->message_type()->map_key();
  const FieldDescriptor* value = field->message_type()->map_value();
  const int size = reflection->FieldSize(message, field);  // the map's own order
  out_->push_back('{');
  first_ = true;
  for (int i = 0; i < size; ++i) {
    const Message& entry = reflection->GetRepeatedMessage(message, field, i);
    RETURN_IF_ERROR(Deeper(depth + 1, field->message_type()));
    const Reflection* entry_reflection = entry.GetReflection();
    MapKey(entry, entry_reflection, key);
    if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Message& child = entry_reflection->GetMessage(entry, value);
      RETURN_IF_ERROR(PrintMessage(child, *f.child, depth + 2));
    } else {
      Scalar(entry, entry_reflection, PlanField(value), -1);
    }
  }
  out_->push_back('}');
  first_ = false;
  return absl::OkStatus();
}

void Printer::MapKey(const Message& entry, const Reflection* reflection, const FieldDescriptor* key) {
  switch (key->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      Key(reflection->GetStringReference(entry, key, &scratch));
      return;
    }
    case FieldDescriptor::CPPTYPE_INT32: Key(absl::AlphaNum(reflection->GetInt32(entry, key)).Piece()); return;
    case FieldDescriptor::CPPTYPE_INT64: Key(absl::AlphaNum(reflection->GetInt64(entry, key)).Piece()); return;
    case FieldDescriptor::CPPTYPE_UINT32: Key(absl::AlphaNum(reflection->GetUInt32(entry, key)).Piece()); return;
    case FieldDescriptor::CPPTYPE_UINT64: Key(absl::AlphaNum(reflection->GetUInt64(entry, key)).Piece()); return;
    case FieldDescriptor::CPPTYPE_BOOL: Key(reflection->GetBool(entry, key) ? "true" : "false"); return;
    default: return;  // map keys are integral, bool or string
  }
}

// index < 0: the singular field.
void Printer::Scalar(const Message& message, const Reflection* r, const FieldPlan& f, int index) {
  const FieldDescriptor* field = f.field;
  const bool one = index < 0;
  switch (f.cpp_type) {
    case FieldDescriptor::CPPTYPE_INT32:
      absl::StrAppend(out_, one ? r->GetInt32(message, field) : r->GetRepeatedInt32(message, field, index));
      return;
    case FieldDescriptor::CPPTYPE_UINT32:
      absl::StrAppend(out_, one ? r->GetUInt32(message, field) : r->GetRepeatedUInt32(message, field, index));
      return;
    case FieldDescriptor::CPPTYPE_INT64:
      absl::StrAppend(out_, "\"", one ? r->GetInt64(message, field) : r->GetRepeatedInt64(message, field, index),
                      "\"");
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      absl::StrAppend(out_, "\"",
                      one ? r->GetUInt64(message, field) : r->GetRepeatedUInt64(message, field, index), "\"");
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      AppendDouble(one ? r->GetDouble(message, field) : r->GetRepeatedDouble(message, field, index), out_);
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out_->append((one ? r->GetBool(message, field) : r->GetRepeatedBool(message, field, index)) ? "true"
                                                                                                   : "false");
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int number = one ? r->GetEnumValue(message, field) : r->GetRepeatedEnumValue(message, field, index);
      if (f.null_value) {
        out_->append("null");
        return;
      }
      const google::protobuf::EnumValueDescriptor* named = field->enum_type()->FindValueByNumber(number);
      if (named != nullptr) {
        AppendQuoted(named->name(), out_);
      } else {
        absl::StrAppend(out_, number);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& text =
          one ? r->GetStringReference(message, field, &scratch)
              : r->GetRepeatedStringReference(message, field, index, &scratch);
      if (f.bytes) {
        out_->push_back('"');
        out_->append(absl::Base64Escape(text));
        out_->push_back('"');
      } else {
        AppendQuoted(text, out_);
      }
      return;
    }
    case FieldDescriptor::CPPTYPE_FLOAT:    // not direct (FieldSupported)
    case FieldDescriptor::CPPTYPE_MESSAGE:  // not a scalar
      return;
  }
}

// Always-print: a scalar field at its default.
void Printer::Default(const FieldPlan& f) {
  const FieldDescriptor* field = f.field;
  FieldKey(f);
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      out_->append("\"0\"");
      return;
    case FieldDescriptor::CPPTYPE_BOOL:
      out_->append("false");
      return;
    case FieldDescriptor::CPPTYPE_STRING:
      out_->append("\"\"");
      return;
    case FieldDescriptor::CPPTYPE_ENUM:
      if (f.null_value) {
        out_->append("null");
      } else {
        AppendQuoted(field->enum_type()->value(0)->name(), out_);
      }
      return;
    default:
      out_->append("0");
      return;
  }
}

absl::Status Printer::PrintValue(const std::string* key, const google::protobuf::Value& value, int depth) {
  using google::protobuf::Value;
  RETURN_IF_ERROR(Deeper(depth, Value::descriptor()));
  if (value.kind_case() == Value::KIND_NOT_SET) return absl::OkStatus();
  if (key != nullptr) {
    Key(*key);
  } else {
    Separator();
  }
  switch (value.kind_case()) {
    case Value::kNullValue:
      out_->append("null");
      return absl::OkStatus();
    case Value::kNumberValue:
      AppendDouble(value.number_value(), out_);
      return absl::OkStatus();
    case Value::kStringValue:
      AppendQuoted(value.string_value(), out_);
      return absl::OkStatus();
    case Value::kBoolValue:
      out_->append(value.bool_value() ? "true" : "false");
      return absl::OkStatus();
    case Value::kStructValue:
      return PrintStruct(value.struct_value(), depth + 1);
    case Value::kListValue:
      return PrintList(value.list_value(), depth + 1);
    case Value::KIND_NOT_SET:
      break;
  }
  return absl::OkStatus();
}

absl::Status Printer::PrintStruct(const google::protobuf::Struct& object, int depth) {
  RETURN_IF_ERROR(Deeper(depth, google::protobuf::Struct::descriptor()));
  out_->push_back('{');
  first_ = true;
  for (const auto& [key, value] : object.fields()) {  // the map's order, as serialized
    RETURN_IF_ERROR(Deeper(depth + 1, google::protobuf::Struct::descriptor()));  // the entry
    RETURN_IF_ERROR(PrintValue(&key, value, depth + 2));
  }
  out_->push_back('}');
  first_ = false;
  return absl::OkStatus();
}

absl::Status Printer::PrintList(const google::protobuf::ListValue& list, int depth) {
  RETURN_IF_ERROR(Deeper(depth, google::protobuf::ListValue::descriptor()));
  out_->push_back('[');
  first_ = true;
  for (const google::protobuf::Value& value : list.values()) {
    RETURN_IF_ERROR(PrintValue(nullptr, value, depth + 1));
  }
  out_->push_back(']');
  first_ = false;
  return absl::OkStatus();
}

}  // namespace

absl::Status AppendProtoJson(const Message& message, const ProtoJsonOptions& options, std::string* out) {
  const TypePlan& plan = Plans().Get(message.GetDescriptor());
  if (!plan.direct || message.GetReflection() != plan.reflection) {
    google::protobuf::util::JsonPrintOptions json_options;
    json_options.preserve_proto_field_names = true;
    json_options.always_print_primitive_fields = options.always_print_primitive_fields;
    std::string json;
    auto status = google::protobuf::util::MessageToJsonString(message, &json, json_options);
    if (!status.ok()) return absl::Status(static_cast<absl::StatusCode>(status.code()), status.message().ToString());
    out->append(json);
    return absl::OkStatus();
  }
  Printer printer(options.always_print_primitive_fields, out);
  return printer.PrintMessage(message, plan, 0);
}

absl::StatusOr<std::string> ProtoJson(const Message& message, const ProtoJsonOptions& options) {
  std::string out;
  RETURN_IF_ERROR(AppendProtoJson(message, options, &out));
  return out;
}

bool ProtoJsonRendersDirectly(const Descriptor* type) { return Plans().Get(type).direct; }

}  // namespace leadlog
