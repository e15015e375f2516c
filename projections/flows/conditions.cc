// Conditions design note.
//
// Predicates: every event and trait predicate goes through
// CompiledPredicate (projections/scoring/predicate.h), the one home of the
// operator semantics; validation goes through ValidatePredicates. Callers
// guarantee valid definitions (the flow and governance validators run
// before a definition takes effect), so evaluation compiles with
// CompileValid and never re-validates.
//
// No compiled-predicate cache. MatchesEvent and EvaluateCondition receive
// the definition protos per call, and compile a predicate only when it is
// reached: after the call and the event name matched (most events fail
// there), and stopping at the first predicate that fails. Compiling one
// valid predicate costs an operator lookup, an operand copy and a field
// split (a few hundred ns); a cache keyed by the serialized EventMatch
// would pay a serialization, a hash and a process-wide mutex on every call
// even for matches without predicates, and would share mutable state
// between the apply threads. The right place for reuse is the flow engine,
// which can compile its definition once at Create.
//
// Traits are read in place from LeadState.traits (name -> value, at most
// kLeadProfileTraitsMax) with WalkStruct, so no Struct is built per call.
//
// Time zones: absl::LoadTimeZone reads tzdata from disk and the underlying
// cctz caches every name it was asked for, failures included, for the
// process lifetime. Names are therefore screened first (length, characters,
// no "..", no "localtime"), and a bounded map (kFlowTimeZonesCachedMax)
// remembers results, positive and negative, so repeated names do not go to
// the loader again. The cache changes no result, only cost.
//
// Local times (NextLocalTime, quiet hours): a civil time resolves through
// absl::TimeZone::At(CivilSecond): UNIQUE -> the instant; SKIPPED (a DST
// gap, e.g. 02:30 on 2026-03-29 in Europe/Berlin) -> TimeInfo::trans, the
// instant the gap ends (03:00 CEST); REPEATED (e.g. 02:30 on 2026-10-25 in
// Europe/Berlin) -> TimeInfo::pre, the first occurrence (02:30 CEST). Each
// local day yields at most one candidate, so a wall time fires at most once
// per day: after the first 02:30 has passed, the second is not a candidate.
//
// Send gate retry time: a send at t counts for a cap while
// t > now - window_ms, so it stops counting at exactly t + window_ms. With
// n counted sends and sends_max m, the cap clears when the (n - m + 1)-th
// oldest leaves: retry = that send's time + window_ms. Check then re-checks
// at the latest retry time (no new sends happen while a send waits, so caps
// only clear as time passes, and the end of quiet hours is outside them):
// retry_at_ms is the first instant at which Check allows the send.
#include "projections/flows/conditions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/scoring/predicate.h"

namespace leadlog {
namespace {

using google::protobuf::Value;

constexpr std::pair<absl::string_view, v1::CallType> kCalls[] = {
    {"track", v1::CALL_TYPE_TRACK},
    {"page", v1::CALL_TYPE_PAGE},
    {"identify", v1::CALL_TYPE_IDENTIFY},
    {"group", v1::CALL_TYPE_GROUP},
    {"alias", v1::CALL_TYPE_ALIAS}};

constexpr absl::string_view kWeekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                           "friday", "saturday", "sunday"};

// Days NextLocalTime examines: a week for the weekday filter, plus days a
// zone may skip entirely (Pacific/Apia skipped 2011-12-30), plus the first
// day whose candidate may already be past.
constexpr int kLocalSearchDays = 15;

absl::string_view CallName(v1::CallType type) {
  for (const auto& [name, call] : kCalls) {
    if (call == type) return name;
  }
  return "";
}

std::string FieldPath(absl::string_view path, absl::string_view field) {
  return path.empty() ? std::string(field) : absl::StrCat(path, ".", field);
}

absl::Status Invalid(absl::string_view path, absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(FieldPath(path, field), ": ", reason));
}

absl::Status TooMany(absl::string_view path, absl::string_view field, int max) {
  return absl::ResourceExhaustedError(
      absl::StrCat(FieldPath(path, field), ": more than ", max, " entries"));
}

bool IsStageId(absl::string_view id) {
  if (id.empty() || id.size() > kLifecycleIdBytesMax) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
  });
}

bool IsChannel(absl::string_view channel) {
  if (channel.empty() || channel.size() > kFlowChannelBytesMax) return false;
  return std::all_of(channel.begin(), channel.end(),
                     [](char c) { return absl::ascii_islower(c) || c == '_'; });
}

std::string WindowRange() { return absl::StrCat("[", kFlowWaitMsMin, ", ", kFlowWaitMsMax, "]"); }

