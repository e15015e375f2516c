// Publishing an admin event (a definition, an erasure) to every shard, shared
// by `leadlog definitions publish` and `leadlog leads erase`: through Kafka
// (one message per partition of the events topic, DESIGN.md §7: broadcast)
// or straight into a data dir through the ingest path. Idempotent either
// way: the event id decides, a second publish is a duplicate in every shard.
#include <iostream>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "consumers/definition_publisher.h"
#include "consumers/ingest.h"
#include "consumers/kafka_util.h"
#include "deploy/leadlog/commands.h"
#include "engine/status_macros.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {

// Every shard, through BatchBuilder (decode, validate, dedup) as `leadlog
// ingest` does, in one batch; then the lead projection applies it.
absl::Status PublishToLog(const v1::Event& event, const std::string& source,
                          const std::string& data_dir, int64_t shard_count) {
  ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(data_dir, false, true));
  std::set<uint32_t> shards;
  for (ShardId shard : log->Shards()) shards.insert(shard.value());
  for (int64_t s = 0; s < shard_count; ++s) shards.insert(static_cast<uint32_t>(s));
  if (shards.empty()) shards.insert(0);
  const std::string bytes = event.SerializeAsString();
  BatchBuilder builder(BatchOptions{});
  std::map<uint32_t, Sequence> before;
  for (uint32_t shard : shards) {
    before[shard] = log->Position(ShardId(shard));
    builder.Add(DirectProtobufMessage(source, shard, bytes));
  }
  AppendBatch batch = builder.Take();
  ASSIGN_OR_RETURN(AppendResult result, log->Append(batch));
  if (result.dead_letters > 0) {
    return absl::InternalError(
        absl::StrCat("the codec refused ", event.event_id(),
                     " that validated (stored as a dead letter; `leadlog dead-letters` says why)"));
  }
  for (uint32_t shard : shards) {
    const Sequence after = log->Position(ShardId(shard));
    if (after == before[shard]) {
      std::cout << "shard " << shard << ": duplicate " << event.event_id()
                << " (already in the log)\n";
    } else {
      std::cout << "shard " << shard << ": appended " << event.event_id() << " at sequence "
                << before[shard] << "\n";
    }
  }
  if (result.erasures > 0) {
    std::cout << "erased: " << result.records_rewritten << " records rewritten, "
              << result.dead_letters_erased << " dead letters cleared\n";
  }
  // The lead projection applies it now (and purges after an erasure).
  ASSIGN_OR_RETURN(std::unique_ptr<LeadProjection> projection,
                   LeadProjection::Open(log.get(), LeadProjectionOptions{}));
  return projection->CatchUpAll();
}

absl::Status PublishToKafka(const v1::Event& event, const std::string& brokers,
                            const std::string& topic, const std::vector<std::string>& properties) {
  KafkaProperties extra;
  for (const std::string& text : properties) {
    ASSIGN_OR_RETURN(auto property, ParseKafkaProperty(text));
    extra.push_back(std::move(property));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<KafkaDefinitionPublisher> publisher,
                   KafkaDefinitionPublisher::Create(brokers, extra));
  ASSIGN_OR_RETURN(auto delivered, publisher->Publish(topic, event));
  for (const auto& [partition, offset] : delivered) {
    std::cout << "partition " << partition << ": published " << event.event_id() << " to " << topic
              << " at offset " << offset << "\n";
  }
  return absl::OkStatus();
}

}  // namespace leadlog::cli
