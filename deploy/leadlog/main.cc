// leadlog: one binary, many commands. See README.md "Commands".
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "deploy/leadlog/commands.h"

// jemalloc's settings when the binary is linked with it (CMakeLists.txt,
// LEADLOG_JEMALLOC); glibc's malloc never reads this symbol. A background
// thread returns freed pages after 1 s instead of jemalloc's 10 s, so the
// many short-lived allocations of a fold or an HTTP burst do not hold RSS;
// two arenas (the default is 4 per core) kept serve's peak RSS in
// bench/run.sh at 354–360 MiB instead of 428–461 MiB (glibc: 310–339) at
// the same rates; each thread's cache still keeps threads off the arena
// locks. MALLOC_CONF in the environment overrides any of it.
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:2";
}

namespace {

struct Command {
  int (*run)(const leadlog::cli::Args&);
  const char* summary;
};

const std::map<std::string, Command>& Commands() {
  using namespace leadlog::cli;
  static const std::map<std::string, Command> commands = {
      {"broker", {Broker, "run a standalone in-memory Kafka-protocol broker"}},
      {"serve", {Serve, "ingest leadlog.events into the log (embedded broker without --brokers)"}},
      {"demo", {Demo, "generate a realistic B2B workload to a broker or as JSON lines"}},
      {"ingest", {Ingest, "ingest JSON lines from a file or stdin, without Kafka"}},
      {"stats", {Stats, "events appended, duplicates, dead letters, positions, offsets"}},
      {"verify", {Verify, "check the log's consistency; non-zero exit naming what is wrong"}},
      {"dead-letters", {DeadLetters, "list stored dead letters"}},
      {"log", {Log, "print log records (all, one shard, or one lead) as JSON lines"}},
      {"definitions", {Definitions, "validate or publish a definition (scoring, lifecycle, owner routing)"}},
      {"leads", {Leads, "leads get|why|journey ID, leads list|stages|stalled: leads, why, their flows"}},
      {"actions", {Actions, "the outbox: actions the projections asked for (hand-offs, sends, ...)"}},
      {"changes", {Changes, "the change stream (leadlog.leads): delivered and pending changes per shard"}},
      {"sla", {Sla, "sla report: SLA clocks met, breached, open; median time to accept and to first contact"}},
      {"recycle", {Recycle, "recycle report: recycles by reason and stage, re-entries, recycle-limit disqualifications"}},
      {"flows", {Flows, "flows validate FILE | list | stats ID: nurture flows"}},
      {"rebuild", {Rebuild, "rebuild a projection from sequence 0 (blue/green) and compare"}},
  };
  return commands;
}

void PrintHelp(std::ostream& out) {
  out << "usage: leadlog <command> [flags]   (leadlog <command> --help for its flags)\n\ncommands:\n";
  for (const auto& [name, command] : Commands()) out << "  " << name << "  " << command.summary << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every Mutex::Lock also records
  // the lock in a global graph to detect lock-order cycles: ≈ 1 % of a
  // rebuild's CPU (perf, docs/BENCHMARKS.md "Fold locks and projection family options"). The in-process
  // tests keep the detection on; the binary runs what they tested.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    PrintHelp(std::cerr);
    return leadlog::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "help" || name == "--help" || name == "-h") {
    PrintHelp(std::cout);
    return 0;
  }
  auto it = Commands().find(name);
  if (it == Commands().end()) {
    std::cerr << "leadlog: unknown command \"" << name << "\" (try leadlog help)\n";
    return leadlog::cli::kExitUsage;
  }
  return it->second.run(leadlog::cli::Args(argv + 2, argv + argc));
}
