#include "projections/api/read_api.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "projections/api/internal/handlers.h"

namespace leadlog {
namespace {

using api_internal::Call;
using api_internal::ErrorResponse;
using api_internal::Handler;

enum class Access { kOpen, kRead, kAdmin };

struct Route {
  const char* method;
  const char* pattern;  // "{}" segments capture one path segment
  Access access;
  Handler handler;
};

// Fixed routes; more specific patterns first where they overlap.
constexpr Route kRoutes[] = {
    {"GET", "/healthz", Access::kOpen, api_internal::Healthz},
    {"GET", "/readyz", Access::kOpen, api_internal::Readyz},
    {"GET", "/metrics", Access::kOpen, api_internal::Metrics},
    {"GET", "/v1/leads", Access::kRead, api_internal::ListLeads},
    {"GET", "/v1/leads/{id}", Access::kRead, api_internal::GetLead},
    {"GET", "/v1/leads/{id}/timeline", Access::kRead, api_internal::GetTimeline},
    {"POST", "/v1/leads/{id}/erase", Access::kAdmin, api_internal::EraseLead},
    {"GET", "/v1/reports/funnel", Access::kRead, api_internal::GetFunnel},
    {"GET", "/v1/reports/sla", Access::kRead, api_internal::GetSlaReport},
    {"GET", "/v1/reports/recycle", Access::kRead, api_internal::GetRecycleReport},
    {"GET", "/v1/flows", Access::kRead, api_internal::ListFlows},
    {"GET", "/v1/flows/{id}/stats", Access::kRead, api_internal::GetFlowStats},
    {"GET", "/v1/definitions", Access::kRead, api_internal::ListDefinitionsHandler},
    {"POST", "/v1/definitions/validate", Access::kRead, api_internal::ValidateDefinitionHandler},
    {"GET", "/v1/definitions/{kind}/{id}", Access::kRead, api_internal::GetDefinition},
    {"POST", "/v1/definitions", Access::kAdmin, api_internal::PublishDefinition},
    {"GET", "/v1/stats", Access::kRead, api_internal::GetStats},
};

// Matches `path` against `pattern`; fills the captures.
bool Match(absl::string_view pattern, absl::string_view path, std::vector<std::string>* captures) {
  std::vector<absl::string_view> want = absl::StrSplit(pattern, '/');
  std::vector<absl::string_view> got = absl::StrSplit(path, '/');
  if (want.size() != got.size()) return false;
  captures->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (absl::StartsWith(want[i], "{")) {
      if (got[i].empty()) return false;
      captures->emplace_back(got[i]);
    } else if (want[i] != got[i]) {
      return false;
    }
  }
  return true;
}

// Constant-time comparison of a presented token with the expected one.
bool TokenEquals(absl::string_view presented, absl::string_view expected) {
  unsigned diff = presented.size() != expected.size();
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i]) ^
            static_cast<unsigned char>(expected[i % std::max<size_t>(1, expected.size())]);
  }
  return diff == 0;
}

absl::Status Authorize(Access access, const ReadApiOptions& options, absl::string_view header) {
  if (access == Access::kOpen) return absl::OkStatus();
  if (access == Access::kRead && options.read_token.empty()) return absl::OkStatus();
  if (access == Access::kAdmin && options.admin_token.empty()) {
    return absl::PermissionDeniedError(
        "authorization: admin endpoints are disabled (serve has no --http-admin-token-file)");
  }
  if (!absl::StartsWith(header, "Bearer ")) {
    return absl::UnauthenticatedError("authorization: expected \"Authorization: Bearer TOKEN\"");
  }
  absl::string_view token = header.substr(7);
  if (access == Access::kAdmin) {
    if (TokenEquals(token, options.admin_token)) return absl::OkStatus();
    return absl::PermissionDeniedError("authorization: not the admin token");
  }
  if (TokenEquals(token, options.read_token) ||
      (!options.admin_token.empty() && TokenEquals(token, options.admin_token))) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError("authorization: not a read token");
}

// Waits (bounded) until the projection reaches the request's min_position.
absl::Status AwaitMinPosition(const ReadApiContext& context, const ReadApiOptions& options,
                              const ApiRequest& request) {
  auto range = request.query.equal_range("min_position");
  if (range.first == range.second) return absl::OkStatus();
  if (std::next(range.first) != range.second) {
    return absl::InvalidArgumentError("min_position: given more than once");
  }
  absl::StatusOr<MinPosition> min = ParseMinPosition(range.first->second);
  if (!min.ok()) return min.status();
  const absl::Duration timeout = absl::Milliseconds(
      std::clamp(options.min_position_wait_ms, 0, kApiMinPositionWaitMsMax));
  absl::StatusOr<bool> reached = context.waiter->Wait(
      [&] { return Reached(*context.projection->runner(), *min); }, timeout);
  if (!reached.ok()) return reached.status();
  if (!*reached) {
    return absl::UnavailableError(absl::StrCat("min_position: not reached within ",
                                               absl::FormatDuration(timeout), "; retry"));
  }
  return absl::OkStatus();
}

ApiResponse Dispatch(const ReadApiContext& context, const ReadApiOptions& options,
                     const ApiRequest& request) {
  std::vector<std::string> captures;
  bool path_matched = false;
  for (const Route& route : kRoutes) {
    if (!Match(route.pattern, request.path, &captures)) continue;
    path_matched = true;
    if (request.method != route.method) continue;
    ApiResponse response;
    if (absl::Status s = Authorize(route.access, options, request.authorization); !s.ok()) {
      response = ErrorResponse(s);
    } else if (s = AwaitMinPosition(context, options, request); !s.ok()) {
      response = ErrorResponse(s);
    } else {
      absl::StatusOr<ApiResponse> handled = route.handler(Call{context, options, request, captures});
      response = handled.ok() ? *std::move(handled) : ErrorResponse(handled.status());
    }
    response.route = route.pattern;
    return response;
  }
  ApiResponse response =
      path_matched ? ErrorResponse(absl::InvalidArgumentError(
                         absl::StrCat("method: ", request.method.substr(0, 16), " not allowed here")))
                   : ErrorResponse(absl::NotFoundError("path: no such endpoint"));
  if (path_matched) response.status = 405;
  response.route = "unmatched";
  return response;
}

}  // namespace

ReadApi::ReadApi(ReadApiContext context, ReadApiOptions options)
    : context_(context), options_(std::move(options)) {}

ApiResponse ReadApi::Handle(const ApiRequest& request) const {
  const absl::Time start = absl::Now();
  ApiResponse response = Dispatch(context_, options_, request);
  if (context_.metrics != nullptr) {
    context_.metrics->Record(response.route, response.status, absl::Now() - start);
  }
  return response;
}

}  // namespace leadlog
