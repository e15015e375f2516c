// Differential tests: AppendProtoJson against protobuf's MessageToJsonString
// (preserve_proto_field_names, always_print_primitive_fields off and on), on
// seeded random messages of every leadlog.v1 type, every code point, invalid
// UTF-8, awkward doubles and the nesting limit. A failure prints the type,
// the seed (replay: LEADLOG_PROTO_JSON_SEED=<seed> LEADLOG_PROTO_JSON_TYPE=
// <full name>) and both outputs. LEADLOG_PROTO_JSON_SEEDS sets the seeds per
// type (default 200).
#include "engine/proto_json.h"

#include <cfloat>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/limits.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "leadlog/v1/action.pb.h"
#include "leadlog/v1/api.pb.h"
#include "leadlog/v1/calendar.pb.h"
#include "leadlog/v1/definition.pb.h"
#include "leadlog/v1/event.pb.h"
#include "leadlog/v1/flow.pb.h"
#include "leadlog/v1/lead.pb.h"
#include "leadlog/v1/lifecycle.pb.h"
#include "leadlog/v1/record.pb.h"
#include "leadlog/v1/revenue_rules.pb.h"
#include "leadlog/v1/sales.pb.h"
#include "leadlog/v1/scoring.pb.h"

namespace leadlog {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Every schema in proto/leadlog/v1 (EveryProtoFileIsListed keeps it whole);
// one generated symbol per file links its descriptor in.
const std::vector<std::string>& ProtoFiles() {
  static const auto* files = [] {
    const void* linked[] = {v1::Action::descriptor(),        v1::ApiPosition::descriptor(),
                            v1::WorkingWindow::descriptor(), v1::OwnerQueue::descriptor(),
                            v1::Erasure::descriptor(),       v1::EventMatch::descriptor(),
                            v1::LeadState::descriptor(),     v1::LifecycleStage::descriptor(),
                            v1::SourcePosition::descriptor(), v1::ScorePolicy::descriptor(),
                            v1::SalesFactKind_descriptor(),  v1::ScoringPredicate::descriptor()};
    (void)linked;
    return new std::vector<std::string>{
        "leadlog/v1/action.proto",   "leadlog/v1/api.proto",           "leadlog/v1/calendar.proto",
        "leadlog/v1/definition.proto", "leadlog/v1/event.proto",       "leadlog/v1/flow.proto",
        "leadlog/v1/lead.proto",     "leadlog/v1/lifecycle.proto",     "leadlog/v1/record.proto",
        "leadlog/v1/revenue_rules.proto", "leadlog/v1/sales.proto",    "leadlog/v1/scoring.proto"};
  }();
  return *files;
}

void AddTypes(const Descriptor* type, std::vector<const Descriptor*>* out) {
  if (type->options().map_entry()) return;
  out->push_back(type);
  for (int i = 0; i < type->nested_type_count(); ++i) AddTypes(type->nested_type(i), out);
}

std::vector<const Descriptor*> AllTypes() {
  std::vector<const Descriptor*> types;
  for (const std::string& name : ProtoFiles()) {
    const google::protobuf::FileDescriptor* file =
        google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    if (file == nullptr) {
      ADD_FAILURE() << name << " is not in the generated pool";
      continue;
    }
    for (int i = 0; i < file->message_type_count(); ++i) AddTypes(file->message_type(i), &types);
  }
  return types;
}

struct Rendered {
  bool ok = false;
  std::string text;  // the JSON, or the error
};

Rendered Protobuf(const Message& message, bool always_print) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = always_print;
  Rendered r;
  auto status = google::protobuf::util::MessageToJsonString(message, &r.text, options);
  r.ok = status.ok();
  if (!r.ok) r.text = status.ToString();
  return r;
}

Rendered Ours(const Message& message, bool always_print) {
  auto json = ProtoJson(message, {.always_print_primitive_fields = always_print});
  if (!json.ok()) return {false, json.status().ToString()};
  return {true, *json};
}

