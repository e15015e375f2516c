#include "projections/scoring/scoring_model.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/redaction.h"
#include "engine/status_macros.h"
#include "projections/definition_text.h"

namespace leadlog {
namespace {

using google::protobuf::Value;

constexpr absl::string_view kContextFields[] = {
    "ip",          "user_agent",    "locale",          "timezone",      "page_url",
    "page_path",   "page_referrer", "page_title",      "campaign_name", "campaign_source",
    "campaign_medium", "campaign_term", "campaign_content", "library_name", "library_version"};
constexpr absl::string_view kCalls[] = {"track", "page", "identify", "group", "alias"};

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

// Ids: 1..kScoringIdBytesMax bytes of [a-z0-9_.-].
absl::Status ValidateId(absl::string_view id, absl::string_view path) {
  if (id.empty()) return Invalid(path, "required");
  if (id.size() > kScoringIdBytesMax) {
    return Invalid(path, absl::StrCat("longer than ", kScoringIdBytesMax, " bytes"));
  }
  for (char c : id) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.' || c == '-')) {
      return Invalid(path, absl::StrCat("\"", id, "\" may contain only [a-z0-9_.-]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateField(absl::string_view field, bool traits_only, absl::string_view path) {
  if (field.size() > kScoringFieldBytesMax) {
    return Invalid(path, absl::StrCat("longer than ", kScoringFieldBytesMax, " bytes"));
  }
  auto keyed = [&](absl::string_view prefix) {
    return absl::StartsWith(field, prefix) && field.size() > prefix.size() &&
           !absl::StrContains(field, "..") && !absl::EndsWith(field, ".");
  };
  if (keyed("traits.")) return absl::OkStatus();
  if (!traits_only) {
    if (keyed("properties.") || field == "name" || field == "category") return absl::OkStatus();
    if (absl::StartsWith(field, "context.")) {
      for (absl::string_view c : kContextFields) {
        if (field.substr(8) == c) return absl::OkStatus();
      }
    }
  }
  return Invalid(path, absl::StrCat("unknown field \"", field, "\"",
                                    traits_only ? " (fit rules read traits.* only)" : ""));
}

absl::Status ValidateScalar(const Value& v, absl::string_view path) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      if (v.string_value().size() > kScoringStringValueBytesMax) {
        return Invalid(path, absl::StrCat("longer than ", kScoringStringValueBytesMax, " bytes"));
      }
      return absl::OkStatus();
    case Value::kNumberValue:
    case Value::kBoolValue:
      return absl::OkStatus();
    default:
      return Invalid(path, "expected a string, number or bool");
  }
}

absl::Status ValidateOperand(ScoringOp op, const Value& v, absl::string_view path) {
  switch (op) {
    case ScoringOp::kEquals:
      return ValidateScalar(v, path);
    case ScoringOp::kIn: {
      if (v.kind_case() != Value::kListValue || v.list_value().values_size() == 0) {
        return Invalid(path, "expected a non-empty list");
      }
      if (v.list_value().values_size() > kScoringInValuesMax) {
        return absl::ResourceExhaustedError(
            absl::StrCat(path, ": more than ", kScoringInValuesMax, " values"));
      }
      for (int i = 0; i < v.list_value().values_size(); ++i) {
        RETURN_IF_ERROR(ValidateScalar(v.list_value().values(i), absl::StrCat(path, "[", i, "]")));
      }
      return absl::OkStatus();
    }
    case ScoringOp::kPrefix:
    case ScoringOp::kContains:
      if (v.kind_case() != Value::kStringValue) return Invalid(path, "expected a string");
      return ValidateScalar(v, path);
    case ScoringOp::kGt:
    case ScoringOp::kGte:
    case ScoringOp::kLt:
    case ScoringOp::kLte:
      if (v.kind_case() != Value::kNumberValue) return Invalid(path, "expected a number");
      return absl::OkStatus();
    case ScoringOp::kExists:
      if (v.kind_case() != Value::KIND_NOT_SET) return Invalid(path, "must be unset for exists");
      return absl::OkStatus();
  }
  return Invalid(path, "unknown operator");
}

// A definition must not depend on what an erasure removes or masks
// (engine/redaction.h): the live fold saw the data, a rebuild of the
// rewritten log will not, and the two must decide the same (invariant 5).
// Allowed on an email field: `exists` (an erased email stays, masked) and
// `contains` of a value starting with "@" or "." (it looks at the domain,
// which the mask keeps).
absl::Status CheckNotPersonal(const v1::ScoringPredicate& p, ScoringOp op,
                              absl::string_view path) {
  const absl::string_view field = p.field();
  const std::string why =
      absl::StrCat("\"", field, "\" is personal data that erasure removes (engine/redaction.h); ",
                   "a definition may test only an email's domain: exists, or contains a value ",
                   "starting with \"@\" or \".\"");
  if (field == "context.ip" || field == "context.user_agent") return Invalid(path, why);
  absl::string_view rest;
  if (absl::StartsWith(field, "traits.")) {
    rest = field.substr(7);
  } else if (absl::StartsWith(field, "properties.")) {
    rest = field.substr(11);
  } else {
    return absl::OkStatus();
  }
  const std::vector<absl::string_view> keys = absl::StrSplit(rest, '.');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!IsPersonalField(keys[i])) continue;
    const absl::string_view value = p.value().string_value();
    const bool domain_only =
        IsEmailField(keys[i]) && i + 1 == keys.size() &&
        (op == ScoringOp::kExists ||
         (op == ScoringOp::kContains && (absl::StartsWith(value, "@") || absl::StartsWith(value, "."))));
    if (!domain_only) return Invalid(path, why);
  }
  return absl::OkStatus();
}

