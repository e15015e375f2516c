// POST /v1/leads/{id}/erase (admin): publish an erasure event for one lead
// (engine/FORMAT.md "Erasure", README "Erasure").
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/clock.h"
#include "engine/status_macros.h"
#include "projections/api/internal/handlers.h"
#include "projections/api/read_model.h"

namespace leadlog::api_internal {
namespace {

absl::StatusOr<v1::EraseLeadRequest> ParseEraseBody(const std::string& body) {
  if (body.empty()) {
    return absl::InvalidArgumentError(
        "body: expected {\"reason\": \"...\", \"request_id\": \"...\"}");
  }
  v1::EraseLeadRequest request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(body, &request, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("body: not an erase request: ", status.message().as_string()));
  }
  return request;
}

// Waits (bounded) until every shard of `reader` has appended `event_id`;
// returns "SHARD:SEQUENCE+1,..." of those that have, and whether all have.
std::pair<std::string, bool> AwaitAppended(const Call& call, const Reader& reader,
                                           const std::string& event_id) {
  auto appended = [&] {
    return std::all_of(reader.shards.begin(), reader.shards.end(), [&](ShardId shard) {
      return call.context.log->LookupEventId(shard, event_id).has_value();
    });
  };
  const absl::Duration timeout = absl::Milliseconds(
      std::clamp(call.options.min_position_wait_ms, 0, kApiMinPositionWaitMsMax));
  absl::StatusOr<bool> all = call.context.waiter->Wait(appended, timeout);
  std::vector<std::string> parts;
  for (ShardId shard : reader.shards) {
    std::optional<Sequence> at = call.context.log->LookupEventId(shard, event_id);
    if (at.has_value()) parts.push_back(absl::StrCat(shard.value(), ":", at->value() + 1));
  }
  return {absl::StrJoin(parts, ","), all.ok() && *all};
}

}  // namespace

absl::StatusOr<ApiResponse> EraseLead(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  ASSIGN_OR_RETURN(v1::EraseLeadRequest body, ParseEraseBody(call.request.body));
  Reader reader = OpenReader(call.context);
  ErasureRequest request{call.params[0], body.reason(), body.request_id()};
  ASSIGN_OR_RETURN(v1::Event event, MakeErasureEvent(*reader.runner, reader.shards, request,
                                                     SystemClock::Get()->NowMs()));
  if (call.context.publisher == nullptr) {
    return absl::UnavailableError("publisher: this process cannot publish to the events topic");
  }
  ASSIGN_OR_RETURN(auto offsets, call.context.publisher->Publish(event));
  v1::EraseLeadResponse out;
  out.set_event_id(event.event_id());
  *out.mutable_lead_keys() = event.erasure().lead_keys();
  for (const auto& [partition, offset] : offsets) (*out.mutable_offsets())[partition] = offset;
  auto [min_position, complete] = AwaitAppended(call, reader, event.event_id());
  out.set_min_position(min_position);
  out.set_complete(complete);
  return JsonResponse(out, 202);
}

}  // namespace leadlog::api_internal
