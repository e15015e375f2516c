// Test-only: folds the log in --data-dir with the test ActionFold and emits
// its outbox to --brokers until nothing is pending, printing one line per
// event so that outbox_crash_test can SIGKILL it at chosen points:
//   "DELIVERED <n>"  a round's messages are acknowledged, cursors not stored
//   "ROUND <n>"      a round completed (cursors stored)
//   "DONE"           nothing left
// With --pause-after-delivery K it stops (pause()) right after the K-th
// "DELIVERED" line, before storing cursors, and waits to be killed.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/outbox_test_support.h"

namespace leadlog {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "outbox_emit_tool: %s\n", status.ToString().c_str());
  return 1;
}

int Main(int argc, char** argv) {
  std::string data_dir, brokers;
  int batch = 50, pause_after = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data-dir") data_dir = argv[i + 1];
    else if (flag == "--brokers") brokers = argv[i + 1];
    else if (flag == "--batch") batch = std::atoi(argv[i + 1]);
    else if (flag == "--pause-after-delivery") pause_after = std::atoi(argv[i + 1]);
  }
  EventLogOptions log_options;
  log_options.data_dir = data_dir;
  auto log = EventLog::Open(log_options);
  if (!log.ok()) return Fail(log.status());
  testing::ActionFold fold;
  auto runner = ProjectionRunner::Create(log->get(), &fold, ProjectionRunnerOptions{});
  if (!runner.ok()) return Fail(runner.status());
  for (ShardId shard : (*log)->Shards()) {
    if (auto s = (*runner)->CatchUp(shard); !s.ok()) return Fail(s.status());
  }
  testing::RunnerSource source(runner->get(), log->get());
  OutboxEmitterOptions options;
  options.brokers = brokers;
  options.batch = batch;
  options.delivery_timeout_ms = 20000;
  int delivered_rounds = 0;
  options.round_delivered_hook = [&](size_t n) {
    std::printf("DELIVERED %zu\n", n);
    std::fflush(stdout);
    if (++delivered_rounds == pause_after) pause();
  };
  auto emitter = OutboxEmitter::Create(log->get(), &source, options);
  if (!emitter.ok()) return Fail(emitter.status());
  while (true) {
    absl::StatusOr<size_t> n = (*emitter)->EmitOnce();
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) break;
    std::printf("ROUND %zu\n", *n);
    std::fflush(stdout);
  }
  std::printf("DONE recovered_skipped=%llu\n",
              static_cast<unsigned long long>((*emitter)->counters().recovered_skipped));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace leadlog

int main(int argc, char** argv) { return leadlog::Main(argc, argv); }
