// KafkaDefinitionPublisher: publishes a definition event to every partition
// of the events topic with an idempotent producer (DESIGN.md §7:
// definitions are broadcast; invariant 7: definitions are events), as
// `leadlog definitions publish --brokers` and `POST /v1/definitions` do.
// Publishing is idempotent end to end: the event id is the definition's
// (kind, id, version), so a second publish is a duplicate in every shard.
//
// Thread-safety: Publish is thread-safe (serialised inside: one flush at a
// time). Lifetime: owns its producer; destroy after the last Publish.
//
//   ASSIGN_OR_RETURN(auto publisher, KafkaDefinitionPublisher::Create(brokers, {}));
//   ASSIGN_OR_RETURN(auto offsets, publisher->Publish("leadlog.events", event));
#ifndef LEADLOG_CONSUMERS_DEFINITION_PUBLISHER_H_
#define LEADLOG_CONSUMERS_DEFINITION_PUBLISHER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "consumers/kafka_util.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog {

class KafkaDefinitionPublisher {
 public:
  // Connects (no topic auto-creation); Unavailable when no broker answers.
  static absl::StatusOr<std::unique_ptr<KafkaDefinitionPublisher>> Create(
      const std::string& brokers, const KafkaProperties& extra);
  virtual ~KafkaDefinitionPublisher() = default;

  // Produces `event` (protobuf, keyed by its event id) to every partition of
  // `topic` and waits for delivery: partition -> offset. NotFound for a
  // topic without partitions; Unavailable when a partition did not confirm.
  virtual absl::StatusOr<std::map<int32_t, int64_t>> Publish(const std::string& topic,
                                                             const v1::Event& event) = 0;
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_DEFINITION_PUBLISHER_H_
