#include "deploy/leadlog/api_client.h"

#include <cstdlib>
#include <iostream>

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "deploy/leadlog/commands.h"
#include "engine/status_macros.h"
#include "leadlog/v1/api.pb.h"
#include "projections/api/limits.h"

namespace leadlog::cli {
namespace {

// The Status code an ApiError's code names (the inverse of the server's
// CodeName); anything unknown is Internal.
absl::StatusCode CodeOf(const std::string& name) {
  if (name == "invalid_argument") return absl::StatusCode::kInvalidArgument;
  if (name == "not_found") return absl::StatusCode::kNotFound;
  if (name == "unauthenticated") return absl::StatusCode::kUnauthenticated;
  if (name == "permission_denied") return absl::StatusCode::kPermissionDenied;
  if (name == "unavailable") return absl::StatusCode::kUnavailable;
  if (name == "resource_exhausted") return absl::StatusCode::kResourceExhausted;
  if (name == "deadline_exceeded") return absl::StatusCode::kDeadlineExceeded;
  if (name == "failed_precondition") return absl::StatusCode::kFailedPrecondition;
  return absl::StatusCode::kInternal;
}

std::string Setting(const CliArgs& args, const std::string& flag, const char* env) {
  if (args.Has(flag)) return args.Get(flag);
  const char* value = std::getenv(env);
  return value != nullptr ? std::string(value) : std::string();
}

std::string PercentEncode(const std::string& text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

}  // namespace

void DeclareApiFlags(CliArgs& args) {
  args.String("api", "URL",
              "read from a running serve's HTTP API (http://host:port) instead of --data-dir "
              "(env LEADLOG_API)");
  args.String("api-token-file", "FILE",
              "bearer token for the API's read endpoints (env LEADLOG_API_TOKEN_FILE)");
}

bool ParseReadCommand(CliArgs& args, const std::vector<std::string>& argv,
                      const std::string& command, int* exit_code, std::optional<ApiClient>* api) {
  if (!ParseOrUsage(args, argv, exit_code)) return false;
  absl::StatusOr<std::optional<ApiClient>> parsed = ApiClient::FromArgs(args);
  if (!parsed.ok()) {
    *exit_code = Fail(command, parsed.status());
    return false;
  }
  *api = *std::move(parsed);
  if (api->has_value() || args.Has("data-dir")) return true;
  std::cerr << "leadlog: --data-dir is required (or --api URL / LEADLOG_API to read from a "
               "running serve)\n"
            << args.Usage();
  *exit_code = kExitUsage;
  return false;
}

absl::StatusOr<std::optional<ApiClient>> ApiClient::FromArgs(const CliArgs& args) {
  std::string url = Setting(args, "api", "LEADLOG_API");
  if (url.empty()) return std::optional<ApiClient>();
  const std::string flag = args.Has("api") ? "--api" : "LEADLOG_API";
  if (!absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", url, "\" is not an http:// or https:// URL"));
  }
  while (absl::EndsWith(url, "/")) url.pop_back();
  if (!httplib::Client(url).is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": \"", url, "\" is not a valid URL (expected http://host:port)"));
  }
  std::string token;
  const std::string token_file = Setting(args, "api-token-file", "LEADLOG_API_TOKEN_FILE");
  if (!token_file.empty()) {
    ASSIGN_OR_RETURN(token, ReadTokenFile(args.Has("api-token-file") ? "api-token-file"
                                                                     : "api-token-file (LEADLOG_API_TOKEN_FILE)",
                                          token_file));
  }
  return std::optional<ApiClient>(ApiClient(std::move(url), std::move(token)));
}

absl::Status ApiClient::Get(const std::string& path, const Query& query,
                            google::protobuf::Message* out) const {
  std::string target = path;
  for (size_t i = 0; i < query.size(); ++i) {
    absl::StrAppend(&target, i == 0 ? "?" : "&", PercentEncode(query[i].first, false), "=",
                    PercentEncode(query[i].second, false));
  }
  const std::string where = url_ + target;
  httplib::Client client(url_);
  client.set_connection_timeout(kApiClientConnectTimeoutS, 0);
  client.set_read_timeout(kApiClientReadTimeoutS, 0);
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  httplib::Result result = client.Get(target, headers);
  if (!result) {
    return absl::UnavailableError(absl::StrCat(where, ": ", httplib::to_string(result.error()),
                                               " (is leadlog serve running with --http?)"));
  }
  if (result->status != 200) {
    v1::ApiError error;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(result->body, &error, options).ok() ||
        error.code().empty()) {
      return absl::InternalError(absl::StrCat(where, ": HTTP ", result->status,
                                              " without an API error body"));
    }
    return absl::Status(CodeOf(error.code()), absl::StrCat(where, ": ", result->status, " ",
                                                           error.code(), ": ", error.message()));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(result->body, out, options);
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat(where, ": the response is not a ", out->GetTypeName(),
                                            ": ", std::string(parsed.message().data(), parsed.message().size())));
  }
  return absl::OkStatus();
}

std::string UrlPathEscape(const std::string& segment) { return PercentEncode(segment, false); }

}  // namespace leadlog::cli
