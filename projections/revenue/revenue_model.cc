// Design note: validation of RevenueOpsRules, one function per part, each
// error prefixed with the field path. Stage ids are checked for form only
// here; CheckRevenueRulesAgainstLifecycle checks them against a model.
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/definition_text.h"
#include "projections/revenue/revenue_engine.h"

namespace leadlog {
namespace {

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

absl::Status TooMany(absl::string_view path, int n, int max) {
  return absl::ResourceExhaustedError(absl::StrCat(path, ": ", n, " entries, at most ", max));
}

bool IsId(absl::string_view s) {
  if (s.empty() || s.size() > kRevenueIdBytesMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

absl::Status CheckId(absl::string_view id, absl::string_view path) {
  if (IsId(id)) return absl::OkStatus();
  return Invalid(path, absl::StrCat("\"", id, "\" is not 1..", kRevenueIdBytesMax,
                                    " bytes of [a-z0-9_]"));
}

absl::Status CheckOptionalId(absl::string_view id, absl::string_view path) {
  return id.empty() ? absl::OkStatus() : CheckId(id, path);
}

// A free-form reference (template, queue, recipient): bounded, no control bytes.
absl::Status CheckRef(absl::string_view ref, absl::string_view path) {
  if (ref.size() > kRevenueIdBytesMax) {
    return Invalid(path, absl::StrCat(ref.size(), " bytes, at most ", kRevenueIdBytesMax));
  }
  if (std::any_of(ref.begin(), ref.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return Invalid(path, "control character");
  }
  return absl::OkStatus();
}

// 0 (unused) when `zero_ok`, else within [kRevenueDurationMsMin, max].
absl::Status CheckDuration(int64_t ms, bool zero_ok, int64_t max, absl::string_view path) {
  if (ms == 0 && zero_ok) return absl::OkStatus();
  if (ms >= kRevenueDurationMsMin && ms <= max) return absl::OkStatus();
  return Invalid(path, absl::StrCat(ms, " is outside [", kRevenueDurationMsMin, ", ", max, "] ms"));
}

absl::Status CheckStages(const google::protobuf::RepeatedPtrField<std::string>& stages,
                         bool empty_ok, const std::string& path) {
  if (stages.empty() && !empty_ok) return Invalid(path, "no stages");
  if (stages.size() > kRevenueStagesPerRuleMax) {
    return TooMany(path, stages.size(), kRevenueStagesPerRuleMax);
  }
  std::set<std::string> seen;
  for (int i = 0; i < stages.size(); ++i) {
    const std::string p = absl::StrCat(path, "[", i, "]");
    RETURN_IF_ERROR(CheckId(stages[i], p));
    if (!seen.insert(stages[i]).second) return Invalid(p, absl::StrCat("duplicate \"", stages[i], "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckScorePolicy(const v1::ScorePolicy& p, const std::string& path) {
  if (p.kind() == v1::ScorePolicy::MULTIPLY && p.multiply_permille() > 1000) {
    return Invalid(absl::StrCat(path, ".multiply_permille"),
                   absl::StrCat(p.multiply_permille(), " is outside [0, 1000]"));
  }
  if (p.kind() == v1::ScorePolicy::SET &&
      (p.set_points() > kScoringPointsAbsMax || p.set_points() < -kScoringPointsAbsMax)) {
    return Invalid(absl::StrCat(path, ".set_points"),
                   absl::StrCat(p.set_points(), " is outside [-", kScoringPointsAbsMax, ", ",
                                kScoringPointsAbsMax, "]"));
  }
  if (!v1::ScorePolicy::Kind_IsValid(p.kind())) return Invalid(absl::StrCat(path, ".kind"), "unknown");
  return absl::OkStatus();
}

absl::Status ValidateRecycleRule(const v1::RecycleRule& r, const std::string& path) {
  RETURN_IF_ERROR(CheckId(r.id(), path + ".id"));
  RETURN_IF_ERROR(CheckStages(r.stages(), false, path + ".stages"));
  std::set<int> classes;
  for (int i = 0; i < r.activity_classes_size(); ++i) {
    const int c = r.activity_classes(i);
    const std::string p = absl::StrCat(path, ".activity_classes[", i, "]");
    if (c == v1::ACTIVITY_CLASS_UNSPECIFIED || !v1::ActivityClass_IsValid(c)) {
      return Invalid(p, "unspecified or unknown activity class");
    }
    if (!classes.insert(c).second) return Invalid(p, "duplicate");
  }
  RETURN_IF_ERROR(CheckDuration(r.no_activity_ms(), true, kRevenueDurationMsMax, path + ".no_activity_ms"));
  RETURN_IF_ERROR(CheckDuration(r.stage_age_max_ms(), true, kRevenueDurationMsMax, path + ".stage_age_max_ms"));
  if (r.no_activity_ms() == 0 && r.stage_age_max_ms() == 0) {
    return Invalid(path, "neither no_activity_ms nor stage_age_max_ms is set");
  }
  RETURN_IF_ERROR(CheckId(r.reason_code(), path + ".reason_code"));
  RETURN_IF_ERROR(CheckOptionalId(r.nurture_flow_id(), path + ".nurture_flow_id"));
  RETURN_IF_ERROR(CheckScorePolicy(r.score_policy(), path + ".score_policy"));
  return CheckRef(r.notify_template_id(), path + ".notify_template_id");
}

absl::Status ValidateRecyclePolicy(const v1::RecyclePolicy& p) {
  RETURN_IF_ERROR(CheckOptionalId(p.recycled_stage(), "recycle_policy.recycled_stage"));
  RETURN_IF_ERROR(CheckOptionalId(p.disqualified_stage(), "recycle_policy.disqualified_stage"));
  RETURN_IF_ERROR(CheckDuration(p.cooldown_ms(), true, kRevenueDurationMsMax, "recycle_policy.cooldown_ms"));
  if (p.recycles_max() > kRevenueRecyclesMaxCeiling) {
    return Invalid("recycle_policy.recycles_max",
                   absl::StrCat(p.recycles_max(), " is above ", kRevenueRecyclesMaxCeiling));
  }
  return CheckOptionalId(p.limit_reason(), "recycle_policy.limit_reason");
}

absl::Status ValidateRejectionRule(const v1::RejectionReasonRule& r, const std::string& path,
                                   std::map<std::string, std::string>* reason_owner) {
  RETURN_IF_ERROR(CheckId(r.id(), path + ".id"));
  if (r.reasons().empty()) return Invalid(path + ".reasons", "no reason codes");
  if (r.reasons_size() > kRevenueReasonsPerRuleMax) {
    return TooMany(path + ".reasons", r.reasons_size(), kRevenueReasonsPerRuleMax);
  }
  for (int i = 0; i < r.reasons_size(); ++i) {
    const std::string p = absl::StrCat(path, ".reasons[", i, "]");
    RETURN_IF_ERROR(CheckId(r.reasons(i), p));
    auto [it, fresh] = reason_owner->emplace(r.reasons(i), p);
    if (!fresh) return Invalid(p, absl::StrCat("\"", r.reasons(i), "\" is already handled by ", it->second));
  }
  if (r.outcome() != v1::RejectionReasonRule::RECYCLE &&
      r.outcome() != v1::RejectionReasonRule::DISQUALIFY) {
    return Invalid(path + ".outcome", "must be RECYCLE or DISQUALIFY");
  }
  RETURN_IF_ERROR(CheckDuration(r.recontact_after_ms(), true, kRevenueDurationMsMax, path + ".recontact_after_ms"));
  RETURN_IF_ERROR(CheckRef(r.recontact_property(), path + ".recontact_property"));
  RETURN_IF_ERROR(CheckOptionalId(r.recontact_stage(), path + ".recontact_stage"));
  const bool recontact = r.recontact_after_ms() != 0 || !r.recontact_property().empty();
  if (recontact && r.outcome() != v1::RejectionReasonRule::RECYCLE) {
    return Invalid(path + ".outcome", "a re-contact needs RECYCLE");
  }
  if (!r.recontact_stage().empty() && !recontact) {
    return Invalid(path + ".recontact_stage", "set without recontact_after_ms or recontact_property");
  }
  RETURN_IF_ERROR(CheckOptionalId(r.nurture_flow_id(), path + ".nurture_flow_id"));
  RETURN_IF_ERROR(CheckScorePolicy(r.score_policy(), path + ".score_policy"));
  return CheckRef(r.notify_template_id(), path + ".notify_template_id");
}

absl::Status ValidateRejection(const v1::RejectionReasonTable& t) {
  if (t.rules_size() > kRevenueRejectionRulesMax) {
    return TooMany("rejection.rules", t.rules_size(), kRevenueRejectionRulesMax);
  }
  std::map<std::string, std::string> reason_owner;
  for (int i = 0; i < t.rules_size(); ++i) {
    RETURN_IF_ERROR(ValidateRejectionRule(t.rules(i), absl::StrCat("rejection.rules[", i, "]"), &reason_owner));
  }
  if (!v1::RejectionReasonRule::Outcome_IsValid(t.default_outcome())) {
    return Invalid("rejection.default_outcome", "unknown outcome");
  }
  return absl::OkStatus();
}

absl::Status ValidateSla(const v1::SlaDefinition& s, const std::string& path) {
  RETURN_IF_ERROR(CheckId(s.id(), path + ".id"));
  RETURN_IF_ERROR(CheckId(s.stage(), path + ".stage"));
  if (s.stop_on().empty()) return Invalid(path + ".stop_on", "no stop facts");
  if (s.stop_on_size() > kRevenueSlaStopFactsMax) {
    return TooMany(path + ".stop_on", s.stop_on_size(), kRevenueSlaStopFactsMax);
  }
  std::set<int> kinds;
  for (int i = 0; i < s.stop_on_size(); ++i) {
    const std::string p = absl::StrCat(path, ".stop_on[", i, "]");
    if (s.stop_on(i) == v1::SALES_FACT_KIND_UNSPECIFIED || !v1::SalesFactKind_IsValid(s.stop_on(i))) {
      return Invalid(p, "unspecified or unknown sales fact kind");
    }
    if (!kinds.insert(s.stop_on(i)).second) return Invalid(p, "duplicate");
  }
  RETURN_IF_ERROR(CheckDuration(s.target_working_ms(), false, kRevenueSlaWorkingMsMax, path + ".target_working_ms"));
  if (s.warn_before_working_ms() < 0 || (s.warn_before_working_ms() > 0 &&
                                         s.warn_before_working_ms() >= s.target_working_ms())) {
    return Invalid(path + ".warn_before_working_ms",
                   absl::StrCat(s.warn_before_working_ms(), " is not below target_working_ms ",
                                s.target_working_ms()));
  }
  if (s.on_breach().empty() || s.on_breach_size() > 3) {
    return Invalid(path + ".on_breach", absl::StrCat(s.on_breach_size(), " actions, expected 1..3"));
  }
  std::set<int> actions;
  for (int i = 0; i < s.on_breach_size(); ++i) {
    const std::string p = absl::StrCat(path, ".on_breach[", i, "]");
    if (s.on_breach(i) == v1::SLA_BREACH_ACTION_UNSPECIFIED || !v1::SlaBreachAction_IsValid(s.on_breach(i))) {
      return Invalid(p, "unspecified or unknown breach action");
    }
    if (!actions.insert(s.on_breach(i)).second) return Invalid(p, "duplicate");
  }
  if (actions.count(v1::REASSIGN) != 0 && s.reassign_queue().empty()) {
    return Invalid(path + ".reassign_queue", "REASSIGN needs a queue");
  }
  RETURN_IF_ERROR(CheckRef(s.escalate_to(), path + ".escalate_to"));
  RETURN_IF_ERROR(CheckRef(s.reassign_queue(), path + ".reassign_queue"));
  RETURN_IF_ERROR(CheckOptionalId(s.return_stage(), path + ".return_stage"));
  RETURN_IF_ERROR(CheckOptionalId(s.return_reason(), path + ".return_reason"));
  return CheckOptionalId(s.sample_metric(), path + ".sample_metric");
}

absl::Status ValidateStale(const v1::StaleRecordRule& s) {
  if (s.id().empty()) {
    if (s.no_update_ms() != 0 || s.repeat_ms() != 0 || !s.stages().empty()) {
      return Invalid("stale_record.id", "empty, but the rule has settings");
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(CheckId(s.id(), "stale_record.id"));
  RETURN_IF_ERROR(CheckStages(s.stages(), true, "stale_record.stages"));
  RETURN_IF_ERROR(CheckDuration(s.no_update_ms(), false, kRevenueDurationMsMax, "stale_record.no_update_ms"));
  RETURN_IF_ERROR(CheckDuration(s.repeat_ms(), true, kRevenueDurationMsMax, "stale_record.repeat_ms"));
  return CheckRef(s.template_id(), "stale_record.template_id");
}

// Ids unique within one list.
template <typename List>
absl::Status CheckUniqueIds(const List& list, absl::string_view path) {
  std::map<std::string, int> seen;
  for (int i = 0; i < list.size(); ++i) {
    auto [it, fresh] = seen.emplace(list[i].id(), i);
    if (!fresh) {
      return Invalid(absl::StrCat(path, "[", i, "].id"),
                     absl::StrCat("duplicate \"", list[i].id(), "\" (", path, "[", it->second, "])"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRevenueOpsRules(const v1::RevenueOpsRules& rules) {
  RETURN_IF_ERROR(CheckId(rules.id(), "id"));
  if (rules.version() < 1) return Invalid("version", "must be >= 1");
  RETURN_IF_ERROR(CheckOptionalId(rules.calendar_id(), "calendar_id"));
  if (rules.recycle_rules_size() > kRevenueRecycleRulesMax) {
    return TooMany("recycle_rules", rules.recycle_rules_size(), kRevenueRecycleRulesMax);
  }
  for (int i = 0; i < rules.recycle_rules_size(); ++i) {
    RETURN_IF_ERROR(ValidateRecycleRule(rules.recycle_rules(i), absl::StrCat("recycle_rules[", i, "]")));
  }
  RETURN_IF_ERROR(CheckUniqueIds(rules.recycle_rules(), "recycle_rules"));
  RETURN_IF_ERROR(ValidateRecyclePolicy(rules.recycle_policy()));
  RETURN_IF_ERROR(ValidateRejection(rules.rejection()));
  RETURN_IF_ERROR(CheckUniqueIds(rules.rejection().rules(), "rejection.rules"));
  if (rules.slas_size() > kRevenueSlasMax) return TooMany("slas", rules.slas_size(), kRevenueSlasMax);
  for (int i = 0; i < rules.slas_size(); ++i) {
    RETURN_IF_ERROR(ValidateSla(rules.slas(i), absl::StrCat("slas[", i, "]")));
  }
  RETURN_IF_ERROR(CheckUniqueIds(rules.slas(), "slas"));
  return ValidateStale(rules.stale_record());
}

absl::Status CheckRevenueRulesAgainstLifecycle(const v1::RevenueOpsRules& rules,
                                               const v1::LifecycleModel& model) {
  std::map<std::string, v1::StageKind> kinds;
  for (const v1::LifecycleStage& s : model.stages()) kinds[s.id()] = s.kind();
  auto check = [&](const std::string& stage, const std::string& path,
                   v1::StageKind want) -> absl::Status {
    auto it = kinds.find(stage);
    if (it == kinds.end()) {
      return Invalid(path, absl::StrCat("stage \"", stage, "\" is not in lifecycle model ",
                                        model.id(), " v", model.version()));
    }
    if (want != v1::STAGE_KIND_UNSPECIFIED && it->second != want) {
      return Invalid(path, absl::StrCat("stage \"", stage, "\" is not of kind ", v1::StageKind_Name(want)));
    }
    return absl::OkStatus();
  };
  const v1::RecyclePolicy& p = rules.recycle_policy();
  RETURN_IF_ERROR(check(p.recycled_stage().empty() ? "recycled" : p.recycled_stage(),
                        "recycle_policy.recycled_stage", v1::STAGE_KIND_RECYCLED));
  RETURN_IF_ERROR(check(p.disqualified_stage().empty() ? "disqualified" : p.disqualified_stage(),
                        "recycle_policy.disqualified_stage", v1::STAGE_KIND_DISQUALIFIED));
  for (int i = 0; i < rules.recycle_rules_size(); ++i) {
    for (int j = 0; j < rules.recycle_rules(i).stages_size(); ++j) {
      RETURN_IF_ERROR(check(rules.recycle_rules(i).stages(j),
                            absl::StrCat("recycle_rules[", i, "].stages[", j, "]"), v1::STAGE_KIND_UNSPECIFIED));
    }
  }
  for (int i = 0; i < rules.slas_size(); ++i) {
    const v1::SlaDefinition& s = rules.slas(i);
    RETURN_IF_ERROR(check(s.stage(), absl::StrCat("slas[", i, "].stage"), v1::STAGE_KIND_UNSPECIFIED));
    if (!s.return_stage().empty()) {
      RETURN_IF_ERROR(check(s.return_stage(), absl::StrCat("slas[", i, "].return_stage"), v1::STAGE_KIND_UNSPECIFIED));
    }
  }
  for (int i = 0; i < rules.rejection().rules_size(); ++i) {
    const std::string& st = rules.rejection().rules(i).recontact_stage();
    if (!st.empty()) {
      RETURN_IF_ERROR(check(st, absl::StrCat("rejection.rules[", i, "].recontact_stage"), v1::STAGE_KIND_UNSPECIFIED));
    }
  }
  for (int i = 0; i < rules.stale_record().stages_size(); ++i) {
    RETURN_IF_ERROR(check(rules.stale_record().stages(i), absl::StrCat("stale_record.stages[", i, "]"),
                          v1::STAGE_KIND_UNSPECIFIED));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::RevenueOpsRules> ParseRevenueOpsRules(absl::string_view text) {
  v1::RevenueOpsRules rules;
  RETURN_IF_ERROR(ParseDefinitionText(text, DefinitionSyntax::kAuto, kRevenueRulesBytesMax,
                                      "revenue ops rules", &rules));
  RETURN_IF_ERROR(ValidateRevenueOpsRules(rules));
  return rules;
}

}  // namespace leadlog
