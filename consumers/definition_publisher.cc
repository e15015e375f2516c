#include "consumers/definition_publisher.h"

#include <librdkafka/rdkafkacpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/status_macros.h"

namespace leadlog {
namespace {

constexpr char kProtobufContentType[] = "application/x-protobuf";  // see consumers/codec.h
constexpr int kBrokerTimeoutMs = 10000;
constexpr int kFlushTimeoutMs = 30000;

class Publisher final : public KafkaDefinitionPublisher,
                        public RdKafka::DeliveryReportCb,
                        public RdKafka::EventCb {
 public:
  absl::Status Init(const std::string& brokers, const KafkaProperties& extra) {
    // No auto-creation: a misspelt topic is an error, not a new topic.
    KafkaProperties props = {{"bootstrap.servers", brokers},
                             {"enable.idempotence", "true"},
                             {"allow.auto.create.topics", "false"},
                             {"log_level", "4"}};
    props.insert(props.end(), extra.begin(), extra.end());
    ASSIGN_OR_RETURN(auto conf, MakeKafkaConf(props));
    std::string error;
    conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), error);
    conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (producer_ == nullptr) return absl::InvalidArgumentError(absl::StrCat("producer: ", error));
    return CheckBrokersReachable(producer_.get(), brokers, kBrokerTimeoutMs);
  }

  absl::StatusOr<std::map<int32_t, int64_t>> Publish(const std::string& topic,
                                                     const v1::Event& event) override {
    absl::MutexLock lock(&mu_);
    delivered_.clear();
    failed_.clear();
    ASSIGN_OR_RETURN(int partitions, TopicPartitionCount(producer_.get(), topic, kBrokerTimeoutMs));
    for (int p = 0; p < partitions; ++p) RETURN_IF_ERROR(Produce(topic, p, event));
    RETURN_IF_ERROR(KafkaStatus(producer_->flush(kFlushTimeoutMs), "flush"));
    if (!failed_.empty()) return absl::UnavailableError(failed_);
    if (static_cast<int>(delivered_.size()) != partitions) {
      return absl::UnavailableError(
          absl::StrCat(delivered_.size(), " of ", partitions, " partitions confirmed delivery"));
    }
    return delivered_;
  }

  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      delivered_[message.partition()] = message.offset();
    } else if (failed_.empty()) {
      failed_ = absl::StrCat("partition ", message.partition(), ": not delivered: ", message.errstr());
    }
  }
  // librdkafka logs and transient errors; failures surface through dr_cb.
  void event_cb(RdKafka::Event&) override {}

 private:
  absl::Status Produce(const std::string& topic, int partition, const v1::Event& event) {
    const std::string value = event.SerializeAsString();
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("content-type", kProtobufContentType);
    RdKafka::ErrorCode err = producer_->produce(
        topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
        value.size(), event.event_id().data(), event.event_id().size(), 0, headers, nullptr);
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;  // ours unless produce succeeded
      return KafkaStatus(err, absl::StrCat("produce to partition ", partition));
    }
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::unique_ptr<RdKafka::Producer> producer_;
  // Written by dr_cb, which runs inside flush() under mu_.
  std::map<int32_t, int64_t> delivered_;
  std::string failed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaDefinitionPublisher>> KafkaDefinitionPublisher::Create(
    const std::string& brokers, const KafkaProperties& extra) {
  auto publisher = std::make_unique<Publisher>();
  RETURN_IF_ERROR(publisher->Init(brokers, extra));
  return std::unique_ptr<KafkaDefinitionPublisher>(std::move(publisher));
}

}  // namespace leadlog
