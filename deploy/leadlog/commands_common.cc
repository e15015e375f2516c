#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "deploy/leadlog/commands.h"
#include "engine/proto_json.h"
#include "projections/api/limits.h"

namespace leadlog::cli {

std::string Json(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = ProtoJson(message);
  return json.ok() ? *std::move(json) : "{}";
}

int Fail(const std::string& command, const absl::Status& status) {
  std::cerr << "leadlog " << command << ": " << status.message() << "\n";
  return kExitFailure;
}

bool ParseOrUsage(CliArgs& args, const Args& argv, int* exit_code) {
  for (const std::string& a : argv) {
    if (a == "--help" || a == "-h") {
      std::cout << args.Usage();
      *exit_code = 0;
      return false;
    }
  }
  absl::Status status = args.Parse(argv);
  if (status.ok()) return true;
  std::cerr << "leadlog: " << status.message() << "\n" << args.Usage();
  *exit_code = kExitUsage;
  return false;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot open ", path));
  std::string text(kApiTokenBytesMax + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kApiTokenBytesMax) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": longer than ", kApiTokenBytesMax, " bytes"));
  }
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is empty"));
  return token;
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const std::string& data_dir, bool read_only,
                                                  bool sync_per_batch) {
  EventLogOptions options;
  options.data_dir = data_dir;
  options.read_only = read_only;
  options.sync_per_batch = sync_per_batch;
  return EventLog::Open(options);
}

}  // namespace leadlog::cli
