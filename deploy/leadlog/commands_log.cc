// Commands that work on a data dir: ingest, stats, verify, dead-letters, log.
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "consumers/ingest.h"
#include "deploy/leadlog/commands.h"
#include "engine/status_macros.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {
namespace {

// Topic names are [a-zA-Z0-9._-] in Kafka; escape anyway for file sources.
std::string JsonQuote(const std::string& s) {
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

std::string ShardStatsJson(const ShardStats& s) {
  std::string offsets;
  for (const auto& [topic, offset] : s.offsets) {
    absl::StrAppend(&offsets, offsets.empty() ? "" : ",", JsonQuote(topic), ":", offset.value());
  }
  return absl::StrCat("{\"shard\":", s.shard.value(), ",\"position\":", s.position.value(),
                      ",\"events_appended\":", s.events_appended,
                      ",\"duplicates_skipped\":", s.duplicates_skipped,
                      ",\"dead_letters\":", s.dead_letters,
                      ",\"last_log_time_ms\":", s.last_log_time_ms, ",\"offsets\":{", offsets, "}}");
}

}  // namespace

int Ingest(const Args& argv) {
  CliArgs args("ingest");
  args.String("data-dir", "DIR", "the log's directory (created if missing)").Required();
  args.String("partitions", "N", "partition count used to pick each event's shard", "8");
  args.String("batch-events", "N", "events per appended batch", "1000");
  args.Bool("no-fsync", "do not fsync each batch (a machine crash may lose the last batches)");
  args.Positional("FILE|-", 1, 1);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  FileIngestOptions options;
  auto partitions = args.GetInt("partitions", 1, 4096);
  auto batch_events = args.GetInt("batch-events", 1, kBatchEventsMax);
  if (!partitions.ok()) return Fail("ingest", partitions.status());
  if (!batch_events.ok()) return Fail("ingest", batch_events.status());
  options.partitions = static_cast<int>(*partitions);
  options.batch.batch_events_max = static_cast<int>(*batch_events);
  const std::string path = args.positional()[0];
  options.source_name = path == "-" ? "stdin" : absl::StrCat("file:", path);
  std::ifstream file;
  if (path != "-") {
    file.open(path);
    if (!file) return Fail("ingest", absl::NotFoundError(absl::StrCat("cannot open ", path)));
  }
  auto log = OpenLog(args.Get("data-dir"), false, !args.GetBool("no-fsync"));
  if (!log.ok()) return Fail("ingest", log.status());
  auto summary = IngestLines(path == "-" ? std::cin : file, options, log->get());
  if (!summary.ok()) return Fail("ingest", summary.status());
  // The projections fold what was just appended (and anything left behind).
  auto projection = LeadProjection::Open(log->get(), LeadProjectionOptions{});
  if (!projection.ok()) return Fail("ingest", projection.status());
  if (auto s = (*projection)->CatchUpAll(); !s.ok()) return Fail("ingest", s);
  std::cout << "ingested " << summary->lines << " lines: " << summary->appended << " appended, "
            << summary->duplicates << " duplicates skipped, " << summary->dead_letters
            << " dead letters\n";
  return 0;
}

int Stats(const Args& argv) {
  CliArgs args("stats");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.Bool("json", "print one JSON object");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto log = OpenLog(args.Get("data-dir"), /*read_only=*/true, false);
  if (!log.ok()) return Fail("stats", log.status());
  ShardStats total;
  std::vector<ShardStats> shards;
  for (ShardId shard : (*log)->Shards()) {
    shards.push_back((*log)->Stats(shard));
    total.events_appended += shards.back().events_appended;
    total.duplicates_skipped += shards.back().duplicates_skipped;
    total.dead_letters += shards.back().dead_letters;
  }
  if (args.GetBool("json")) {
    std::string list;
    for (const ShardStats& s : shards) absl::StrAppend(&list, list.empty() ? "" : ",", ShardStatsJson(s));
    std::cout << "{\"events_appended\":" << total.events_appended
              << ",\"duplicates_skipped\":" << total.duplicates_skipped
              << ",\"dead_letters\":" << total.dead_letters << ",\"shards\":[" << list << "]}\n";
    return 0;
  }
  std::cout << "events appended " << total.events_appended << ", duplicates skipped "
            << total.duplicates_skipped << ", dead letters " << total.dead_letters << ", shards "
            << shards.size() << "\n";
  for (const ShardStats& s : shards) {
    std::cout << "  shard " << s.shard << ": position " << s.position << ", appended "
              << s.events_appended << ", duplicates " << s.duplicates_skipped << ", dead letters "
              << s.dead_letters;
    for (const auto& [topic, offset] : s.offsets) std::cout << ", offset " << topic << "=" << offset;
    std::cout << "\n";
  }
  return 0;
}

int Verify(const Args& argv) {
  CliArgs args("verify");
  args.String("data-dir", "DIR", "the log's directory").Required();
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto log = OpenLog(args.Get("data-dir"), /*read_only=*/true, false);
  if (!log.ok()) return Fail("verify", log.status());
  absl::Status status = (*log)->Verify();
  if (!status.ok()) return Fail("verify", status);
  uint64_t records = 0;
  std::vector<ShardId> shards = (*log)->Shards();
  for (ShardId shard : shards) records += (*log)->Position(shard).value();
  std::cout << "ok: " << records << " records in " << shards.size() << " shards verified\n";
  return 0;
}

int DeadLetters(const Args& argv) {
  CliArgs args("dead-letters");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.Bool("json", "one JSON object per dead letter (raw bytes base64)");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto log = OpenLog(args.Get("data-dir"), /*read_only=*/true, false);
  if (!log.ok()) return Fail("dead-letters", log.status());
  const bool json = args.GetBool("json");
  for (ShardId shard : (*log)->Shards()) {
    absl::Status status = (*log)->ReadDeadLetters(shard, [&](const v1::DeadLetter& d) {
      if (json) {
        std::cout << Json(d) << "\n";
        return absl::OkStatus();
      }
      std::string preview = d.raw().substr(0, 120);
      std::cout << "shard " << shard << " #" << d.id() << " " << d.source().topic() << "["
                << d.source().partition() << "]@" << d.source().offset() << " field="
                << (d.field().empty() ? "-" : d.field()) << " reason=\"" << d.reason() << "\" raw("
                << d.raw_size() << " bytes)=\"" << absl::CHexEscape(preview)
                << (d.raw().size() > preview.size() ? "..." : "") << "\"\n";
      return absl::OkStatus();
    });
    if (!status.ok()) return Fail("dead-letters", status);
  }
  return 0;
}

int Log(const Args& argv) {
  CliArgs args("log");
  args.String("data-dir", "DIR", "the log's directory").Required();
  args.String("shard", "N", "only this shard");
  args.String("lead", "ID", "only this lead: a userId or anonymousId");
  args.String("from", "SEQ", "first sequence", "0");
  args.String("limit", "N", "records at most", "100");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto from = args.GetInt("from", 0, INT64_MAX);
  auto limit = args.GetInt("limit", 1, static_cast<int64_t>(kReadRangeRecordsMax));
  if (!from.ok()) return Fail("log", from.status());
  if (!limit.ok()) return Fail("log", limit.status());
  auto log = OpenLog(args.Get("data-dir"), /*read_only=*/true, false);
  if (!log.ok()) return Fail("log", log.status());
  std::vector<ShardId> shards = (*log)->Shards();
  if (args.Has("shard")) {
    auto shard = args.GetInt("shard", 0, UINT32_MAX);
    if (!shard.ok()) return Fail("log", shard.status());
    shards = {ShardId(static_cast<uint32_t>(*shard))};
  }
  int64_t left = *limit;
  auto print = [&](const v1::LogRecord& record) {
    if (left-- <= 0) return absl::CancelledError("limit");
    std::cout << Json(record) << "\n";
    return absl::OkStatus();
  };
  for (ShardId shard : shards) {
    absl::Status status;
    if (args.Has("lead")) {
      // A lead's records are indexed under its user id and its anonymous id;
      // an identified event carries both, so merge by sequence.
      std::map<uint64_t, v1::LogRecord> records;
      auto collect = [&](const v1::LogRecord& r) {
        records.emplace(r.sequence(), r);
        return absl::OkStatus();
      };
      status = (*log)->ReadLead(shard, LeadKey::ForUser(args.Get("lead")), collect);
      if (status.ok()) status = (*log)->ReadLead(shard, LeadKey::ForAnonymous(args.Get("lead")), collect);
      for (auto& entry : records) {
        if (!status.ok()) break;
        status = print(entry.second);
      }
    } else {
      status = (*log)->ReadRange(shard, Sequence(static_cast<uint64_t>(*from)),
                                 (*log)->Position(shard), print);
    }
    if (absl::IsCancelled(status)) break;
    if (!status.ok()) return Fail("log", status);
  }
  return 0;
}

}  // namespace leadlog::cli
