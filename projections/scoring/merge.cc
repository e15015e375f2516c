#include "projections/scoring/merge.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

int64_t Abs(int64_t v) { return v < 0 ? -v : v; }

int64_t FloorDiv(int64_t t, int64_t period) {
  return t >= 0 ? t / period : -((-t + period - 1) / period);
}

// `milli` awarded at `from_ms`, decayed by the model's rule through `to_ms`:
// one truncating multiplication by the keep factor per epoch-aligned period
// boundary crossed, exactly as Scorer::AdvanceTime does to a rule's points.
int64_t DecayedSince(const Scorer& scorer, int64_t milli, int64_t from_ms, int64_t to_ms) {
  const v1::ScoringModel& model = scorer.model();
  if (!model.has_decay()) return milli;
  const int64_t period = model.decay().period_ms();
  const int64_t steps = FloorDiv(to_ms, period) - FloorDiv(from_ms, period);
  unsigned __int128 mag = static_cast<uint64_t>(Abs(milli));
  for (int64_t i = 0; i < steps && mag != 0; ++i) {
    mag = mag * scorer.keep_numerator() / scorer.keep_denominator();
  }
  const auto kept = static_cast<int64_t>(mag);
  return milli < 0 ? -kept : kept;
}

// Removes at most |want| from `points` toward zero, never past it; returns
// what was removed (signed like `want`, 0 when the signs differ).
int64_t TakeTowardZero(int64_t points, int64_t want) {
  if (want == 0 || (want > 0) != (points > 0) || points == 0) return 0;
  return want > 0 ? std::min(want, points) : std::max(want, points);
}

// Step 4 of merge.h: keeps the awards that still count at `t`, newest first
// up to the cap, and takes what was cut off raw, points and decay applied.
void TrimWindow(const Scorer& scorer, const v1::BehaviorRule& rule, int64_t t, v1::RuleScore* r) {
  std::vector<v1::CapAward> awards;
  for (const v1::CapAward& a : r->window()) {
    if (a.log_time_ms() > t - rule.cap().window_ms()) awards.push_back(a);
  }
  std::sort(awards.begin(), awards.end(), [](const v1::CapAward& x, const v1::CapAward& y) {
    return std::make_pair(x.log_time_ms(), x.points_milli()) <
           std::make_pair(y.log_time_ms(), y.points_milli());
  });
  int64_t room = rule.cap().points_max() * 1000;
  int64_t cut_raw = 0, cut_points = 0;
  std::vector<v1::CapAward> kept;
  for (auto it = awards.rbegin(); it != awards.rend(); ++it) {
    const int64_t keep = std::min(Abs(it->points_milli()), room);
    room -= keep;
    const int64_t signed_keep = it->points_milli() < 0 ? -keep : keep;
    const int64_t cut = it->points_milli() - signed_keep;
    if (cut != 0) {
      cut_raw += cut;
      cut_points += DecayedSince(scorer, cut, it->log_time_ms(), t);
    }
    if (keep == 0) continue;
    it->set_points_milli(signed_keep);
    kept.push_back(*it);
  }
  r->clear_window();
  for (auto it = kept.rbegin(); it != kept.rend(); ++it) *r->add_window() = std::move(*it);
  if (cut_raw == 0) return;
  const int64_t take = TakeTowardZero(r->points_milli(), cut_points);
  r->set_raw_points_milli(r->raw_points_milli() - cut_raw);
  r->set_points_milli(r->points_milli() - take);
  r->set_decay_applied_milli(r->raw_points_milli() - r->points_milli());
  r->set_cap_hits(r->cap_hits() + 1);
}

// Steps 3-4 of merge.h for one model rule; `s` / `a` may be null (the rule
// was not in that state's layout).
v1::RuleScore MergeRule(const Scorer& scorer, const v1::BehaviorRule& rule, const v1::RuleScore* s,
                        const v1::RuleScore* a, int64_t t) {
  v1::RuleScore out;
  out.set_rule_id(rule.id());
  std::set<uint64_t> sequences;
  for (const v1::RuleScore* r : {s, a}) {
    if (r == nullptr) continue;
    out.set_points_milli(out.points_milli() + r->points_milli());
    out.set_raw_points_milli(out.raw_points_milli() + r->raw_points_milli());
    out.set_decay_applied_milli(out.decay_applied_milli() + r->decay_applied_milli());
    out.set_matches(out.matches() + r->matches());
    out.set_cap_hits(out.cap_hits() + r->cap_hits());
    sequences.insert(r->recent_sequences().begin(), r->recent_sequences().end());
    if (rule.has_cap()) {
      for (const v1::CapAward& w : r->window()) *out.add_window() = w;
    }
  }
  auto first = sequences.begin();
  if (sequences.size() > static_cast<size_t>(kScoringBreakdownSequencesMax)) {
    std::advance(first, sequences.size() - kScoringBreakdownSequencesMax);
  }
  for (auto it = first; it != sequences.end(); ++it) out.add_recent_sequences(*it);
  if (rule.has_cap()) TrimWindow(scorer, rule, t, &out);
  return out;
}

