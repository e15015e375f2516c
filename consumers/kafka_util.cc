#include "consumers/kafka_util.h"

#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"

namespace leadlog {

absl::Status KafkaStatus(RdKafka::ErrorCode code, absl::string_view what) {
  if (code == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
  std::string message = absl::StrCat(what, ": ", RdKafka::err2str(code));
  switch (code) {
    case RdKafka::ERR__TRANSPORT:
    case RdKafka::ERR__ALL_BROKERS_DOWN:
    case RdKafka::ERR__TIMED_OUT:
    case RdKafka::ERR__RESOLVE:
    case RdKafka::ERR_BROKER_NOT_AVAILABLE:
    case RdKafka::ERR_LEADER_NOT_AVAILABLE:
    case RdKafka::ERR_NOT_COORDINATOR:
    case RdKafka::ERR_COORDINATOR_NOT_AVAILABLE:
    case RdKafka::ERR_REQUEST_TIMED_OUT:
      return absl::UnavailableError(message);
    case RdKafka::ERR__INVALID_ARG:
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
    case RdKafka::ERR__UNKNOWN_PARTITION:
      return absl::InvalidArgumentError(message);
    case RdKafka::ERR__QUEUE_FULL:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::Status KafkaStatus(RdKafka::Error* error, absl::string_view what) {
  if (error == nullptr) return absl::OkStatus();
  std::unique_ptr<RdKafka::Error> owned(error);
  return KafkaStatus(owned->code(), absl::StrCat(what, " (", owned->str(), ")"));
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(const KafkaProperties& properties) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  for (const auto& [key, value] : properties) {
    std::string error;
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(absl::StrCat("kafka property ", key, "=", value, ": ", error));
    }
  }
  return conf;
}

absl::StatusOr<std::pair<std::string, std::string>> ParseKafkaProperty(absl::string_view text) {
  size_t eq = text.find('=');
  if (eq == absl::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("kafka property \"", text, "\": expected key=value"));
  }
  return std::make_pair(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
}

absl::Status CheckBrokersReachable(RdKafka::Handle* handle, absl::string_view brokers,
                                   int timeout_ms) {
  RdKafka::Metadata* metadata = nullptr;
  RdKafka::ErrorCode err = handle->metadata(/*all_topics=*/false, nullptr, &metadata, timeout_ms);
  delete metadata;
  if (err == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("brokers ", brokers, " unreachable: ", RdKafka::err2str(err)));
}

absl::StatusOr<int> TopicPartitionCount(RdKafka::Handle* handle, const std::string& topic,
                                        int timeout_ms) {
  std::string error;
  std::unique_ptr<RdKafka::Topic> topic_handle(RdKafka::Topic::create(handle, topic, nullptr, error));
  if (topic_handle == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("topic ", topic, ": ", error));
  }
  RdKafka::Metadata* raw = nullptr;
  RETURN_IF_ERROR(KafkaStatus(handle->metadata(false, topic_handle.get(), &raw, timeout_ms),
                              absl::StrCat("metadata of topic ", topic)));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  for (const RdKafka::TopicMetadata* t : *metadata->topics()) {
    if (t->topic() != topic) continue;
    if (t->err() == RdKafka::ERR_NO_ERROR && !t->partitions()->empty()) {
      return static_cast<int>(t->partitions()->size());
    }
    if (t->err() != RdKafka::ERR_UNKNOWN_TOPIC_OR_PART && t->err() != RdKafka::ERR_NO_ERROR) {
      return KafkaStatus(t->err(), absl::StrCat("metadata of topic ", topic));
    }
  }
  return absl::NotFoundError(absl::StrCat("topic ", topic, " does not exist"));
}

}  // namespace leadlog
