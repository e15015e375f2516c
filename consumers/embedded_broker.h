// EmbeddedBroker: an in-process Kafka-protocol broker (librdkafka's mock
// cluster) for development, the demo and tests. Any Kafka client can connect
// to bootstrap(). Limits of the mock (DESIGN.md §8): each partition keeps at
// most ~5 MiB / 100k message sets and silently evicts the oldest; no
// CreateTopics API; the first group join takes ~3 s.
//
// Thread-safety: bootstrap() may be called from any thread.
// Lifetime: the broker lives until the object is destroyed; data is in
// memory only.
//
//   ASSIGN_OR_RETURN(auto broker, EmbeddedBroker::Start({.partitions = 8}));
//   std::cout << "kafka bootstrap: " << broker->bootstrap() << "\n";
#ifndef LEADLOG_CONSUMERS_EMBEDDED_BROKER_H_
#define LEADLOG_CONSUMERS_EMBEDDED_BROKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace leadlog {

struct EmbeddedBrokerOptions {
  // Number of mock brokers (1..16).
  int brokers = 1;
  // Partitions of each topic created up front (1..1024). Topics created
  // later by clients (auto-create) get the mock's default of 4.
  int partitions = 8;
  // Topics created at start.
  std::vector<std::string> topics = {"leadlog.events", "leadlog.events.dlq", "leadlog.actions",
                                     "leadlog.leads"};
};

class EmbeddedBroker {
 public:
  // InvalidArgument for out-of-range options; Internal if the mock fails.
  static absl::StatusOr<std::unique_ptr<EmbeddedBroker>> Start(const EmbeddedBrokerOptions& options);
  ~EmbeddedBroker();
  EmbeddedBroker(const EmbeddedBroker&) = delete;
  EmbeddedBroker& operator=(const EmbeddedBroker&) = delete;

  // "127.0.0.1:PORT[,127.0.0.1:PORT...]".
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  EmbeddedBroker() = default;
  rd_kafka_s* owner_ = nullptr;                 // book-keeping handle of the mock
  rd_kafka_mock_cluster_s* cluster_ = nullptr;  // destroyed before owner_
  std::string bootstrap_;
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_EMBEDDED_BROKER_H_
