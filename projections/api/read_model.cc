#include "projections/api/read_model.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/limits.h"
#include "engine/redaction.h"
#include "engine/status_macros.h"
#include "projections/definitions/definition.h"
#include "projections/lead/lead_fold.h"

namespace leadlog {
namespace {

constexpr size_t kScanPage = 1024;
constexpr absl::string_view kFlowIndexKey = "d/flows";  // persisted by lead_flows.cc

// Calls `visit` for every entry of `prefix` in `shard`, in pages.
absl::Status ForEachEntry(const ProjectionRunner& runner, ShardId shard, absl::string_view prefix,
                          const std::function<absl::Status(const ProjectionEntry&)>& visit) {
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page,
                     runner.Scan(shard, prefix, after, kScanPage));
    for (const ProjectionEntry& e : page) RETURN_IF_ERROR(visit(e));
    if (page.size() < kScanPage) return absl::OkStatus();
    after = page.back().key;
  }
}

// The lead of an "l/" entry with its revenue state merged back in.
absl::Status ParseLead(const ProjectionRunner& runner, ShardId shard, const ProjectionEntry& e,
                       v1::LeadState* lead) {
  if (!lead->ParseFromString(e.value)) {
    return absl::DataLossError(absl::StrCat("lead projection: undecodable lead at ", e.key));
  }
  return MergeStoredRevenue(runner, shard, lead);
}

// Splits "a:b:c:d" into its parts.
std::vector<std::string> Parts(const std::string& s) { return absl::StrSplit(s, ':'); }

void AddSla(const std::string& status, int64_t value, v1::SlaCells* c) {
  if (status == "sla_met") c->set_met(c->met() + value);
  if (status == "sla_breached") c->set_breached(c->breached() + value);
  if (status == "sla_open") c->set_open(c->open() + value);
  if (status == "sla_warned") c->set_warned(c->warned() + value);
  if (status == "sla_cancelled") c->set_cancelled(c->cancelled() + value);
}

absl::StatusOr<std::optional<int64_t>> Median(const ProjectionRunner& runner,
                                              const std::vector<ShardId>& shards,
                                              const std::string& metric) {
  ASSIGN_OR_RETURN(std::vector<int64_t> samples, RevenueSamples(runner, shards, metric));
  if (samples.empty()) return std::optional<int64_t>();
  return std::optional<int64_t>(samples[samples.size() / 2]);
}

}  // namespace

