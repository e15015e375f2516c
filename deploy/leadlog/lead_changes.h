// Wiring of the change stream (consumers/change_emitter.h) over the lead
// projection (projections/lead/lead_projection.h): where the emitter reads
// change entries and lead states, and how it prunes delivered entries.
// Used by `leadlog serve`, `leadlog changes` and tests/.
//
// Thread-safety: as LeadProjection (reads take a snapshot of the active
// version; Prune goes to the version active at the call).
// Ownership: the projection is borrowed and must outlive these objects.
//
//   LeadChangeSource source(projection.get());
//   LeadChangeReader reader(projection.get());
//   ChangeEncoder encoder(&reader, ChangeFormat::kJson);
//   auto emitter = OutboxEmitter::Create(log, &source, ChangeStreamOptions(brokers, &encoder));
#ifndef LEADLOG_DEPLOY_LEADLOG_LEAD_CHANGES_H_
#define LEADLOG_DEPLOY_LEADLOG_LEAD_CHANGES_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "consumers/change_emitter.h"
#include "consumers/kafka_util.h"
#include "consumers/outbox_emitter.h"
#include "projections/lead/lead_projection.h"

namespace leadlog {

// The change entries of the active version ("c/..."), pruned through
// LeadProjection::PruneChanges.
class LeadChangeSource final : public OutboxSource {
 public:
  explicit LeadChangeSource(LeadProjection* projection) : projection_(projection) {}
  std::vector<ShardId> Shards() const override;
  absl::StatusOr<std::vector<ProjectionEntry>> Read(ShardId shard, absl::string_view after_key,
                                                    size_t limit) const override;
  absl::Status Prune(ShardId shard, absl::string_view through_key) const override;

 private:
  LeadProjection* const projection_;
};

// Lead states of the active version (LeadProjection::ReadLead).
class LeadChangeReader final : public LeadStateReader {
 public:
  explicit LeadChangeReader(const LeadProjection* projection) : projection_(projection) {}
  absl::StatusOr<LeadRead> Read(ShardId shard, absl::string_view lead_key) const override;

 private:
  const LeadProjection* const projection_;
};

// The running change stream of `leadlog serve`: source, reader, encoder,
// emitter and the thread running it. Stop() ends the thread and publishes
// what is still pending (one last round) before returning.
class ChangeStream {
 public:
  struct Options {
    std::string brokers;
    std::string topic = kLeadsTopic;
    ChangeFormat format = ChangeFormat::kJson;
    KafkaProperties properties;  // extra librdkafka properties
  };
  // Creates the emitter (errors as OutboxEmitter::Create) and starts it.
  static absl::StatusOr<std::unique_ptr<ChangeStream>> Start(EventLog* log,
                                                             LeadProjection* projection,
                                                             Options options);
  ~ChangeStream();  // Stop()s
  // New change entries were committed.
  void Notify();
  // Idempotent. Returns the status of the run and of the last round.
  absl::Status Stop();

 private:
  ChangeStream(LeadProjection* projection, ChangeFormat format);
  LeadChangeSource source_;
  LeadChangeReader reader_;
  ChangeEncoder encoder_;
  std::unique_ptr<OutboxEmitter> emitter_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  absl::Status run_status_;
  bool stopped_ = false;
};

// Per shard: the change cursor and the entries past it (`leadlog changes`).
struct ChangeBacklog {
  ShardId shard;
  bool has_cursor = false;
  Sequence delivered_through;  // the sequence of the last delivered change
  uint64_t pending = 0;        // entries past the cursor (at most `limit`)
  Sequence checkpoint;         // the projection checkpoint
};
absl::StatusOr<std::vector<ChangeBacklog>> ChangeBacklogs(const EventLog* log,
                                                          const LeadProjection& projection,
                                                          size_t limit);

}  // namespace leadlog

#endif  // LEADLOG_DEPLOY_LEADLOG_LEAD_CHANGES_H_
