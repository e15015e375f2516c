#include "projections/lead/explain.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "leadlog/v1/lifecycle.pb.h"

namespace leadlog {
namespace {

using google::protobuf::Value;

absl::string_view CallName(v1::CallType type) {
  switch (type) {
    case v1::CALL_TYPE_TRACK:
      return "track";
    case v1::CALL_TYPE_IDENTIFY:
      return "identify";
    case v1::CALL_TYPE_PAGE:
      return "page";
    case v1::CALL_TYPE_ALIAS:
      return "alias";
    case v1::CALL_TYPE_GROUP:
      return "group";
    case v1::CALL_TYPE_DEFINITION:
      return "definition";
    default:
      return "unknown";
  }
}

absl::string_view ActorName(v1::Actor actor) {
  switch (actor) {
    case v1::ACTOR_ENGINE:
      return "engine";
    case v1::ACTOR_SALES:
      return "sales";
    case v1::ACTOR_OPS:
      return "ops";
    default:
      return "unspecified actor";
  }
}

// JSON-like, with struct keys sorted so the text never depends on map order.
std::string RenderValue(const Value& v) {
  switch (v.kind_case()) {
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kNumberValue: {
      const double d = v.number_value();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1e15) {
        return absl::StrCat(static_cast<int64_t>(d));
      }
      return absl::StrCat(d);
    }
    case Value::kStringValue:
      return absl::StrCat("\"", v.string_value(), "\"");
    case Value::kListValue: {
      std::vector<std::string> items;
      for (const Value& e : v.list_value().values()) items.push_back(RenderValue(e));
      return absl::StrCat("[", absl::StrJoin(items, ", "), "]");
    }
    case Value::kStructValue: {
      const std::map<std::string, Value> sorted(v.struct_value().fields().begin(),
                                                v.struct_value().fields().end());
      std::vector<std::string> items;
      for (const auto& [k, e] : sorted)
        items.push_back(absl::StrCat("\"", k, "\": ", RenderValue(e)));
      return absl::StrCat("{", absl::StrJoin(items, ", "), "}");
    }
    default:
      return "null";
  }
}

std::string SeqAt(uint64_t sequence, int64_t log_time_ms) {
  return absl::StrCat("#", sequence, " ", FormatLogTimeMs(log_time_ms));
}

// Writes the explanation section by section; `out_` is the text.
class Explainer {
 public:
  Explainer(const RecordLookup& record_at, const v1::ScoringModel* model)
      : record_at_(record_at), model_(model) {}

  void Identity(const v1::LeadState& lead);
  void Stage(const v1::LifecycleState& lc);
  void Score(const v1::ScoreState& score);
  void Grade(const v1::ScoreState& score);
  void Owner(const v1::LeadState& lead);
  void Merges(const v1::LeadState& lead);
  std::string Take() { return std::move(out_); }

 private:
  void Line(int indent, absl::string_view text) {
    out_.append(static_cast<size_t>(indent), ' ');
    absl::StrAppend(&out_, text, "\n");
  }
  void Record(int indent, uint64_t sequence);
  std::string Cause(const v1::TransitionCause& cause) const;
  void Transition(const v1::StageTransition& t);
  void Rejected(const v1::RejectedTransition& r);

