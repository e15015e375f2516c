// tick_bench: the cost of one clock tick that fires many due timers, in a
// lead projection holding many leads (issue 5: 50 k due timers among 1 M
// leads, target ≤ 200 ms on 2 cores; DESIGN.md §9).
//
// Workload, on `--shards` shards (default 1, the worst case: one tick fires
// every due timer on one core):
//   - examples/business_calendar.json and examples/revenue_rules.json, a
//     scoring model (40 points per pricing page; grade from employees) and
//     the default lifecycle model;
//   - `--leads` leads identified on Monday 2026-01-05 09:00 Berlin;
//     `--due` of them view the pricing page three times and become MQLs,
//     each starting the mql_accept SLA clock (warning after 6 working hours,
//     breach after 8) and a stall timer (14 days);
//   - all of it folded by the real LeadProjection (RocksDB state, timers in
//     the due-time index, fsync off while loading).
// Measured: the clock moves to 16:00 Berlin (between every warning and every
// breach) and ONE clock tick is appended and folded: CatchUp of the shard,
// which fires the `--due` warnings in due order, updates each lead's SLA
// clock and writes one sla_warning action per lead to the outbox, committed
// in the projection's WriteBatch. The run fails unless exactly `--due`
// warnings were written. For scale: a tick with nothing due on the same
// state, and the loading rate (records/s).
//
// With `--shards N` the leads are spread over N shards by lead key (as
// `leadlog serve` spreads partitions; bench/run.sh uses 64), a tick is
// appended to every shard and the shards are caught up on `--fold-threads`
// threads (default 2), each shard on one thread, as `leadlog rebuild`
// folds shards (the runner's per-shard catch-up lock lets different shards
// fold concurrently).
//
//   tick_bench [--leads N] [--due N] [--shards N] [--fold-threads N] [--dir PATH] [--reps N]
// Prints a table and one machine-readable line:
//   tick_ms=<median> tick_cpu_ms=<median> leads=<n> due=<n> shards=<n>
//   fold_threads=<n> idle_tick_ms=<median> load_rps=<r>
// tick_cpu_ms is the process's CPU time during the tick (every thread,
// RocksDB's background threads included): on a shared machine it moves less
// than the wall time. Each repetition reloads the state (timers fire once);
// default reps 1.
//
// Profiling just the tick: with LEADLOG_PERF_CTL=FIFO the bench writes
// "enable" / "disable" to FIFO around the timed tick, for
//   mkfifo /tmp/ctl
//   LEADLOG_PERF_CTL=/tmp/ctl perf record -D -1 --control fifo:/tmp/ctl -g
//     -- build/bench/tick_bench ...
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "consumers/codec.h"
#include "consumers/ingest.h"
#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/limits.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "leadlog/v1/action.pb.h"
#include "projections/definitions/definition.h"
#include "projections/lead/lead_projection.h"

namespace leadlog {
namespace {

// Monday 2026-01-05 08:00 UTC = 09:00 Berlin, a working day.
constexpr int64_t kMondayMs = 1'767'600'000'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int kPagesPerMql = 3;
// Lines per IngestLines call: bounds the JSON text held in memory.
constexpr size_t kLinesPerChunk = 100'000;
// Most shards the bench spreads leads over (a sanity bound on the flag).
constexpr int kShardsMax = 1024;

struct Config {
  size_t leads = 1'000'000;
  size_t due = 50'000;
  int shards = 1;
  int fold_threads = 2;
  int reps = 1;
  std::string dir;
};

constexpr char kScoring[] = R"({"scoring_model": {"id": "bench", "version": 1,
  "rules": [{"id": "pricing", "call": "page", "where": [{"field": "context.page_path", "op": "equals", "value": "/pricing"}], "points": 40}],
  "grade": {"rules": [{"id": "big", "where": [{"field": "traits.employees", "op": "gte", "value": 1000}], "points": 20}],
            "bands": {"a_min_points": 20, "b_min_points": 10, "c_min_points": 5, "d_min_points": 1}}}})";

double ProcessCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::StatusOr<v1::Event> DefinitionEvent(const std::string& json) {
  absl::StatusOr<v1::Definition> d = ParseDefinition(json);
  if (!d.ok()) return d.status();
  return MakeDefinitionEvent(*d, kMondayMs);
}

// Definitions go to every shard (DESIGN.md §7: broadcast), as `leadlog
// definitions publish` appends them to a data dir: one protobuf message per
// shard through the ingest path's BatchBuilder, in one batch.
absl::Status AppendToEveryShard(const std::vector<v1::Event>& events, int shards, EventLog* log) {
  BatchBuilder builder(BatchOptions{});
  for (const v1::Event& event : events) {
    const std::string bytes = event.SerializeAsString();
    for (int shard = 0; shard < shards; ++shard) {
      builder.Add(DirectProtobufMessage("tick_bench", static_cast<uint32_t>(shard), bytes));
    }
  }
  AppendBatch batch = builder.Take();
  ASSIGN_OR_RETURN(AppendResult result, log->Append(batch));
  if (result.dead_letters != 0) return absl::InternalError("a definition was rejected");
  return absl::OkStatus();
}

