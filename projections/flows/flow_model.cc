// Design note: validation of a nurture flow definition in one pass per
// concern (identity, triggers, conditions, streams, steps, graph). The graph
// checks (unknown targets, reachability, cycles that never pause) run on a
// list of edges built once, so every rule that adds an edge in the engine
// adds it here too (StepEdges is the single place that knows them).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/flows/flow_engine.h"
#include "projections/scoring/predicate.h"

namespace leadlog {
namespace {

constexpr size_t kFlowIdBytesMax = 64;
constexpr size_t kChannelBytesMax = 32;

absl::Status Invalid(absl::string_view path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

bool IsId(absl::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsChannel(absl::string_view s) {
  if (s.empty() || s.size() > kChannelBytesMax) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

absl::Status CheckId(absl::string_view id, absl::string_view path) {
  if (IsId(id, kFlowIdBytesMax)) return absl::OkStatus();
  return Invalid(path, absl::StrCat("\"", id, "\" is not 1..", kFlowIdBytesMax,
                                    " bytes of [a-z0-9_]"));
}

absl::Status CheckChannel(absl::string_view channel, absl::string_view path) {
  if (IsChannel(channel)) return absl::OkStatus();
  return Invalid(path, absl::StrCat("\"", channel, "\" is not 1..", kChannelBytesMax,
                                    " bytes of [a-z_]"));
}

absl::Status CheckWaitMs(int64_t ms, absl::string_view path) {
  if (ms >= kFlowWaitMsMin && ms <= kFlowWaitMsMax) return absl::OkStatus();
  return Invalid(path, absl::StrCat(ms, " is outside [", kFlowWaitMsMin, ", ", kFlowWaitMsMax,
                                    "] ms"));
}

absl::Status ValidateTrigger(const v1::FlowTrigger& t, const std::string& path) {
  switch (t.kind_case()) {
    case v1::FlowTrigger::kEvent:
      return ValidateEventMatch(t.event(), absl::StrCat(path, ".event"));
    case v1::FlowTrigger::kStageEntered:
      if (t.stage_entered().stage().empty()) {
        return Invalid(absl::StrCat(path, ".stage_entered.stage"), "empty stage id");
      }
      return absl::OkStatus();
    case v1::FlowTrigger::kScoreCrossed:
      if (!std::isfinite(t.score_crossed().threshold())) {
        return Invalid(absl::StrCat(path, ".score_crossed.threshold"), "not a finite number");
      }
      return absl::OkStatus();
    case v1::FlowTrigger::kGradeReached:
      if (GradeRank(t.grade_reached().grade_min()) < 0) {
        return Invalid(absl::StrCat(path, ".grade_reached.grade_min"),
                       absl::StrCat("\"", t.grade_reached().grade_min(),
                                    "\" is not one of A, B, C, D, F"));
      }
      return absl::OkStatus();
    case v1::FlowTrigger::kTraitMatched:
      if (t.trait_matched().where().empty()) {
        return Invalid(absl::StrCat(path, ".trait_matched.where"), "no predicates");
      }
      return ValidatePredicates(t.trait_matched().where(), PredicateScope::kTraits,
                                absl::StrCat(path, ".trait_matched"));
    case v1::FlowTrigger::KIND_NOT_SET:
      break;
  }
  return Invalid(path, "no trigger kind set");
}

absl::Status ValidateTriggers(const v1::NurtureFlow& flow) {
  if (flow.triggers().empty() || flow.triggers_size() > kFlowTriggersMax) {
    return Invalid("triggers", absl::StrCat(flow.triggers_size(), " triggers, expected 1..",
                                            kFlowTriggersMax));
  }
  for (int i = 0; i < flow.triggers_size(); ++i) {
    RETURN_IF_ERROR(ValidateTrigger(flow.triggers(i), absl::StrCat("triggers[", i, "]")));
  }
  return absl::OkStatus();
}

absl::Status ValidateFlowConditions(const v1::NurtureFlow& flow) {
  RETURN_IF_ERROR(ValidateCondition(flow.entry_filter(), "entry_filter"));
  if (flow.has_goal()) RETURN_IF_ERROR(ValidateCondition(flow.goal(), "goal"));
  if (flow.exit_criteria_size() > kFlowExitCriteriaMax) {
    return Invalid("exit_criteria", absl::StrCat(flow.exit_criteria_size(),
                                                 " criteria, at most ", kFlowExitCriteriaMax));
  }
  for (int i = 0; i < flow.exit_criteria_size(); ++i) {
    RETURN_IF_ERROR(ValidateCondition(flow.exit_criteria(i), absl::StrCat("exit_criteria[", i, "]")));
  }
  const v1::Suppression& s = flow.suppression();
  for (int i = 0; i < s.stages_size(); ++i) {
    if (s.stages(i).empty()) return Invalid(absl::StrCat("suppression.stages[", i, "]"), "empty");
  }
  for (int i = 0; i < s.email_domains_size(); ++i) {
    const std::string& d = s.email_domains(i);
    if (d.empty() || std::any_of(d.begin(), d.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return Invalid(absl::StrCat("suppression.email_domains[", i, "]"),
                     absl::StrCat("\"", d, "\" is not a non-empty lower-case domain"));
    }
  }
  for (int i = 0; i < s.leads_size(); ++i) {
    if (s.leads(i).empty()) return Invalid(absl::StrCat("suppression.leads[", i, "]"), "empty");
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicies(const v1::NurtureFlow& flow, const std::set<std::string>& step_ids) {
  const v1::ReEnrollment& r = flow.reenrollment();
  if (r.policy() == v1::ReEnrollment::AFTER_INTERVAL && r.interval_ms() <= 0) {
    return Invalid("reenrollment.interval_ms",
                   absl::StrCat(r.interval_ms(), ": AFTER_INTERVAL needs an interval > 0"));
  }
  if (r.interval_ms() < 0) return Invalid("reenrollment.interval_ms", "negative");
  // Deterministic order for the error (protobuf maps iterate in no fixed order).
  std::map<std::string, std::string> step_map(flow.migration().step_map().begin(),
                                              flow.migration().step_map().end());
  for (const auto& [from, to] : step_map) {
    const std::string path = absl::StrCat("migration.step_map[\"", from, "\"]");
    RETURN_IF_ERROR(CheckId(from, path));
    if (step_ids.count(to) == 0) {
      return Invalid(path, absl::StrCat("unknown step \"", to, "\" in this version"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateStreams(const v1::NurtureFlow& flow) {
  if (flow.streams_size() > kFlowStreamsMax) {
    return Invalid("streams", absl::StrCat(flow.streams_size(), " streams, at most ",
                                           kFlowStreamsMax));
  }
  std::set<std::string> ids;
  for (int i = 0; i < flow.streams_size(); ++i) {
    const v1::ContentStream& s = flow.streams(i);
    const std::string path = absl::StrCat("streams[", i, "]");
    RETURN_IF_ERROR(CheckId(s.id(), absl::StrCat(path, ".id")));
    if (!ids.insert(s.id()).second) {
      return Invalid(absl::StrCat(path, ".id"), absl::StrCat("duplicate stream \"", s.id(), "\""));
    }
    if (s.content().empty() || s.content_size() > kFlowStreamContentMax) {
      return Invalid(absl::StrCat(path, ".content"),
                     absl::StrCat(s.content_size(), " pieces, expected 1..", kFlowStreamContentMax));
    }
    std::set<std::string> pieces;
    for (int j = 0; j < s.content_size(); ++j) {
      const std::string piece = absl::StrCat(path, ".content[", j, "]");
      const std::string& id = s.content(j).content_id();
      if (id.empty()) return Invalid(absl::StrCat(piece, ".content_id"), "empty");
      if (!pieces.insert(id).second) {
        return Invalid(absl::StrCat(piece, ".content_id"),
                       absl::StrCat("\"", id, "\" appears twice in the stream"));
      }
      RETURN_IF_ERROR(CheckChannel(s.content(j).channel(), absl::StrCat(piece, ".channel")));
    }
    RETURN_IF_ERROR(CheckWaitMs(s.cadence_ms(), absl::StrCat(path, ".cadence_ms")));
    for (int j = 0; j < s.transitions_size(); ++j) {
      RETURN_IF_ERROR(ValidateCondition(s.transitions(j).when(),
                                        absl::StrCat(path, ".transitions[", j, "].when")));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateWait(const v1::WaitStep& w, const std::string& path) {
  const bool duration = w.duration_ms() != 0;
  const bool time = !w.time().empty() || !w.weekday().empty();
  const bool event = w.has_event() || w.timeout_ms() != 0 || !w.timeout_next().empty();
  if (duration + time + event != 1) {
    return Invalid(path, "set exactly one of duration_ms, time (+weekday), event (+timeout_ms, "
                         "timeout_next)");
  }
  if (duration) return CheckWaitMs(w.duration_ms(), absl::StrCat(path, ".duration_ms"));
  if (time) {
    if (w.time().empty()) return Invalid(absl::StrCat(path, ".time"), "weekday without a time");
    absl::StatusOr<int> minute = ParseTimeOfDay(w.time());
    if (!minute.ok()) {
      return Invalid(absl::StrCat(path, ".time"), absl::StrCat("\"", w.time(), "\" is not HH:MM"));
    }
    absl::StatusOr<int> day = ParseWeekday(w.weekday());
    if (!day.ok()) {
      return Invalid(absl::StrCat(path, ".weekday"),
                     absl::StrCat("\"", w.weekday(), "\" is not monday..sunday"));
    }
    return absl::OkStatus();
  }
  if (!w.has_event()) return Invalid(absl::StrCat(path, ".event"), "timeout without an event");
  RETURN_IF_ERROR(ValidateEventMatch(w.event(), absl::StrCat(path, ".event")));
  RETURN_IF_ERROR(CheckWaitMs(w.timeout_ms(), absl::StrCat(path, ".timeout_ms")));
  if (w.timeout_next().empty()) {
    return Invalid(absl::StrCat(path, ".timeout_next"), "required with an event wait");
  }
  return absl::OkStatus();
}

absl::Status ValidateSplit(const v1::SplitStep& split, const std::string& path) {
  if (split.paths().empty()) return Invalid(absl::StrCat(path, ".paths"), "no paths");
  uint32_t sum = 0;
  for (int i = 0; i < split.paths_size(); ++i) {
    const uint32_t p = split.paths(i).percent();
    if (p < 1 || p > 100) {
      return Invalid(absl::StrCat(path, ".paths[", i, "].percent"),
                     absl::StrCat(p, " is outside [1, 100]"));
    }
    sum += p;
    if (split.paths(i).next().empty()) {
      return Invalid(absl::StrCat(path, ".paths[", i, "].next"), "empty");
    }
  }
  if (sum != 100) return Invalid(absl::StrCat(path, ".paths"), absl::StrCat("percents sum to ", sum, ", not 100"));
  return absl::OkStatus();
}

absl::Status ValidateStepKind(const v1::FlowStep& step, const std::string& path,
                              const std::set<std::string>& stream_ids) {
  switch (step.kind_case()) {
    case v1::FlowStep::kSend:
      if (step.send().content_id().empty()) {
        return Invalid(absl::StrCat(path, ".send.content_id"), "empty");
      }
      return CheckChannel(step.send().channel(), absl::StrCat(path, ".send.channel"));
    case v1::FlowStep::kWait:
      return ValidateWait(step.wait(), absl::StrCat(path, ".wait"));
    case v1::FlowStep::kBranch: {
      const v1::BranchStep& b = step.branch();
      if (b.cases_size() > kFlowBranchCasesMax) {
        return Invalid(absl::StrCat(path, ".branch.cases"),
                       absl::StrCat(b.cases_size(), " cases, at most ", kFlowBranchCasesMax));
      }
      for (int i = 0; i < b.cases_size(); ++i) {
        const std::string c = absl::StrCat(path, ".branch.cases[", i, "]");
        RETURN_IF_ERROR(ValidateCondition(b.cases(i).when(), absl::StrCat(c, ".when")));
        if (b.cases(i).next().empty()) return Invalid(absl::StrCat(c, ".next"), "empty");
      }
      return absl::OkStatus();
    }
    case v1::FlowStep::kSplit:
      return ValidateSplit(step.split(), absl::StrCat(path, ".split"));
    case v1::FlowStep::kSetStage:
      if (step.set_stage().stage().empty()) {
        return Invalid(absl::StrCat(path, ".set_stage.stage"), "empty stage id");
      }
      return absl::OkStatus();
    case v1::FlowStep::kAddScore: {
      const int64_t p = step.add_score().points();
      if (p == 0 || p > kScoringPointsAbsMax || p < -kScoringPointsAbsMax) {
        return Invalid(absl::StrCat(path, ".add_score.points"),
                       absl::StrCat(p, " is 0 or beyond +-", kScoringPointsAbsMax));
      }
      return absl::OkStatus();
    }
    case v1::FlowStep::kSetOwner:
      if (step.set_owner().owner_id().empty()) {
        return Invalid(absl::StrCat(path, ".set_owner.owner_id"), "empty");
      }
      return absl::OkStatus();
    case v1::FlowStep::kNotifyOwner:
      if (step.notify_owner().template_id().empty()) {
        return Invalid(absl::StrCat(path, ".notify_owner.template_id"), "empty");
      }
      return absl::OkStatus();
    case v1::FlowStep::kWebhook:
      if (step.webhook().webhook_id().empty()) {
        return Invalid(absl::StrCat(path, ".webhook.webhook_id"), "empty");
      }
      return absl::OkStatus();
    case v1::FlowStep::kGoTo:
      if (step.go_to().target().empty()) return Invalid(absl::StrCat(path, ".go_to.target"), "empty");
      return absl::OkStatus();
    case v1::FlowStep::kExit:
      return absl::OkStatus();
    case v1::FlowStep::kStream:
      if (stream_ids.count(step.stream().stream_id()) == 0) {
        return Invalid(absl::StrCat(path, ".stream.stream_id"),
                       absl::StrCat("unknown stream \"", step.stream().stream_id(), "\""));
      }
      return absl::OkStatus();
    case v1::FlowStep::KIND_NOT_SET:
      break;
  }
  return Invalid(path, "no step kind set");
}

// An edge of the step graph: where it points and the field that names it.
struct Edge {
  std::string target;
  std::string path;
};

std::vector<Edge> StepEdges(const v1::NurtureFlow& flow, int index,
                            const std::map<std::string, int>& streams) {
  const v1::FlowStep& step = flow.steps(index);
  const std::string path = absl::StrCat("steps[", index, "]");
  std::vector<Edge> edges;
  if (!step.next().empty()) edges.push_back({step.next(), absl::StrCat(path, ".next")});
  switch (step.kind_case()) {
    case v1::FlowStep::kWait:
      if (!step.wait().timeout_next().empty()) {
        edges.push_back({step.wait().timeout_next(), absl::StrCat(path, ".wait.timeout_next")});
      }
      break;
    case v1::FlowStep::kBranch:
      for (int i = 0; i < step.branch().cases_size(); ++i) {
        edges.push_back({step.branch().cases(i).next(),
                         absl::StrCat(path, ".branch.cases[", i, "].next")});
      }
      if (!step.branch().default_next().empty()) {
        edges.push_back({step.branch().default_next(), absl::StrCat(path, ".branch.default_next")});
      }
      break;
    case v1::FlowStep::kSplit:
      for (int i = 0; i < step.split().paths_size(); ++i) {
        edges.push_back({step.split().paths(i).next(),
                         absl::StrCat(path, ".split.paths[", i, "].next")});
      }
      break;
    case v1::FlowStep::kGoTo:
      edges.push_back({step.go_to().target(), absl::StrCat(path, ".go_to.target")});
      break;
    case v1::FlowStep::kStream: {
      auto it = streams.find(step.stream().stream_id());
      if (it == streams.end()) break;
      const v1::ContentStream& s = flow.streams(it->second);
      for (int i = 0; i < s.transitions_size(); ++i) {
        edges.push_back({s.transitions(i).to_step(),
                         absl::StrCat("streams[", it->second, "].transitions[", i, "].to_step")});
      }
      break;
    }
    default:
      break;
  }
  return edges;
}

// Steps that end a run: they wait for a timer or an event.
bool Pauses(const v1::FlowStep& step) {
  return step.kind_case() == v1::FlowStep::kWait || step.kind_case() == v1::FlowStep::kStream;
}

bool UsesNext(const v1::FlowStep& step) {
  switch (step.kind_case()) {
    case v1::FlowStep::kBranch:
    case v1::FlowStep::kSplit:
    case v1::FlowStep::kGoTo:
    case v1::FlowStep::kExit:
    case v1::FlowStep::kStream:
      return false;
    default:
      return true;
  }
}

// Depth-first search for a cycle among steps that do not pause; returns the
// cycle's step indexes in order, empty when there is none.
std::vector<int> FindCycle(const std::vector<std::vector<int>>& adj) {
  const int n = static_cast<int>(adj.size());
  std::vector<int> color(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<int> stack;
  std::vector<int> cycle;
  auto dfs = [&](auto&& self, int u) -> bool {
    color[u] = 1;
    stack.push_back(u);
    for (int v : adj[u]) {
      if (color[v] == 1) {
        auto it = std::find(stack.begin(), stack.end(), v);
        cycle.assign(it, stack.end());
        return true;
      }
      if (color[v] == 0 && self(self, v)) return true;
    }
    stack.pop_back();
    color[u] = 2;
    return false;
  };
  for (int u = 0; u < n; ++u) {
    if (color[u] == 0 && dfs(dfs, u)) return cycle;
  }
  return {};
}

absl::Status ValidateGraph(const v1::NurtureFlow& flow, const std::map<std::string, int>& steps,
                           const std::map<std::string, int>& streams) {
  const int n = flow.steps_size();
  std::vector<std::vector<int>> all(n), no_pause(n);
  for (int i = 0; i < n; ++i) {
    for (const Edge& e : StepEdges(flow, i, streams)) {
      auto it = steps.find(e.target);
      if (it == steps.end()) return Invalid(e.path, absl::StrCat("unknown step \"", e.target, "\""));
      all[i].push_back(it->second);
      if (!Pauses(flow.steps(i))) no_pause[i].push_back(it->second);
    }
  }
  for (int i = 0; i < flow.streams_size(); ++i) {
    for (int j = 0; j < flow.streams(i).transitions_size(); ++j) {
      const std::string& to = flow.streams(i).transitions(j).to_step();
      auto it = steps.find(to);
      const std::string path = absl::StrCat("streams[", i, "].transitions[", j, "].to_step");
      if (it == steps.end()) return Invalid(path, absl::StrCat("unknown step \"", to, "\""));
      if (flow.steps(it->second).kind_case() != v1::FlowStep::kStream) {
        return Invalid(path, absl::StrCat("step \"", to, "\" is not a stream step"));
      }
    }
  }
  std::vector<bool> seen(n, false);
  std::vector<int> todo = {0};
  seen[0] = true;
  while (!todo.empty()) {
    const int u = todo.back();
    todo.pop_back();
    for (int v : all[u]) {
      if (!seen[v]) {
        seen[v] = true;
        todo.push_back(v);
      }
    }
  }
  for (int i = 0; i < n; ++i) {
    if (!seen[i]) return Invalid(absl::StrCat("steps[", i, "]"), "unreachable from the first step");
  }
  std::vector<int> cycle = FindCycle(no_pause);
  if (!cycle.empty()) {
    std::vector<std::string> ids;
    for (int i : cycle) ids.push_back(flow.steps(i).id());
    ids.push_back(flow.steps(cycle[0]).id());
    return Invalid(absl::StrCat("steps[", cycle[0], "]"),
                   absl::StrCat("cycle without a wait (", absl::StrJoin(ids, " -> "), ")"));
  }
  return absl::OkStatus();
}

absl::Status ValidateSteps(const v1::NurtureFlow& flow, std::map<std::string, int>* steps) {
  if (flow.steps().empty() || flow.steps_size() > kFlowStepsMax) {
    return Invalid("steps", absl::StrCat(flow.steps_size(), " steps, expected 1..", kFlowStepsMax));
  }
  std::set<std::string> stream_ids;
  for (const v1::ContentStream& s : flow.streams()) stream_ids.insert(s.id());
  for (int i = 0; i < flow.steps_size(); ++i) {
    const v1::FlowStep& step = flow.steps(i);
    const std::string path = absl::StrCat("steps[", i, "]");
    RETURN_IF_ERROR(CheckId(step.id(), absl::StrCat(path, ".id")));
    if (!steps->emplace(step.id(), i).second) {
      return Invalid(absl::StrCat(path, ".id"), absl::StrCat("duplicate step \"", step.id(), "\""));
    }
    RETURN_IF_ERROR(ValidateStepKind(step, path, stream_ids));
    if (!UsesNext(step) && !step.next().empty()) {
      return Invalid(absl::StrCat(path, ".next"), "not used by this kind of step; leave it empty");
    }
  }
  return absl::OkStatus();
}

}  // namespace

int GradeRank(absl::string_view grade) {
  static constexpr absl::string_view kGrades[] = {"A", "B", "C", "D", "F"};
  for (int i = 0; i < 5; ++i) {
    if (grade == kGrades[i]) return i;
  }
  return -1;
}

uint64_t StableHash64(absl::string_view bytes) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;  // FNV-1a 64 prime
  }
  // MurmurHash3's fmix64: FNV-1a's low bits depend only on the inputs' low
  // bits; the finalizer spreads every input bit over the whole word.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

absl::Status ValidateNurtureFlow(const v1::NurtureFlow& flow) {
  RETURN_IF_ERROR(CheckId(flow.id(), "id"));
  if (flow.version() < 1) return Invalid("version", "0: versions start at 1");
  RETURN_IF_ERROR(ValidateTriggers(flow));
  RETURN_IF_ERROR(ValidateFlowConditions(flow));
  RETURN_IF_ERROR(ValidateStreams(flow));
  std::map<std::string, int> steps;
  RETURN_IF_ERROR(ValidateSteps(flow, &steps));
  std::map<std::string, int> streams;
  for (int i = 0; i < flow.streams_size(); ++i) streams.emplace(flow.streams(i).id(), i);
  RETURN_IF_ERROR(ValidateGraph(flow, steps, streams));
  std::set<std::string> step_ids;
  for (const auto& [id, index] : steps) step_ids.insert(id);
  return ValidatePolicies(flow, step_ids);
}

}  // namespace leadlog