absl::Status ValidatePredicates(
    const google::protobuf::RepeatedPtrField<v1::ScoringPredicate>& where, bool traits_only,
    absl::string_view rule_path) {
  if (where.size() > kScoringPredicatesPerRuleMax) {
    return absl::ResourceExhaustedError(absl::StrCat(rule_path, ".where: more than ",
                                                     kScoringPredicatesPerRuleMax, " predicates"));
  }
  for (int i = 0; i < where.size(); ++i) {
    const v1::ScoringPredicate& p = where[i];
    const std::string path = absl::StrCat(rule_path, ".where[", i, "]");
    RETURN_IF_ERROR(ValidateField(p.field(), traits_only, absl::StrCat(path, ".field")));
    ScoringOp op;
    if (!ParseScoringOp(p.op(), &op)) {
      return Invalid(absl::StrCat(path, ".op"), absl::StrCat("unknown operator \"", p.op(), "\""));
    }
    RETURN_IF_ERROR(ValidateOperand(op, p.value(), absl::StrCat(path, ".value")));
    RETURN_IF_ERROR(CheckNotPersonal(p, op, absl::StrCat(path, ".field")));
  }
  return absl::OkStatus();
}

absl::Status ValidatePoints(int64_t points, absl::string_view path) {
  if (points > kScoringPointsAbsMax || points < -kScoringPointsAbsMax) {
    return Invalid(path, absl::StrCat("must be within +-", kScoringPointsAbsMax));
  }
  return absl::OkStatus();
}

