// Test-only helpers for the engine's tests: events to append, a log in a
// temporary directory, and reading everything back.
//
//   LogFixture f;
//   std::unique_ptr<EventLog> log = f.Open();
//   AppendBatch batch = BatchOf({MakeEvent(ShardId(0), "e1", "u1")});
//   ASSERT_OK(log->Append(batch));
#ifndef LEADLOG_ENGINE_INTERNAL_TEST_UTIL_H_
#define LEADLOG_ENGINE_INTERNAL_TEST_UTIL_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/clock.h"
#include "engine/event_log.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace leadlog::internal {

inline constexpr int64_t kTestStartMs = 1'700'000'000'000;

// A track event with the given ids, indexed under IndexKeysOf(event).
inline PendingEvent MakeEvent(ShardId shard, const std::string& event_id,
                              const std::string& user_id = "",
                              const std::string& anonymous_id = "") {
  v1::Event event;
  event.set_event_id(event_id);
  event.set_type(v1::CALL_TYPE_TRACK);
  event.set_name("Page Viewed");
  event.set_user_id(user_id);
  event.set_anonymous_id(anonymous_id);
  PendingEvent pending;
  pending.shard = shard;
  pending.event_id = event_id;
  pending.lead_keys = IndexKeysOf(event);
  pending.event_bytes = event.SerializeAsString();
  pending.source.set_topic("leadlog.events");
  pending.source.set_partition(static_cast<int32_t>(shard.value()));
  pending.source.set_offset(7);
  return pending;
}

inline AppendBatch BatchOf(std::vector<PendingEvent> events) {
  AppendBatch batch;
  batch.events = std::move(events);
  return batch;
}

inline PendingDeadLetter MakeDeadLetter(ShardId shard, std::string raw) {
  PendingDeadLetter pending;
  pending.shard = shard;
  pending.letter.set_raw(std::move(raw));
  pending.letter.set_field("messageId");
  pending.letter.set_reason("missing");
  return pending;
}

// A fresh directory and a manual clock; Open() opens a log there.
class LogFixture {
 public:
  EventLogOptions Options() const {
    EventLogOptions options;
    options.data_dir = data_dir();
    options.clock = &clock;
    options.sync_per_batch = false;
    return options;
  }
  std::unique_ptr<EventLog> Open() const { return Open(Options()); }
  static std::unique_ptr<EventLog> Open(const EventLogOptions& options) {
    absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(options);
    EXPECT_THAT(log, ::leadlog::testing::IsOk());
    return log.ok() ? std::move(*log) : nullptr;
  }
  std::string data_dir() const { return dir.path() + "/db"; }

  mutable ManualClock clock{kTestStartMs};
  ::leadlog::testing::TempDir dir;
};

// Every record of `shard`, in order.
inline std::vector<v1::LogRecord> ReadAll(const EventLog& log, ShardId shard) {
  std::vector<v1::LogRecord> records;
  absl::Status status =
      log.ReadRange(shard, Sequence(0), log.Position(shard), [&](const v1::LogRecord& record) {
        records.push_back(record);
        return absl::OkStatus();
      });
  EXPECT_THAT(status, ::leadlog::testing::IsOk());
  return records;
}

// Sequences of one lead's records.
inline std::vector<uint64_t> LeadSequences(const EventLog& log, ShardId shard,
                                           const LeadKey& lead) {
  std::vector<uint64_t> sequences;
  absl::Status status = log.ReadLead(shard, lead, [&](const v1::LogRecord& record) {
    sequences.push_back(record.sequence());
    return absl::OkStatus();
  });
  EXPECT_THAT(status, ::leadlog::testing::IsOk());
  return sequences;
}

}  // namespace leadlog::internal

#endif  // LEADLOG_ENGINE_INTERNAL_TEST_UTIL_H_
