// GET /v1/leads/{id}, /v1/leads/{id}/timeline, /v1/leads?filters.
#include <algorithm>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "projections/api/internal/handlers.h"
#include "projections/api/read_model.h"
#include "projections/lead/lead_fold.h"

namespace leadlog::api_internal {
namespace {

// The shard ingest would have put `id`'s partition key in, when the host
// says how (ReadApiContext::shard_for_key).
std::optional<ShardId> ShardHint(const ReadApiContext& context, const std::vector<ShardId>& shards,
                                 absl::string_view id) {
  if (context.shard_for_key == nullptr || shards.empty()) return std::nullopt;
  const ShardId highest = *std::max_element(shards.begin(), shards.end());
  return context.shard_for_key(LeadPartitionKey(id), static_cast<int>(highest.value()) + 1);
}

absl::StatusOr<std::pair<Reader, FoundLead>> Find(const Call& call) {
  const std::string& id = call.params[0];
  if (id.size() > kApiParamBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("id: longer than ", kApiParamBytesMax, " bytes"));
  }
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(std::optional<FoundLead> found,
                   FindLeadById(*reader.runner, reader.shards, id,
                                ShardHint(call.context, reader.shards, id)));
  if (!found.has_value()) return absl::NotFoundError(absl::StrCat("id: no lead \"", id, "\""));
  return std::make_pair(std::move(reader), *std::move(found));
}

void SetNextStep(const std::vector<v1::FlowEnrollment>& enrollments, v1::LeadResponse* out) {
  for (const v1::FlowEnrollment& e : enrollments) {
    if (e.status() != v1::FlowEnrollment::ACTIVE || e.timer_id().empty()) continue;
    if (out->has_next_step() && out->next_step().due_ms() <= e.timer_due_ms()) continue;
    out->mutable_next_step()->set_flow_id(e.flow_id());
    out->mutable_next_step()->set_step_id(e.current_step());
    out->mutable_next_step()->set_due_ms(e.timer_due_ms());
  }
}

// Up to `limit` records of the lead with sequence >= first, by sequence, over
// every identifier it resolves from.
absl::StatusOr<std::map<uint64_t, v1::LogRecord>> LeadRecords(EventLog* log, ShardId shard,
                                                             const v1::LeadState& lead,
                                                             uint64_t first, size_t limit) {
  std::map<uint64_t, v1::LogRecord> records;
  for (const std::string& identifier : lead.identifiers()) {
    size_t taken = 0;
    absl::Status s = log->ReadLead(shard, LeadKey::FromEncoded(identifier),
                                   [&](const v1::LogRecord& r) {
                                     if (r.sequence() < first) return absl::OkStatus();
                                     records.emplace(r.sequence(), r);
                                     if (++taken >= limit) return absl::CancelledError("page full");
                                     return absl::OkStatus();
                                   });
    if (!s.ok() && !absl::IsCancelled(s)) return s;
  }
  while (records.size() > limit) records.erase(std::prev(records.end()));
  return records;
}

// The projection's derived entries with first <= sequence <= through.
void AddDerived(const v1::LeadState& lead, uint64_t first, uint64_t through,
                std::vector<v1::TimelineEntry>* out) {
  auto in_page = [&](uint64_t seq) { return seq >= first && seq <= through; };
  for (const v1::StageTransition& t : lead.lifecycle().history()) {
    const auto& seqs = t.cause().record_sequences();
    if (seqs.empty() || !in_page(seqs[seqs.size() - 1])) continue;
    v1::TimelineEntry& e = out->emplace_back();
    e.set_sequence(seqs[seqs.size() - 1]);
    e.set_log_time_ms(t.log_time_ms());
    *e.mutable_transition() = t;
  }
  for (const v1::OwnerChange& c : lead.owner_history()) {
    if (!in_page(c.sequence())) continue;
    v1::TimelineEntry& e = out->emplace_back();
    e.set_sequence(c.sequence());
    e.set_log_time_ms(c.log_time_ms());
    *e.mutable_owner_change() = c;
  }
  for (const v1::IdentityMerge& m : lead.merges()) {
    if (!in_page(m.sequence())) continue;
    v1::TimelineEntry& e = out->emplace_back();
    e.set_sequence(m.sequence());
    e.set_log_time_ms(m.log_time_ms());
    *e.mutable_merge() = m;
  }
}

struct LeadFilter {
  std::optional<std::string> stage, owner, flow;
  bool stalled = false;
  std::optional<v1::SlaClock::Status> sla;
};

absl::StatusOr<LeadFilter> ParseFilter(const QueryParams& q) {
  LeadFilter f;
  f.stage = q.Get("stage");
  f.owner = q.Get("owner");
  f.flow = q.Get("flow");
  ASSIGN_OR_RETURN(f.stalled, q.Bool("stalled"));
  if (std::optional<std::string> sla = q.Get("sla"); sla.has_value()) {
    const std::string upper = absl::AsciiStrToUpper(*sla);
    v1::SlaClock::Status status;
    if (!v1::SlaClock::Status_Parse(upper, &status) || status == v1::SlaClock::STATUS_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("sla: expected open, met, breached or cancelled, got \"", *sla, "\""));
    }
    f.sla = status;
  }
  return f;
}

