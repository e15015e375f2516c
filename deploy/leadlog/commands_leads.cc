// Commands over the lead projection: leads get/why, rebuild, definitions list.
#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "leadlog/v1/action.pb.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "deploy/leadlog/api_client.h"
#include "deploy/leadlog/commands.h"
#include "engine/status_macros.h"
#include "projections/definitions/definition.h"
#include "projections/lead/explain.h"
#include "projections/api/limits.h"
#include "projections/api/read_model.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {
namespace {

std::string Time(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string Points(int64_t milli) { return absl::StrFormat("%.3f", static_cast<double>(milli) / 1000); }

// A read command's `--data-dir DIR` opened read-only (beside a running serve).
struct DirectRead {
  std::unique_ptr<EventLog> log;
  std::unique_ptr<LeadProjection> projection;
  std::shared_ptr<const ProjectionRunner> runner() const { return projection->runner(); }
};

absl::StatusOr<DirectRead> OpenDirectRead(const CliArgs& args) {
  DirectRead read;
  ASSIGN_OR_RETURN(read.log, OpenLog(args.Get("data-dir"), true, false));
  LeadProjectionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(read.projection, LeadProjection::Open(read.log.get(), options));
  return read;
}

void PrintLead(const FoundLead& found, std::ostream& out) {
  const v1::LeadState& lead = found.state;
  out << "lead " << lead.lead_key() << " (shard " << found.shard.value() << ")\n";
  out << "  identifiers: ";
  for (int i = 0; i < lead.identifiers_size(); ++i) out << (i ? ", " : "") << lead.identifiers(i);
  out << "\n  user id: " << (lead.user_id().empty() ? "-" : lead.user_id()) << "\n";
  out << "  first seen: " << Time(lead.created_ms()) << "  last record: #" << lead.last_sequence()
      << " at " << Time(lead.updated_ms()) << "\n";
  const v1::LifecycleState& lc = lead.lifecycle();
  out << "  stage: " << lc.current_stage() << " since " << Time(lc.entered_at_ms()) << " (model "
      << lc.model_id() << " v" << lc.model_version() << ")\n";
  out << "  owner: " << (lead.owner_id().empty() ? "-" : lead.owner_id()) << "\n";
  const v1::ScoreState& score = lead.score();
  out << "  score: " << Points(score.score_milli()) << " (model "
      << (score.model_id().empty() ? "none" : score.model_id()) << " v" << score.model_version()
      << ", as of " << Time(score.decayed_through_ms()) << ")  grade: "
      << (score.grade().grade().empty() ? "-" : score.grade().grade()) << " (fit "
      << score.grade().fit_points() << ")\n";
  for (const v1::RuleScore& rule : score.rules()) {
    if (rule.matches() == 0) continue;
    out << "    " << rule.rule_id() << ": " << Points(rule.points_milli()) << " points from "
        << rule.matches() << " records (raw " << Points(rule.raw_points_milli()) << ", decay -"
        << Points(rule.decay_applied_milli()) << ", capped " << rule.cap_hits() << ")\n";
  }
  for (const v1::FitRuleHit& hit : score.grade().hits()) {
    out << "    fit " << hit.rule_id() << ": " << hit.points() << "\n";
  }
  out << "  stage history:\n";
  for (const v1::StageTransition& t : lc.history()) {
    out << "    " << Time(t.log_time_ms()) << " " << t.from_stage() << " -> " << t.to_stage() << " by "
        << v1::Actor_Name(t.actor()) << " rule " << t.cause().rule_id() << " ("
        << t.cause().definition_id() << " v" << t.cause().definition_version() << ")";
    if (!t.reason().empty()) out << " reason " << t.reason();
    out << "\n";
  }
  for (const v1::RejectedTransition& r : lc.rejected()) {
    out << "    rejected " << Time(r.log_time_ms()) << " " << r.from_stage() << " -> "
        << (r.attempted_to_stage().empty() ? "?" : r.attempted_to_stage()) << ": " << r.why() << "\n";
  }
  for (const v1::IdentityMerge& m : lead.merges()) {
    out << "  merged " << m.absorbed_lead_key() << " via " << m.via_identifier() << " at #"
        << m.sequence() << "\n";
  }
}

// The lead's records by sequence, from every page of its API timeline.
absl::StatusOr<std::map<uint64_t, v1::LogRecord>> TimelineRecords(const ApiClient& api,
                                                                  const std::string& id) {
  std::map<uint64_t, v1::LogRecord> records;
  std::string cursor;
  do {
    ApiClient::Query query = {{"limit", absl::StrCat(kApiTimelinePageMax)}};
    if (!cursor.empty()) query.emplace_back("cursor", cursor);
    v1::TimelineResponse page;
    RETURN_IF_ERROR(api.Get(absl::StrCat("/v1/leads/", UrlPathEscape(id), "/timeline"), query, &page));
    for (const v1::TimelineEntry& e : page.entries()) {
      if (e.has_record()) records[e.record().sequence()] = e.record();
    }
    cursor = page.next_cursor();
  } while (!cursor.empty());
  return records;
}

// `leads get|why` through a running serve's API.
int LeadsGetOrWhyApi(const std::string& command, const std::string& verb, const ApiClient& api,
                     const std::string& id, bool json) {
  v1::LeadResponse response;
  if (auto s = api.Get(absl::StrCat("/v1/leads/", UrlPathEscape(id)), {}, &response); !s.ok()) {
    return Fail(command, s);
  }
  const FoundLead found{ShardId(response.shard()), response.lead()};
  if (verb == "get") {
    if (json) {
      std::cout << Json(found.state) << "\n";
    } else {
      PrintLead(found, std::cout);
    }
    return 0;
  }
  auto records = TimelineRecords(api, id);
  if (!records.ok()) return Fail(command, records.status());
  std::cout << ExplainLead(found.state, [&](uint64_t sequence) -> std::optional<v1::LogRecord> {
    auto it = records->find(sequence);
    if (it == records->end()) return std::nullopt;
    return it->second;
  });
  return 0;
}

int LeadsGetOrWhy(const std::string& verb, const Args& argv) {
  const std::string command = absl::StrCat("leads ", verb);
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  if (verb == "get") args.Bool("json", "print the lead state as one JSON object");
  args.Positional("ID", 1, 1);
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  if (api) return LeadsGetOrWhyApi(command, verb, *api, args.positional()[0], args.GetBool("json"));
  auto read = OpenDirectRead(args);
  if (!read.ok()) return Fail(command, read.status());
  const std::string id = args.positional()[0];
  auto found = FindLead(*read->runner(), read->log->Shards(), id);
  if (!found.ok()) return Fail(command, found.status());
  if (!found->has_value()) {
    return Fail(command, absl::NotFoundError(absl::StrCat("no lead \"", id, "\"")));
  }
  if (verb == "get") {
    if (args.GetBool("json")) {
      std::cout << Json((*found)->state) << "\n";
    } else {
      PrintLead(**found, std::cout);
    }
    return 0;
  }
  const ShardId shard = (*found)->shard;
  EventLog* event_log = read->log.get();
  auto record_at = [event_log, shard](uint64_t sequence) -> std::optional<v1::LogRecord> {
    std::optional<v1::LogRecord> out;
    absl::Status s = event_log->ReadRange(shard, Sequence(sequence), Sequence(sequence + 1),
                                          [&](const v1::LogRecord& r) {
                                            out = r;
                                            return absl::OkStatus();
                                          });
    if (!s.ok()) return std::nullopt;
    return out;
  };
  std::cout << ExplainLead((*found)->state, record_at);
  return 0;
}

void PrintLeadRow(const v1::LeadSummary& row) {
  std::cout << row.lead_key() << "  shard " << row.shard() << "  stage " << row.stage()
            << "  score " << Points(row.score_milli()) << "  grade "
            << (row.grade().empty() ? "-" : row.grade()) << "  owner "
            << (row.owner_id().empty() ? "-" : row.owner_id()) << "\n";
}

void PrintStageCounts(const std::map<std::string, uint64_t>& stages) {
  uint64_t total = 0;
  for (const auto& [stage, count] : stages) total += count;
  for (const auto& [stage, count] : stages) {
    std::cout << absl::StrFormat("%-14s %8d  %5.1f%%\n", stage, count,
                                 total ? 100.0 * count / total : 0.0);
  }
  std::cout << absl::StrFormat("%-14s %8d\n", "total", total);
}

// Every lead summary GET /v1/leads?query returns, page after page.
absl::Status ForEachApiLead(const ApiClient& api, const ApiClient::Query& filters,
                            const std::function<absl::Status(const v1::LeadSummary&)>& visit) {
  std::string cursor;
  do {
    ApiClient::Query query = filters;
    query.emplace_back("limit", absl::StrCat(kApiPageSizeMax));
    if (!cursor.empty()) query.emplace_back("cursor", cursor);
    v1::LeadListResponse page;
    RETURN_IF_ERROR(api.Get("/v1/leads", query, &page));
    for (const v1::LeadSummary& row : page.leads()) RETURN_IF_ERROR(visit(row));
    cursor = page.next_cursor();
  } while (!cursor.empty());
  return absl::OkStatus();
}

// The full state of one lead through the API.
absl::StatusOr<v1::LeadResponse> ApiLead(const ApiClient& api, const std::string& id) {
  v1::LeadResponse response;
  RETURN_IF_ERROR(api.Get(absl::StrCat("/v1/leads/", UrlPathEscape(id)), {}, &response));
  return response;
}

// `leads list|stages` through a running serve's API: the same rows, in the
// same order (shards ascending, lead keys ascending), printed the same way.
absl::Status LeadsListOrStagesApi(const std::string& verb, const CliArgs& args,
                                  const ApiClient& api, int64_t limit) {
  std::map<std::string, uint64_t> stages;
  uint64_t matched = 0;
  const bool json = verb == "list" && args.GetBool("json");
  ApiClient::Query filters;
  if (verb == "list" && args.Has("stage")) filters.emplace_back("stage", args.Get("stage"));
  if (verb == "list" && args.Has("owner")) filters.emplace_back("owner", args.Get("owner"));
  RETURN_IF_ERROR(ForEachApiLead(api, filters, [&](const v1::LeadSummary& row) {
    ++stages[row.stage()];
    if (verb != "list" || ++matched > static_cast<uint64_t>(limit)) return absl::OkStatus();
    if (!json) {
      PrintLeadRow(row);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(v1::LeadResponse lead, ApiLead(api, row.lead_key()));
    std::cout << Json(lead.lead()) << "\n";
    return absl::OkStatus();
  }));
  if (verb == "list") {
    if (!json) std::cout << matched << " leads matched\n";
  } else {
    PrintStageCounts(stages);
  }
  return absl::OkStatus();
}

// `leads list` (filtered leads) and `leads stages` (count per stage).
int LeadsListOrStages(const std::string& verb, const Args& argv) {
  const std::string command = absl::StrCat("leads ", verb);
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  if (verb == "list") {
    args.String("stage", "S", "only leads in stage S");
    args.String("owner", "O", "only leads owned by O");
    args.String("limit", "N", "print at most N leads", "20");
    args.Bool("json", "one JSON object per lead");
  }
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  int64_t limit = 0;
  if (verb == "list") {
    auto parsed = args.GetInt("limit", 1, 1'000'000);
    if (!parsed.ok()) return Fail(command, parsed.status());
    limit = *parsed;
  }
  if (api) {
    absl::Status s = LeadsListOrStagesApi(verb, args, *api, limit);
    return s.ok() ? 0 : Fail(command, s);
  }
  auto read = OpenDirectRead(args);
  if (!read.ok()) return Fail(command, read.status());
  std::map<std::string, uint64_t> stages;
  uint64_t matched = 0;
  const bool json = verb == "list" && args.GetBool("json");
  absl::Status status = ForEachLead(
      *read->runner(), read->log->Shards(), [&](ShardId shard, const v1::LeadState& lead) {
        const std::string& stage = lead.lifecycle().current_stage();
        ++stages[stage];
        if (verb != "list") return;
        if (args.Has("stage") && stage != args.Get("stage")) return;
        if (args.Has("owner") && lead.owner_id() != args.Get("owner")) return;
        if (++matched > static_cast<uint64_t>(limit)) return;
        if (json) {
          std::cout << Json(lead) << "\n";
          return;
        }
        PrintLeadRow(SummarizeLead(shard, lead));
      });
  if (!status.ok()) return Fail(command, status);
  if (verb == "list") {
    if (!json) std::cout << matched << " leads matched\n";
    return 0;
  }
  PrintStageCounts(stages);
  return 0;
}

}  // namespace

int Leads(const Args& argv) {
  const std::string verb = argv.empty() ? "" : argv[0];
  const Args rest = argv.empty() ? Args() : Args(argv.begin() + 1, argv.end());
  if (verb == "get" || verb == "why") return LeadsGetOrWhy(verb, rest);
  if (verb == "list" || verb == "stages") return LeadsListOrStages(verb, rest);
  if (verb == "journey") return LeadsJourney(rest);
  if (verb == "stalled") return LeadsStalled(rest);
  if (verb == "erase") return LeadsErase(rest);
  std::cerr << "leadlog leads: expected a subcommand: get ID [--json] | why ID | journey ID | list [--stage S] "
               "[--owner O] | stages | stalled [--stage S] [--limit N] (each with --data-dir DIR or --api URL)\n"
               "       erase ID --reason R [--request-id X] [--brokers LIST] (with --data-dir DIR)\n";
  return kExitUsage;
}

int Rebuild(const Args& argv) {
  CliArgs args("rebuild");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.String("projection", "NAME", "the projection to rebuild", "lead");
  args.String("fold-threads", "N",
              "threads folding shards in parallel (0 = the machine's cores, at most "
              "kRebuildFoldThreadsMax)",
              "0");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  absl::StatusOr<int64_t> fold_threads = args.GetInt("fold-threads", 0, kRebuildFoldThreadsMax);
  if (!fold_threads.ok()) return Fail("rebuild", fold_threads.status());
  if (args.Get("projection") != kLeadProjectionName) {
    return Fail("rebuild", absl::InvalidArgumentError(absl::StrCat(
                               "--projection: unknown projection \"", args.Get("projection"),
                               "\" (known: ", kLeadProjectionName, ")")));
  }
  auto log = OpenLog(args.Get("data-dir"), false, true);
  if (!log.ok()) return Fail("rebuild", log.status());
  LeadProjectionOptions options;
  options.rebuild_fold_threads = static_cast<uint32_t>(*fold_threads);
  auto projection = LeadProjection::Open(log->get(), options);
  if (!projection.ok()) return Fail("rebuild", projection.status());
  auto report = (*projection)->Rebuild();
  if (!report.ok()) return Fail("rebuild", report.status());
  for (const RebuildReport::Shard& s : report->shards) {
    std::cout << "shard " << s.shard.value() << ": " << s.checkpoint.value() << " records, digest "
              << s.new_digest << (s.old_digest.empty() ? "" : (s.old_digest == s.new_digest
                                                                    ? " (identical to live)"
                                                                    : " (DIFFERS from live " +
                                                                          s.old_digest + ")"))
              << "\n";
  }
  const double rate = report->seconds > 0 ? report->records / report->seconds : 0;
  std::cout << "rebuilt " << kLeadProjectionName << " v" << report->old_version << " -> v"
            << report->new_version << ": " << report->records << " records in "
            << absl::StrFormat("%.3f", report->seconds) << " s ("
            << absl::StrFormat("%.0f", rate) << " records/s); state "
            << (report->old_version == 0 ? "new"
                                         : (report->identical ? "identical to the live version"
                                                              : "DIFFERS from the live version"))
            << "\n";
  std::cout << "state cache: " << report->cache.state_cache_hits << " hits, "
            << report->cache.state_cache_misses << " misses, "
            << report->cache.state_cache_evictions << " evictions, "
            << report->cache.state_cache_bytes / (1 << 20) << " MiB held\n";
  std::cout << "decoded leads: " << report->decoded.hits << " hits, " << report->decoded.misses
            << " misses (" << report->decoded.stale << " stale), " << report->decoded.evictions
            << " evictions, " << report->decoded.bytes / (1 << 20) << " MiB charged\n";
  if (report->old_version != 0 && !report->identical) return kExitFailure;
  return 0;
}

namespace {

void PrintDefinitionSummaries(const std::vector<v1::DefinitionSummary>& rows) {
  if (rows.empty()) std::cout << "no definitions published\n";
  for (const v1::DefinitionSummary& row : rows) {
    std::cout << row.kind() << " " << row.id() << " v" << row.version() << ": "
              << (row.in_force_shards() > 0
                      ? absl::StrCat("in force on ", row.in_force_shards(), " shard(s)")
                      : std::string("not in force"))
              << ", accepted on " << row.accepted_shards() << ", rejected on "
              << row.rejected_shards() << ", published " << Time(row.log_time_ms());
    if (!row.why().empty()) std::cout << " (" << row.why() << ")";
    std::cout << "\n";
  }
}

}  // namespace

int DefinitionsList(const Args& argv) {
  const std::string command = "definitions list";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.Bool("json", "one JSON object per definition and shard (not with --api)");
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  if (api) {
    if (args.GetBool("json")) {
      return Fail(command, absl::InvalidArgumentError(
                               "--json: the per-shard definition records are not served by the "
                               "API; use --data-dir"));
    }
    v1::DefinitionListResponse response;
    if (auto s = api->Get("/v1/definitions", {}, &response); !s.ok()) return Fail(command, s);
    PrintDefinitionSummaries({response.definitions().begin(), response.definitions().end()});
    return 0;
  }
  auto read = OpenDirectRead(args);
  if (!read.ok()) return Fail(command, read.status());
  auto runner = read->runner();
  if (args.GetBool("json")) {
    for (ShardId shard : read->log->Shards()) {
      auto records = ListDefinitions(*runner, shard);
      if (!records.ok()) return Fail(command, records.status());
      for (const v1::DefinitionRecord& r : *records) {
        std::cout << "{\"shard\":" << shard.value() << ",\"record\":" << Json(r) << "}\n";
      }
    }
    return 0;
  }
  auto rows = DefinitionSummaries(*runner, read->log->Shards());
  if (!rows.ok()) return Fail(command, rows.status());
  PrintDefinitionSummaries(*rows);
  return 0;
}

}  // namespace leadlog::cli

namespace leadlog::cli {
namespace {

void PrintFlowList(const v1::FlowListResponse& list) {
  if (list.flows().empty()) std::cout << "no flows published\n";
  for (const v1::FlowSummary& f : list.flows()) {
    std::cout << f.flow_id() << " v" << f.version() << ": " << f.steps() << " steps, "
              << f.triggers() << " triggers, " << f.streams() << " streams; in force on "
              << f.shards() << " shard(s)";
    if (!f.description().empty()) std::cout << " — " << f.description();
    std::cout << "\n";
  }
}

void PrintFlowStats(const v1::FlowStatsResponse& r, bool json) {
  // Sorted for printing (protobuf maps have no order).
  std::map<std::string, int64_t> stats(r.counters().begin(), r.counters().end());
  if (json) {
    std::cout << "{\"flow\":\"" << r.flow_id() << "\",\"active\":" << r.active();
    for (const auto& [k, v] : stats) std::cout << ",\"" << k << "\":" << v;
    std::cout << "}\n";
    return;
  }
  std::cout << "flow " << r.flow_id() << " v" << r.flow_version() << "\n";
  std::cout << "  enrolled " << stats["enrolled"] << ", active " << r.active()
            << ", converted (goal) " << stats["converted"] << ", completed " << stats["completed"]
            << ", sent " << stats["sent"] << ", deferred " << stats["deferred"] << "\n";
  std::cout << "  exits by reason:\n";
  for (const auto& [k, v] : stats) {
    if (absl::StartsWith(k, "exited:")) std::cout << "    " << k.substr(7) << ": " << v << "\n";
  }
  std::cout << "  per step (entries):\n";
  for (const std::string& step : r.step_ids()) {
    std::cout << "    " << step << ": " << stats[absl::StrCat("step:", step)] << "\n";
  }
  for (const auto& [k, v] : stats) {
    if (absl::StartsWith(k, "not_enrolled:")) std::cout << "  " << k << ": " << v << "\n";
  }
}

}  // namespace

int FlowsList(const Args& argv) {
  const std::string command = "flows list";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  v1::FlowListResponse list;
  if (api) {
    if (auto s = api->Get("/v1/flows", {}, &list); !s.ok()) return Fail(command, s);
  } else {
    auto read = OpenDirectRead(args);
    if (!read.ok()) return Fail(command, read.status());
    auto built = BuildFlowList(*read->runner(), read->log->Shards());
    if (!built.ok()) return Fail(command, built.status());
    list = *std::move(built);
  }
  PrintFlowList(list);
  return 0;
}

int FlowsStats(const Args& argv) {
  const std::string command = "flows stats";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.Bool("json", "one JSON object");
  args.Positional("FLOW_ID", 1, 1);
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  const std::string id = args.positional()[0];
  v1::FlowStatsResponse stats;
  if (api) {
    auto s = api->Get(absl::StrCat("/v1/flows/", UrlPathEscape(id), "/stats"), {}, &stats);
    if (!s.ok()) return Fail(command, s);
  } else {
    auto read = OpenDirectRead(args);
    if (!read.ok()) return Fail(command, read.status());
    auto built = BuildFlowStats(*read->runner(), read->log->Shards(), id);
    if (!built.ok()) return Fail(command, built.status());
    stats = *std::move(built);
  }
  PrintFlowStats(stats, args.GetBool("json"));
  return 0;
}

namespace {

// A lead's enrollments, by flow id.
void PrintJourney(const std::string& lead_key, std::vector<v1::FlowEnrollment> enrollments,
                  bool json) {
  std::stable_sort(enrollments.begin(), enrollments.end(),
                   [](const v1::FlowEnrollment& a, const v1::FlowEnrollment& b) {
                     return a.flow_id() < b.flow_id();
                   });
  for (const v1::FlowEnrollment& e : enrollments) {
    if (json) {
      std::cout << Json(e) << "\n";
      continue;
    }
    std::cout << "flow " << e.flow_id() << " v" << e.flow_version() << " (enrollment #"
              << e.enrollment_number() << "): " << v1::FlowEnrollment::Status_Name(e.status());
    if (e.status() == v1::FlowEnrollment::ACTIVE) {
      std::cout << " at step " << e.current_step() << " since " << Time(e.step_entered_ms());
      if (!e.timer_id().empty()) std::cout << ", next at " << Time(e.timer_due_ms());
      if (e.exhausted()) std::cout << " (stream exhausted: waits for new content)";
    } else {
      std::cout << " at " << Time(e.ended_ms());
      if (!e.exit_reason().empty()) std::cout << " (" << e.exit_reason() << ")";
    }
    std::cout << "\n";
    if (e.journey_dropped() > 0) std::cout << "    (" << e.journey_dropped() << " older entries dropped)\n";
    for (const v1::JourneyEntry& j : e.journey()) {
      std::cout << "    " << Time(j.log_time_ms()) << " #" << j.sequence() << " "
                << (j.step_id().empty() ? "" : j.step_id() + ": ") << j.what() << "\n";
    }
  }
  if (enrollments.empty() && !json) std::cout << "lead " << lead_key << " is in no flow\n";
}

}  // namespace

int LeadsJourney(const Args& argv) {
  const std::string command = "leads journey";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.Bool("json", "one JSON object per enrollment");
  args.Positional("ID", 1, 1);
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  const std::string id = args.positional()[0];
  if (api) {
    auto lead = ApiLead(*api, id);
    if (!lead.ok()) return Fail(command, lead.status());
    PrintJourney(lead->lead().lead_key(), {lead->enrollments().begin(), lead->enrollments().end()},
                 args.GetBool("json"));
    return 0;
  }
  auto read = OpenDirectRead(args);
  if (!read.ok()) return Fail(command, read.status());
  auto runner = read->runner();
  auto found = FindLead(*runner, read->log->Shards(), id);
  if (!found.ok()) return Fail(command, found.status());
  if (!found->has_value()) return Fail(command, absl::NotFoundError(absl::StrCat("no lead \"", id, "\"")));
  const v1::LeadState& lead = (*found)->state;
  auto enrollments = LeadEnrollments(*runner, (*found)->shard, lead.lead_key());
  if (!enrollments.ok()) return Fail(command, enrollments.status());
  PrintJourney(lead.lead_key(), *std::move(enrollments), args.GetBool("json"));
  return 0;
}

}  // namespace leadlog::cli

namespace leadlog::cli {

int Actions(const Args& argv) {
  CliArgs args("actions");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.String("type", "T", "only actions of this type (handoff, send_content, notify_owner, webhook)");
  args.String("limit", "N", "print at most N actions", "100");
  args.Bool("ids", "print only action ids, one per line");
  args.Bool("json", "one JSON object per action");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto limit = args.GetInt("limit", 1, 100'000'000);
  if (!limit.ok()) return Fail("actions", limit.status());
  auto read = OpenDirectRead(args);
  if (!read.ok()) return Fail("actions", read.status());
  auto runner = read->runner();
  int64_t printed = 0;
  std::map<std::string, uint64_t> by_type;
  for (ShardId shard : read->log->Shards()) {
    std::string after;
    while (true) {
      auto page = runner->Scan(shard, "o/", after, 1024);
      if (!page.ok()) return Fail("actions", page.status());
      for (const ProjectionEntry& e : *page) {
        v1::Action action;
        if (!action.ParseFromString(e.value)) {
          return Fail("actions", absl::DataLossError(absl::StrCat("undecodable action at shard ",
                                                                  shard.value())));
        }
        if (args.Has("type") && action.type() != args.Get("type")) continue;
        ++by_type[action.type()];
        if (printed >= *limit) continue;
        ++printed;
        if (args.GetBool("ids")) {
          std::cout << action.action_id() << "\n";
        } else if (args.GetBool("json")) {
          std::cout << Json(action) << "\n";
        } else {
          std::cout << action.action_id() << "  " << Time(action.log_time_ms()) << "  "
                    << action.lead_key() << "  " << action.type();
          if (action.has_send_content()) {
            std::cout << " " << action.send_content().content_id() << " by "
                      << action.send_content().channel() << " (flow "
                      << action.send_content().origin().flow_id() << ")";
          } else if (action.has_handoff()) {
            std::cout << " to " << (action.handoff().owner_id().empty() ? "-" : action.handoff().owner_id());
          }
          std::cout << "\n";
        }
      }
      if (page->size() < 1024) break;
      after = page->back().key;
    }
  }
  if (!args.GetBool("ids") && !args.GetBool("json")) {
    for (const auto& [type, count] : by_type) std::cout << type << ": " << count << "\n";
  }
  return 0;
}

}  // namespace leadlog::cli

// --- revenue: stalled leads, SLA and recycle reports (projections/revenue).

namespace leadlog::cli {
namespace {

std::string Duration(int64_t ms) {
  return absl::StrFormat("%.1fh", static_cast<double>(ms) / 3'600'000.0);
}

// A report message from the API, or built from the data dir (the same
// message: GET handlers call the same builders).
template <typename Report>
absl::StatusOr<Report> ReadReport(
    const std::optional<ApiClient>& api, const std::string& path, const CliArgs& args,
    absl::StatusOr<Report> (*build)(const ProjectionRunner&, const std::vector<ShardId>&)) {
  if (api) {
    Report report;
    RETURN_IF_ERROR(api->Get(path, {}, &report));
    return report;
  }
  ASSIGN_OR_RETURN(DirectRead read, OpenDirectRead(args));
  return build(*read.runner(), read.log->Shards());
}

// One `leads stalled` line.
std::string StalledLine(uint32_t shard, const v1::LeadState& lead) {
  const v1::RevenueLeadState& r = lead.revenue();
  const int64_t last =
      std::max({r.last_sales_contact_ms(), r.last_engagement_ms(), r.last_crm_update_ms()});
  return absl::StrCat(lead.lead_key(), "  shard ", shard, "  stage ",
                      lead.lifecycle().current_stage(), "  owner ",
                      lead.owner_id().empty() ? "-" : lead.owner_id(), "  stall due ",
                      Time(r.recycle().stall_due_ms()), " (rule ", r.recycle().stall_rule_id(),
                      ")  last activity ", last == 0 ? std::string("-") : Time(last),
                      "  recycles ", r.recycle().recycles());
}

// Leads with a stall deadline, earliest first (ties in scan order).
struct StalledRow {
  int64_t due_ms;
  std::string lead_key;
  std::string line;  // filled for the rows printed
};

}  // namespace

int LeadsStalled(const Args& argv) {
  const std::string command = "leads stalled";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.String("stage", "S", "only leads in stage S");
  args.String("limit", "N", "print at most N leads", "20");
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, argv, command, &code, &api)) return code;
  auto limit = args.GetInt("limit", 1, 1'000'000);
  if (!limit.ok()) return Fail(command, limit.status());
  std::vector<StalledRow> rows;
  if (api) {
    ApiClient::Query filters = {{"stalled", "true"}};
    if (args.Has("stage")) filters.emplace_back("stage", args.Get("stage"));
    absl::Status s = ForEachApiLead(*api, filters, [&](const v1::LeadSummary& row) {
      rows.push_back({row.stall_due_ms(), row.lead_key(), ""});
      return absl::OkStatus();
    });
    if (!s.ok()) return Fail(command, s);
  } else {
    auto read = OpenDirectRead(args);
    if (!read.ok()) return Fail(command, read.status());
    absl::Status status = ForEachLead(
        *read->runner(), read->log->Shards(), [&](ShardId shard, const v1::LeadState& lead) {
          if (lead.revenue().recycle().stall_due_ms() == 0) return;
          if (args.Has("stage") && lead.lifecycle().current_stage() != args.Get("stage")) return;
          rows.push_back({lead.revenue().recycle().stall_due_ms(), lead.lead_key(),
                          StalledLine(shard.value(), lead)});
        });
    if (!status.ok()) return Fail(command, status);
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const StalledRow& a, const StalledRow& b) { return a.due_ms < b.due_ms; });
  int64_t printed = 0;
  for (StalledRow& row : rows) {
    if (printed++ >= *limit) break;
    if (api) {  // the full state only for the leads printed
      auto lead = ApiLead(*api, row.lead_key);
      if (!lead.ok()) return Fail(command, lead.status());
      row.line = StalledLine(lead->shard(), lead->lead());
    }
    std::cout << row.line << "\n";
  }
  std::cout << rows.size() << " leads with a stall deadline\n";
  return 0;
}

