// Owner routing (v1::OwnerRouting, proto/leadlog/v1/definition.proto): who
// gets a lead handed to sales. Territories are checked in order; the first
// whose predicates all hold on the lead's traits picks its queue, else the
// default queue; the owner is the queue's next one round-robin.
//
// Thread-safety: ValidateOwnerRouting is a free function; an OwnerRouter is
// immutable after Create() and Route() may run concurrently. The router keeps
// its own copy of the definition. Pure: no I/O, no clock, no randomness; the
// round-robin counter is the caller's (projection state), so a replay
// reproduces every assignment.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<OwnerRouter> router, OwnerRouter::Create(routing));
//   const std::string queue = router->Match(lead_traits).queue_id;
//   RouteResult r = router->Route(lead_traits, counters[queue]);
//   ++counters[r.queue_id];   // the caller's state: one counter per queue
//
// Validation errors are InvalidArgument (ResourceExhausted for a bound)
// whose message starts with the offending field's path, e.g.
// `territories[1].queue: unknown queue "emea"`.
#ifndef LEADLOG_PROJECTIONS_DEFINITIONS_OWNER_ROUTING_H_
#define LEADLOG_PROJECTIONS_DEFINITIONS_OWNER_ROUTING_H_

#include <google/protobuf/struct.pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "leadlog/v1/definition.pb.h"
#include "projections/scoring/predicate.h"

namespace leadlog {

// Bounds: engine/limits.h ("projections/definitions"). Checks:
//   - id: 1..kRoutingIdBytesMax bytes of [a-z0-9_]; version >= 1;
//   - queues: 1..kRoutingQueuesMax, ids [a-z0-9_.-] 1..kRoutingIdBytesMax and
//     unique; each with 1..kRoutingOwnersPerQueueMax owners, unique within the
//     queue, 1..kRoutingIdBytesMax bytes without spaces or control characters;
//   - territories: at most kRoutingTerritoriesMax, ids like queue ids and
//     unique; at least one predicate each (a catch-all is default_queue's
//     job), fields "traits.*" only (ScoringPredicate rules); queue names a
//     queue;
//   - default_queue names a queue;
//   - serialized size at most kRoutingBytesMax.
absl::Status ValidateOwnerRouting(const v1::OwnerRouting& routing);

struct RouteResult {
  std::string owner_id;
  std::string queue_id;
  std::string territory_id;  // "" when the default queue was used
};

class OwnerRouter {
 public:
  // Validates `routing` (ValidateOwnerRouting) and compiles its predicates.
  static absl::StatusOr<std::unique_ptr<OwnerRouter>> Create(const v1::OwnerRouting& routing);

  OwnerRouter(const OwnerRouter&) = delete;
  OwnerRouter& operator=(const OwnerRouter&) = delete;

  // `traits`: the lead's traits, top-level trait name -> value ("traits.a.b"
  // reads traits["a"]["b"]). The first territory, in definition order, whose
  // predicates all hold picks its queue, else default_queue; the owner is
  // queue.owners[counter % owners.size()], with `counter` the caller's
  // assignment count for that queue.
  RouteResult Route(const google::protobuf::Struct& traits, uint64_t counter) const;

  // The territory and queue Route() picks for `traits`, without an owner
  // (owner_id ""): tells the caller which queue's counter to pass.
  RouteResult Match(const google::protobuf::Struct& traits) const;

  const v1::OwnerRouting& routing() const { return routing_; }

 private:
  struct Territory {
    std::vector<CompiledPredicate> where;
    int queue = 0;  // index into routing_.queues()
  };

  explicit OwnerRouter(const v1::OwnerRouting& routing) : routing_(routing) {}

  // Index of the queue `traits` route to; *territory = the matching
  // territory's index, -1 for the default queue.
  int MatchQueue(const google::protobuf::Struct& traits, int* territory) const;

  v1::OwnerRouting routing_;
  std::vector<Territory> territories_;  // in definition order
  int default_queue_ = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_DEFINITIONS_OWNER_ROUTING_H_
