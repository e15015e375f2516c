// Kafka adapter: the one place librdkafka errors become absl::Status, plus
// configuration helpers shared by the consumer, producers and the broker.
//
// Thread-safety: free functions, no shared state.
//
//   ASSIGN_OR_RETURN(auto conf, MakeKafkaConf({{"bootstrap.servers", b}}));
//   absl::Status s = KafkaStatus(err, "subscribe to leadlog.events");
#ifndef LEADLOG_CONSUMERS_KAFKA_UTIL_H_
#define LEADLOG_CONSUMERS_KAFKA_UTIL_H_

#include <librdkafka/rdkafkacpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace leadlog {

using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// Default topic names (overridable by flags).
inline constexpr char kEventsTopic[] = "leadlog.events";
inline constexpr char kDeadLetterTopic[] = "leadlog.events.dlq";
inline constexpr char kActionsTopic[] = "leadlog.actions";
inline constexpr char kLeadsTopic[] = "leadlog.leads";

// Converts a librdkafka error into a Status whose message names `what`.
// Broker/transport/timeout errors are Unavailable; bad configuration is
// InvalidArgument; anything else Internal.
absl::Status KafkaStatus(RdKafka::ErrorCode code, absl::string_view what);
// The same for the RdKafka::Error objects newer APIs return (nullptr is
// success). Takes ownership of `error`.
absl::Status KafkaStatus(RdKafka::Error* error, absl::string_view what);

// A global conf with `properties` applied in order (later wins). An unknown
// property or bad value is InvalidArgument naming the property.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaProperties& properties);

// Parses "key=value" (as given to -X). InvalidArgument when '=' is missing.
absl::StatusOr<std::pair<std::string, std::string>> ParseKafkaProperty(absl::string_view text);

// Fetches cluster metadata through `handle` within `timeout_ms`; Unavailable
// "brokers <list> unreachable: ..." when no broker answers.
absl::Status CheckBrokersReachable(RdKafka::Handle* handle, absl::string_view brokers,
                                   int timeout_ms);

// The number of partitions of `topic`, from broker metadata fetched through
// `handle` (producer or consumer) within `timeout_ms`. NotFound "topic T does
// not exist" when the brokers do not know it (or it has no partitions);
// Unavailable when no broker answers.
absl::StatusOr<int> TopicPartitionCount(RdKafka::Handle* handle, const std::string& topic,
                                        int timeout_ms);

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_KAFKA_UTIL_H_