absl::Status ValidateCap(const v1::BehaviorRule& rule, absl::string_view path) {
  const v1::RuleCap& cap = rule.cap();
  if (cap.points_max() <= 0) return Invalid(absl::StrCat(path, ".points_max"), "must be > 0");
  RETURN_IF_ERROR(ValidatePoints(cap.points_max(), absl::StrCat(path, ".points_max")));
  if (cap.window_ms() <= 0 || cap.window_ms() > kScoringCapWindowMsMax) {
    return Invalid(absl::StrCat(path, ".window_ms"),
                   absl::StrCat("must be in (0, ", kScoringCapWindowMsMax, "]"));
  }
  const int64_t abs_points = rule.points() < 0 ? -rule.points() : rule.points();
  if (abs_points > 0 && (cap.points_max() + abs_points - 1) / abs_points > kScoringCapAwardsMax) {
    return Invalid(absl::StrCat(path, ".points_max"),
                   absl::StrCat("allows more than ", kScoringCapAwardsMax, " awards per window"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRule(const v1::BehaviorRule& rule, const std::string& path,
                          std::set<std::string>* ids) {
  RETURN_IF_ERROR(ValidateId(rule.id(), absl::StrCat(path, ".id")));
  if (!ids->insert(rule.id()).second) {
    return Invalid(absl::StrCat(path, ".id"), absl::StrCat("duplicate \"", rule.id(), "\""));
  }
  bool call_ok = false;
  for (absl::string_view c : kCalls) call_ok = call_ok || rule.call() == c;
  if (!call_ok) {
    return Invalid(absl::StrCat(path, ".call"), absl::StrCat("unknown call \"", rule.call(), "\""));
  }
  if (rule.event().size() > kScoringFieldBytesMax) {
    return Invalid(absl::StrCat(path, ".event"),
                   absl::StrCat("longer than ", kScoringFieldBytesMax, " bytes"));
  }
  RETURN_IF_ERROR(ValidatePredicates(rule.where(), /*traits_only=*/false, path));
  RETURN_IF_ERROR(ValidatePoints(rule.points(), absl::StrCat(path, ".points")));
  if (rule.has_cap()) RETURN_IF_ERROR(ValidateCap(rule, absl::StrCat(path, ".cap")));
  return absl::OkStatus();
}

absl::Status ValidateDecay(const v1::Decay& decay) {
  if (decay.period_ms() <= 0 || decay.period_ms() > kScoringDecayPeriodMsMax) {
    return Invalid("decay.period_ms", absl::StrCat("must be in (0, ", kScoringDecayPeriodMsMax, "]"));
  }
  switch (decay.rate_case()) {
    case v1::Decay::kHalfLifeMs:
      if (decay.half_life_ms() <= 0) return Invalid("decay.half_life_ms", "must be > 0");
      if (decay.half_life_ms() / decay.period_ms() > kScoringHalfLifePeriodsMax) {
        return Invalid("decay.half_life_ms", absl::StrCat("must be at most ", kScoringHalfLifePeriodsMax,
                                                          " x decay.period_ms"));
      }
      return absl::OkStatus();
    case v1::Decay::kPercentPerPeriod:
      if (decay.percent_per_period() < 1 || decay.percent_per_period() > 100) {
        return Invalid("decay.percent_per_period", "must be in [1, 100]");
      }
      return absl::OkStatus();
    case v1::Decay::RATE_NOT_SET:
      break;
  }
  return Invalid("decay", "set half_life_ms or percent_per_period");
}

absl::Status ValidateGrade(const v1::FitModel& grade) {
  if (grade.rules_size() > kScoringFitRulesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("grade.rules: more than ", kScoringFitRulesMax, " rules"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < grade.rules_size(); ++i) {
    const v1::FitRule& rule = grade.rules(i);
    const std::string path = absl::StrCat("grade.rules[", i, "]");
    RETURN_IF_ERROR(ValidateId(rule.id(), absl::StrCat(path, ".id")));
    if (!ids.insert(rule.id()).second) {
      return Invalid(absl::StrCat(path, ".id"), absl::StrCat("duplicate \"", rule.id(), "\""));
    }
    RETURN_IF_ERROR(ValidatePredicates(rule.where(), /*traits_only=*/true, path));
    RETURN_IF_ERROR(ValidatePoints(rule.points(), absl::StrCat(path, ".points")));
  }
  const v1::GradeBands& b = grade.bands();
  const int64_t mins[] = {b.a_min_points(), b.b_min_points(), b.c_min_points(), b.d_min_points()};
  for (int i = 0; i < 4; ++i) {
    RETURN_IF_ERROR(ValidatePoints(mins[i], "grade.bands"));
    if (i > 0 && mins[i - 1] <= mins[i]) {
      return Invalid("grade.bands",
                     absl::StrCat(std::string(1, "ABCD"[i - 1]), " must be above ", std::string(1, "ABCD"[i])));
    }
  }
  return absl::OkStatus();
}


}  // namespace

bool ParseScoringOp(absl::string_view name, ScoringOp* op) {
  static constexpr std::pair<absl::string_view, ScoringOp> kOps[] = {
      {"equals", ScoringOp::kEquals}, {"in", ScoringOp::kIn},   {"prefix", ScoringOp::kPrefix},
      {"contains", ScoringOp::kContains}, {"gt", ScoringOp::kGt}, {"gte", ScoringOp::kGte},
      {"lt", ScoringOp::kLt},         {"lte", ScoringOp::kLte}, {"exists", ScoringOp::kExists}};
  for (const auto& [n, o] : kOps) {
    if (n == name) {
      *op = o;
      return true;
    }
  }
  return false;
}

absl::Status ValidateScoringModel(const v1::ScoringModel& model) {
  if (model.ByteSizeLong() > kScoringModelBytesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("scoring model: larger than ", kScoringModelBytesMax, " bytes"));
  }
  RETURN_IF_ERROR(ValidateId(model.id(), "id"));
  if (model.version() < 1) return Invalid("version", "must be >= 1");
  if (model.rules_size() > kScoringRulesMax) {
    return absl::ResourceExhaustedError(absl::StrCat("rules: more than ", kScoringRulesMax, " rules"));
  }
  std::set<std::string> ids;
  for (int i = 0; i < model.rules_size(); ++i) {
    RETURN_IF_ERROR(ValidateRule(model.rules(i), absl::StrCat("rules[", i, "]"), &ids));
  }
  if (model.has_total_cap()) {
    if (model.total_cap().points_max() <= 0) return Invalid("total_cap.points_max", "must be > 0");
    RETURN_IF_ERROR(ValidatePoints(model.total_cap().points_max(), "total_cap.points_max"));
  }
  if (model.has_decay()) RETURN_IF_ERROR(ValidateDecay(model.decay()));
  if (model.has_grade()) RETURN_IF_ERROR(ValidateGrade(model.grade()));
  return absl::OkStatus();
}

absl::StatusOr<v1::ScoringModel> ParseScoringModel(absl::string_view text) {
  v1::ScoringModel model;
  RETURN_IF_ERROR(ParseDefinitionText(text, DefinitionSyntax::kAuto, kScoringModelBytesMax,
                                      "scoring model", &model));
  RETURN_IF_ERROR(ValidateScoringModel(model));
  return model;
}

}  // namespace leadlog
