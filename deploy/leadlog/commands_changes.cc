// `leadlog changes`: the change stream's backlog (README "Change stream").
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "deploy/leadlog/commands.h"
#include "deploy/leadlog/lead_changes.h"
#include "engine/changes.h"

namespace leadlog::cli {
namespace {

// Every stored change entry of every shard, "<shard> <sequence> <lead key>"
// per line: those pending and those delivered but not yet pruned (after a
// rebuild: every change since sequence 0).
absl::Status ListEntries(const EventLog& log, const ProjectionRunner& runner) {
  for (ShardId shard : log.Shards()) {
    std::string after;
    while (true) {
      absl::StatusOr<std::vector<ProjectionEntry>> page = runner.Scan(shard, kChangePrefix, after, 1024);
      if (!page.ok()) return page.status();
      for (const ProjectionEntry& e : *page) {
        Sequence sequence;
        std::string lead;
        if (!ParseChangeKey(e.key, &sequence, &lead)) {
          return absl::DataLossError(absl::StrCat("shard ", shard.value(), ": malformed change key ",
                                                  absl::BytesToHexString(e.key)));
        }
        std::cout << shard.value() << " " << sequence.value() << " " << lead << "\n";
      }
      if (page->size() < 1024) break;
      after = page->back().key;
    }
  }
  return absl::OkStatus();
}

}  // namespace

int Changes(const Args& argv) {
  CliArgs args("changes");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.Bool("list", "print every stored change entry: shard, sequence, lead key");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto log = OpenLog(args.Get("data-dir"), true, false);
  if (!log.ok()) return Fail("changes", log.status());
  auto projection = LeadProjection::Open(log->get(), LeadProjectionOptions{.read_only = true});
  if (!projection.ok()) return Fail("changes", projection.status());
  if (args.GetBool("list")) {
    absl::Status listed = ListEntries(**log, *(*projection)->runner());
    return listed.ok() ? 0 : Fail("changes", listed);
  }
  constexpr size_t kCountMax = 100'000'000;
  auto backlogs = ChangeBacklogs(log->get(), **projection, kCountMax);
  if (!backlogs.ok()) return Fail("changes", backlogs.status());
  uint64_t pending = 0;
  for (const ChangeBacklog& b : *backlogs) {
    pending += b.pending;
    std::cout << "shard " << b.shard.value() << "  delivered through sequence "
              << (b.has_cursor ? absl::StrCat(b.delivered_through.value()) : std::string("-"))
              << "  pending " << b.pending << "  projection at " << b.checkpoint.value() << "\n";
  }
  std::cout << "pending: " << pending << "\n";
  return 0;
}

}  // namespace leadlog::cli