// Empty when both agree (same bytes, or both failed), else what differs.
std::string Compare(const Message& message, bool always_print) {
  const Rendered expected = Protobuf(message, always_print);
  const Rendered actual = Ours(message, always_print);
  if (expected.ok == actual.ok && (!expected.ok || expected.text == actual.text)) return "";
  return absl::StrCat("always_print=", always_print, "\n protobuf: ", expected.text.substr(0, 4000),
                      "\n ours:     ", actual.text.substr(0, 4000));
}

// protobuf logs every invalid UTF-8 string it serializes; the test makes
// thousands on purpose.
void QuietProtobufLogs() {
  static bool done = [] {
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*, int, const std::string&) {});
    return true;
  }();
  (void)done;
}

// Seeded random messages of any type, by reflection.
class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  void Fill(Message* message, int depth) {
    const Descriptor* type = message->GetDescriptor();
    for (int i = 0; i < type->field_count(); ++i) {
      const FieldDescriptor* field = type->field(i);
      if (!Chance(depth == 0 ? 0.7 : 0.5 / depth)) continue;
      if (field->is_map()) {
        FillMap(message, field, depth);
      } else if (field->is_repeated()) {
        const int n = Uniform(0, Chance(0.05) ? 30 : 4);
        for (int k = 0; k < n; ++k) Add(message, field, depth);
      } else {
        Set(message, field, depth);
      }
    }
  }

  std::string String() {
    switch (Uniform(0, 9)) {
      case 0: return "";
      case 1: return Pick<std::string>({"a", "mql", "u:user-1", "pricing page", "0", "-", "null"});
      case 2: {  // ASCII with every character protobuf escapes
        const std::string alphabet = "ab\"\\<>&'/\b\f\n\r\t\x01\x1f\x7f =:{}[],";
        std::string s;
        for (int n = Uniform(1, 24); n > 0; --n) s.push_back(alphabet[Uniform(0, alphabet.size() - 1)]);
        return s;
      }
      case 3:
      case 4: {  // code points, weighted toward the escaped ranges
        std::string s;
        for (int n = Uniform(1, 12); n > 0; --n) AppendUtf8(CodePoint(), &s);
        return s;
      }
      case 5: {  // arbitrary bytes: invalid UTF-8
        std::string s;
        for (int n = Uniform(1, 16); n > 0; --n) s.push_back(static_cast<char>(Uniform(0, 255)));
        return s;
      }
      case 6: {  // valid text with one broken sequence inside
        std::string s = "ok";
        s += Pick<std::string>({"\xc3", "\xe2\x82", "\xf0\x9f\x98", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                "\xc0\x80", "\xc1\xbf", "\xe0\x80\xa2", "\x80", "\xbf", "\xf8\x88\x80\x80\x80",
                                "\xff", "\xc3\x28", "\xe2\x28\xa1"});
        if (Chance(0.5)) s += "tail<>";
        return s;
      }
      case 7:
        if (Chance(0.1)) return std::string(Uniform(60'000, 200'000), 'x') + "\xe2\x80\xa8";  // huge
        return "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
      default: {
        std::string s;
        for (int n = Uniform(1, 20); n > 0; --n) s.push_back(static_cast<char>(Uniform('a', 'z')));
        return s;
      }
    }
  }

  double Double() {
    switch (Uniform(0, 5)) {
      case 0:
        return Pick<double>({0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.0 / 3, 2.5e-3, 1e15, 1e15 - 1, -1e15 + 1, 1e16,
                             123456789012345678.0, 9007199254740992.0, 9007199254740993.0, 1e-7, 1e21, 1e22,
                             5e-324, DBL_MIN, DBL_MAX, -DBL_MAX, DBL_EPSILON, 100.0, 0.30000000000000004,
                             std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()});
      case 1: {  // any bit pattern: denormals, NaN payloads, extremes
        const uint64_t bits = rng_();
        double d;
        std::memcpy(&d, &bits, sizeof(d));
        return d;
      }
      case 2: return static_cast<double>(static_cast<int64_t>(rng_())) / 1000;
      case 3: return static_cast<double>(Uniform(-1'000'000, 1'000'000));
      case 4: return std::ldexp(static_cast<double>(rng_() >> 11), Uniform(-1100, 1000));
      default: return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
  }

  void FillValue(google::protobuf::Value* value, int depth) {
    switch (Uniform(0, depth > 6 ? 4 : 6)) {
      case 0: break;  // no kind
      case 1: value->set_null_value(google::protobuf::NULL_VALUE); break;
      case 2: value->set_number_value(Double()); break;
      case 3: value->set_string_value(String()); break;
      case 4: value->set_bool_value(Chance(0.5)); break;
      case 5: {
        google::protobuf::Struct* object = value->mutable_struct_value();
        for (int n = Uniform(0, 5); n > 0; --n) FillValue(&(*object->mutable_fields())[String()], depth + 1);
        break;
      }
      default: {
        google::protobuf::ListValue* list = value->mutable_list_value();
        for (int n = Uniform(0, 5); n > 0; --n) FillValue(list->add_values(), depth + 1);
        break;
      }
    }
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int64_t Uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  template <typename T>
  T Pick(std::initializer_list<T> values) {
    return *(values.begin() + Uniform(0, static_cast<int64_t>(values.size()) - 1));
  }

  uint32_t CodePoint() {
    switch (Uniform(0, 6)) {
      case 0: return static_cast<uint32_t>(Uniform(0, 0xff));
      case 1: return Pick<uint32_t>({0xad, 0x600, 0x603, 0x6dd, 0x70f, 0x17b4, 0x17b5, 0x200b, 0x200f, 0x2028,
                                     0x202e, 0x2060, 0x2064, 0x206a, 0x206f, 0xfeff, 0xfff9, 0xfffb, 0xe0001,
                                     0x1d173, 0x1d17a, 0xe0020, 0xe007f, 0x10ffff, 0x7f, 0x9f, 0xa0});
      case 2: return static_cast<uint32_t>(Uniform(0x100, 0xd7ff));
      case 3: return static_cast<uint32_t>(Uniform(0xe000, 0xffff));
      case 4: return static_cast<uint32_t>(Uniform(0x10000, 0x10ffff));
      default: return static_cast<uint32_t>(Uniform(0x20, 0x7e));
    }
  }

  int64_t Int64() {
    return Pick<int64_t>({0, 1, -1, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                          static_cast<int64_t>(rng_()), Uniform(-1000, 1000), int64_t{1} << 53,
                          (int64_t{1} << 53) + 1});
  }

  int32_t Int32() {
    return Pick<int32_t>({0, 1, -1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
                          static_cast<int32_t>(rng_()), static_cast<int32_t>(Uniform(-1000, 1000))});
  }

  int EnumNumber(const FieldDescriptor* field) {
    const google::protobuf::EnumDescriptor* type = field->enum_type();
    if (Chance(0.2)) return Pick<int>({99, -5, 1 << 20, std::numeric_limits<int32_t>::max()});  // unknown
    return type->value(static_cast<int>(Uniform(0, type->value_count() - 1)))->number();
  }

  std::string Bytes() {
    std::string s;
    for (int n = Uniform(0, 40); n > 0; --n) s.push_back(static_cast<char>(Uniform(0, 255)));
    return s;
  }

  void FillMessageField(Message* child, const FieldDescriptor* field, int depth) {
    const Descriptor* type = field->message_type();
    if (type == google::protobuf::Value::descriptor()) {
      FillValue(static_cast<google::protobuf::Value*>(child), depth);
    } else if (type == google::protobuf::Struct::descriptor()) {
      auto* object = static_cast<google::protobuf::Struct*>(child);
      for (int n = Uniform(0, 6); n > 0; --n) FillValue(&(*object->mutable_fields())[String()], depth + 1);
    } else if (depth < 6) {
      Fill(child, depth + 1);
    }
  }

  void Set(Message* m, const FieldDescriptor* field, int depth) {
    const Reflection* r = m->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, field, Int32()); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, field, Int64()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, field, static_cast<uint32_t>(Int32())); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, field, static_cast<uint64_t>(Int64())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(m, field, Double()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(m, field, static_cast<float>(Double())); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, field, Chance(0.5)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(m, field, EnumNumber(field)); break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, field, field->type() == FieldDescriptor::TYPE_BYTES ? Bytes() : String());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: FillMessageField(r->MutableMessage(m, field), field, depth); break;
    }
  }

  void Add(Message* m, const FieldDescriptor* field, int depth) {
    const Reflection* r = m->GetReflection();
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->AddInt32(m, field, Int32()); break;
      case FieldDescriptor::CPPTYPE_INT64: r->AddInt64(m, field, Int64()); break;
      case FieldDescriptor::CPPTYPE_UINT32: r->AddUInt32(m, field, static_cast<uint32_t>(Int32())); break;
      case FieldDescriptor::CPPTYPE_UINT64: r->AddUInt64(m, field, static_cast<uint64_t>(Int64())); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->AddDouble(m, field, Double()); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->AddFloat(m, field, static_cast<float>(Double())); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->AddBool(m, field, Chance(0.5)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->AddEnumValue(m, field, EnumNumber(field)); break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, field, field->type() == FieldDescriptor::TYPE_BYTES ? Bytes() : String());
        break;
      case FieldDescriptor::CPPTYPE_MESSAGE: FillMessageField(r->AddMessage(m, field), field, depth); break;
    }
  }

  // Map entries through reflection's repeated view (duplicate keys
  // included); the caller copies the message through generated code, which
  // leaves the map itself authoritative, as in every message leadlog renders.
  void FillMap(Message* m, const FieldDescriptor* field, int depth) {
    const int n = Uniform(0, Chance(0.1) ? 40 : 4);
    for (int k = 0; k < n; ++k) {
      Message* entry = m->GetReflection()->AddMessage(m, field);
      const FieldDescriptor* key = field->message_type()->map_key();
      if (key->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        entry->GetReflection()->SetString(entry, key, String());
      } else {
        Set(entry, key, depth);
      }
      Set(entry, field->message_type()->map_value(), depth);
    }
  }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      s->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  std::mt19937_64 rng_;
};

