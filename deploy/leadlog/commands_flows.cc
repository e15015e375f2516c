// `leadlog flows validate|list|stats` (list and stats: FlowsList and
// FlowsStats, in commands_leads.cc): `validate` checks a nurture flow or
// nurture governance file exactly as `definitions validate|publish` would
// (ParseDefinition), and refuses the other definition kinds, so a flow file
// can be checked without a data dir or brokers before it is published with
// `leadlog definitions publish`.
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "deploy/leadlog/commands.h"
#include "engine/limits.h"
#include "engine/status_macros.h"
#include "projections/definitions/definition.h"

namespace leadlog::cli {
namespace {

// The file's text ("-" = stdin), at most kDefinitionBytesMax + 1 bytes so
// that ParseDefinition reports an oversized file by its size.
absl::StatusOr<std::string> ReadFlowFile(const std::string& path) {
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

// A parsed and validated flow or governance; errors start with the file
// name ("stdin" for "-").
absl::StatusOr<v1::Definition> LoadFlow(const std::string& path) {
  const std::string name = path == "-" ? "stdin" : path;
  ASSIGN_OR_RETURN(std::string text, ReadFlowFile(path));
  absl::StatusOr<v1::Definition> d = ParseDefinition(text);
  if (!d.ok()) {
    return absl::Status(d.status().code(), absl::StrCat(name, ": ", d.status().message()));
  }
  if (d->kind_case() != v1::Definition::kNurtureFlow &&
      d->kind_case() != v1::Definition::kNurtureGovernance) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": ", DefinitionKind(*d), " ", DefinitionId(*d),
        " is not a nurture flow or governance; check it with `leadlog definitions validate`"));
  }
  return d;
}

// "nurture_flow welcome_series v1 (9 steps, 2 triggers)",
// "nurture_governance default_governance v1 (3 caps, quiet hours 20:00-08:00
// Europe/Berlin)".
std::string Describe(const v1::Definition& d) {
  std::string what =
      absl::StrCat(DefinitionKind(d), " ", DefinitionId(d), " v", DefinitionVersion(d), " (");
  if (d.has_nurture_flow()) {
    const v1::NurtureFlow& flow = d.nurture_flow();
    absl::StrAppend(&what, flow.steps_size(), " steps, ", flow.triggers_size(), " triggers");
    if (flow.streams_size() > 0) absl::StrAppend(&what, ", ", flow.streams_size(), " streams");
  } else {
    const v1::NurtureGovernance& governance = d.nurture_governance();
    absl::StrAppend(&what, governance.caps_size(), " caps");
    if (governance.has_quiet_hours()) {
      const v1::QuietHours& quiet = governance.quiet_hours();
      absl::StrAppend(&what, ", quiet hours ", quiet.start(), "-", quiet.end());
      if (!quiet.default_time_zone().empty()) {
        absl::StrAppend(&what, " ", quiet.default_time_zone());
      }
    }
  }
  return absl::StrCat(what, ")");
}

struct Subcommand {
  const char* name;
  int (*run)(const Args&);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
    {"validate", FlowsValidate,
     "check a nurture flow or governance file; prints ok: <kind> <id> v<version> (...)"},
    {"list", FlowsList, "nurture flows in the log (see flows list --help)"},
    {"stats", FlowsStats, "per-flow counts (see flows stats --help)"},
};

void PrintFlowsUsage(std::ostream& out) {
  out << "usage: leadlog flows <subcommand> [flags]   (FILE: JSON or protobuf text format; - = "
         "stdin)\n";
  for (const Subcommand& s : kSubcommands) out << "  " << s.name << "  " << s.summary << "\n";
}

}  // namespace

int FlowsValidate(const Args& argv) {
  CliArgs args("flows validate");
  args.Positional("FILE|-", 1, 1);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  absl::StatusOr<v1::Definition> d = LoadFlow(args.positional()[0]);
  if (!d.ok()) return Fail("flows validate", d.status());
  std::cout << "ok: " << Describe(*d) << "\n";
  return 0;
}

int Flows(const Args& args) {
  if (args.empty()) {
    PrintFlowsUsage(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintFlowsUsage(std::cout);
    return 0;
  }
  for (const Subcommand& s : kSubcommands) {
    if (args[0] == s.name) return s.run(Args(args.begin() + 1, args.end()));
  }
  std::cerr << "leadlog flows: unknown subcommand \"" << args[0] << "\"\n";
  PrintFlowsUsage(std::cerr);
  return kExitUsage;
}

}  // namespace leadlog::cli
