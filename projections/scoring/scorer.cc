#include "projections/scoring/scorer.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "engine/status_macros.h"
#include "projections/scoring/predicate.h"

namespace leadlog {

using google::protobuf::Value;

namespace scoring_internal {

// scorer.h declares these opaque; a compiled predicate is the shared one
// (predicate.h), so scoring and routing evaluate predicates identically.
struct Predicate : CompiledPredicate {
  explicit Predicate(CompiledPredicate p) : CompiledPredicate(std::move(p)) {}
};

struct Rule {
  v1::CallType call = v1::CALL_TYPE_UNSPECIFIED;
  std::vector<Predicate> where;
};

}  // namespace scoring_internal

using scoring_internal::Predicate;
using scoring_internal::Rule;

namespace {

// 2^(-2^-k) in Q62 for k = 1..40 (computed with 60-digit decimals).
constexpr uint64_t kExpTwoNegPow2Q62[40] = {
    3260954456333195553ULL, 3877950241171266237ULL, 4228934724888366668ULL, 4416165660797809419ULL,
    4512867096753504463ULL, 4562008997483360349ULL, 4586780255215411731ULL, 4599216278082138665ULL,
    4605446927862164404ULL, 4608565417332308035ULL, 4610125453837388245ULL, 4610905670110601999ULL,
    4611295827762151833ULL, 4611490918967884501ULL, 4611588467665893036ULL, 4611637242788701951ULL,
    4611661630543559956ULL, 4611673824469352645ULL, 4611679921444339948ULL, 4611682969934856344ULL,
    4611684494180870228ULL, 4611685256304066092ULL, 4611685637365711255ULL, 4611685827896545643ULL,
    4611685923161965790ULL, 4611685970794676601ULL, 4611685994611032191ULL, 4611686006519210032ULL,
    4611686012473298964ULL, 4611686015450343433ULL, 4611686016938865668ULL, 4611686017683126786ULL,
    4611686018055257345ULL, 4611686018241322625ULL, 4611686018334355264ULL, 4611686018380871584ULL,
    4611686018404129744ULL, 4611686018415758824ULL, 4611686018421573364ULL, 4611686018424480634ULL};

v1::CallType CallOf(absl::string_view call) {
  if (call == "track") return v1::CALL_TYPE_TRACK;
  if (call == "page") return v1::CALL_TYPE_PAGE;
  if (call == "identify") return v1::CALL_TYPE_IDENTIFY;
  if (call == "group") return v1::CALL_TYPE_GROUP;
  if (call == "alias") return v1::CALL_TYPE_ALIAS;
  return v1::CALL_TYPE_UNSPECIFIED;
}

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

}  // namespace

uint64_t ExpTwoNegQ32(uint64_t num, uint64_t den) {
  LEADLOG_CHECK(den > 0 && den < (uint64_t{1} << 62)) << "denominator " << den;
  const uint64_t whole = num / den;
  if (whole >= 32) return 0;
  // Fractional part bit by bit: 2^(-f) = prod over set bits k of 2^(-2^-k).
  unsigned __int128 acc = uint64_t{1} << 62;
  uint64_t rem = num % den;
  for (int k = 0; k < 40 && rem != 0; ++k) {
    rem *= 2;  // rem < den < 2^62: no overflow
    if (rem >= den) {
      rem -= den;
      acc = (acc * kExpTwoNegPow2Q62[k]) >> 62;
    }
  }
  // Q62 -> Q32, rounded to nearest, then the whole halvings.
  const uint64_t q32 = static_cast<uint64_t>((acc + (uint64_t{1} << 29)) >> 30);
  return q32 >> whole;
}

Scorer::Scorer(const v1::ScoringModel& model) : model_(model) {}
Scorer::~Scorer() = default;

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const v1::ScoringModel& model) {
  RETURN_IF_ERROR(ValidateScoringModel(model));
  std::unique_ptr<Scorer> s(new Scorer(model));
  auto compile = [](const v1::ScoringPredicate& p) {
    return Predicate(CompiledPredicate::CompileValid(p));
  };
  for (const v1::BehaviorRule& r : model.rules()) {
    Rule rule;
    rule.call = CallOf(r.call());
    for (const v1::ScoringPredicate& p : r.where()) rule.where.push_back(compile(p));
    s->rules_.push_back(std::move(rule));
  }
  std::set<std::string> traits;
  for (const v1::FitRule& r : model.grade().rules()) {
    std::vector<Predicate> where;
    for (const v1::ScoringPredicate& p : r.where()) {
      where.push_back(compile(p));
      traits.insert(where.back().keys()[0]);
    }
    s->fit_rules_.push_back(std::move(where));
  }
  s->fit_traits_.assign(traits.begin(), traits.end());
  if (model.decay().rate_case() == v1::Decay::kHalfLifeMs) {
    s->keep_num_ = ExpTwoNegQ32(model.decay().period_ms(), model.decay().half_life_ms());
    s->keep_den_ = uint64_t{1} << 32;
  } else if (model.decay().rate_case() == v1::Decay::kPercentPerPeriod) {
    s->keep_num_ = 100 - model.decay().percent_per_period();
    s->keep_den_ = 100;
  }
  return s;
}