// ---------------------------------------------------------------- traits

const v1::ProfileTrait* FindTrait(const v1::LeadState& lead, absl::string_view name) {
  for (const v1::ProfileTrait& t : lead.traits()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// What a "traits.*" predicate reads on the lead: traits[keys[0]][keys[1]]...
const Value* LeadTraitValue(const v1::LeadState& lead, const CompiledPredicate& p) {
  if (p.source() != CompiledPredicate::Source::kTraits || p.keys().empty()) return nullptr;
  const v1::ProfileTrait* trait = FindTrait(lead, p.keys()[0]);
  if (trait == nullptr) return nullptr;
  if (p.keys().size() == 1) return &trait->value();
  if (trait->value().kind_case() != Value::kStructValue) return nullptr;
  return WalkStruct(trait->value().struct_value(), p.keys(), 1);
}

std::string ValueText(const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue:
      return absl::StrCat("\"", v.string_value(), "\"");
    case Value::kNumberValue:
      return absl::StrCat(v.number_value());
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kListValue: {
      std::vector<std::string> parts;
      for (const Value& e : v.list_value().values()) parts.push_back(ValueText(e));
      return absl::StrCat("[", absl::StrJoin(parts, ", "), "]");
    }
    default:
      return "null";
  }
}

std::string PredicateText(const v1::ScoringPredicate& p) {
  std::string out = absl::StrCat(p.field(), " ", p.op());
  if (p.has_value()) absl::StrAppend(&out, " ", ValueText(p.value()));
  if (p.ignore_case()) absl::StrAppend(&out, " (ignore case)");
  return out;
}

// ---------------------------------------------------------------- why

// Collects the explanation of EvaluateCondition: every part that holds, or
// the first part that fails. Texts are built only when wanted.
class Why {
 public:
  explicit Why(std::string* out) : out_(out) {}

  // Text functions are callables returning std::string; templates, so an
  // evaluation without `why` builds no text.
  template <typename Text>
  bool Holds(const Text& text) {
    if (out_ != nullptr) parts_.push_back(absl::StrCat(text(), " holds"));
    return true;
  }
  template <typename Text>
  bool Fails(const Text& text) {
    if (out_ != nullptr) *out_ = text();
    return false;
  }
  template <typename HoldsText, typename FailsText>
  bool Result(bool holds, const HoldsText& holds_text, const FailsText& fails_text) {
    return holds ? Holds(holds_text) : Fails(fails_text);
  }
  void AllHeld() {
    if (out_ == nullptr) return;
    *out_ = parts_.empty() ? "empty condition holds" : absl::StrJoin(parts_, "; ");
  }

 private:
  std::string* out_;
  std::vector<std::string> parts_;
};

std::string StageText(absl::string_view stage) {
  return stage.empty() ? "(none)" : std::string(stage);
}

std::string ListText(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return absl::StrCat("[", absl::StrJoin(list, ", "), "]");
}

bool InList(const google::protobuf::RepeatedPtrField<std::string>& list, absl::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// ---------------------------------------------------------------- condition parts

bool TraitsHold(const v1::LeadCondition& c, const v1::LeadState& lead, Why& why) {
  for (int i = 0; i < c.traits_size(); ++i) {
    const CompiledPredicate p = CompiledPredicate::CompileValid(c.traits(i));
    if (!p.HoldsFor(LeadTraitValue(lead, p))) {
      return why.Fails(
          [&] { return absl::StrCat("traits[", i, "] ", PredicateText(c.traits(i)), " fails"); });
    }
  }
  return why.Holds([&] {
    return c.traits_size() == 1 ? absl::StrCat("traits[0] ", PredicateText(c.traits(0)))
                                : absl::StrCat("traits[0..", c.traits_size() - 1, "]");
  });
}

bool ScoreHolds(const v1::LeadCondition& c, double score, Why& why) {
  const auto score_text = [score] { return absl::StrFormat("score %.3f", score); };
  if (c.has_score_min() &&
      !why.Result(
          score >= c.score_min(), [&] { return absl::StrCat(score_text(), " >= ", c.score_min()); },
          [&] { return absl::StrCat(score_text(), " < ", c.score_min(), " (score_min)"); })) {
    return false;
  }
  return !c.has_score_max() ||
         why.Result(
             score < c.score_max(),
             [&] { return absl::StrCat(score_text(), " < ", c.score_max()); },
             [&] { return absl::StrCat(score_text(), " >= ", c.score_max(), " (score_max)"); });
}

// A grade "A".."F" is at least `grade_min` when its letter is not later in
// the alphabet; an ungraded lead (or an unknown grade) never is.
bool GradeHolds(const v1::LeadCondition& c, const v1::LeadState& lead, Why& why) {
  const std::string& grade = lead.score().grade().grade();
  const bool graded = grade.size() == 1 && grade[0] >= 'A' && grade[0] <= 'F';
  return why.Result(
      graded && grade[0] <= c.grade_min()[0],
      [&] { return absl::StrCat("grade ", grade, " >= ", c.grade_min()); },
      [&] {
        return graded ? absl::StrCat("grade ", grade, " < ", c.grade_min(), " (grade_min)")
                      : absl::StrCat("no grade < ", c.grade_min(), " (grade_min)");
      });
}

bool StagesHold(const v1::LeadCondition& c, const v1::LeadState& lead, Why& why) {
  const std::string& stage = lead.lifecycle().current_stage();
  if (!c.stages().empty() &&
      !why.Result(
          InList(c.stages(), stage),
          [&] { return absl::StrCat("stage ", StageText(stage), " in ", ListText(c.stages())); },
          [&] {
            return absl::StrCat("stage ", StageText(stage), " not in ", ListText(c.stages()),
                                " (stages)");
          })) {
    return false;
  }
  return c.not_stages().empty() ||
         why.Result(
             !InList(c.not_stages(), stage),
             [&] {
               return absl::StrCat("stage ", StageText(stage), " not in ",
                                   ListText(c.not_stages()));
             },
             [&] {
               return absl::StrCat("stage ", StageText(stage), " in ", ListText(c.not_stages()),
                                   " (not_stages)");
             });
}

// Recent events in (now - window_ms, now] with the window's call and name.
// Predicates of the match are not evaluated: recent events keep no
// properties, and ValidateCondition rejects them.
uint32_t CountRecent(const v1::EventWindow& w, const v1::NurtureLeadState& nurture,
                     int64_t now_ms) {
  const int64_t from_ms = now_ms - w.window_ms();
  uint32_t count = 0;
  for (const v1::RecentEvent& e : nurture.recent_events()) {
    if (e.log_time_ms() > from_ms && e.log_time_ms() <= now_ms && e.call() == w.match().call() &&
        (w.match().event().empty() || e.name() == w.match().event())) {
      ++count;
    }
  }
  return count;
}

bool EventsHold(const v1::LeadCondition& c, const v1::LeadState& lead, int64_t now_ms, Why& why) {
  for (int i = 0; i < c.events_size(); ++i) {
    const v1::EventWindow& w = c.events(i);
    const uint32_t need = std::max<uint32_t>(w.count_min(), 1);
    const uint32_t count = CountRecent(w, lead.nurture(), now_ms);
    const auto text = [&] {
      return absl::StrCat(
          "events[", i, "]: ", count, " ", w.match().call(), " ",
          w.match().event().empty() ? "(any name)" : absl::StrCat("\"", w.match().event(), "\""),
          " in ", w.window_ms(), " ms");
    };
    if (!why.Result(
            count >= need, [&] { return absl::StrCat(text(), " >= ", need); },
            [&] { return absl::StrCat(text(), " < ", need, " (count_min)"); })) {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------- suppression

bool IsTrueValue(const Value& v) {
  return (v.kind_case() == Value::kBoolValue && v.bool_value()) ||
         (v.kind_case() == Value::kStringValue && absl::EqualsIgnoreCase(v.string_value(), "true"));
}

// The lower-cased domain after the last '@' of trait "email"; "" when none.
std::string EmailDomain(const v1::LeadState& lead) {
  const v1::ProfileTrait* email = FindTrait(lead, "email");
  if (email == nullptr || email->value().kind_case() != Value::kStringValue) return "";
  absl::string_view address = absl::StripAsciiWhitespace(email->value().string_value());
  const size_t at = address.rfind('@');
  if (at == absl::string_view::npos) return "";
  return absl::AsciiStrToLower(address.substr(at + 1));
}

// Entry `entry` names the lead: its key, its user id, or one of its
// identifiers with or without the "a:" / "u:" prefix.
bool IsListed(const v1::LeadState& lead, absl::string_view entry) {
  if (entry.empty()) return false;
  if (lead.lead_key() == entry || lead.user_id() == entry) return true;
  for (absl::string_view id : lead.identifiers()) {
    if (id == entry) return true;
    if ((absl::ConsumePrefix(&id, "a:") || absl::ConsumePrefix(&id, "u:")) && id == entry) {
      return true;
    }
  }
  return false;
}

bool IsDisqualifiedStage(const v1::LifecycleModel& model, absl::string_view stage) {
  for (const v1::LifecycleStage& s : model.stages()) {
    if (s.id() == stage) return s.kind() == v1::STAGE_KIND_DISQUALIFIED;
  }
  return false;
}

// ---------------------------------------------------------------- time zones

bool PlausibleZoneName(absl::string_view name) {
  if (name.front() == '/' || absl::StrContains(name, "..")) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '/' || c == '_' || c == '-' || c == '+';
  });
}

// Process-wide, bounded memo of zone loads (see the design note).
class ZoneCache {
 public:
  static ZoneCache& Instance() {
    static ZoneCache* const cache = new ZoneCache;
    return *cache;
  }

  std::optional<absl::TimeZone> Load(absl::string_view name) {
    const std::string key(name);
    {
      absl::MutexLock lock(&mu_);
      auto it = zones_.find(key);
      if (it != zones_.end()) return it->second;
    }
    std::optional<absl::TimeZone> zone;
    absl::TimeZone loaded;
    if (absl::LoadTimeZone(key, &loaded)) zone = loaded;
    absl::MutexLock lock(&mu_);
    if (zones_.size() < static_cast<size_t>(kFlowTimeZonesCachedMax)) zones_.emplace(key, zone);
    return zone;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::optional<absl::TimeZone>> zones_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<absl::TimeZone> LoadZone(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("time zone required");
  if (name.size() > kFlowTimeZoneBytesMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("time zone longer than ", kFlowTimeZoneBytesMax, " bytes"));
  }
  if (name == "localtime") {
    return absl::InvalidArgumentError(
        "time zone \"localtime\" differs between hosts; name an IANA time zone");
  }
  std::optional<absl::TimeZone> zone;
  if (PlausibleZoneName(name)) zone = ZoneCache::Instance().Load(name);
  if (!zone) return absl::InvalidArgumentError(absl::StrCat("unknown time zone \"", name, "\""));
  return *zone;
}

int IsoWeekday(absl::CivilDay day) {
  switch (absl::GetWeekday(day)) {
    case absl::Weekday::monday:
      return 1;
    case absl::Weekday::tuesday:
      return 2;
    case absl::Weekday::wednesday:
      return 3;
    case absl::Weekday::thursday:
      return 4;
    case absl::Weekday::friday:
      return 5;
    case absl::Weekday::saturday:
      return 6;
    case absl::Weekday::sunday:
      return 7;
  }
  return 0;
}

// The instant of `minute_of_day` on local `day` (design note: SKIPPED ->
// trans, REPEATED -> pre).
absl::Time LocalInstant(const absl::TimeZone& zone, absl::CivilDay day, int minute_of_day) {
  const absl::CivilSecond civil(day.year(), day.month(), day.day(), minute_of_day / 60,
                                minute_of_day % 60, 0);
  const absl::TimeZone::TimeInfo info = zone.At(civil);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

std::optional<absl::Time> NextLocal(absl::Time after, int weekday, int minute_of_day,
                                    const absl::TimeZone& zone) {
  absl::CivilDay day = absl::ToCivilDay(after, zone);
  for (int i = 0; i < kLocalSearchDays; ++i, ++day) {
    if (weekday != 0 && IsoWeekday(day) != weekday) continue;
    const absl::Time t = LocalInstant(zone, day, minute_of_day);
    if (t > after) return t;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- send gate

struct Block {
  int64_t until_ms;  // first instant this reason no longer blocks
  std::string why;
};

struct GateZone {
  absl::TimeZone zone;
  std::string name;
};

// The lead's zone when loadable, else the governance default, else UTC.
GateZone ResolveGateZone(const v1::QuietHours& quiet, absl::string_view lead_zone) {
  for (absl::string_view name : {lead_zone, absl::string_view(quiet.default_time_zone())}) {
    if (name.empty()) continue;
    absl::StatusOr<absl::TimeZone> zone = LoadZone(name);
    if (zone.ok()) return {*zone, std::string(name)};
  }
  return {absl::UTCTimeZone(), "UTC"};
}

std::optional<Block> QuietHoursBlock(const v1::QuietHours& quiet, const GateZone& zone,
                                     int64_t at_ms) {
  if (quiet.start().empty()) return std::nullopt;
  const absl::StatusOr<int> start = ParseTimeOfDay(quiet.start());
  const absl::StatusOr<int> end = ParseTimeOfDay(quiet.end());
  LEADLOG_CHECK(start.ok() && end.ok()) << "governance was validated";
  const absl::Time at = absl::FromUnixMillis(at_ms);
  const absl::CivilSecond local = absl::ToCivilSecond(at, zone.zone);
  const int minute = local.hour() * 60 + local.minute();
  const bool inside =
      *start < *end ? (minute >= *start && minute < *end) : (minute >= *start || minute < *end);
  if (!inside) return std::nullopt;
  const std::optional<absl::Time> until = NextLocal(at, 0, *end, zone.zone);
  LEADLOG_CHECK(until.has_value()) << "every day has a local time at or after any minute";
  return Block{absl::ToUnixMillis(*until),
               absl::StrCat("quiet hours ", quiet.start(), "-", quiet.end(), " ", zone.name)};
}

std::optional<Block> CapBlock(const v1::FrequencyCap& cap, const v1::NurtureLeadState& nurture,
                              absl::string_view channel, int64_t at_ms) {
  if (!cap.channel().empty() && cap.channel() != channel) return std::nullopt;
  std::vector<int64_t> counted;
  for (const v1::SendRecord& s : nurture.sends()) {
    if (s.log_time_ms() > at_ms - cap.window_ms() &&
        (cap.channel().empty() || s.channel() == cap.channel())) {
      counted.push_back(s.log_time_ms());
    }
  }
  if (counted.size() < cap.sends_max()) return std::nullopt;
  // The cap clears once count - sends_max + 1 of them left the window.
  const size_t k = counted.size() - cap.sends_max();
  std::nth_element(counted.begin(), counted.begin() + static_cast<ptrdiff_t>(k), counted.end());
  return Block{
      counted[k] + cap.window_ms(),
      absl::StrCat("frequency cap ", cap.channel().empty() ? "all channels" : cap.channel(), " ",
                   cap.sends_max(), " per ", cap.window_ms(), " ms")};
}

std::vector<Block> Blocks(const v1::NurtureGovernance& g, const GateZone& zone,
                          const v1::NurtureLeadState& nurture, absl::string_view channel,
                          int64_t at_ms) {
  std::vector<Block> blocks;
  if (std::optional<Block> b = QuietHoursBlock(g.quiet_hours(), zone, at_ms)) {
    blocks.push_back(std::move(*b));
  }
  for (const v1::FrequencyCap& cap : g.caps()) {
    if (std::optional<Block> b = CapBlock(cap, nurture, channel, at_ms)) {
      blocks.push_back(std::move(*b));
    }
  }
  return blocks;
}

int64_t LatestUntil(const std::vector<Block>& blocks) {
  int64_t latest = std::numeric_limits<int64_t>::min();
  for (const Block& b : blocks) latest = std::max(latest, b.until_ms);
  return latest;
}

absl::Status ValidateCap(const v1::FrequencyCap& cap, const std::string& path) {
  if (!cap.channel().empty() && !IsChannel(cap.channel())) {
    return Invalid(path, "channel",
                   absl::StrCat("\"", cap.channel(), "\" is not [a-z_], 1..", kFlowChannelBytesMax,
                                " bytes (\"\" = every channel)"));
  }
  if (cap.sends_max() < 1) return Invalid(path, "sends_max", "must be >= 1");
  if (cap.sends_max() > static_cast<uint32_t>(kNurtureSendsMax)) {
    return Invalid(path, "sends_max",
                   absl::StrCat(cap.sends_max(), " is above ", kNurtureSendsMax,
                                " (the sends a lead's state keeps)"));
  }
  if (cap.window_ms() < kFlowWaitMsMin || cap.window_ms() > kFlowWaitMsMax) {
    return Invalid(path, "window_ms",
                   absl::StrCat(cap.window_ms(), " ms is outside ", WindowRange()));
  }
  return absl::OkStatus();
}

absl::Status ValidateQuietHours(const v1::QuietHours& quiet) {
  if (quiet.start().empty() != quiet.end().empty()) {
    return Invalid("quiet_hours", quiet.start().empty() ? "start" : "end",
                   "required when the other end is set (set both or neither)");
  }
  if (!quiet.start().empty()) {
    absl::StatusOr<int> start = ParseTimeOfDay(quiet.start());
    if (!start.ok()) return Invalid("quiet_hours", "start", start.status().message());
    absl::StatusOr<int> end = ParseTimeOfDay(quiet.end());
    if (!end.ok()) return Invalid("quiet_hours", "end", end.status().message());
    if (*start == *end) return Invalid("quiet_hours", "end", "equals start (an empty window)");
  }
  if (!quiet.default_time_zone().empty()) {
    absl::StatusOr<absl::TimeZone> zone = LoadZone(quiet.default_time_zone());
    if (!zone.ok()) return Invalid("quiet_hours", "default_time_zone", zone.status().message());
  }
  return absl::OkStatus();
}

absl::Status ValidateStageList(const google::protobuf::RepeatedPtrField<std::string>& stages,
                               absl::string_view path, absl::string_view field) {
  if (stages.size() > kLifecycleStagesMax) return TooMany(path, field, kLifecycleStagesMax);
  for (int i = 0; i < stages.size(); ++i) {
    if (!IsStageId(stages[i])) {
      return Invalid(path, absl::StrCat(field, "[", i, "]"),
                     absl::StrCat("\"", stages[i], "\" is not a stage id ([a-z0-9_], 1..",
                                  kLifecycleIdBytesMax, " bytes)"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateScoreBounds(const v1::LeadCondition& c, absl::string_view path) {
  if (c.has_score_min() && !std::isfinite(c.score_min())) {
    return Invalid(path, "score_min", "must be finite");
  }
  if (c.has_score_max() && !std::isfinite(c.score_max())) {
    return Invalid(path, "score_max", "must be finite");
  }
  if (c.has_score_min() && c.has_score_max() && !(c.score_min() < c.score_max())) {
    return Invalid(path, "score_max",
                   absl::StrCat(c.score_max(), " is not above score_min ", c.score_min()));
  }
  return absl::OkStatus();
}

absl::Status ValidateWindow(const v1::EventWindow& w, const std::string& path) {
  RETURN_IF_ERROR(ValidateEventMatch(w.match(), FieldPath(path, "match")));
  if (!w.match().where().empty()) {
    return Invalid(path, "match.where",
                   "predicates cannot be evaluated on recent events (they keep only call, name "
                   "and time); match on call and event only");
  }
  if (w.window_ms() < kFlowWaitMsMin || w.window_ms() > kFlowWaitMsMax) {
    return Invalid(path, "window_ms",
                   absl::StrCat(w.window_ms(), " ms is outside ", WindowRange()));
  }
  if (w.count_min() > static_cast<uint32_t>(kNurtureRecentEventsMax)) {
    return Invalid(path, "count_min",
                   absl::StrCat(w.count_min(), " is above ", kNurtureRecentEventsMax,
                                " (the recent events a lead's state keeps)"));
  }
  return absl::OkStatus();
}

}  // namespace

double EffectiveScore(const v1::LeadState& lead) {
  return static_cast<double>(lead.score().score_milli() + lead.score_adjustment_milli()) / 1000.0;
}

bool MatchesEvent(const v1::EventMatch& match, const v1::LogRecord& record) {
  if (!record.has_event()) return false;
  const v1::Event& event = record.event();
  const absl::string_view call = CallName(event.type());
  if (call.empty() || call != match.call()) return false;
  if (!match.event().empty() && match.event() != event.name()) return false;
  Value scratch;
  for (const v1::ScoringPredicate& p : match.where()) {
    if (!CompiledPredicate::CompileValid(p).Matches(event, &scratch)) return false;
  }
  return true;
}

bool EvaluateCondition(const v1::LeadCondition& condition, const v1::LeadState& lead,
                       int64_t now_ms, std::string* why) {
  Why explain(why);
  if (!condition.traits().empty() && !TraitsHold(condition, lead, explain)) return false;
  if (!ScoreHolds(condition, EffectiveScore(lead), explain)) return false;
  if (!condition.grade_min().empty() && !GradeHolds(condition, lead, explain)) return false;
  if (!StagesHold(condition, lead, explain)) return false;
  if (!EventsHold(condition, lead, now_ms, explain)) return false;
  explain.AllHeld();
  return true;
}

std::optional<std::string> SuppressionReason(const v1::Suppression& suppression,
                                             const v1::LeadState& lead,
                                             const v1::LifecycleModel* model) {
  if (suppression.unsubscribed()) {
    const v1::ProfileTrait* t = FindTrait(lead, "unsubscribed");
    if (t != nullptr && IsTrueValue(t->value())) return "unsubscribed";
  }
  const std::string& stage = lead.lifecycle().current_stage();
  if (suppression.disqualified() && model != nullptr && IsDisqualifiedStage(*model, stage)) {
    return "disqualified";
  }
  if (!stage.empty() && InList(suppression.stages(), stage)) return absl::StrCat("stage ", stage);
  if (!suppression.email_domains().empty()) {
    const std::string domain = EmailDomain(lead);
    for (const std::string& d : suppression.email_domains()) {
      if (!domain.empty() && absl::AsciiStrToLower(d) == domain) {
        return absl::StrCat("email domain ", domain);
      }
    }
  }
  for (const std::string& entry : suppression.leads()) {
    if (IsListed(lead, entry)) return "listed";
  }
  return std::nullopt;
}

absl::Status ValidateEventMatch(const v1::EventMatch& match, absl::string_view path) {
  if (match.call().empty()) {
    return Invalid(path, "call", "required (track, page, identify, group or alias)");
  }
  const auto known = std::find_if(std::begin(kCalls), std::end(kCalls),
                                  [&](const auto& c) { return c.first == match.call(); });
  if (known == std::end(kCalls)) {
    return Invalid(path, "call",
                   absl::StrCat("unknown call \"", match.call(),
                                "\" (expected track, page, identify, group or alias)"));
  }
  if (match.event().size() > kEventNameBytesMax) {
    return Invalid(path, "event", absl::StrCat("longer than ", kEventNameBytesMax, " bytes"));
  }
  if (!match.event().empty() && known->second != v1::CALL_TYPE_TRACK &&
      known->second != v1::CALL_TYPE_PAGE) {
    return Invalid(path, "event",
                   absl::StrCat(match.call(), " calls have no name; only track and page do"));
  }
  return ValidatePredicates(match.where(), PredicateScope::kEvent, path);
}

absl::Status ValidateCondition(const v1::LeadCondition& condition, absl::string_view path) {
  // ValidatePredicates names the list "where"; here it is "traits".
  absl::Status traits = ValidatePredicates(condition.traits(), PredicateScope::kTraits, "");
  if (!traits.ok()) {
    absl::string_view message = traits.message();
    absl::ConsumePrefix(&message, ".where");
    return absl::Status(traits.code(), absl::StrCat(FieldPath(path, "traits"), message));
  }
  RETURN_IF_ERROR(ValidateScoreBounds(condition, path));
  const std::string& grade = condition.grade_min();
  if (!grade.empty() && (grade.size() != 1 || grade[0] < 'A' || grade[0] > 'F')) {
    return Invalid(path, "grade_min", absl::StrCat("expected one of A..F, got \"", grade, "\""));
  }
  RETURN_IF_ERROR(ValidateStageList(condition.stages(), path, "stages"));
  RETURN_IF_ERROR(ValidateStageList(condition.not_stages(), path, "not_stages"));
  if (condition.events_size() > kFlowConditionEventWindowsMax) {
    return TooMany(path, "events", kFlowConditionEventWindowsMax);
  }
  for (int i = 0; i < condition.events_size(); ++i) {
    RETURN_IF_ERROR(
        ValidateWindow(condition.events(i), FieldPath(path, absl::StrCat("events[", i, "]"))));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ParseTimeOfDay(absl::string_view text) {
  const auto digit = [&](size_t i) { return absl::ascii_isdigit(text[i]); };
  if (text.size() != 5 || text[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not HH:MM"));
  }
  const int hours = (text[0] - '0') * 10 + (text[1] - '0');
  const int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  if (hours > 23 || minutes > 59) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not HH:MM (00:00..23:59)"));
  }
  return hours * 60 + minutes;
}

absl::StatusOr<int> ParseWeekday(absl::string_view text) {
  if (text.empty()) return 0;
  for (int i = 0; i < 7; ++i) {
    if (kWeekdays[i] == text) return i + 1;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not a weekday (monday..sunday, lower case)"));
}

absl::StatusOr<int64_t> NextLocalTime(int64_t after_ms, int weekday, int minute_of_day,
                                      absl::string_view time_zone) {
  if (weekday < 0 || weekday > 7) {
    return absl::InvalidArgumentError(absl::StrCat("weekday ", weekday, " is outside 0..7"));
  }
  if (minute_of_day < 0 || minute_of_day >= 24 * 60) {
    return absl::InvalidArgumentError(
        absl::StrCat("minute of day ", minute_of_day, " is outside 0..1439"));
  }
  if (after_ms < 0 || after_ms > kFlowTimeMsMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("time ", after_ms, " ms is outside [0, ", kFlowTimeMsMax, "]"));
  }
  ASSIGN_OR_RETURN(const absl::TimeZone zone, LoadZone(time_zone));
  const std::optional<absl::Time> next =
      NextLocal(absl::FromUnixMillis(after_ms), weekday, minute_of_day, zone);
  if (!next) {
    return absl::InternalError(absl::StrCat("time zone \"", time_zone, "\" has no local time ",
                                            minute_of_day, " within ", kLocalSearchDays, " days"));
  }
  return absl::ToUnixMillis(*next);
}

absl::Status ValidateGovernance(const v1::NurtureGovernance& governance) {
  if (governance.caps_size() > kFlowCapsMax) return TooMany("", "caps", kFlowCapsMax);
  for (int i = 0; i < governance.caps_size(); ++i) {
    RETURN_IF_ERROR(ValidateCap(governance.caps(i), absl::StrCat("caps[", i, "]")));
  }
  return ValidateQuietHours(governance.quiet_hours());
}

absl::StatusOr<std::unique_ptr<SendGate>> SendGate::Create(
    const v1::NurtureGovernance& governance) {
  RETURN_IF_ERROR(ValidateGovernance(governance));
  return std::unique_ptr<SendGate>(new SendGate(governance));
}

SendDecision SendGate::Check(const v1::NurtureLeadState& nurture, absl::string_view channel,
                             int64_t now_ms, absl::string_view time_zone) const {
  const GateZone zone = ResolveGateZone(governance_.quiet_hours(), time_zone);
  const std::vector<Block> blocks = Blocks(governance_, zone, nurture, channel, now_ms);
  SendDecision decision;
  if (blocks.empty()) return decision;
  decision.allowed = false;
  std::vector<absl::string_view> reasons;
  for (const Block& b : blocks) reasons.push_back(b.why);
  decision.why = absl::StrJoin(reasons, "; ");
  // Caps clear for good once clear (no sends while waiting) and the end of
  // quiet hours is outside them: two more rounds always reach a fixpoint.
  int64_t retry_ms = LatestUntil(blocks);
  for (int round = 0; round < 3; ++round) {
    const std::vector<Block> later = Blocks(governance_, zone, nurture, channel, retry_ms);
    if (later.empty()) break;
    retry_ms = LatestUntil(later);
  }
  decision.retry_at_ms = retry_ms;
  return decision;
}

void SendGate::Record(v1::NurtureLeadState* nurture, absl::string_view channel,
                      int64_t now_ms) const {
  int64_t longest_ms = 0;
  for (const v1::FrequencyCap& cap : governance_.caps()) {
    longest_ms = std::max(longest_ms, cap.window_ms());
  }
  v1::SendRecord* added = nurture->add_sends();
  added->set_channel(std::string(channel));
  added->set_log_time_ms(now_ms);
  // A send no cap can count any more is dropped (all of them without caps).
  auto* sends = nurture->mutable_sends();
  const auto stale = std::remove_if(sends->begin(), sends->end(), [&](const v1::SendRecord& s) {
    return s.log_time_ms() <= now_ms - longest_ms;
  });
  sends->erase(stale, sends->end());
  if (sends->size() > kNurtureSendsMax) sends->DeleteSubrange(0, sends->size() - kNurtureSendsMax);
}

void RecordSentContent(v1::NurtureLeadState* nurture, absl::string_view content_id) {
  if (content_id.empty()) return;
  auto* sent = nurture->mutable_sent_content();
  const auto it = std::lower_bound(sent->begin(), sent->end(), content_id,
                                   [](const std::string& a, absl::string_view b) { return a < b; });
  if (it != sent->end() && *it == content_id) return;
  if (sent->size() >= kNurtureSentContentMax) return;
  const int pos = static_cast<int>(it - sent->begin());
  sent->Add(std::string(content_id));
  for (int i = sent->size() - 1; i > pos; --i) sent->SwapElements(i, i - 1);
}

bool WasSent(const v1::NurtureLeadState& nurture, absl::string_view content_id) {
  const auto& sent = nurture.sent_content();
  const auto it = std::lower_bound(sent.begin(), sent.end(), content_id,
                                   [](const std::string& a, absl::string_view b) { return a < b; });
  return it != sent.end() && *it == content_id;
}

StreamPick NextStreamContent(const v1::ContentStream& stream, const v1::NurtureLeadState& nurture,
                             uint32_t position) {
  StreamPick pick;
  const uint32_t size = static_cast<uint32_t>(stream.content_size());
  for (uint32_t i = position; i < size; ++i) {
    const v1::StreamContent& piece = stream.content(static_cast<int>(i));
    if (!WasSent(nurture, piece.content_id())) {
      pick.content = piece;
      pick.index = i;
      return pick;
    }
  }
  pick.index = std::max(position, size);
  return pick;
}

void RecordRecentEvent(const v1::LogRecord& record, v1::NurtureLeadState* nurture) {
  if (!record.has_event()) return;
  const absl::string_view call = CallName(record.event().type());
  if (call.empty()) return;  // definition events and unknown calls
  v1::RecentEvent* e = nurture->add_recent_events();
  e->set_call(std::string(call));
  e->set_name(record.event().name());
  e->set_log_time_ms(record.log_time_ms());
  e->set_sequence(record.sequence());
  auto* recent = nurture->mutable_recent_events();
  if (recent->size() > kNurtureRecentEventsMax) {
    recent->DeleteSubrange(0, recent->size() - kNurtureRecentEventsMax);
  }
}

}  // namespace leadlog