  const RecordLookup& record_at_;
  const v1::ScoringModel* model_;
  std::string out_;
};

void Explainer::Record(int indent, uint64_t sequence) {
  std::optional<v1::LogRecord> r = record_at_ ? record_at_(sequence) : std::nullopt;
  if (!r.has_value()) {
    Line(indent, absl::StrCat("#", sequence, " (record not available)"));
    return;
  }
  std::string text = SeqAt(sequence, r->log_time_ms());
  if (!r->has_event()) {
    absl::StrAppend(&text, r->has_clock_tick() ? " clock_tick" : " (no body)");
  } else {
    absl::StrAppend(&text, " ", CallName(r->event().type()));
    if (!r->event().name().empty()) absl::StrAppend(&text, " ", r->event().name());
  }
  Line(indent, text);
}

void Explainer::Identity(const v1::LeadState& lead) {
  Line(0, absl::StrCat("lead ", lead.lead_key()));
  Line(2, absl::StrCat("identifiers: ", absl::StrJoin(lead.identifiers(), ", ")));
  if (!lead.user_id().empty()) Line(2, absl::StrCat("user id: ", lead.user_id()));
  Line(2, absl::StrCat("records: ", SeqAt(lead.first_sequence(), lead.created_ms()), " .. ",
                       SeqAt(lead.last_sequence(), lead.updated_ms())));
}

std::string Explainer::Cause(const v1::TransitionCause& cause) const {
  return absl::StrCat("rule ", cause.rule_id().empty() ? "(none)" : cause.rule_id(), " (",
                      cause.definition_id(), " v", cause.definition_version(), ")");
}

void Explainer::Transition(const v1::StageTransition& t) {
  Line(4, absl::StrCat(t.from_stage().empty() ? "(none)" : t.from_stage(), " -> ", t.to_stage(),
                       " at ", FormatLogTimeMs(t.log_time_ms()), " by ", ActorName(t.actor()), ", ",
                       Cause(t.cause())));
  if (!t.reason().empty()) Line(6, absl::StrCat("reason: ", t.reason()));
  for (uint64_t seq : t.cause().record_sequences()) Record(6, seq);
}

void Explainer::Rejected(const v1::RejectedTransition& r) {
  const std::string to = r.attempted_to_stage().empty() ? "(no rule)" : r.attempted_to_stage();
  Line(4, absl::StrCat(r.from_stage(), " -> ", to, " at ", FormatLogTimeMs(r.log_time_ms()), " by ",
                       ActorName(r.actor()), ", ", Cause(r.cause()), ", fact ",
                       v1::SalesFactKind_Name(r.fact_kind())));
  Line(6, absl::StrCat("why: ", r.why()));
  if (!r.reason().empty()) Line(6, absl::StrCat("reason: ", r.reason()));
  for (uint64_t seq : r.cause().record_sequences()) Record(6, seq);
}

void Explainer::Stage(const v1::LifecycleState& lc) {
  if (lc.current_stage().empty()) {
    Line(0, "stage: (none yet)");
    return;
  }
  Line(0,
       absl::StrCat("stage: ", lc.current_stage(), " since ", FormatLogTimeMs(lc.entered_at_ms()),
                    " (lifecycle ", lc.model_id(), " v", lc.model_version(), ")"));
  if (lc.history_size() > 0) Line(2, "how it got there (newest first):");
  for (int i = lc.history_size() - 1; i >= 0; --i) Transition(lc.history(i));
  if (lc.history_dropped() > 0) {
    Line(4, absl::StrCat("(", lc.history_dropped(), " older transitions not kept)"));
  }
  if (lc.rejected_size() == 0 && lc.rejected_dropped() == 0) return;
  Line(2, "rejected transitions (newest first):");
  for (int i = lc.rejected_size() - 1; i >= 0; --i) Rejected(lc.rejected(i));
  if (lc.rejected_dropped() > 0) {
    Line(4, absl::StrCat("(", lc.rejected_dropped(), " more rejections not kept)"));
  }
}

void Explainer::Score(const v1::ScoreState& s) {
  Line(0, absl::StrCat("score: ", FormatPointsMilli(s.score_milli()), " points (model ",
                       s.model_id(), " v", s.model_version(), ", ", s.records_applied(),
                       " records, decayed through ", FormatLogTimeMs(s.decayed_through_ms()), ")"));
  int silent = 0;
  for (const v1::RuleScore& r : s.rules()) {
    if (r.matches() == 0 && r.raw_points_milli() == 0 && r.points_milli() == 0) {
      ++silent;
      continue;
    }
    Line(2, absl::StrCat("rule ", r.rule_id(), ": ", FormatPointsMilli(r.points_milli()),
                         " points, ", r.matches(), " matches, raw ",
                         FormatPointsMilli(r.raw_points_milli()), ", decay applied ",
                         FormatPointsMilli(r.decay_applied_milli()), ", cap hits ", r.cap_hits()));
    for (int i = r.recent_sequences_size() - 1; i >= 0; --i) Record(4, r.recent_sequences(i));
  }
  if (silent > 0) Line(2, absl::StrCat("(", silent, " rules without matches)"));
  Line(2, absl::StrCat("total-cap hits: ", s.total_cap_hits()));
}

// Top-level trait names a fit rule reads.
std::vector<std::string> TraitsRead(const v1::FitRule& rule) {
  std::set<std::string> names;
  for (const v1::ScoringPredicate& p : rule.where()) {
    const std::string& f = p.field();
    const size_t start = f.find('.') + 1;
    names.insert(f.substr(start, f.find('.', start) - start));
  }
  return {names.begin(), names.end()};
}

void Explainer::Grade(const v1::ScoreState& s) {
  const v1::GradeState& g = s.grade();
  if (g.grade().empty()) {
    Line(0, "grade: (model has no grade)");
    return;
  }
  Line(0, absl::StrCat("grade: ", g.grade(), " (fit points ", g.fit_points(), ")"));
  const bool same_model =
      model_ != nullptr && model_->id() == s.model_id() && model_->version() == s.model_version();
  for (const v1::FitRuleHit& hit : g.hits()) {
    std::string text = absl::StrCat("fit rule ", hit.rule_id(),
                                    " holds: ", hit.points() >= 0 ? "+" : "", hit.points());
    for (int i = 0; same_model && i < model_->grade().rules_size(); ++i) {
      const v1::FitRule& rule = model_->grade().rules(i);
      if (rule.id() != hit.rule_id()) continue;
      absl::StrAppend(&text, " (reads ", absl::StrJoin(TraitsRead(rule), ", "), ")");
    }
    Line(2, text);
  }
  if (g.hits_size() == 0) Line(2, "no fit rule holds");
  Line(2,
       g.traits_size() > 0 ? "traits the fit rules read:" : "traits the fit rules read: none yet");
  for (const v1::TraitValue& t : g.traits()) {
    Line(4, absl::StrCat(t.name(), " = ", RenderValue(t.value()), " (",
                         SeqAt(t.sequence(), t.log_time_ms()), ")"));
  }
}

void Explainer::Owner(const v1::LeadState& lead) {
  std::string text =
      absl::StrCat("owner: ", lead.owner_id().empty() ? "(unassigned)" : lead.owner_id());
  for (int i = lead.owner_history_size() - 1; i >= 0; --i) {
    const v1::OwnerChange& c = lead.owner_history(i);
    if (c.owner_id() != lead.owner_id()) continue;
    absl::StrAppend(&text, " (chosen by ", c.cause(), " at ", SeqAt(c.sequence(), c.log_time_ms()),
                    ")");
    break;
  }
  Line(0, text);
  if (lead.owner_history_size() > 0) Line(2, "owner changes (newest first):");
  for (int i = lead.owner_history_size() - 1; i >= 0; --i) {
    const v1::OwnerChange& c = lead.owner_history(i);
    auto name = [](const std::string& id) { return id.empty() ? std::string("(unassigned)") : id; };
    Line(4, absl::StrCat(name(c.previous_owner_id()), " -> ", name(c.owner_id()), ": ", c.cause(),
                         " at ", SeqAt(c.sequence(), c.log_time_ms())));
  }
}

void Explainer::Merges(const v1::LeadState& lead) {
  if (lead.merges_size() == 0) {
    Line(0, "identity merges: none");
    return;
  }
  Line(0, "identity merges (newest first):");
  for (int i = lead.merges_size() - 1; i >= 0; --i) {
    const v1::IdentityMerge& m = lead.merges(i);
    Line(2, absl::StrCat("absorbed ", m.absorbed_lead_key(), " via ", m.via_identifier(), " at ",
                         SeqAt(m.sequence(), m.log_time_ms())));
    Record(4, m.sequence());
  }
}

}  // namespace

std::string FormatPointsMilli(int64_t milli) {
  const uint64_t mag =
      milli < 0 ? uint64_t{0} - static_cast<uint64_t>(milli) : static_cast<uint64_t>(milli);
  std::string text = absl::StrCat(milli < 0 ? "-" : "", mag / 1000);
  uint64_t frac = mag % 1000;
  if (frac == 0) return text;
  int digits = 3;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  std::string f = absl::StrCat(frac);
  return absl::StrCat(text, ".", std::string(static_cast<size_t>(digits) - f.size(), '0'), f);
}

std::string FormatLogTimeMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string ExplainLead(const v1::LeadState& lead, const RecordLookup& record_at) {
  return ExplainLead(lead, record_at, nullptr);
}

std::string ExplainLead(const v1::LeadState& lead, const RecordLookup& record_at,
                        const v1::ScoringModel* scoring_model) {
  Explainer e(record_at, scoring_model);
  e.Identity(lead);
  e.Stage(lead.lifecycle());
  e.Score(lead.score());
  e.Grade(lead.score());
  e.Owner(lead);
  e.Merges(lead);
  return e.Take();
}

}  // namespace leadlog