// Whether `lead` passes the filter; fills the row's filter-specific fields.
absl::StatusOr<bool> Matches(const ProjectionRunner& runner, ShardId shard, const LeadFilter& f,
                             const v1::LeadState& lead, v1::LeadSummary* row) {
  if (f.stage && lead.lifecycle().current_stage() != *f.stage) return false;
  if (f.owner && lead.owner_id() != *f.owner) return false;
  const v1::RevenueLeadState& r = lead.revenue();
  if (f.stalled && r.recycle().stall_due_ms() == 0) return false;
  row->set_stall_due_ms(r.recycle().stall_due_ms());
  if (f.sla) {
    auto it = std::find_if(r.sla_clocks().begin(), r.sla_clocks().end(),
                           [&](const v1::SlaClock& c) { return c.status() == *f.sla; });
    if (it == r.sla_clocks().end()) return false;
    row->set_sla_id(it->sla_id());
    row->set_sla_breach_due_ms(it->breach_due_ms());
  }
  if (f.flow) {
    ASSIGN_OR_RETURN(std::optional<std::string> e,
                     runner.Get(shard, FlowEnrollmentKey(*f.flow, lead.lead_key())));
    if (!e.has_value()) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ApiResponse> GetLead(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  ASSIGN_OR_RETURN(auto found, Find(call));
  auto& [reader, lead] = found;
  v1::LeadResponse out;
  *out.mutable_position() = reader.position;
  out.set_shard(lead.shard.value());
  ASSIGN_OR_RETURN(std::vector<v1::FlowEnrollment> enrollments,
                   LeadEnrollments(*reader.runner, lead.shard, lead.state.lead_key()));
  SetNextStep(enrollments, &out);
  for (v1::FlowEnrollment& e : enrollments) *out.add_enrollments() = std::move(e);
  *out.mutable_lead() = std::move(lead.state);
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetTimeline(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {"limit", "cursor"}));
  ASSIGN_OR_RETURN(int64_t limit, q.Int("limit", kApiTimelinePageDefault, 1, kApiTimelinePageMax));
  uint64_t after = 0;
  bool from_start = true;
  if (std::optional<std::string> cursor = q.Get("cursor"); cursor.has_value()) {
    if (!absl::SimpleAtoi(*cursor, &after) || cursor->empty() || !isdigit((*cursor)[0]) ||
        after == std::numeric_limits<uint64_t>::max()) {
      return absl::InvalidArgumentError("cursor: expected the next_cursor of a timeline page");
    }
    from_start = false;
  }
  ASSIGN_OR_RETURN(auto found, Find(call));
  auto& [reader, lead] = found;
  ASSIGN_OR_RETURN(auto records,
                   LeadRecords(call.context.log, lead.shard, lead.state,
                               from_start ? 0 : after + 1, static_cast<size_t>(limit)));
  v1::TimelineResponse out;
  *out.mutable_position() = reader.position;
  out.set_lead_key(lead.state.lead_key());
  const bool full = records.size() == static_cast<size_t>(limit);
  const uint64_t through = full ? records.rbegin()->first : std::numeric_limits<uint64_t>::max();
  std::vector<v1::TimelineEntry> entries;
  for (auto& [seq, record] : records) {
    v1::TimelineEntry& e = entries.emplace_back();
    e.set_sequence(seq);
    e.set_log_time_ms(record.log_time_ms());
    *e.mutable_record() = std::move(record);
  }
  AddDerived(lead.state, from_start ? 0 : after + 1, through, &entries);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.sequence() < b.sequence();
  });
  for (v1::TimelineEntry& e : entries) *out.add_entries() = std::move(e);
  if (full) out.set_next_cursor(absl::StrCat(through));
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> ListLeads(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q,
                   QueryParams::Parse(call.request.query,
                                      {"stage", "owner", "flow", "stalled", "sla", "limit", "cursor"}));
  ASSIGN_OR_RETURN(int64_t limit, q.Int("limit", kApiPageSizeDefault, 1, kApiPageSizeMax));
  ASSIGN_OR_RETURN(LeadFilter filter, ParseFilter(q));
  ASSIGN_OR_RETURN(LeadCursor from, DecodeLeadCursor(q.Get("cursor").value_or("")));
  Reader reader = OpenReader(call.context);
  v1::LeadListResponse out;
  *out.mutable_position() = reader.position;
  absl::Status match_error;
  uint64_t scanned = 0;
  ASSIGN_OR_RETURN(
      std::optional<LeadCursor> next,
      ScanLeads(*reader.runner, reader.shards, from, static_cast<size_t>(limit), kApiScanLeadsMax,
                &scanned, [&](ShardId shard, const v1::LeadState& lead) {
                  v1::LeadSummary row;
                  absl::StatusOr<bool> ok = Matches(*reader.runner, shard, filter, lead, &row);
                  if (!ok.ok()) match_error.Update(ok.status());
                  if (!ok.ok() || !*ok) return false;
                  v1::LeadSummary filled = SummarizeLead(shard, lead);
                  filled.MergeFrom(row);  // what the filters set (stall, SLA)
                  row = std::move(filled);
                  *out.add_leads() = std::move(row);
                  return true;
                }));
  RETURN_IF_ERROR(match_error);
  out.set_scanned(scanned);
  if (next.has_value()) out.set_next_cursor(EncodeLeadCursor(*next));
  return JsonResponse(out);
}

}  // namespace leadlog::api_internal
