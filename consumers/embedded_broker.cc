#include "consumers/embedded_broker.h"

// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "absl/strings/str_cat.h"

namespace leadlog {

absl::StatusOr<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::Start(
    const EmbeddedBrokerOptions& options) {
  if (options.brokers < 1 || options.brokers > 16) {
    return absl::InvalidArgumentError(absl::StrCat("brokers: ", options.brokers, " is outside [1, 16]"));
  }
  if (options.partitions < 1 || options.partitions > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("partitions: ", options.partitions, " is outside [1, 1024]"));
  }
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  // This handle only owns the mock: silence its "no bootstrap.servers" warning.
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error));
  rd_kafka_t* owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (owner == nullptr) return absl::InternalError(absl::StrCat("embedded broker: ", error));

  std::unique_ptr<EmbeddedBroker> broker(new EmbeddedBroker());
  broker->owner_ = owner;
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(owner, options.brokers);
  if (cluster == nullptr) return absl::InternalError("embedded broker: mock cluster failed to start");
  broker->cluster_ = cluster;
  for (const std::string& topic : options.topics) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, topic.c_str(), options.partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(
          absl::StrCat("embedded broker: create topic ", topic, ": ", rd_kafka_err2str(err)));
    }
  }
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster);
  return broker;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (owner_ != nullptr) rd_kafka_destroy(owner_);
}

}  // namespace leadlog
