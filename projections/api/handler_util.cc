// The helpers of internal/handlers.h.
#include <google/protobuf/stubs/common.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/proto_json.h"
#include "projections/api/internal/handlers.h"

namespace leadlog::api_internal {
namespace {

bool IsFieldName(absl::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' || c == '.' || c == '[' ||
           c == ']';
  });
}

const char* CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return "invalid_argument";
    case absl::StatusCode::kNotFound: return "not_found";
    case absl::StatusCode::kUnauthenticated: return "unauthenticated";
    case absl::StatusCode::kPermissionDenied: return "permission_denied";
    case absl::StatusCode::kUnavailable: return "unavailable";
    case absl::StatusCode::kResourceExhausted: return "resource_exhausted";
    case absl::StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case absl::StatusCode::kFailedPrecondition: return "failed_precondition";
    default: return "internal";
  }
}

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded: return 503;
    default: return 500;
  }
}

// Error messages quote the request: bytes that are not UTF-8 become '?', so
// the JSON mapping (which requires UTF-8 strings) can render them.
std::string Utf8OrQuestionMarks(absl::string_view text) {
  std::string out(text);
  if (google::protobuf::internal::IsStructurallyValidUTF8(out.data(), static_cast<int>(out.size()))) {
    return out;
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) >= 0x80) c = '?';
  }
  return out;
}

absl::Status Bad(const std::string& name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
}

}  // namespace

absl::StatusOr<QueryParams> QueryParams::Parse(const std::multimap<std::string, std::string>& query,
                                               std::initializer_list<absl::string_view> allowed) {
  QueryParams out;
  for (const auto& [name, value] : query) {
    if (name == "min_position") continue;
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string known;
      for (absl::string_view a : allowed) absl::StrAppend(&known, known.empty() ? "" : ", ", a);
      return Bad(IsFieldName(name) ? name : "query",
                 absl::StrCat("unknown parameter (known: ", known.empty() ? "none" : known, ")"));
    }
    if (value.size() > kApiParamBytesMax) {
      return Bad(name, absl::StrCat("longer than ", kApiParamBytesMax, " bytes"));
    }
    if (!out.values_.emplace(name, value).second) return Bad(name, "given more than once");
  }
  return out;
}

std::optional<std::string> QueryParams::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<int64_t> QueryParams::Int(const std::string& name, int64_t fallback, int64_t min,
                                         int64_t max) const {
  std::optional<std::string> text = Get(name);
  if (!text.has_value()) return fallback;
  int64_t v = 0;
  if (!absl::SimpleAtoi(*text, &v)) return Bad(name, absl::StrCat("expected an integer, got \"", *text, "\""));
  if (v < min || v > max) return Bad(name, absl::StrCat(v, " is outside [", min, ", ", max, "]"));
  return v;
}

absl::StatusOr<bool> QueryParams::Bool(const std::string& name) const {
  std::optional<std::string> text = Get(name);
  if (!text.has_value() || *text == "false" || *text == "0") return false;
  if (*text == "true" || *text == "1" || text->empty()) return true;
  return Bad(name, absl::StrCat("expected true or false, got \"", *text, "\""));
}

absl::StatusOr<int64_t> QueryParams::TimeMs(const std::string& name, int64_t fallback) const {
  std::optional<std::string> text = Get(name);
  if (!text.has_value()) return fallback;
  int64_t ms = 0;
  if (absl::SimpleAtoi(*text, &ms) && ms >= 0) return ms;
  absl::Time t;
  std::string error;
  if (absl::ParseTime("%Y-%m-%d", *text, absl::UTCTimeZone(), &t, &error) ||
      absl::ParseTime(absl::RFC3339_full, *text, absl::UTCTimeZone(), &t, &error)) {
    return absl::ToUnixMillis(t);
  }
  return Bad(name, absl::StrCat("expected YYYY-MM-DD, RFC 3339 or Unix ms, got \"", *text, "\""));
}

Reader OpenReader(const ReadApiContext& context) {
  Reader reader;
  reader.runner = context.projection->runner();
  reader.shards = context.log->Shards();
  reader.position = CurrentPosition(*reader.runner, reader.shards);
  return reader;
}

ApiResponse JsonResponse(const google::protobuf::Message& message, int status) {
  ApiResponse response;
  response.status = status;
  if (!AppendProtoJson(message, ProtoJsonOptions{}, &response.body).ok()) {
    return ErrorResponse(absl::InternalError("cannot render the response as JSON"));
  }
  response.body.push_back('\n');
  return response;
}

ApiResponse ErrorResponse(const absl::Status& status) {
  v1::ApiError error;
  error.set_code(CodeName(status.code()));
  error.set_message(Utf8OrQuestionMarks(status.message()));
  const size_t colon = status.message().find(": ");
  if (colon != absl::string_view::npos && IsFieldName(status.message().substr(0, colon))) {
    error.set_field(std::string(status.message().substr(0, colon)));
  }
  ApiResponse response;
  response.status = HttpStatus(status.code());
  if (!AppendProtoJson(error, ProtoJsonOptions{}, &response.body).ok()) {
    response.body = "{\"code\":\"internal\",\"message\":\"unrenderable error\"}";
  }
  response.body.push_back('\n');
  if (response.status == 503) {
    response.headers.emplace_back("Retry-After", absl::StrCat(kApiRetryAfterSeconds));
  }
  return response;
}

}  // namespace leadlog::api_internal