int SeedsPerType() {
  const char* env = std::getenv("LEADLOG_PROTO_JSON_SEEDS");
  return env != nullptr ? std::atoi(env) : 200;
}

uint64_t SeedOf(const Descriptor* type, int i) { return std::hash<std::string>()(type->full_name()) ^ (uint64_t{0x9e3779b97f4a7c15} * (i + 1)); }

// A random `type` message, copied through generated code (see FillMap).
std::unique_ptr<Message> RandomMessage(const Descriptor* type, uint64_t seed) {
  const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(type);
  std::unique_ptr<Message> built(prototype->New());
  Generator(seed).Fill(built.get(), 0);
  std::unique_ptr<Message> copy(prototype->New());
  copy->CopyFrom(*built);
  return copy;
}

TEST(ProtoJson, EveryProtoFileIsListed) {
  std::set<std::string> on_disk;
  for (const auto& entry : std::filesystem::directory_iterator(LEADLOG_SOURCE_DIR "/proto/leadlog/v1")) {
    if (entry.path().extension() == ".proto") on_disk.insert("leadlog/v1/" + entry.path().filename().string());
  }
  EXPECT_EQ(on_disk, std::set<std::string>(ProtoFiles().begin(), ProtoFiles().end()));
}

TEST(ProtoJson, EveryLeadlogTypeRendersDirectly) {
  const std::vector<const Descriptor*> types = AllTypes();
  EXPECT_GT(types.size(), 100u);
  for (const Descriptor* type : types) EXPECT_TRUE(ProtoJsonRendersDirectly(type)) << type->full_name();
}