// Step 5 of merge.h.
void ApplyTotalCap(const v1::ScoringModel& model, v1::ScoreState* state) {
  if (!model.has_total_cap()) return;
  int64_t excess = state->score_milli() - model.total_cap().points_max() * 1000;
  if (excess <= 0) return;
  state->set_total_cap_hits(state->total_cap_hits() + 1);
  for (int i = state->rules_size() - 1; i >= 0 && excess > 0; --i) {
    v1::RuleScore* r = state->mutable_rules(i);
    if (r->points_milli() <= 0) continue;
    const int64_t cut = std::min(r->points_milli(), excess);
    r->set_points_milli(r->points_milli() - cut);
    r->set_raw_points_milli(r->raw_points_milli() - cut);
    r->set_cap_hits(r->cap_hits() + 1);
    state->set_score_milli(state->score_milli() - cut);
    excess -= cut;
  }
  LEADLOG_CHECK(excess == 0) << "positive rule points cannot cover the score's excess";
}

// Top-level trait names the model's fit rules read ("traits.<name>[...]").
std::set<std::string> FitTraitNames(const v1::ScoringModel& model) {
  std::set<std::string> names;
  for (const v1::FitRule& rule : model.grade().rules()) {
    for (const v1::ScoringPredicate& p : rule.where()) {
      const std::string& f = p.field();
      const size_t start = f.find('.') + 1;  // validated: "traits.<key>..."
      names.insert(f.substr(start, f.find('.', start) - start));
    }
  }
  return names;
}

// Step 6 of merge.h: the winning traits, then the scorer's own grading of
// them, obtained by applying an identify record carrying exactly those
// values to a scratch state (only its grade is read: awards it may earn
// there are discarded).
void MergeTraitsAndRegrade(const Scorer& scorer, const v1::GradeState& s, const v1::GradeState& a,
                           v1::ScoreState* out) {
  const std::set<std::string> fit = FitTraitNames(scorer.model());
  std::map<std::string, const v1::TraitValue*> winners;
  for (const v1::GradeState* g : {&s, &a}) {
    for (const v1::TraitValue& tv : g->traits()) {
      if (fit.count(tv.name()) == 0) continue;
      auto [it, inserted] = winners.emplace(tv.name(), &tv);
      if (!inserted && tv.sequence() > it->second->sequence()) it->second = &tv;
    }
  }
  v1::LogRecord identify;
  identify.set_sequence(out->last_sequence());
  identify.set_log_time_ms(out->decayed_through_ms());
  v1::Event* e = identify.mutable_event();
  e->set_type(v1::CALL_TYPE_IDENTIFY);
  v1::GradeState* grade = out->mutable_grade();
  for (const auto& [name, tv] : winners) {
    *grade->add_traits() = *tv;
    (*e->mutable_traits()->mutable_fields())[name] = tv->value();
  }
  v1::ScoreState scratch;
  scorer.Apply(identify, &scratch);
  grade->set_grade(scratch.grade().grade());
  grade->set_fit_points(scratch.grade().fit_points());
  *grade->mutable_hits() = scratch.grade().hits();
}

}  // namespace

void MergeScoreStates(const Scorer& scorer, const v1::ScoreState& absorbed_in,
                      v1::ScoreState* survivor) {
  LEADLOG_CHECK(survivor != nullptr);
  const v1::ScoringModel& model = scorer.model();
  const int64_t t = std::max(absorbed_in.decayed_through_ms(), survivor->decayed_through_ms());
  v1::ScoreState absorbed = absorbed_in;
  scorer.AdvanceTime(t, &absorbed);
  scorer.AdvanceTime(t, survivor);

  v1::ScoreState out;
  out.set_model_id(model.id());
  out.set_model_version(model.version());
  out.set_last_sequence(std::max(survivor->last_sequence(), absorbed.last_sequence()));
  out.set_records_applied(survivor->records_applied() + absorbed.records_applied());
  out.set_decayed_through_ms(t);
  out.set_total_cap_hits(survivor->total_cap_hits() + absorbed.total_cap_hits());

  auto index = [](const v1::ScoreState& st) {
    std::map<std::string, const v1::RuleScore*> by_id;
    for (const v1::RuleScore& r : st.rules()) by_id.emplace(r.rule_id(), &r);
    return by_id;
  };
  const auto s_rules = index(*survivor), a_rules = index(absorbed);
  auto find = [](const std::map<std::string, const v1::RuleScore*>& m, const std::string& id) {
    auto it = m.find(id);
    return it == m.end() ? nullptr : it->second;
  };
  int64_t score = 0;
  for (const v1::BehaviorRule& rule : model.rules()) {
    *out.add_rules() =
        MergeRule(scorer, rule, find(s_rules, rule.id()), find(a_rules, rule.id()), t);
    score += out.rules(out.rules_size() - 1).points_milli();
  }
  out.set_score_milli(score);
  ApplyTotalCap(model, &out);
  MergeTraitsAndRegrade(scorer, survivor->grade(), absorbed.grade(), &out);
  *survivor = std::move(out);
}

}  // namespace leadlog
