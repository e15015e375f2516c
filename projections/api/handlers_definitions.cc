// Definitions: list, get, validate, publish (admin).
#include "absl/strings/str_cat.h"
#include "engine/clock.h"
#include "engine/status_macros.h"
#include "projections/api/internal/handlers.h"
#include "projections/api/read_model.h"
#include "projections/definitions/definition.h"
#include "projections/lead/lead_fold.h"

namespace leadlog::api_internal {
namespace {

// The body as a definition (JSON or text format), validated; errors are
// InvalidArgument naming the definition's field (or "body").
absl::StatusOr<v1::Definition> BodyDefinition(const ApiRequest& request) {
  if (request.body.empty()) return absl::InvalidArgumentError("body: expected a definition");
  absl::StatusOr<v1::Definition> d = ParseDefinition(request.body);
  if (d.ok()) return d;
  if (absl::IsResourceExhausted(d.status())) {
    return absl::InvalidArgumentError(absl::StrCat("body: ", d.status().message()));
  }
  return absl::InvalidArgumentError(d.status().message());
}

v1::DefinitionPublishResponse Describe(const v1::Definition& d) {
  v1::DefinitionPublishResponse out;
  out.set_kind(DefinitionKind(d));
  out.set_id(DefinitionId(d));
  out.set_version(DefinitionVersion(d));
  out.set_event_id(DefinitionEventId(d));
  return out;
}

}  // namespace

absl::StatusOr<ApiResponse> ListDefinitionsHandler(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {"kind"}));
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(auto summaries, DefinitionSummaries(*reader.runner, reader.shards));
  v1::DefinitionListResponse out;
  *out.mutable_position() = reader.position;
  const std::optional<std::string> kind = q.Get("kind");
  for (v1::DefinitionSummary& s : summaries) {
    if (!kind || s.kind() == *kind) *out.add_definitions() = std::move(s);
  }
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> GetDefinition(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  const std::string& kind = call.params[0];
  const std::string& id = call.params[1];
  Reader reader = OpenReader(call.context);
  ASSIGN_OR_RETURN(auto summaries, DefinitionSummaries(*reader.runner, reader.shards));
  v1::DefinitionGetResponse out;
  *out.mutable_position() = reader.position;
  for (v1::DefinitionSummary& s : summaries) {
    if (s.kind() == kind && s.id() == id) *out.add_versions() = std::move(s);
  }
  if (out.versions().empty()) {
    return absl::NotFoundError(absl::StrCat("id: no ", kind.substr(0, 64), " \"", id.substr(0, 256),
                                            "\" was published"));
  }
  // The latest accepted version's definition, from the first shard that has it.
  for (ShardId shard : reader.shards) {
    ASSIGN_OR_RETURN(std::vector<v1::DefinitionRecord> records,
                     ListDefinitions(*reader.runner, shard));
    for (const v1::DefinitionRecord& r : records) {
      if (DefinitionKind(r.definition()) != kind || DefinitionId(r.definition()) != id) continue;
      if (out.has_latest() && DefinitionVersion(out.latest()) >= DefinitionVersion(r.definition())) {
        continue;
      }
      *out.mutable_latest() = r.definition();
    }
    if (out.has_latest()) break;
  }
  return JsonResponse(out);
}

absl::StatusOr<ApiResponse> ValidateDefinitionHandler(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  ASSIGN_OR_RETURN(v1::Definition d, BodyDefinition(call.request));
  return JsonResponse(Describe(d));
}

absl::StatusOr<ApiResponse> PublishDefinition(const Call& call) {
  ASSIGN_OR_RETURN(QueryParams q, QueryParams::Parse(call.request.query, {}));
  (void)q;
  ASSIGN_OR_RETURN(v1::Definition d, BodyDefinition(call.request));
  if (call.context.publisher == nullptr) {
    return absl::UnavailableError("publisher: this process cannot publish to the events topic");
  }
  const v1::Event event = MakeDefinitionEvent(d, SystemClock::Get()->NowMs());
  ASSIGN_OR_RETURN(auto offsets, call.context.publisher->Publish(event));
  v1::DefinitionPublishResponse out = Describe(d);
  out.set_published(true);
  for (const auto& [partition, offset] : offsets) (*out.mutable_offsets())[partition] = offset;
  return JsonResponse(out, 201);
}

}  // namespace leadlog::api_internal