int Sla(const Args& argv) {
  const std::string verb = argv.empty() ? "" : argv[0];
  if (verb != "report") {
    std::cerr << "leadlog sla: expected a subcommand: report (--data-dir DIR | --api URL) [--json]\n";
    return kExitUsage;
  }
  const std::string command = "sla report";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.Bool("json", "print the report as one JSON object");
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, Args(argv.begin() + 1, argv.end()), command, &code, &api)) return code;
  absl::StatusOr<v1::SlaReport> report = ReadReport<v1::SlaReport>(api, "/v1/reports/sla", args, BuildSlaReport);
  if (!report.ok()) return Fail(command, report.status());
  using Cells = v1::SlaCells;
  // Sorted for printing (protobuf maps have no order).
  const std::map<std::string, Cells> by_sla(report->by_sla().begin(), report->by_sla().end());
  const std::map<std::string, Cells> by_owner(report->by_sla_owner().begin(), report->by_sla_owner().end());
  const std::map<std::string, Cells> by_stage(report->by_sla_stage().begin(), report->by_sla_stage().end());
  const bool has_accept = report->has_median_time_to_accept_ms();
  const bool has_contact = report->has_median_time_to_first_contact_ms();
  const int64_t accept = report->median_time_to_accept_ms();
  const int64_t contact = report->median_time_to_first_contact_ms();
  if (args.GetBool("json")) {
    auto table = [](const std::map<std::string, Cells>& m) {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, c] : m) {
        absl::StrAppend(&out, first ? "" : ",", "\"", k, "\":{\"met\":", c.met(),
                        ",\"breached\":", c.breached(), ",\"open\":", c.open(), ",\"warned\":",
                        c.warned(), ",\"cancelled\":", c.cancelled(), "}");
        first = false;
      }
      return out + "}";
    };
    std::cout << "{\"by_sla\":" << table(by_sla) << ",\"by_sla_owner\":" << table(by_owner)
              << ",\"by_sla_stage\":" << table(by_stage) << ",\"median_time_to_accept_ms\":"
              << (has_accept ? absl::StrCat(accept) : "null")
              << ",\"median_time_to_first_contact_ms\":"
              << (has_contact ? absl::StrCat(contact) : "null") << "}\n";
    return 0;
  }
  if (by_sla.empty()) {
    std::cout << "no SLA clocks (no revenue rules in force, or no lead reached an SLA stage)\n";
  }
  auto print = [](const std::string& title, const std::map<std::string, Cells>& m) {
    if (m.empty()) return;
    std::cout << title << "\n";
    for (const auto& [k, c] : m) {
      std::cout << absl::StrFormat(
          "  %-40s met %6d  breached %6d  open %6d  warned %6d  cancelled %6d\n", k, c.met(),
          c.breached(), c.open(), c.warned(), c.cancelled());
    }
  };
  print("per SLA:", by_sla);
  print("per SLA and owner:", by_owner);
  print("per SLA and stage:", by_stage);
  std::cout << "median time to accept: " << (has_accept ? Duration(accept) : "-")
            << " working; median time to first contact: " << (has_contact ? Duration(contact) : "-")
            << " working\n";
  return 0;
}

