// Predicate design note.
//
// Validation: the scoring model's validator (scoring_model.cc) is the one
// definition of a valid predicate. ValidatePredicates hands it a probe model
// holding only `where` (in a behaviour rule for PredicateScope::kEvent, in a
// fit rule for kTraits, which is exactly the traits-only scope) and rewrites
// the rule's path in the error to the caller's path. Nothing about fields,
// operators or operands is restated here.
//
// Evaluation moved here unchanged from scorer.cc, so scoring decisions are
// identical before and after the move.
#include "projections/scoring/predicate.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

using google::protobuf::Value;

constexpr std::pair<absl::string_view, const std::string& (v1::Context::*)() const>
    kContextGetters[] = {{"ip", &v1::Context::ip},
                         {"user_agent", &v1::Context::user_agent},
                         {"locale", &v1::Context::locale},
                         {"timezone", &v1::Context::timezone},
                         {"page_url", &v1::Context::page_url},
                         {"page_path", &v1::Context::page_path},
                         {"page_referrer", &v1::Context::page_referrer},
                         {"page_title", &v1::Context::page_title},
                         {"campaign_name", &v1::Context::campaign_name},
                         {"campaign_source", &v1::Context::campaign_source},
                         {"campaign_medium", &v1::Context::campaign_medium},
                         {"campaign_term", &v1::Context::campaign_term},
                         {"campaign_content", &v1::Context::campaign_content},
                         {"library_name", &v1::Context::library_name},
                         {"library_version", &v1::Context::library_version}};

void LowerStrings(Value* v) {
  if (v->kind_case() == Value::kStringValue) {
    absl::AsciiStrToLower(v->mutable_string_value());
  } else if (v->kind_case() == Value::kListValue) {
    for (Value& e : *v->mutable_list_value()->mutable_values()) LowerStrings(&e);
  }
}

bool ScalarEquals(const Value& a, const Value& b, bool ignore_case) {
  if (a.kind_case() != b.kind_case()) return false;
  switch (a.kind_case()) {
    case Value::kStringValue:
      return ignore_case ? absl::AsciiStrToLower(a.string_value()) == b.string_value()
                         : a.string_value() == b.string_value();
    case Value::kNumberValue:
      return a.number_value() == b.number_value();
    case Value::kBoolValue:
      return a.bool_value() == b.bool_value();
    default:
      return false;
  }
}

bool Holds(ScoringOp op, const Value* v, const Value& operand, bool ignore_case) {
  if (op == ScoringOp::kExists) {
    return v != nullptr && v->kind_case() != Value::kNullValue &&
           v->kind_case() != Value::KIND_NOT_SET;
  }
  if (v == nullptr) return false;
  switch (op) {
    case ScoringOp::kEquals:
      return ScalarEquals(*v, operand, ignore_case);
    case ScoringOp::kIn:
      for (const Value& e : operand.list_value().values()) {
        if (ScalarEquals(*v, e, ignore_case)) return true;
      }
      return false;
    case ScoringOp::kPrefix:
    case ScoringOp::kContains: {
      if (v->kind_case() != Value::kStringValue) return false;
      const std::string s =
          ignore_case ? absl::AsciiStrToLower(v->string_value()) : v->string_value();
      return op == ScoringOp::kPrefix ? absl::StartsWith(s, operand.string_value())
                                      : absl::StrContains(s, operand.string_value());
    }
    default:
      break;
  }
  if (v->kind_case() != Value::kNumberValue) return false;
  const double x = v->number_value(), y = operand.number_value();
  switch (op) {
    case ScoringOp::kGt:
      return x > y;
    case ScoringOp::kGte:
      return x >= y;
    case ScoringOp::kLt:
      return x < y;
    case ScoringOp::kLte:
      return x <= y;
    default:
      return false;
  }
}

}  // namespace

