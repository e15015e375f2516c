// ApiClient: the CLI read commands' way to a running `leadlog serve` (issue
// 6). With --api URL (or LEADLOG_API) a command fetches the same messages
// the direct path builds from the data dir (proto/leadlog/v1/api.proto, sent
// as protobuf JSON) and parses them back into those messages, so both paths
// print through the same code. The read token comes from --api-token-file
// (or LEADLOG_API_TOKEN_FILE).
//
// Errors are Status: Unavailable naming the URL when serve does not answer,
// and for an HTTP error the API's own {code, message, field} mapped back to
// the Status code it came from, e.g. NotFound "http://h:p/v1/leads/x: 404
// not_found: id: no lead "x"".
//
// Thread-safety: one client per thread. Requests are synchronous, with the
// timeouts below.
//
//   DeclareApiFlags(args);                       // --api, --api-token-file
//   ASSIGN_OR_RETURN(std::optional<ApiClient> api, ApiClient::FromArgs(args));
//   if (api) { v1::SlaReport r; RETURN_IF_ERROR(api->Get("/v1/reports/sla", {}, &r)); }
#ifndef LEADLOG_DEPLOY_LEADLOG_API_CLIENT_H_
#define LEADLOG_DEPLOY_LEADLOG_API_CLIENT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "deploy/leadlog/cli_args.h"

namespace leadlog::cli {

// Adds --api URL and --api-token-file FILE to a read command's flags.
void DeclareApiFlags(CliArgs& args);

class ApiClient;

// Parses a read command's flags (declared with DeclareApiFlags and an
// optional --data-dir) and its API settings. Returns false when the command
// is done: --help (exit 0), a usage error or neither --data-dir nor an API
// (exit 2, with the usage), a bad --api or token file (exit 1, one line
// "leadlog COMMAND: ..."); *exit_code says which.
bool ParseReadCommand(CliArgs& args, const std::vector<std::string>& argv,
                      const std::string& command, int* exit_code, std::optional<ApiClient>* api);

class ApiClient {
 public:
  using Query = std::vector<std::pair<std::string, std::string>>;

  // From --api / LEADLOG_API (the flag wins) and --api-token-file /
  // LEADLOG_API_TOKEN_FILE. nullopt when no API is named (read the data dir).
  // InvalidArgument naming the flag for a URL that is not http://host[:port]
  // or an unreadable or empty token file.
  static absl::StatusOr<std::optional<ApiClient>> FromArgs(const CliArgs& args);

  // GET `path` with `query` (values URL-encoded here) and parse the JSON body
  // into `out` (unknown fields ignored: a newer serve may add some).
  absl::Status Get(const std::string& path, const Query& query,
                   google::protobuf::Message* out) const;

  const std::string& url() const { return url_; }

 private:
  ApiClient(std::string url, std::string token) : url_(std::move(url)), token_(std::move(token)) {}
  std::string url_;    // scheme://host:port, no trailing slash
  std::string token_;  // "" = no Authorization header
};

// Escapes a path segment (a lead id, a flow id) for a URL.
std::string UrlPathEscape(const std::string& segment);

}  // namespace leadlog::cli

#endif  // LEADLOG_DEPLOY_LEADLOG_API_CLIENT_H_