std::string Identify(size_t lead) {
  // Leads that become MQLs are large companies (grade A), the rest small.
  return absl::StrCat(R"({"type":"identify","messageId":"i-)", lead, R"(","anonymousId":"a-)",
                      lead, R"(","userId":"u-)", lead, R"(","traits":{"email":"u-)", lead,
                      R"(@example.com","employees":)", lead % 20 == 0 ? 5000 : 50, "}}\n");
}

std::string Pricing(size_t lead, int n) {
  return absl::StrCat(R"({"type":"page","messageId":"p-)", lead, "-", n,
                      R"(","anonymousId":"a-)", lead, R"(","userId":"u-)", lead,
                      R"(","name":"Pricing","context":{"page":{"path":"/pricing"}}})", "\n");
}

absl::Status IngestText(const std::string& text, int shards, EventLog* log) {
  FileIngestOptions options;
  options.partitions = shards;
  options.batch.batch_events_max = 1000;
  std::istringstream in(text);
  absl::StatusOr<IngestSummary> summary = IngestLines(in, options, log);
  if (!summary.ok()) return summary.status();
  if (summary->dead_letters != 0) {
    return absl::InternalError(absl::StrCat(summary->dead_letters, " generated events rejected"));
  }
  return absl::OkStatus();
}

// Definitions (to every shard), then every lead's identify, then the
// pricing pages of the MQL leads (every 20th lead, until `due` of them), in
// chunks.
absl::Status Load(const Config& config, EventLog* log) {
  std::vector<v1::Event> definitions;
  for (const char* file : {"business_calendar.json", "revenue_rules.json"}) {
    absl::StatusOr<std::string> json = ReadFile(absl::StrCat(LEADLOG_SOURCE_DIR, "/examples/", file));
    if (!json.ok()) return json.status();
    ASSIGN_OR_RETURN(v1::Event event, DefinitionEvent(*json));
    definitions.push_back(std::move(event));
  }
  ASSIGN_OR_RETURN(v1::Event scoring, DefinitionEvent(kScoring));
  definitions.push_back(std::move(scoring));
  RETURN_IF_ERROR(AppendToEveryShard(definitions, config.shards, log));
  std::string text;
  size_t lines = 0;
  auto flush = [&]() -> absl::Status {
    absl::Status status = IngestText(text, config.shards, log);
    text.clear();
    lines = 0;
    return status;
  };
  for (size_t lead = 0; lead < config.leads; ++lead) {
    text += Identify(lead);
    if (++lines == kLinesPerChunk) RETURN_IF_ERROR(flush());
  }
  for (size_t i = 0; i < config.due; ++i) {
    for (int n = 0; n < kPagesPerMql; ++n) {
      text += Pricing(i * 20, n);
      if (++lines == kLinesPerChunk) RETURN_IF_ERROR(flush());
    }
  }
  return flush();
}

struct Run {
  double load_ms = 0;
  size_t records = 0;
  double idle_tick_ms = 0;
  double tick_ms = 0;
  double tick_cpu_ms = 0;
  size_t warnings = 0;
};