int Recycle(const Args& argv) {
  const std::string verb = argv.empty() ? "" : argv[0];
  if (verb != "report") {
    std::cerr << "leadlog recycle: expected a subcommand: report (--data-dir DIR | --api URL) [--json]\n";
    return kExitUsage;
  }
  const std::string command = "recycle report";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory");
  DeclareApiFlags(args);
  args.Bool("json", "print the report as one JSON object");
  int code = 0;
  std::optional<ApiClient> api;
  if (!ParseReadCommand(args, Args(argv.begin() + 1, argv.end()), command, &code, &api)) return code;
  absl::StatusOr<v1::RecycleReport> report = ReadReport<v1::RecycleReport>(api, "/v1/reports/recycle", args, BuildRecycleReport);
  if (!report.ok()) return Fail(command, report.status());
  // Sorted for printing (protobuf maps have no order).
  using Counts = std::map<std::string, int64_t>;
  const Counts recycles(report->recycles().begin(), report->recycles().end());
  const Counts re_entries(report->re_entries().begin(), report->re_entries().end());
  const Counts disqualified(report->disqualified().begin(), report->disqualified().end());
  const Counts blocked(report->recycle_blocked().begin(), report->recycle_blocked().end());
  const int64_t limit_disqualified = report->disqualified_by_recycle_limit();
  if (args.GetBool("json")) {
    auto obj = [](const std::map<std::string, int64_t>& m) {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, v] : m) {
        absl::StrAppend(&out, first ? "" : ",", "\"", k, "\":", v);
        first = false;
      }
      return out + "}";
    };
    std::cout << "{\"recycles\":" << obj(recycles) << ",\"re_entries\":" << obj(re_entries)
              << ",\"disqualified\":" << obj(disqualified) << ",\"recycle_blocked\":"
              << obj(blocked) << ",\"disqualified_by_recycle_limit\":" << limit_disqualified
              << "}\n";
    return 0;
  }
  auto print = [](const std::string& title, const std::map<std::string, int64_t>& m) {
    std::cout << title << (m.empty() ? " none\n" : "\n");
    for (const auto& [k, v] : m) std::cout << absl::StrFormat("  %-40s %8d\n", k, v);
  };
  print("recycles by reason and stage:", recycles);
  print("re-entries by stage:", re_entries);
  print("disqualified by reason and stage:", disqualified);
  print("recycles blocked by the lifecycle model (rule):", blocked);
  std::cout << "disqualified by the recycle limit: " << limit_disqualified << "\n";
  return 0;
}

}  // namespace leadlog::cli