TEST(ProtoJson, WellKnownTopLevelTypesFallBackToProtobuf) {
  EXPECT_FALSE(ProtoJsonRendersDirectly(google::protobuf::Struct::descriptor()));
  google::protobuf::Struct object;
  (*object.mutable_fields())["a"].set_number_value(1.5);
  EXPECT_EQ(Compare(object, false), "");
  EXPECT_EQ(*ProtoJson(object), "{\"a\":1.5}");
}

// A DynamicMessage of a leadlog type has another reflection than the
// generated class the plan was made for: it goes to protobuf, same bytes.
TEST(ProtoJson, DynamicMessagesFallBackToProtobuf) {
  QuietProtobufLogs();
  google::protobuf::DynamicMessageFactory factory;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::unique_ptr<Message> generated = RandomMessage(v1::LeadState::descriptor(), seed);
    std::unique_ptr<Message> dynamic(factory.GetPrototype(v1::LeadState::descriptor())->New());
    dynamic->CopyFrom(*generated);  // by reflection: same descriptor, other class
    ASSERT_NE(dynamic->GetReflection(), generated->GetReflection());
    for (bool always_print : {false, true}) EXPECT_EQ(Compare(*dynamic, always_print), "") << "seed " << seed;
  }
}

TEST(ProtoJson, RandomMessagesOfEveryTypeMatchProtobuf) {
  QuietProtobufLogs();
  const char* only_type = std::getenv("LEADLOG_PROTO_JSON_TYPE");
  const char* only_seed = std::getenv("LEADLOG_PROTO_JSON_SEED");
  int failures = 0;
  for (const Descriptor* type : AllTypes()) {
    if (only_type != nullptr && type->full_name() != only_type) continue;
    for (int i = 0; i < SeedsPerType() && failures < 10; ++i) {
      const uint64_t seed = only_seed != nullptr ? std::strtoull(only_seed, nullptr, 10) : SeedOf(type, i);
      std::unique_ptr<Message> message = RandomMessage(type, seed);
      for (bool always_print : {false, true}) {
        const std::string diff = Compare(*message, always_print);
        if (!diff.empty()) {
          ++failures;
          ADD_FAILURE() << type->full_name() << " seed " << seed << "\n" << diff;
        }
      }
      if (only_seed != nullptr) break;
    }
  }
}