absl::StatusOr<size_t> CountWarnings(const ProjectionRunner& runner, int shards) {
  size_t warnings = 0;
  for (int shard = 0; shard < shards; ++shard) {
    std::string after;
    while (true) {
      ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page,
                       runner.Scan(ShardId(shard), kOutboxPrefix, after, 10'000));
      if (page.empty()) break;
      for (const ProjectionEntry& e : page) {
        v1::Action action;
        if (!action.ParseFromString(e.value)) return absl::DataLossError("unreadable outbox entry");
        if (action.type() == "sla_warning") ++warnings;
      }
      after = page.back().key;
    }
  }
  return warnings;
}

// Appends a clock tick to every shard and catches the shards up on
// `threads` threads (LeadProjection::CatchUp folds different shards
// concurrently, as `leadlog rebuild --fold-threads` does).
absl::Status TickAllShards(EventLog& log, LeadProjection& projection, int shards, int threads) {
  std::vector<ShardId> ids;
  for (int shard = 0; shard < shards; ++shard) {
    ids.push_back(ShardId(shard));
    RETURN_IF_ERROR(log.AppendClockTick(ShardId(shard)).status());
  }
  return projection.CatchUp(ids, static_cast<uint32_t>(std::min(threads, shards)));
}

// perf's control FIFO (LEADLOG_PERF_CTL), if set: "enable" / "disable".
void PerfControl(const char* command) {
  const char* fifo = std::getenv("LEADLOG_PERF_CTL");
  if (fifo == nullptr) return;
  std::ofstream out(fifo);
  out << command << "\n" << std::flush;
}

absl::StatusOr<Run> RunOnce(const Config& config, const std::string& dir) {
  std::filesystem::remove_all(dir);
  ManualClock clock(kMondayMs);
  EventLogOptions options;
  options.data_dir = dir;
  options.sync_per_batch = false;  // loading; the tick below is one batch either way
  options.clock = &clock;
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, EventLog::Open(options));
  ASSIGN_OR_RETURN(std::unique_ptr<LeadProjection> projection,
                   LeadProjection::Open(log.get(), LeadProjectionOptions{}));
  Run run;
  auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(Load(config, log.get()));
  RETURN_IF_ERROR(projection->CatchUpAll());
  run.load_ms = MsSince(start);
  run.records = config.leads + config.due * kPagesPerMql + 3 * config.shards;

  // Idle: one tick, nothing due (an hour later: 10:00 Berlin).
  clock.SetMs(kMondayMs + kHourMs);
  start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(TickAllShards(*log, *projection, config.shards, config.fold_threads));
  run.idle_tick_ms = MsSince(start);

  // 16:00 Berlin: every warning (15:00) is due, no breach (17:00) yet.
  clock.SetMs(kMondayMs + 7 * kHourMs);
  PerfControl("enable");
  start = std::chrono::steady_clock::now();
  const double cpu_start_ms = ProcessCpuMs();
  RETURN_IF_ERROR(TickAllShards(*log, *projection, config.shards, config.fold_threads));
  run.tick_ms = MsSince(start);
  run.tick_cpu_ms = ProcessCpuMs() - cpu_start_ms;
  PerfControl("disable");

  ASSIGN_OR_RETURN(run.warnings, CountWarnings(*projection->runner(), config.shards));
  if (run.warnings != config.due) {
    return absl::InternalError(
        absl::StrCat("the tick wrote ", run.warnings, " sla_warning actions, expected ", config.due));
  }
  return run;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

bool ParseArgs(int argc, char** argv, Config* config) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (value == nullptr) {
      std::fprintf(stderr, "tick_bench: %s needs a value\n", flag.c_str());
      return false;
    }
    ++i;
    bool ok = true;
    if (flag == "--leads") {
      ok = absl::SimpleAtoi(value, &config->leads) && config->leads > 0;
    } else if (flag == "--due") {
      ok = absl::SimpleAtoi(value, &config->due);
    } else if (flag == "--shards") {
      ok = absl::SimpleAtoi(value, &config->shards) && config->shards >= 1 &&
           config->shards <= kShardsMax;
    } else if (flag == "--fold-threads") {
      ok = absl::SimpleAtoi(value, &config->fold_threads) && config->fold_threads >= 1 &&
           config->fold_threads <= static_cast<int>(kRebuildFoldThreadsMax);
    } else if (flag == "--reps") {
      ok = absl::SimpleAtoi(value, &config->reps) && config->reps > 0;
    } else if (flag == "--dir") {
      config->dir = value;
    } else {
      std::fprintf(stderr, "tick_bench: unknown flag %s\n", flag.c_str());
      return false;
    }
    if (!ok) {
      std::fprintf(stderr, "tick_bench: %s: bad value %s\n", flag.c_str(), value);
      return false;
    }
  }
  if (config->due * 20 > config->leads) {
    std::fprintf(stderr, "tick_bench: --due must be at most --leads / 20 (every 20th lead)\n");
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  Config config;
  if (!ParseArgs(argc, argv, &config)) return 2;
  const std::string dir =
      config.dir.empty() ? absl::StrCat("/tmp/leadlog-tick-bench-", getpid()) : config.dir;
  std::vector<double> ticks, tick_cpu, idle, load_rps;
  for (int rep = 0; rep < config.reps; ++rep) {
    absl::StatusOr<Run> run = RunOnce(config, dir);
    if (!run.ok()) {
      std::fprintf(stderr, "tick_bench: %s\n", run.status().ToString().c_str());
      return 1;
    }
    ticks.push_back(run->tick_ms);
    tick_cpu.push_back(run->tick_cpu_ms);
    idle.push_back(run->idle_tick_ms);
    load_rps.push_back(run->records / (run->load_ms / 1000));
    std::printf("rep %d: loaded %zu records in %.1f s; idle tick %.2f ms; tick firing %zu timers "
                "%.1f ms (%.1f ms CPU)\n",
                rep + 1, run->records, run->load_ms / 1000, run->idle_tick_ms, run->warnings,
                run->tick_ms, run->tick_cpu_ms);
  }
  std::filesystem::remove_all(dir);
  const double tick = Median(ticks);
  std::printf("one tick, %zu due timers among %zu leads: %.1f ms (%.2f us per timer); idle tick %.2f ms\n",
              config.due, config.leads, tick, config.due ? tick * 1000 / config.due : 0.0,
              Median(idle));
  std::printf("tick_ms=%.1f tick_cpu_ms=%.1f leads=%zu due=%zu shards=%d fold_threads=%d "
              "idle_tick_ms=%.2f load_rps=%.0f\n",
              tick, Median(tick_cpu), config.leads, config.due, config.shards,
              config.shards == 1 ? 1 : config.fold_threads, Median(idle), Median(load_rps));
  return 0;
}

}  // namespace
}  // namespace leadlog

int main(int argc, char** argv) { return leadlog::Main(argc, argv); }
