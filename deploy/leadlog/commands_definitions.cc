// `leadlog definitions validate|publish|list` (list: DefinitionsList, in its
// own file): check a definition file, and
// publish it as a definition event to every shard (DESIGN.md §7: definitions
// are broadcast), through Kafka (one message per partition of the events
// topic) or straight into a data dir through the ingest path.
//
// Publishing is idempotent: the event id is DefinitionEventId (kind, id,
// version), so a second publish of the same version is a duplicate in every
// shard's dedup, whichever way it arrives.
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "consumers/definition_publisher.h"
#include "consumers/ingest.h"
#include "consumers/kafka_util.h"
#include "deploy/leadlog/commands.h"
#include "projections/lead/lead_projection.h"
#include "engine/clock.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/definitions/definition.h"

namespace leadlog::cli {
namespace {

// The file's text ("-" = stdin), refusing more than kDefinitionBytesMax + 1
// bytes so ParseDefinition reports the size.
absl::StatusOr<std::string> ReadDefinitionFile(const std::string& path) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    in = &file;
  }
  std::string text(kDefinitionBytesMax + 1, '\0');
  in->read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in->bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  text.resize(static_cast<size_t>(in->gcount()));
  return text;
}

absl::StatusOr<v1::Definition> LoadDefinition(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadDefinitionFile(path));
  absl::StatusOr<v1::Definition> d = ParseDefinition(text);
  if (!d.ok()) {
    return absl::Status(d.status().code(),
                        absl::StrCat(path == "-" ? "stdin" : path, ": ", d.status().message()));
  }
  return d;
}

std::string Describe(const v1::Definition& d) {
  return absl::StrCat(DefinitionKind(d), " ", DefinitionId(d), " v", DefinitionVersion(d));
}

int Validate(const Args& argv) {
  CliArgs args("definitions validate");
  args.Positional("FILE|-", 1, 1);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  absl::StatusOr<v1::Definition> d = LoadDefinition(args.positional()[0]);
  if (!d.ok()) return Fail("definitions validate", d.status());
  std::cout << "ok: " << Describe(*d) << "\n";
  return 0;
}

int Publish(const Args& argv) {
  CliArgs args("definitions publish");
  args.String("brokers", "LIST", "publish to every partition of the events topic on these brokers");
  args.String("topic", "T", "the events topic (with --brokers)", kEventsTopic);
  args.Repeated("X", "KEY=VALUE", "librdkafka property for the producer (with --brokers)");
  args.String("data-dir", "DIR", "append to every shard of this log instead (created if missing)");
  args.String("shards", "N",
              "with --data-dir: also shards 0..N-1 (default: the log's shards, or 1)");
  args.Positional("FILE|-", 1, 1);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  if (args.Has("brokers") == args.Has("data-dir")) {
    return Fail("definitions publish",
                absl::InvalidArgumentError("give exactly one of --brokers or --data-dir"));
  }
  for (const char* kafka_only : {"topic", "X"}) {
    if (args.Has("data-dir") && args.Has(kafka_only)) {
      return Fail("definitions publish",
                  absl::InvalidArgumentError(absl::StrCat("--", kafka_only, " needs --brokers")));
    }
  }
  if (args.Has("brokers") && args.Has("shards")) {
    return Fail("definitions publish", absl::InvalidArgumentError("--shards needs --data-dir"));
  }
  const std::string path = args.positional()[0];
  absl::StatusOr<v1::Definition> d = LoadDefinition(path);
  if (!d.ok()) return Fail("definitions publish", d.status());
  const v1::Event event = MakeDefinitionEvent(*d, SystemClock::Get()->NowMs());
  absl::Status status;
  if (args.Has("brokers")) {
    status = PublishToKafka(event, args.Get("brokers"), args.Get("topic"), args.GetAll("X"));
  } else {
    int64_t shards = 0;
    if (args.Has("shards")) {
      absl::StatusOr<int64_t> n = args.GetInt("shards", 1, 4096);
      if (!n.ok()) return Fail("definitions publish", n.status());
      shards = *n;
    }
    status = PublishToLog(
        event, path == "-" ? "definitions:stdin" : absl::StrCat("definitions:", path),
        args.Get("data-dir"), shards);
  }
  if (!status.ok()) return Fail("definitions publish", status);
  return 0;
}

struct Subcommand {
  const char* name;
  int (*run)(const Args&);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"validate", Validate, "check a definition file; prints ok: <kind> <id> v<version>"},
    {"publish", Publish, "validate, then publish a definition event to every shard"},
    {"list", DefinitionsList, "definitions in the log, per shard"},
};

void PrintDefinitionsUsage(std::ostream& out) {
  out << "usage: leadlog definitions <subcommand> [flags]   (FILE: JSON or protobuf text format; - "
         "= stdin)\n";
  for (const Subcommand& s : kSubcommands) out << "  " << s.name << "  " << s.summary << "\n";
}

}  // namespace

int Definitions(const Args& args) {
  if (args.empty()) {
    PrintDefinitionsUsage(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintDefinitionsUsage(std::cout);
    return 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (args[0] == s.name) return s.run(Args(args.begin() + 1, args.end()));
  }
  std::cerr << "leadlog definitions: unknown subcommand \"" << args[0] << "\"\n";
  PrintDefinitionsUsage(std::cerr);
  return kExitUsage;
}

}  // namespace leadlog::cli