TEST(ProtoJson, EmptyMessagesOfEveryTypeMatchProtobuf) {
  for (const Descriptor* type : AllTypes()) {
    std::unique_ptr<Message> message(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    for (bool always_print : {false, true}) EXPECT_EQ(Compare(*message, always_print), "") << type->full_name();
  }
}

// Every code point U+0000..U+10FFFF (surrogates as the bytes ED A0..BF xx),
// 2048 per string.
TEST(ProtoJson, EveryCodePointEscapesAsProtobuf) {
  QuietProtobufLogs();
  v1::LeadErasure erasure;
  for (uint32_t start = 0; start <= 0x10ffff; start += 2048) {
    std::string text;
    for (uint32_t cp = start; cp < start + 2048 && cp <= 0x10ffff; ++cp) {
      if (cp < 0x80) {
        text.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        text += {static_cast<char>(0xc0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3f))};
      } else if (cp < 0x10000) {
        text += {static_cast<char>(0xe0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3f)),
                 static_cast<char>(0x80 | (cp & 0x3f))};
      } else {
        text += {static_cast<char>(0xf0 | (cp >> 18)), static_cast<char>(0x80 | ((cp >> 12) & 0x3f)),
                 static_cast<char>(0x80 | ((cp >> 6) & 0x3f)), static_cast<char>(0x80 | (cp & 0x3f))};
      }
    }
    erasure.set_reason(text);
    const std::string diff = Compare(erasure, false);
    ASSERT_EQ(diff, "") << "code points from U+" << std::hex << start;
  }
}

// Every two-byte prefix that starts with a non-ASCII byte, followed by
// ASCII: stray bytes, broken and truncated sequences, overlong forms.
TEST(ProtoJson, InvalidUtf8IsDroppedAsProtobufDropsIt) {
  QuietProtobufLogs();
  v1::LeadErasure erasure;
  for (int first = 0x80; first <= 0xff; ++first) {
    std::string text;
    for (int second = 0; second <= 0xff; ++second) {
      text += {static_cast<char>(first), static_cast<char>(second), static_cast<char>(0xbf), 'z'};
    }
    text.push_back(static_cast<char>(first));  // truncated at the end
    erasure.set_reason(text);
    ASSERT_EQ(Compare(erasure, false), "") << "first byte 0x" << std::hex << first;
    (*erasure.mutable_reason())[0] = '\xe0';
    ASSERT_EQ(Compare(erasure, true), "") << "first byte 0x" << std::hex << first;
  }
}