namespace {

bool AllHold(const std::vector<Predicate>& where, const v1::Event& e) {
  Value scratch;
  for (const Predicate& p : where) {
    if (!p.Matches(e, &scratch)) return false;
  }
  return true;
}

// The value of `keys` (keys[0] = trait name) in the sorted trait list.
const Value* TraitLookup(const v1::GradeState& grade, const std::vector<std::string>& keys) {
  const auto& traits = grade.traits();
  auto it = std::lower_bound(traits.begin(), traits.end(), keys[0],
                             [](const v1::TraitValue& t, const std::string& n) { return t.name() < n; });
  if (it == traits.end() || it->name() != keys[0]) return nullptr;
  if (keys.size() == 1) return &it->value();
  if (it->value().kind_case() != Value::kStructValue) return nullptr;
  return WalkStruct(it->value().struct_value(), keys, 1);
}

}  // namespace

int64_t Scorer::DecayOnce(int64_t milli) const {
  const unsigned __int128 mag = static_cast<uint64_t>(Abs(milli));
  const auto kept = static_cast<int64_t>(mag * keep_num_ / keep_den_);  // truncates toward 0
  return milli < 0 ? -kept : kept;
}

void Scorer::AdvanceTime(int64_t log_time_ms, v1::ScoreState* state) const {
  if (log_time_ms <= state->decayed_through_ms()) return;
  const int64_t from = state->decayed_through_ms();
  state->set_decayed_through_ms(log_time_ms);
  if (!model_.has_decay()) return;
  const int64_t period = model_.decay().period_ms();
  // Epoch-aligned boundaries crossed in (from, log_time_ms]; floor division
  // (log times are >= 0 in practice, but stay exact for negatives too).
  auto floor_div = [period](int64_t t) { return t >= 0 ? t / period : -((-t + period - 1) / period); };
  const int64_t steps = floor_div(log_time_ms) - floor_div(from);
  if (steps <= 0) return;
  int64_t score = 0;
  for (v1::RuleScore& r : *state->mutable_rules()) {
    int64_t v = r.points_milli();
    // Each step strictly shrinks |v| (keep < 1), so this ends within
    // ~64 * kScoringHalfLifePeriodsMax steps even for a huge `steps`.
    for (int64_t i = 0; i < steps && v != 0; ++i) v = DecayOnce(v);
    r.set_decay_applied_milli(r.decay_applied_milli() + (r.points_milli() - v));
    r.set_points_milli(v);
    score += v;
  }
  state->set_score_milli(score);
}

void Scorer::Relayout(v1::ScoreState* state) const {
  std::map<std::string, v1::RuleScore> old;
  for (v1::RuleScore& r : *state->mutable_rules()) old[r.rule_id()] = std::move(r);
  state->clear_rules();
  int64_t score = 0;
  for (const v1::BehaviorRule& rule : model_.rules()) {
    v1::RuleScore* r = state->add_rules();
    auto it = old.find(rule.id());
    if (it != old.end()) *r = std::move(it->second);
    r->set_rule_id(rule.id());
    if (!rule.has_cap()) r->clear_window();
    score += r->points_milli();
  }
  state->set_score_milli(score);
  state->set_model_id(model_.id());
  state->set_model_version(model_.version());
  // Keep only the traits this model's fit rules read, then regrade.
  auto* traits = state->mutable_grade()->mutable_traits();
  traits->erase(std::remove_if(traits->begin(), traits->end(),
                               [this](const v1::TraitValue& t) {
                                 return !std::binary_search(fit_traits_.begin(), fit_traits_.end(), t.name());
                               }),
                traits->end());
  Regrade(state);
}

