// `leadlog leads erase ID --reason R [--request-id X] --data-dir DIR
// [--brokers LIST]`: erase one lead's personal data (README "Erasure").
// Resolves the lead in DIR to all its lead keys, then publishes the erasure
// event like `definitions publish`: to every partition with --brokers (a
// running serve applies it), else appended into DIR (no serve running).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "consumers/kafka_util.h"
#include "deploy/leadlog/commands.h"
#include "engine/clock.h"
#include "engine/status_macros.h"
#include "projections/api/read_model.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {
namespace {

// The erasure event, resolved against DIR opened read-only (a running serve
// may hold the lock).
absl::StatusOr<v1::Event> ResolveErasure(const std::string& data_dir,
                                         const ErasureRequest& request, int64_t now_ms) {
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(data_dir, true, false));
  LeadProjectionOptions options;
  options.read_only = true;
  ASSIGN_OR_RETURN(std::unique_ptr<LeadProjection> projection,
                   LeadProjection::Open(log.get(), options));
  return MakeErasureEvent(*projection->runner(), log->Shards(), request, now_ms);
}

}  // namespace

int LeadsErase(const Args& argv) {
  const std::string command = "leads erase";
  CliArgs args(command);
  args.String("data-dir", "DIR", "the log's directory (resolves the lead; without --brokers the "
                                 "erasure is appended here)").Required();
  args.String("reason", "TEXT", "why (kept in the audit record)").Required();
  args.String("request-id", "X", "the request's id; a repeat is a no-op (default cli-<unix ms>)");
  args.String("brokers", "LIST", "publish to every partition of the events topic on these brokers");
  args.String("topic", "T", "the events topic (with --brokers)", kEventsTopic);
  args.Repeated("X", "KEY=VALUE", "librdkafka property for the producer (with --brokers)");
  args.Positional("ID", 1, 1);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  for (const char* kafka_only : {"topic", "X"}) {
    if (!args.Has("brokers") && args.Has(kafka_only)) {
      return Fail(command,
                  absl::InvalidArgumentError(absl::StrCat("--", kafka_only, " needs --brokers")));
    }
  }
  const int64_t now_ms = SystemClock::Get()->NowMs();
  ErasureRequest request{args.positional()[0], args.Get("reason"),
                         args.Has("request-id") ? args.Get("request-id")
                                                : absl::StrCat("cli-", now_ms)};
  absl::StatusOr<v1::Event> event = ResolveErasure(args.Get("data-dir"), request, now_ms);
  if (!event.ok()) return Fail(command, event.status());
  std::cout << "erasing " << event->erasure().lead_keys_size() << " lead keys of \""
            << request.id << "\" as " << event->event_id() << "\n";
  const absl::Status status =
      args.Has("brokers")
          ? PublishToKafka(*event, args.Get("brokers"), args.Get("topic"), args.GetAll("X"))
          : PublishToLog(*event, "erasure:cli", args.Get("data-dir"), 0);
  if (!status.ok()) return Fail(command, status);
  return 0;
}

}  // namespace leadlog::cli
