// Internal to projections/api: the helpers every handler uses (query
// parsing that names the field, the reader snapshot with its position, JSON
// rendering) and the handler entry points read_api.cc routes to.
#ifndef LEADLOG_PROJECTIONS_API_INTERNAL_HANDLERS_H_
#define LEADLOG_PROJECTIONS_API_INTERNAL_HANDLERS_H_

#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "projections/api/read_api.h"

namespace leadlog::api_internal {

// The query parameters of one request: only `allowed` names (and
// min_position, handled by ReadApi), each at most once, each at most
// kApiParamBytesMax bytes; InvalidArgument naming the parameter otherwise.
class QueryParams {
 public:
  static absl::StatusOr<QueryParams> Parse(const std::multimap<std::string, std::string>& query,
                                           std::initializer_list<absl::string_view> allowed);
  std::optional<std::string> Get(const std::string& name) const;
  // An integer in [min, max]; `fallback` when absent.
  absl::StatusOr<int64_t> Int(const std::string& name, int64_t fallback, int64_t min,
                              int64_t max) const;
  // "true"/"false"/"1"/"0"; false when absent.
  absl::StatusOr<bool> Bool(const std::string& name) const;
  // "YYYY-MM-DD", RFC 3339, or Unix ms; `fallback` when absent.
  absl::StatusOr<int64_t> TimeMs(const std::string& name, int64_t fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

// One consistent read context: the runner snapshot, the shards, and the
// position read before any data (the data reflects at least it).
struct Reader {
  std::shared_ptr<const ProjectionRunner> runner;
  std::vector<ShardId> shards;
  v1::ApiPosition position;
};
Reader OpenReader(const ReadApiContext& context);

ApiResponse JsonResponse(const google::protobuf::Message& message, int status = 200);
// The status as {"code","message","field"} with the HTTP code it maps to
// (InvalidArgument 400, Unauthenticated 401, PermissionDenied 403, NotFound
// 404, Unavailable/ResourceExhausted/DeadlineExceeded 503 with Retry-After,
// else 500). `field` is the message's prefix before ": " when it is a
// parameter-like name.
ApiResponse ErrorResponse(const absl::Status& status);

struct Call {
  const ReadApiContext& context;
  const ReadApiOptions& options;
  const ApiRequest& request;
  const std::vector<std::string>& params;  // path captures, in order
};
using Handler = absl::StatusOr<ApiResponse> (*)(const Call& call);

// handlers_leads.cc
absl::StatusOr<ApiResponse> GetLead(const Call& call);
absl::StatusOr<ApiResponse> GetTimeline(const Call& call);
absl::StatusOr<ApiResponse> ListLeads(const Call& call);
// handlers_reports.cc
absl::StatusOr<ApiResponse> GetFunnel(const Call& call);
absl::StatusOr<ApiResponse> ListFlows(const Call& call);
absl::StatusOr<ApiResponse> GetFlowStats(const Call& call);
absl::StatusOr<ApiResponse> GetSlaReport(const Call& call);
absl::StatusOr<ApiResponse> GetRecycleReport(const Call& call);
absl::StatusOr<ApiResponse> GetStats(const Call& call);
// handlers_definitions.cc
absl::StatusOr<ApiResponse> ListDefinitionsHandler(const Call& call);
absl::StatusOr<ApiResponse> GetDefinition(const Call& call);
absl::StatusOr<ApiResponse> ValidateDefinitionHandler(const Call& call);
absl::StatusOr<ApiResponse> PublishDefinition(const Call& call);
// handlers_erase.cc
absl::StatusOr<ApiResponse> EraseLead(const Call& call);
// handlers_ops.cc
absl::StatusOr<ApiResponse> Healthz(const Call& call);
absl::StatusOr<ApiResponse> Readyz(const Call& call);
absl::StatusOr<ApiResponse> Metrics(const Call& call);

}  // namespace leadlog::api_internal

#endif  // LEADLOG_PROJECTIONS_API_INTERNAL_HANDLERS_H_