absl::Status ValidatePredicates(const ScoringPredicates& where, PredicateScope scope,
                                absl::string_view path) {
  v1::ScoringModel probe;
  probe.set_id("probe");
  probe.set_version(1);
  absl::string_view rule_path;
  if (scope == PredicateScope::kTraits) {
    v1::FitModel* grade = probe.mutable_grade();
    v1::FitRule* rule = grade->add_rules();
    rule->set_id("probe");
    *rule->mutable_where() = where;
    // Bands must be strictly descending to pass; their values do not matter.
    grade->mutable_bands()->set_a_min_points(3);
    grade->mutable_bands()->set_b_min_points(2);
    grade->mutable_bands()->set_c_min_points(1);
    rule_path = "grade.rules[0]";
  } else {
    v1::BehaviorRule* rule = probe.add_rules();
    rule->set_id("probe");
    rule->set_call("track");
    *rule->mutable_where() = where;
    rule_path = "rules[0]";
  }
  const absl::Status status = ValidateScoringModel(probe);
  if (status.ok()) return status;
  absl::string_view message = status.message();
  if (absl::ConsumePrefix(&message, rule_path)) {
    return absl::Status(status.code(), absl::StrCat(path, message));
  }
  // Not about a predicate (the probe as a whole is too large).
  return absl::Status(status.code(), absl::StrCat(path, ".where: ", message));
}

CompiledPredicate CompiledPredicate::CompileValid(const v1::ScoringPredicate& p) {
  CompiledPredicate out;
  LEADLOG_CHECK(ParseScoringOp(p.op(), &out.op_)) << "validated predicate has op " << p.op();
  out.operand_ = p.value();
  out.ignore_case_ = p.ignore_case();
  if (out.ignore_case_) LowerStrings(&out.operand_);
  const std::vector<std::string> parts = absl::StrSplit(p.field(), '.');
  if (parts[0] == "properties" || parts[0] == "traits") {
    out.source_ = parts[0] == "traits" ? Source::kTraits : Source::kProperties;
    out.keys_.assign(parts.begin() + 1, parts.end());
  } else if (parts[0] == "context") {
    out.source_ = Source::kContext;
    for (const auto& [name, getter] : kContextGetters) {
      if (parts.size() == 2 && name == parts[1]) out.context_ = getter;
    }
    LEADLOG_CHECK(out.context_ != nullptr) << "validated predicate has field " << p.field();
  } else {
    LEADLOG_CHECK(parts[0] == "name" || parts[0] == "category")
        << "validated predicate has field " << p.field();
    out.source_ = parts[0] == "name" ? Source::kName : Source::kCategory;
  }
  return out;
}

const Value* CompiledPredicate::Resolve(const v1::Event& event, Value* scratch) const {
  const std::string* str = nullptr;
  switch (source_) {
    case Source::kProperties:
      return WalkStruct(event.properties(), keys_, 0);
    case Source::kTraits:
      return WalkStruct(event.traits(), keys_, 0);
    case Source::kContext:
      str = &(event.context().*context_)();
      break;
    case Source::kName:
      str = &event.name();
      break;
    case Source::kCategory:
      str = &event.category();
      break;
  }
  if (str == nullptr || str->empty()) return nullptr;
  scratch->set_string_value(*str);
  return scratch;
}

bool CompiledPredicate::HoldsFor(const Value* value) const {
  return Holds(op_, value, operand_, ignore_case_);
}

bool CompiledPredicate::Matches(const v1::Event& event, Value* scratch) const {
  return HoldsFor(Resolve(event, scratch));
}

bool CompiledPredicate::MatchesTraits(const google::protobuf::Struct& traits) const {
  return HoldsFor(source_ == Source::kTraits ? WalkStruct(traits, keys_, 0) : nullptr);
}

absl::StatusOr<std::vector<CompiledPredicate>> CompilePredicates(const ScoringPredicates& where,
                                                                 PredicateScope scope,
                                                                 absl::string_view path) {
  RETURN_IF_ERROR(ValidatePredicates(where, scope, path));
  std::vector<CompiledPredicate> out;
  out.reserve(static_cast<size_t>(where.size()));
  for (const v1::ScoringPredicate& p : where) out.push_back(CompiledPredicate::CompileValid(p));
  return out;
}

bool AllMatchTraits(const std::vector<CompiledPredicate>& where,
                    const google::protobuf::Struct& traits) {
  for (const CompiledPredicate& p : where) {
    if (!p.MatchesTraits(traits)) return false;
  }
  return true;
}

const Value* WalkStruct(const google::protobuf::Struct& root, const std::vector<std::string>& keys,
                        size_t from) {
  const google::protobuf::Struct* s = &root;
  const Value* v = nullptr;
  for (size_t i = from; i < keys.size(); ++i) {
    if (s == nullptr) return nullptr;
    auto it = s->fields().find(keys[i]);
    if (it == s->fields().end()) return nullptr;
    v = &it->second;
    s = v->kind_case() == Value::kStructValue ? &v->struct_value() : nullptr;
  }
  return v;
}

}  // namespace leadlog