absl::Status ForEachLead(const ProjectionRunner& runner, const std::vector<ShardId>& shards,
                         const std::function<void(ShardId, const v1::LeadState&)>& visit) {
  for (ShardId shard : shards) {
    RETURN_IF_ERROR(ForEachEntry(runner, shard, kLeadStatePrefix, [&](const ProjectionEntry& e) {
      v1::LeadState lead;
      RETURN_IF_ERROR(ParseLead(runner, shard, e, &lead));
      visit(shard, lead);
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

absl::string_view LeadPartitionKey(absl::string_view id) {
  if (absl::StartsWith(id, "a:") || absl::StartsWith(id, "u:")) id.remove_prefix(2);
  return id;
}

absl::StatusOr<std::optional<FoundLead>> FindLeadById(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards,
                                                     absl::string_view id,
                                                     std::optional<ShardId> first) {
  if (first.has_value() && std::find(shards.begin(), shards.end(), *first) != shards.end()) {
    ASSIGN_OR_RETURN(std::optional<FoundLead> found, FindLeadById(runner, {*first}, id));
    if (found.has_value()) return found;
    std::vector<ShardId> rest;
    rest.reserve(shards.size());
    for (ShardId shard : shards) {
      if (shard != *first) rest.push_back(shard);
    }
    return FindLeadById(runner, rest, id);
  }
  if (absl::StartsWith(id, "a:") || absl::StartsWith(id, "u:")) {
    const std::string key = IdentifierKey(id);
    for (ShardId shard : shards) {
      ASSIGN_OR_RETURN(std::optional<std::string> found, runner.Get(shard, key));
      if (found.has_value()) return FindLead(runner, {shard}, id);
    }
  }
  return FindLead(runner, shards, id);
}

namespace {

absl::Status CheckErasureText(absl::string_view name, absl::string_view value, size_t max) {
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": required"));
  if (value.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": ", value.size(), " bytes, more than the limit of ", max));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Event> MakeErasureEvent(const ProjectionRunner& runner,
                                           const std::vector<ShardId>& shards,
                                           const ErasureRequest& request, int64_t now_ms) {
  RETURN_IF_ERROR(CheckErasureText("reason", request.reason, kErasureReasonBytesMax));
  RETURN_IF_ERROR(
      CheckErasureText("request_id", request.request_id, kErasureRequestIdBytesMax));
  if (request.id.empty() || request.id.size() > kIdBytesMax + 2) {
    return absl::InvalidArgumentError(absl::StrCat("id: expected 1..", kIdBytesMax + 2, " bytes"));
  }
  std::set<std::string> keys;
  for (ShardId shard : shards) {
    ASSIGN_OR_RETURN(std::optional<FoundLead> found, FindLeadById(runner, {shard}, request.id));
    if (!found.has_value()) continue;
    keys.insert(found->state.lead_key());
    keys.insert(found->state.identifiers().begin(), found->state.identifiers().end());
  }
  if (keys.empty()) return absl::NotFoundError(absl::StrCat("id: no lead \"", request.id, "\""));
  v1::Event event;
  event.set_type(v1::CALL_TYPE_ERASURE);
  event.set_event_id(ErasureEventId(request.request_id));
  event.set_occurred_at_ms(now_ms);
  v1::Erasure* erasure = event.mutable_erasure();
  for (const std::string& key : keys) erasure->add_lead_keys(key);
  erasure->set_requested_id(request.id);
  erasure->set_reason(request.reason);
  erasure->set_request_id(request.request_id);
  erasure->set_requested_at_ms(now_ms);
  return event;
}

std::string EncodeLeadCursor(const LeadCursor& cursor) {
  return absl::StrCat(cursor.shard, ".", absl::BytesToHexString(cursor.after_key));
}

absl::StatusOr<LeadCursor> DecodeLeadCursor(absl::string_view text) {
  LeadCursor cursor;
  if (text.empty()) return cursor;
  const size_t dot = text.find('.');
  absl::string_view hex = dot == absl::string_view::npos ? "" : text.substr(dot + 1);
  if (dot == absl::string_view::npos || dot == 0 || !absl::SimpleAtoi(text.substr(0, dot), &cursor.shard) ||
      hex.size() % 2 != 0 || hex.size() > 2 * kProjectionKeyBytesMax ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return absl::InvalidArgumentError(
        "cursor: not a cursor this API returned (expected <shard>.<hex>)");
  }
  cursor.after_key = absl::HexStringToBytes(hex);
  if (!cursor.after_key.empty() && !absl::StartsWith(cursor.after_key, kLeadStatePrefix)) {
    return absl::InvalidArgumentError("cursor: not a lead cursor");
  }
  return cursor;
}

absl::StatusOr<std::optional<LeadCursor>> ScanLeads(
    const ProjectionRunner& runner, const std::vector<ShardId>& shards, const LeadCursor& from,
    size_t page, uint64_t scan_max, uint64_t* scanned,
    const std::function<bool(ShardId, const v1::LeadState&)>& match) {
  size_t matched = 0;
  *scanned = 0;
  for (ShardId shard : shards) {
    if (shard.value() < from.shard) continue;
    std::string after = shard.value() == from.shard ? from.after_key : "";
    while (true) {
      const size_t want = std::min<uint64_t>(kScanPage, scan_max - *scanned);
      ASSIGN_OR_RETURN(std::vector<ProjectionEntry> entries,
                       runner.Scan(shard, kLeadStatePrefix, after, want));
      for (const ProjectionEntry& e : entries) {
        v1::LeadState lead;
        RETURN_IF_ERROR(ParseLead(runner, shard, e, &lead));
        ++*scanned;
        after = e.key;
        if (match(shard, lead)) ++matched;
        if (matched >= page || *scanned >= scan_max) {
          return std::optional<LeadCursor>(LeadCursor{shard.value(), after});
        }
      }
      if (entries.size() < want) break;
    }
  }
  return std::optional<LeadCursor>();
}

absl::Status CollectFlows(const ProjectionRunner& runner, const std::vector<ShardId>& shards,
                          std::map<std::string, FlowRow>* flows) {
  for (ShardId shard : shards) {
    RETURN_IF_ERROR(ForEachEntry(runner, shard, "d/f/nurture_flow/", [&](const ProjectionEntry& e) {
      v1::DefinitionRecord r;
      if (!r.ParseFromString(e.value)) return absl::DataLossError(absl::StrCat("undecodable ", e.key));
      FlowRow& row = (*flows)[r.definition().nurture_flow().id()];
      if (row.shards == 0 || r.definition().nurture_flow().version() > row.flow.version()) {
        row.flow = r.definition().nurture_flow();
      }
      ++row.shards;
      return absl::OkStatus();
    }));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, int64_t>> FlowCounters(const ProjectionRunner& runner,
                                                            const std::vector<ShardId>& shards,
                                                            const std::string& flow_id) {
  std::map<std::string, int64_t> stats;
  const std::string prefix = FlowStatKey(flow_id, "");
  for (ShardId shard : shards) {
    RETURN_IF_ERROR(ForEachEntry(runner, shard, prefix, [&](const ProjectionEntry& e) {
      stats[e.key.substr(prefix.size())] += DecodeFlowStat(e.value);
      return absl::OkStatus();
    }));
  }
  return stats;
}

int64_t ActiveEnrollments(const std::map<std::string, int64_t>& counters) {
  int64_t ended = 0;
  int64_t enrolled = 0;
  for (const auto& [k, v] : counters) {
    if (k == "enrolled") enrolled = v;
    if (k == "completed" || k == "converted" || absl::StartsWith(k, "exited:")) ended += v;
  }
  return enrolled - ended;
}

absl::StatusOr<v1::FlowListResponse> BuildFlowList(const ProjectionRunner& runner,
                                                   const std::vector<ShardId>& shards) {
  std::map<std::string, FlowRow> flows;
  RETURN_IF_ERROR(CollectFlows(runner, shards, &flows));
  v1::FlowListResponse out;
  for (const auto& [id, row] : flows) {
    v1::FlowSummary* f = out.add_flows();
    f->set_flow_id(id);
    f->set_version(row.flow.version());
    f->set_steps(row.flow.steps_size());
    f->set_triggers(row.flow.triggers_size());
    f->set_streams(row.flow.streams_size());
    f->set_shards(row.shards);
    f->set_description(row.flow.description());
  }
  return out;
}

absl::StatusOr<v1::FlowStatsResponse> BuildFlowStats(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards,
                                                     const std::string& flow_id) {
  std::map<std::string, FlowRow> flows;
  RETURN_IF_ERROR(CollectFlows(runner, shards, &flows));
  auto flow = flows.find(flow_id);
  if (flow == flows.end()) {
    return absl::NotFoundError(absl::StrCat("id: no flow \"", flow_id, "\" in force"));
  }
  ASSIGN_OR_RETURN(auto counters, FlowCounters(runner, shards, flow_id));
  v1::FlowStatsResponse out;
  out.set_flow_id(flow_id);
  out.set_flow_version(flow->second.flow.version());
  out.set_active(ActiveEnrollments(counters));
  for (const auto& [k, v] : counters) (*out.mutable_counters())[k] = v;
  for (const v1::FlowStep& step : flow->second.flow.steps()) out.add_step_ids(step.id());
  return out;
}

v1::LeadSummary SummarizeLead(ShardId shard, const v1::LeadState& lead) {
  v1::LeadSummary row;
  row.set_lead_key(lead.lead_key());
  row.set_shard(shard.value());
  row.set_stage(lead.lifecycle().current_stage());
  row.set_owner_id(lead.owner_id());
  row.set_score_milli(lead.score().score_milli());
  row.set_grade(lead.score().grade().grade());
  row.set_updated_ms(lead.updated_ms());
  return row;
}

absl::StatusOr<std::vector<v1::FlowEnrollment>> LeadEnrollments(const ProjectionRunner& runner,
                                                                ShardId shard,
                                                                const std::string& lead_key) {
  // "d/flows": the ids of the flows in force, '\n'-joined (lead_flows.cc):
  // one point read instead of decoding every flow definition.
  ASSIGN_OR_RETURN(std::optional<std::string> index, runner.Get(shard, kFlowIndexKey));
  std::vector<v1::FlowEnrollment> out;
  if (!index.has_value()) return out;
  for (absl::string_view flow_id : absl::StrSplit(*index, '\n', absl::SkipEmpty())) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     runner.Get(shard, FlowEnrollmentKey(flow_id, lead_key)));
    if (!bytes.has_value()) continue;
    v1::FlowEnrollment e;
    if (!e.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("undecodable enrollment of ", lead_key, " in ", flow_id));
    }
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> RevenueCounters(const ProjectionRunner& runner,
                                                               const std::vector<ShardId>& shards) {
  std::map<std::string, int64_t> out;
  for (ShardId shard : shards) {
    RETURN_IF_ERROR(ForEachEntry(runner, shard, kRevenueCounterPrefix, [&](const ProjectionEntry& e) {
      out[e.key.substr(kRevenueCounterPrefix.size())] += DecodeRevenueCounter(e.value);
      return absl::OkStatus();
    }));
  }
  return out;
}

absl::StatusOr<std::vector<int64_t>> RevenueSamples(const ProjectionRunner& runner,
                                                    const std::vector<ShardId>& shards,
                                                    const std::string& metric) {
  std::vector<int64_t> out;
  for (ShardId shard : shards) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, runner.Get(shard, RevenueSamplesKey(metric)));
    if (!bytes.has_value()) continue;
    for (int64_t v : DecodeRevenueSamples(*bytes)) out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<v1::SlaReport> BuildSlaReport(const ProjectionRunner& runner,
                                             const std::vector<ShardId>& shards) {
  ASSIGN_OR_RETURN(auto counters, RevenueCounters(runner, shards));
  v1::SlaReport report;
  // "sla_<status>:<sla>:<owner>:<stage>"
  for (const auto& [name, value] : counters) {
    std::vector<std::string> p = Parts(name);
    if (p.size() != 4 || !absl::StartsWith(p[0], "sla_")) continue;
    AddSla(p[0], value, &(*report.mutable_by_sla())[p[1]]);
    AddSla(p[0], value, &(*report.mutable_by_sla_owner())[absl::StrCat(p[1], " ", p[2])]);
    AddSla(p[0], value, &(*report.mutable_by_sla_stage())[absl::StrCat(p[1], " ", p[3])]);
  }
  ASSIGN_OR_RETURN(std::optional<int64_t> accept, Median(runner, shards, "time_to_accept"));
  ASSIGN_OR_RETURN(std::optional<int64_t> contact, Median(runner, shards, "time_to_first_contact"));
  if (accept.has_value()) report.set_median_time_to_accept_ms(*accept);
  if (contact.has_value()) report.set_median_time_to_first_contact_ms(*contact);
  return report;
}

absl::StatusOr<v1::RecycleReport> BuildRecycleReport(const ProjectionRunner& runner,
                                                     const std::vector<ShardId>& shards) {
  ASSIGN_OR_RETURN(auto counters, RevenueCounters(runner, shards));
  v1::RecycleReport r;
  // "recycles:<reason>:<stage>", "re_entries:<stage>",
  // "disqualified:<reason>:<stage>", "recycle_blocked:<rule>".
  for (const auto& [name, value] : counters) {
    std::vector<std::string> p = Parts(name);
    if (p[0] == "recycles" && p.size() == 3) (*r.mutable_recycles())[absl::StrCat(p[1], " from ", p[2])] += value;
    if (p[0] == "re_entries" && p.size() == 2) (*r.mutable_re_entries())[p[1]] += value;
    if (p[0] == "recycle_blocked" && p.size() == 2) (*r.mutable_recycle_blocked())[p[1]] += value;
    if (p[0] == "disqualified" && p.size() == 3) {
      (*r.mutable_disqualified())[absl::StrCat(p[1], " from ", p[2])] += value;
      if (p[1] == "recycle_limit") r.set_disqualified_by_recycle_limit(r.disqualified_by_recycle_limit() + value);
    }
  }
  return r;
}

absl::StatusOr<std::vector<v1::DefinitionSummary>> DefinitionSummaries(
    const ProjectionRunner& runner, const std::vector<ShardId>& shards) {
  std::map<std::tuple<std::string, std::string, uint32_t>, v1::DefinitionSummary> rows;
  for (ShardId shard : shards) {
    ASSIGN_OR_RETURN(std::vector<v1::DefinitionRecord> records, ListDefinitions(runner, shard));
    std::set<std::string> in_force;  // "kind/id/version"
    for (const char* kind : {"scoring_model", "lifecycle_model", "owner_routing", "revenue_rules",
                             "business_calendar"}) {
      ASSIGN_OR_RETURN(std::optional<std::string> bytes, runner.Get(shard, DefinitionInForceKey(kind)));
      v1::DefinitionRecord r;
      if (bytes.has_value() && r.ParseFromString(*bytes)) {
        in_force.insert(absl::StrCat(kind, "/", DefinitionId(r.definition()), "/",
                                     DefinitionVersion(r.definition())));
      }
    }
    for (const v1::DefinitionRecord& r : records) {
      const std::string kind = DefinitionKind(r.definition());
      const std::string id = DefinitionId(r.definition());
      const uint32_t version = DefinitionVersion(r.definition());
      v1::DefinitionSummary& row = rows[{kind, id, version}];
      row.set_kind(kind);
      row.set_id(id);
      row.set_version(version);
      if (r.accepted()) {
        row.set_accepted_shards(row.accepted_shards() + 1);
      } else {
        row.set_rejected_shards(row.rejected_shards() + 1);
        row.set_why(r.why());
      }
      row.set_log_time_ms(std::max(row.log_time_ms(), r.log_time_ms()));
      if (in_force.count(absl::StrCat(kind, "/", id, "/", version)) > 0) {
        row.set_in_force_shards(row.in_force_shards() + 1);
      }
    }
  }
  std::vector<v1::DefinitionSummary> out;
  for (auto& [key, row] : rows) out.push_back(std::move(row));
  return out;
}

}  // namespace leadlog
