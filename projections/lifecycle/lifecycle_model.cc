#include "projections/lifecycle/lifecycle_model.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "projections/definition_text.h"

namespace leadlog {
namespace {

using StageIndex = absl::flat_hash_map<std::string, int>;  // id -> position

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status CheckId(absl::string_view path, absl::string_view id) {
  if (id.empty()) return Invalid(path, "required");
  if (id.size() > kLifecycleIdBytesMax) {
    return Invalid(path, absl::StrCat("longer than ", kLifecycleIdBytesMax, " bytes"));
  }
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return Invalid(path, absl::StrCat("\"", id, "\": expected [a-z0-9_]"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckStageRef(absl::string_view path, const std::string& id,
                           const StageIndex& stages) {
  if (id.empty()) return Invalid(path, "required");
  if (!stages.contains(id)) return Invalid(path, absl::StrCat("unknown stage \"", id, "\""));
  return absl::OkStatus();
}

absl::Status CheckSizes(const v1::LifecycleModel& model) {
  if (model.stages_size() > kLifecycleStagesMax) {
    return absl::ResourceExhaustedError(
        absl::StrCat("stages: ", model.stages_size(), " stages, at most ", kLifecycleStagesMax));
  }
  if (model.transitions_size() > kLifecycleTransitionsMax) {
    return absl::ResourceExhaustedError(absl::StrCat("transitions: ", model.transitions_size(),
                                                     " transitions, at most ",
                                                     kLifecycleTransitionsMax));
  }
  if (model.sales_facts_size() > kLifecycleSalesFactRulesMax) {
    return absl::ResourceExhaustedError(absl::StrCat("sales_facts: ", model.sales_facts_size(),
                                                     " rules, at most ",
                                                     kLifecycleSalesFactRulesMax));
  }
  return absl::OkStatus();
}

absl::Status CheckStages(const v1::LifecycleModel& model, StageIndex* index) {
  if (model.stages_size() == 0) return Invalid("stages", "at least one stage required");
  for (int i = 0; i < model.stages_size(); ++i) {
    const v1::LifecycleStage& stage = model.stages(i);
    const std::string path = absl::StrCat("stages[", i, "]");
    RETURN_IF_ERROR(CheckId(path + ".id", stage.id()));
    if (!index->emplace(stage.id(), i).second) {
      return Invalid(path + ".id", absl::StrCat("duplicate \"", stage.id(), "\""));
    }
    if (stage.name().empty()) return Invalid(path + ".name", "required");
    if (stage.name().size() > kLifecycleNameBytesMax) {
      return Invalid(path + ".name",
                     absl::StrCat("longer than ", kLifecycleNameBytesMax, " bytes"));
    }
    if (stage.kind() == v1::STAGE_KIND_UNSPECIFIED) return Invalid(path + ".kind", "required");
  }
  return absl::OkStatus();
}

// Funnel stages may only move forward (by position in `stages`).
bool IsBackward(const v1::LifecycleModel& model, const StageIndex& index,
                const v1::LifecycleTransition& t) {
  const int from = index.at(t.from_stage());
  const int to = index.at(t.to_stage());
  return model.stages(from).kind() == v1::STAGE_KIND_FUNNEL &&
         model.stages(to).kind() == v1::STAGE_KIND_FUNNEL && to < from;
}

absl::Status CheckTransitions(const v1::LifecycleModel& model, const StageIndex& index) {
  absl::flat_hash_set<std::pair<std::string, std::string>> seen;
  for (int i = 0; i < model.transitions_size(); ++i) {
    const v1::LifecycleTransition& t = model.transitions(i);
    const std::string path = absl::StrCat("transitions[", i, "]");
    RETURN_IF_ERROR(CheckStageRef(path + ".from_stage", t.from_stage(), index));
    RETURN_IF_ERROR(CheckStageRef(path + ".to_stage", t.to_stage(), index));
    const std::string move = absl::StrCat("\"", t.from_stage(), "\" -> \"", t.to_stage(), "\"");
    if (t.from_stage() == t.to_stage()) return Invalid(path, "self-transition " + move);
    if (!seen.emplace(t.from_stage(), t.to_stage()).second) {
      return Invalid(path, "duplicate transition " + move);
    }
    if (IsBackward(model, index, t)) {
      return Invalid(path,
                     absl::StrCat("backward move ", move, " must go through a recycled stage"));
    }
  }
  return absl::OkStatus();
}

bool Allowed(const v1::LifecycleModel& model, const std::string& from, const std::string& to) {
  for (const v1::LifecycleTransition& t : model.transitions()) {
    if (t.from_stage() == from && t.to_stage() == to) return true;
  }
  return false;
}

// Checks a rule's from_stages/to_stage against the stages and transitions.
absl::Status CheckRuleMoves(const v1::LifecycleModel& model, const StageIndex& index,
                            absl::string_view path,
                            const google::protobuf::RepeatedPtrField<std::string>& from_stages,
                            const std::string& to_stage, bool engine_rule) {
  RETURN_IF_ERROR(CheckStageRef(absl::StrCat(path, ".to_stage"), to_stage, index));
  if (engine_rule && model.stages(index.at(to_stage)).requires_reason()) {
    return Invalid(
        absl::StrCat(path, ".to_stage"),
        absl::StrCat("stage \"", to_stage, "\" requires a reason; an engine rule cannot enter it"));
  }
  if (engine_rule && from_stages.empty()) {
    return Invalid(absl::StrCat(path, ".from_stages"), "at least one stage required");
  }
  for (int j = 0; j < from_stages.size(); ++j) {
    const std::string from_path = absl::StrCat(path, ".from_stages[", j, "]");
    RETURN_IF_ERROR(CheckStageRef(from_path, from_stages[j], index));
    if (from_stages[j] != to_stage && !Allowed(model, from_stages[j], to_stage)) {
      return Invalid(from_path, absl::StrCat("transition \"", from_stages[j], "\" -> \"", to_stage,
                                             "\" not in transitions"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRuleId(absl::string_view path, const std::string& id,
                         absl::flat_hash_set<std::string>* rule_ids) {
  RETURN_IF_ERROR(CheckId(path, id));
  if (!rule_ids->insert(id).second) return Invalid(path, absl::StrCat("duplicate \"", id, "\""));
  return absl::OkStatus();
}

absl::Status CheckSalesReady(const v1::SalesReadyRule& rule) {
  if (!std::isfinite(rule.score_min()) || rule.score_min() < 0) {
    return Invalid("sales_ready.score_min",
                   absl::StrCat("expected a finite number >= 0, got ", rule.score_min()));
  }
  const std::string& grade = rule.grade_min();
  if (!grade.empty() && (grade.size() != 1 || grade[0] < 'A' || grade[0] > 'F')) {
    return Invalid("sales_ready.grade_min",
                   absl::StrCat("expected one of A..F, got \"", grade, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckRules(const v1::LifecycleModel& model, const StageIndex& index) {
  absl::flat_hash_set<std::string> rule_ids;
  if (!model.has_identify()) return Invalid("identify", "required");
  RETURN_IF_ERROR(CheckRuleId("identify.id", model.identify().id(), &rule_ids));
  RETURN_IF_ERROR(CheckRuleMoves(model, index, "identify", model.identify().from_stages(),
                                 model.identify().to_stage(), /*engine_rule=*/true));
  if (!model.has_sales_ready()) return Invalid("sales_ready", "required");
  RETURN_IF_ERROR(CheckRuleId("sales_ready.id", model.sales_ready().id(), &rule_ids));
  RETURN_IF_ERROR(CheckSalesReady(model.sales_ready()));
  RETURN_IF_ERROR(CheckRuleMoves(model, index, "sales_ready", model.sales_ready().from_stages(),
                                 model.sales_ready().to_stage(), /*engine_rule=*/true));
  for (int i = 0; i < model.sales_facts_size(); ++i) {
    const v1::SalesFactRule& rule = model.sales_facts(i);
    const std::string path = absl::StrCat("sales_facts[", i, "]");
    RETURN_IF_ERROR(CheckRuleId(path + ".id", rule.id(), &rule_ids));
    if (rule.kind() == v1::SALES_FACT_KIND_UNSPECIFIED) return Invalid(path + ".kind", "required");
    RETURN_IF_ERROR(CheckRuleMoves(model, index, path, rule.from_stages(), rule.to_stage(),
                                   /*engine_rule=*/false));
  }
  return absl::OkStatus();
}

absl::Status CheckReachable(const v1::LifecycleModel& model, const StageIndex& index) {
  std::vector<bool> reached(model.stages_size(), false);
  std::vector<int> frontier = {index.at(model.initial_stage())};
  reached[frontier[0]] = true;
  while (!frontier.empty()) {
    const std::string& from = model.stages(frontier.back()).id();
    frontier.pop_back();
    for (const v1::LifecycleTransition& t : model.transitions()) {
      const int to = index.at(t.to_stage());
      if (t.from_stage() != from || reached[to]) continue;
      reached[to] = true;
      frontier.push_back(to);
    }
  }
  for (int i = 0; i < model.stages_size(); ++i) {
    if (reached[i]) continue;
    return Invalid(absl::StrCat("stages[", i, "].id"),
                   absl::StrCat("\"", model.stages(i).id(), "\" unreachable from initial stage \"",
                                model.initial_stage(), "\""));
  }
  return absl::OkStatus();
}

// Keeps the first text-format error ("line:column: message") instead of
// letting protobuf log it.


}  // namespace

absl::Status ValidateLifecycleModel(const v1::LifecycleModel& model) {
  RETURN_IF_ERROR(CheckId("id", model.id()));
  if (model.version() < 1) return Invalid("version", "expected >= 1, got 0");
  RETURN_IF_ERROR(CheckSizes(model));
  StageIndex index;
  RETURN_IF_ERROR(CheckStages(model, &index));
  if (model.initial_stage().empty()) return Invalid("initial_stage", "required: no initial stage");
  RETURN_IF_ERROR(CheckStageRef("initial_stage", model.initial_stage(), index));
  RETURN_IF_ERROR(CheckTransitions(model, index));
  RETURN_IF_ERROR(CheckRules(model, index));
  return CheckReachable(model, index);
}

absl::StatusOr<v1::LifecycleModel> ParseLifecycleModelAs(absl::string_view text,
                                                         DefinitionSyntax syntax) {
  v1::LifecycleModel model;
  RETURN_IF_ERROR(ParseDefinitionText(text, syntax, kLifecycleModelBytesMax, "lifecycle model",
                                      &model));
  RETURN_IF_ERROR(ValidateLifecycleModel(model));
  return model;
}

absl::StatusOr<v1::LifecycleModel> ParseLifecycleModelJson(absl::string_view json) {
  return ParseLifecycleModelAs(json, DefinitionSyntax::kJson);
}

absl::StatusOr<v1::LifecycleModel> ParseLifecycleModelText(absl::string_view text) {
  return ParseLifecycleModelAs(text, DefinitionSyntax::kText);
}

absl::StatusOr<v1::LifecycleModel> ParseLifecycleModel(absl::string_view text) {
  return ParseLifecycleModelAs(text, DefinitionSyntax::kAuto);
}

namespace {

void AddStage(v1::LifecycleModel* model, const char* id, const char* name, v1::StageKind kind,
              bool requires_reason) {
  v1::LifecycleStage* stage = model->add_stages();
  stage->set_id(id);
  stage->set_name(name);
  stage->set_kind(kind);
  stage->set_requires_reason(requires_reason);
}

void AddTransitions(v1::LifecycleModel* model, std::vector<const char*> from, const char* to) {
  for (const char* f : from) {
    v1::LifecycleTransition* t = model->add_transitions();
    t->set_from_stage(f);
    t->set_to_stage(to);
  }
}

void AddSalesFact(v1::LifecycleModel* model, const char* id, v1::SalesFactKind kind,
                  std::vector<const char*> from, const char* to) {
  v1::SalesFactRule* rule = model->add_sales_facts();
  rule->set_id(id);
  rule->set_kind(kind);
  for (const char* f : from) rule->add_from_stages(f);
  rule->set_to_stage(to);
  rule->set_actor(v1::ACTOR_SALES);
}

}  // namespace

v1::LifecycleModel DefaultLifecycleModel() {
  v1::LifecycleModel m;
  m.set_id("demand_waterfall");
  m.set_version(1);
  AddStage(&m, "anonymous", "Anonymous visitor", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "known", "Known (inquiry)", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "mql", "Marketing Qualified Lead", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "sal", "Sales Accepted Lead", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "sql", "Sales Qualified Lead", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "opportunity", "Opportunity", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "customer", "Customer", v1::STAGE_KIND_FUNNEL, false);
  AddStage(&m, "recycled", "Recycled", v1::STAGE_KIND_RECYCLED, true);
  AddStage(&m, "disqualified", "Disqualified", v1::STAGE_KIND_DISQUALIFIED, true);
  m.set_initial_stage("anonymous");
  AddTransitions(&m, {"anonymous"}, "known");
  AddTransitions(&m, {"known", "recycled"}, "mql");
  AddTransitions(&m, {"mql"}, "sal");
  AddTransitions(&m, {"sal"}, "sql");
  AddTransitions(&m, {"sal", "sql"}, "opportunity");
  AddTransitions(&m, {"opportunity"}, "customer");
  AddTransitions(&m, {"mql", "sal", "sql", "opportunity"}, "recycled");
  AddTransitions(&m, {"known", "mql", "sal", "sql", "opportunity", "recycled"}, "disqualified");
  v1::IdentifyRule* identify = m.mutable_identify();
  identify->set_id("identified");
  identify->add_from_stages("anonymous");
  identify->set_to_stage("known");
  v1::SalesReadyRule* ready = m.mutable_sales_ready();
  ready->set_id("sales_ready");
  ready->set_score_min(100);
  ready->set_grade_min("B");
  ready->add_from_stages("known");
  ready->add_from_stages("recycled");
  ready->set_to_stage("mql");
  AddSalesFact(&m, "lead_accepted", v1::SALES_FACT_KIND_LEAD_ACCEPTED, {"mql"}, "sal");
  AddSalesFact(&m, "lead_contacted", v1::SALES_FACT_KIND_LEAD_CONTACTED, {"sal", "sql"}, "sql");
  AddSalesFact(&m, "opportunity_created", v1::SALES_FACT_KIND_OPPORTUNITY_CREATED, {"sal", "sql"},
               "opportunity");
  AddSalesFact(&m, "opportunity_won", v1::SALES_FACT_KIND_OPPORTUNITY_WON, {}, "customer");
  AddSalesFact(&m, "opportunity_lost", v1::SALES_FACT_KIND_OPPORTUNITY_LOST, {"opportunity"},
               "recycled");
  AddSalesFact(&m, "lead_rejected", v1::SALES_FACT_KIND_LEAD_REJECTED, {"mql", "sal", "sql"},
               "recycled");
  AddSalesFact(&m, "lead_disqualified", v1::SALES_FACT_KIND_LEAD_DISQUALIFIED, {}, "disqualified");
  return m;
}

}  // namespace leadlog
