#include "projections/definitions/owner_routing.h"

#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

absl::Status Invalid(absl::string_view path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
}

absl::Status TooMany(absl::string_view path, int max, absl::string_view what) {
  return absl::ResourceExhaustedError(absl::StrCat(path, ": more than ", max, " ", what));
}

// 1..kRoutingIdBytesMax bytes of [a-z0-9_] (plus ".-" when `dotted`).
absl::Status ValidateId(absl::string_view id, bool dotted, absl::string_view path) {
  if (id.empty()) return Invalid(path, "required");
  if (id.size() > kRoutingIdBytesMax) {
    return Invalid(path, absl::StrCat("longer than ", kRoutingIdBytesMax, " bytes"));
  }
  for (char c : id) {
    const bool ok = absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_' ||
                    (dotted && (c == '.' || c == '-'));
    if (!ok) {
      return Invalid(path, absl::StrCat("\"", id, "\" may contain only ",
                                        dotted ? "[a-z0-9_.-]" : "[a-z0-9_]"));
    }
  }
  return absl::OkStatus();
}

// Owner ids are CRM user ids: any text without spaces or control characters.
absl::Status ValidateOwner(absl::string_view owner, absl::string_view path) {
  if (owner.empty()) return Invalid(path, "required");
  if (owner.size() > kRoutingIdBytesMax) {
    return Invalid(path, absl::StrCat("longer than ", kRoutingIdBytesMax, " bytes"));
  }
  for (char c : owner) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return Invalid(path, "may not contain spaces or control characters");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateQueue(const v1::OwnerQueue& queue, const std::string& path) {
  RETURN_IF_ERROR(ValidateId(queue.id(), /*dotted=*/true, path + ".id"));
  if (queue.owners_size() == 0) return Invalid(path + ".owners", "at least one owner required");
  if (queue.owners_size() > kRoutingOwnersPerQueueMax) {
    return TooMany(path + ".owners", kRoutingOwnersPerQueueMax, "owners");
  }
  std::set<absl::string_view> owners;
  for (int i = 0; i < queue.owners_size(); ++i) {
    const std::string owner_path = absl::StrCat(path, ".owners[", i, "]");
    RETURN_IF_ERROR(ValidateOwner(queue.owners(i), owner_path));
    if (!owners.insert(queue.owners(i)).second) {
      return Invalid(owner_path, absl::StrCat("duplicate \"", queue.owners(i), "\""));
    }
  }
  return absl::OkStatus();
}

// Index of the queue named `id`; -1 when there is none.
int QueueIndex(const v1::OwnerRouting& routing, absl::string_view id) {
  for (int i = 0; i < routing.queues_size(); ++i) {
    if (routing.queues(i).id() == id) return i;
  }
  return -1;
}

absl::Status ValidateQueueRef(const v1::OwnerRouting& routing, absl::string_view id,
                              absl::string_view path) {
  if (id.empty()) return Invalid(path, "required");
  if (QueueIndex(routing, id) < 0) return Invalid(path, absl::StrCat("unknown queue \"", id, "\""));
  return absl::OkStatus();
}

absl::Status ValidateTerritories(const v1::OwnerRouting& routing) {
  if (routing.territories_size() > kRoutingTerritoriesMax) {
    return TooMany("territories", kRoutingTerritoriesMax, "territories");
  }
  std::set<absl::string_view> ids;
  for (int i = 0; i < routing.territories_size(); ++i) {
    const v1::Territory& t = routing.territories(i);
    const std::string path = absl::StrCat("territories[", i, "]");
    RETURN_IF_ERROR(ValidateId(t.id(), /*dotted=*/true, path + ".id"));
    if (!ids.insert(t.id()).second) {
      return Invalid(path + ".id", absl::StrCat("duplicate \"", t.id(), "\""));
    }
    if (t.where_size() == 0) {
      return Invalid(path + ".where",
                     "at least one predicate required (default_queue takes the other leads)");
    }
    RETURN_IF_ERROR(ValidatePredicates(t.where(), PredicateScope::kTraits, path));
    RETURN_IF_ERROR(ValidateQueueRef(routing, t.queue(), path + ".queue"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateOwnerRouting(const v1::OwnerRouting& routing) {
  if (routing.ByteSizeLong() > kRoutingBytesMax) {
    return absl::ResourceExhaustedError(absl::StrCat("owner routing: ", routing.ByteSizeLong(),
                                                     " bytes, at most ", kRoutingBytesMax));
  }
  RETURN_IF_ERROR(ValidateId(routing.id(), /*dotted=*/false, "id"));
  if (routing.version() < 1) return Invalid("version", "must be >= 1");
  if (routing.queues_size() == 0) return Invalid("queues", "at least one queue required");
  if (routing.queues_size() > kRoutingQueuesMax) {
    return TooMany("queues", kRoutingQueuesMax, "queues");
  }
  std::set<absl::string_view> ids;
  for (int i = 0; i < routing.queues_size(); ++i) {
    const std::string path = absl::StrCat("queues[", i, "]");
    RETURN_IF_ERROR(ValidateQueue(routing.queues(i), path));
    if (!ids.insert(routing.queues(i).id()).second) {
      return Invalid(path + ".id", absl::StrCat("duplicate \"", routing.queues(i).id(), "\""));
    }
  }
  RETURN_IF_ERROR(ValidateTerritories(routing));
  return ValidateQueueRef(routing, routing.default_queue(), "default_queue");
}

absl::StatusOr<std::unique_ptr<OwnerRouter>> OwnerRouter::Create(const v1::OwnerRouting& routing) {
  RETURN_IF_ERROR(ValidateOwnerRouting(routing));
  std::unique_ptr<OwnerRouter> router(new OwnerRouter(routing));
  for (int i = 0; i < routing.territories_size(); ++i) {
    const v1::Territory& t = routing.territories(i);
    Territory compiled;
    ASSIGN_OR_RETURN(compiled.where, CompilePredicates(t.where(), PredicateScope::kTraits,
                                                       absl::StrCat("territories[", i, "]")));
    compiled.queue = QueueIndex(routing, t.queue());
    router->territories_.push_back(std::move(compiled));
  }
  router->default_queue_ = QueueIndex(routing, routing.default_queue());
  return router;
}

int OwnerRouter::MatchQueue(const google::protobuf::Struct& traits, int* territory) const {
  for (size_t i = 0; i < territories_.size(); ++i) {
    if (AllMatchTraits(territories_[i].where, traits)) {
      *territory = static_cast<int>(i);
      return territories_[i].queue;
    }
  }
  *territory = -1;
  return default_queue_;
}

RouteResult OwnerRouter::Match(const google::protobuf::Struct& traits) const {
  int territory = -1;
  const int queue = MatchQueue(traits, &territory);
  RouteResult result;
  result.queue_id = routing_.queues(queue).id();
  if (territory >= 0) result.territory_id = routing_.territories(territory).id();
  return result;
}

RouteResult OwnerRouter::Route(const google::protobuf::Struct& traits, uint64_t counter) const {
  int territory = -1;
  const v1::OwnerQueue& queue = routing_.queues(MatchQueue(traits, &territory));
  RouteResult result;
  result.queue_id = queue.id();
  if (territory >= 0) result.territory_id = routing_.territories(territory).id();
  const auto owners = static_cast<uint64_t>(queue.owners_size());  // >= 1: validated
  result.owner_id = queue.owners(static_cast<int>(counter % owners));
  return result;
}

}  // namespace leadlog