TEST(ProtoJson, DoublesFormatAsProtobuf) {
  v1::ProfileTrait trait;  // Value.number_value: a double
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200'000; ++i) {
    uint64_t bits = rng();
    if (i % 4 == 1) bits &= 0x000fffffffffffff;                   // denormals
    if (i % 4 == 2) bits = (bits & 0x800fffffffffffff) | 0x4300000000000000;  // near 2^53
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (i % 4 == 3) d = std::round(static_cast<double>(static_cast<int64_t>(rng() % 4'000'000'000'000'000) - 2'000'000'000'000'000) / (i % 7 == 0 ? 1 : 1000));
    trait.mutable_value()->set_number_value(d);
    ASSERT_EQ(Compare(trait, false), "") << "bits 0x" << std::hex << bits;
  }
}

// ProfileTrait → Value → (ListValue → Value)×n: the error appears at the
// same depth as protobuf's, and both render what is below it.
TEST(ProtoJson, NestingLimitIsProtobufs) {
  int last_ok = -1;
  for (int n = 0; n < kProtoJsonDepthMax; ++n) {
    v1::ProfileTrait trait;
    google::protobuf::Value* value = trait.mutable_value();
    for (int i = 0; i < n; ++i) value = value->mutable_list_value()->add_values();
    value->set_string_value("leaf");
    const Rendered expected = Protobuf(trait, false);
    const Rendered actual = Ours(trait, false);
    ASSERT_EQ(expected.ok, actual.ok) << "n=" << n << "\n" << expected.text << "\n" << actual.text;
    if (expected.ok) {
      ASSERT_EQ(expected.text, actual.text);
      last_ok = n;
    } else {
      EXPECT_THAT(actual.text, ::testing::HasSubstr("too deep"));
    }
  }
  // 1 (Value) + 2 per list level ≤ kProtoJsonDepthMax.
  EXPECT_EQ(last_ok, (kProtoJsonDepthMax - 1) / 2);
}

// Real data (tests/fixtures/json, captured from a bench/run.sh data dir
// with the CLI before this printer existed): a demo lead, its lead lookup
// response, an outbox action. Each renders as protobuf renders it, and
// parses back to the same message.
TEST(ProtoJson, RealDataFixturesMatchProtobuf) {
  struct Fixture {
    const char* file;
    std::unique_ptr<Message> message;
  };
  Fixture fixtures[] = {{"lead_state.json", std::make_unique<v1::LeadState>()},
                        {"lead_lookup_response.json", std::make_unique<v1::LeadResponse>()},
                        {"action.json", std::make_unique<v1::Action>()}};
  for (Fixture& f : fixtures) {
    std::ifstream in(std::string(LEADLOG_SOURCE_DIR "/tests/fixtures/json/") + f.file);
    std::stringstream text;
    text << in.rdbuf();
    ASSERT_TRUE(in) << f.file;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(text.str(), f.message.get()).ok()) << f.file;
    EXPECT_GT(f.message->ByteSizeLong(), 300u) << f.file << ": not a realistic message";
    for (bool always_print : {false, true}) {
      EXPECT_EQ(Compare(*f.message, always_print), "") << f.file;
      std::unique_ptr<Message> back(f.message->New());
      const std::string json = Ours(*f.message, always_print).text;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, back.get()).ok()) << json;
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*back, *f.message)) << f.file;
    }
  }
}

TEST(ProtoJson, AppendsAfterExistingText) {
  v1::IdentityMerge merge;
  merge.set_sequence(7);
  std::string out = "prefix:";
  ASSERT_TRUE(AppendProtoJson(merge, {}, &out).ok());
  EXPECT_EQ(out, "prefix:{\"sequence\":\"7\"}");
}

}  // namespace
}  // namespace leadlog