void Scorer::Award(size_t index, const v1::LogRecord& record, v1::ScoreState* state) const {
  const v1::BehaviorRule& rule = model_.rules(static_cast<int>(index));
  v1::RuleScore* r = state->mutable_rules(static_cast<int>(index));
  r->set_matches(r->matches() + 1);
  int64_t award = rule.points() * 1000;
  bool capped = false;
  if (rule.has_cap()) {
    const int64_t t = record.log_time_ms();
    auto* window = r->mutable_window();
    // The window is (t - window_ms, t]: older awards no longer count.
    auto keep_from = std::find_if(window->begin(), window->end(), [&](const v1::CapAward& a) {
      return a.log_time_ms() > t - rule.cap().window_ms();
    });
    window->erase(window->begin(), keep_from);
    int64_t used = 0;
    for (const v1::CapAward& a : *window) used += Abs(a.points_milli());
    const int64_t room = std::max<int64_t>(rule.cap().points_max() * 1000 - used, 0);
    if (Abs(award) > room) {
      award = award < 0 ? -room : room;
      capped = true;
    }
  }
  if (model_.has_total_cap() && award > 0) {
    const int64_t room = std::max<int64_t>(model_.total_cap().points_max() * 1000 - state->score_milli(), 0);
    if (award > room) {
      award = room;
      capped = true;
      state->set_total_cap_hits(state->total_cap_hits() + 1);
    }
  }
  if (capped) r->set_cap_hits(r->cap_hits() + 1);
  if (award == 0) return;
  r->set_points_milli(r->points_milli() + award);
  r->set_raw_points_milli(r->raw_points_milli() + award);
  state->set_score_milli(state->score_milli() + award);
  if (rule.has_cap()) {
    v1::CapAward* a = r->add_window();
    a->set_log_time_ms(record.log_time_ms());
    a->set_points_milli(award);
  }
  auto* seqs = r->mutable_recent_sequences();
  if (seqs->size() >= kScoringBreakdownSequencesMax) seqs->erase(seqs->begin());
  seqs->Add(record.sequence());
}

void Scorer::UpdateTraits(const v1::LogRecord& record, v1::ScoreState* state) const {
  const auto& fields = record.event().traits().fields();
  auto* traits = state->mutable_grade()->mutable_traits();
  for (const std::string& name : fit_traits_) {  // sorted: output order is fixed
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    auto pos = std::lower_bound(traits->begin(), traits->end(), name,
                                [](const v1::TraitValue& t, const std::string& n) { return t.name() < n; });
    v1::TraitValue* t = nullptr;
    if (pos != traits->end() && pos->name() == name) {
      t = &*pos;
    } else {
      const int at = static_cast<int>(pos - traits->begin());
      traits->Add();
      for (int i = traits->size() - 1; i > at; --i) traits->SwapElements(i, i - 1);
      t = traits->Mutable(at);
      t->set_name(name);
    }
    *t->mutable_value() = it->second;
    t->set_sequence(record.sequence());
    t->set_log_time_ms(record.log_time_ms());
  }
}

void Scorer::Regrade(v1::ScoreState* state) const {
  v1::GradeState* g = state->mutable_grade();
  g->clear_hits();
  if (!model_.has_grade()) {
    g->clear_grade();
    g->clear_fit_points();
    return;
  }
  int64_t fit = 0;
  for (size_t i = 0; i < fit_rules_.size(); ++i) {
    bool holds = true;
    for (const Predicate& p : fit_rules_[i]) {
      holds = holds && p.HoldsFor(TraitLookup(*g, p.keys()));
    }
    if (!holds) continue;
    const v1::FitRule& rule = model_.grade().rules(static_cast<int>(i));
    v1::FitRuleHit* hit = g->add_hits();
    hit->set_rule_id(rule.id());
    hit->set_points(rule.points());
    fit += rule.points();
  }
  const v1::GradeBands& b = model_.grade().bands();
  g->set_fit_points(fit);
  g->set_grade(fit >= b.a_min_points()   ? "A"
               : fit >= b.b_min_points() ? "B"
               : fit >= b.c_min_points() ? "C"
               : fit >= b.d_min_points() ? "D"
                                         : "F");
}

void Scorer::Apply(const v1::LogRecord& record, v1::ScoreState* state) const {
  if (state->model_id() != model_.id() || state->model_version() != model_.version() ||
      state->rules_size() != model_.rules_size()) {
    Relayout(state);
  }
  AdvanceTime(record.log_time_ms(), state);
  state->set_last_sequence(record.sequence());
  state->set_records_applied(state->records_applied() + 1);
  if (!record.has_event()) return;
  const v1::Event& e = record.event();
  for (size_t i = 0; i < rules_.size(); ++i) {
    const v1::BehaviorRule& rule = model_.rules(static_cast<int>(i));
    if (rules_[i].call != e.type()) continue;
    if (!rule.event().empty() && rule.event() != e.name()) continue;
    if (AllHold(rules_[i].where, e)) Award(i, record, state);
  }
  if (e.type() == v1::CALL_TYPE_IDENTIFY || e.type() == v1::CALL_TYPE_GROUP) {
    UpdateTraits(record, state);
    Regrade(state);
  }
}

}  // namespace leadlog
