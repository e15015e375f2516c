// OutboxEmitter: publishes the actions of the outbox (engine/outbox.h) to the
// Kafka topic leadlog.actions, each exactly once across restarts, crashes
// and rebuilds (DESIGN.md §2 invariant 8).
//
// How (one round, EmitOnce): for every shard (starting after the shard the
// last round stopped in, until the round holds `round_bytes_max` bytes of
// messages), read up to `batch` outbox entries past the shard's cursor
// (engine/cursors.h, name "emitter": the last outbox key published and
// acknowledged), produce them with an
// idempotent producer (acks=all, in key order, partition = shard %
// partitions), wait until every message of the round is acknowledged, then
// store the cursors (one synced WriteBatch). A rebuilt projection writes
// the same outbox keys, so the cursor skips what was already published.
//
// Recovery. A crash (or a failed round) between acknowledgement and the
// cursor write leaves messages in the topic past the stored cursor. Before
// it produces anything, a new emitter (and an emitter whose last round
// failed) reads back the tail of each partition it writes to, finds per
// shard the highest outbox key in the `leadlog-outbox-key` headers, and
// moves the shard's cursor forward to it (stored, synced).
//
// The recovery bound: the last `batch` × n(p) messages of partition p, where
// n(p) is the number of this emitter's shards with shard % partitions == p.
// Why it is enough: a round produces at most `batch` messages per shard, and
// the next round (or a recovery) starts only after the previous round's
// cursors are stored or it has itself recovered. So at any moment, each
// shard has at most `batch` messages in the topic past its stored cursor,
// all from the last round, and nothing was appended to p after them (the
// emitter stopped; a restarted one recovers before producing). The messages
// of partition p past any stored cursor are therefore among its last
// `batch` × n(p). Messages of one shard arrive in key order without gaps
// (idempotent producer, enable.gapless.guarantee), so the highest key found
// proves every lower key of that shard was delivered.
//
// Assumptions (not checked): only leadlog writes to the actions topic, and
// only this emitter writes to the partitions its shards map to while it is
// down (another writer's messages after ours would push ours out of the
// window; with several leadlog instances, give each its own partitions or
// topic). `batch` is not lowered across a crash (restart after a crash with
// at least the batch the crashed process used), and the partition count of
// the topic does not change while actions are pending.
//
// Message: key = lead_key; value = the Action as JSON (protobuf JSON mapping,
// proto field names, all fields printed: `"action_id":"3-1042-handoff-0"`,
// 64-bit integers as strings); headers `leadlog-action-id`, `leadlog-shard`
// (decimal), `leadlog-outbox-key` (lowercase hex of the outbox key),
// `content-type: application/json`.
//
// Other streams. The same machinery publishes any ordered per-shard queue of
// projection entries: an EntryEncoder turns an entry into a message, and
// the options name the cursor, the position header and the topic. The
// change stream (consumers/change_emitter.h) publishes the lead projection's
// change entries to leadlog.leads this way, and prunes what it delivered
// (OutboxSource::Prune, after the cursor is stored).
//
// Thread-safety: EmitOnce and Run must not run concurrently (one driver
// thread); Notify and counters() may be called from any thread.
// Ownership: `log` and `source` are borrowed and must outlive the emitter.
// Durability: a message is published at least once when its round returns;
// exactly once given the assumptions above. The cursor write is synced.
//
//   ASSIGN_OR_RETURN(auto emitter, OutboxEmitter::Create(log, &source, {.brokers = b}));
//   std::atomic<bool> stop{false};
//   std::thread t([&] { LEADLOG_CHECK_OK(emitter->Run(stop)); });
//   ...; emitter->Notify();          // after committing projection state
//   stop = true; emitter->Notify(); t.join();
#ifndef LEADLOG_CONSUMERS_OUTBOX_EMITTER_H_
#define LEADLOG_CONSUMERS_OUTBOX_EMITTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "consumers/kafka_util.h"
#include "engine/event_log.h"
#include "engine/ids.h"
#include "engine/limits.h"
#include "engine/projection.h"

namespace leadlog {

// The cursor name the emitter stores its positions under (engine/cursors.h).
inline constexpr char kEmitterCursorName[] = "emitter";

// Where the emitter reads actions: the active projection version's outbox
// (ProjectionRunner::Scan with kOutboxPrefix), or a test's.
class OutboxSource {
 public:
  virtual ~OutboxSource() = default;
  virtual std::vector<ShardId> Shards() const = 0;
  // Entries of `shard` with key > after_key ("" = from the start),
  // ascending, at most limit.
  virtual absl::StatusOr<std::vector<ProjectionEntry>> Read(ShardId shard,
                                                            absl::string_view after_key,
                                                            size_t limit) const = 0;
  // Deletes the entries of `shard` up to and including `through_key`, which
  // are published and acknowledged and behind the stored cursor. Called
  // when OutboxEmitterOptions::prune_entries_min is set. Default: keeps
  // everything.
  virtual absl::Status Prune(ShardId shard, absl::string_view through_key) const {
    (void)shard;
    (void)through_key;
    return absl::OkStatus();
  }
};

// One message for one entry.
struct EmitterMessage {
  std::string key;                   // the Kafka message key
  std::optional<std::string> value;  // nullopt: a null value (a tombstone)
  // Headers after the emitter's own (`leadlog-shard` and the position
  // header, which the emitter adds to every message).
  std::vector<std::pair<std::string, std::string>> headers;
};

// Turns the entries of one stream into messages. Called on the emitter's
// thread only.
class EntryEncoder {
 public:
  virtual ~EntryEncoder() = default;
  // True (filling `sequence`, the causing record) when `key` is a
  // well-formed entry key of this stream: recovery trusts only such keys in
  // the position header.
  virtual bool ParseKey(absl::string_view key, Sequence* sequence) const = 0;
  // The message for `entry` of `shard`. DataLoss for a malformed entry.
  virtual absl::Status Encode(ShardId shard, const ProjectionEntry& entry,
                              EmitterMessage* message) const = 0;
  // A round starts. Within a round, a shard's entries are read before the
  // first Encode of that shard (an encoder may reuse what it read for
  // several entries of one shard and round).
  virtual void BeginRound() const {}
};

// The outbox's encoder: key = lead_key, value = the Action as JSON, headers
// `leadlog-action-id`, `content-type: application/json`.
const EntryEncoder& ActionEncoder();

struct OutboxEmitterOptions {
  // Kafka bootstrap servers. Required.
  std::string brokers;
  // Topic the actions go to; it must exist (the emitter does not create it).
  std::string topic = kActionsTopic;
  // Actions per shard per round (1..kEmitterBatchMax); also the recovery
  // window (see the header comment). Do not lower it across a crash.
  int batch = kEmitterBatchDefault;
  // Message bytes (keys and values) after which a round takes no further
  // entry (1..kEmitterRoundBytesMax; default kEmitterRoundBytesDefault):
  // bounds the memory a round holds in flight. A round always produces at
  // least one entry; the next round starts at the shard after the one this
  // one stopped in, so every shard is served in turn. Unlike `batch`, it
  // may change freely across restarts (a round still produces at most
  // `batch` per shard).
  int64_t round_bytes_max = kEmitterRoundBytesDefault;
  // How long a round waits for acknowledgements (librdkafka
  // message.timeout.ms), and recovery for the tail of the topic, before
  // failing with Unavailable. 1..kEmitterDeliveryTimeoutMsMax.
  int delivery_timeout_ms = kEmitterDeliveryTimeoutMsDefault;
  // Run's idle wait when nothing is pending (Notify ends it early), and its
  // wait before retrying a failed round. 1..kEmitterIdleMsMax.
  int idle_ms = kEmitterIdleMsDefault;
  // Extra librdkafka properties for the producer and the recovery reader
  // (e.g. security settings), applied after the emitter's own.
  KafkaProperties properties;
  // What the entries are and how they become messages; nullptr = the
  // outbox's actions (ActionEncoder). Borrowed: must outlive the emitter.
  const EntryEncoder* encoder = nullptr;
  // The cursor the positions are stored under (engine/cursors.h); one per
  // stream. Default kEmitterCursorName.
  std::string cursor_name = kEmitterCursorName;
  // The header carrying the entry key (lowercase hex) that recovery reads.
  std::string position_header = "leadlog-outbox-key";
  // Prune (OutboxSource::Prune) a shard's delivered entries once at least
  // this many were delivered since its last prune, and at the first round
  // after a start (entries a rebuild rewrote behind the cursor); 0 = never.
  uint64_t prune_entries_min = 0;
  // Test hook: called after a round's messages are all acknowledged and
  // before its cursors are stored (crash tests kill the process there).
  std::function<void(size_t published)> round_delivered_hook;
};

struct OutboxEmitterCounters {
  uint64_t published = 0;          // messages acknowledged in completed rounds
  uint64_t recovered_skipped = 0;  // found in the topic past the stored cursor at recovery
  uint64_t rounds = 0;             // completed rounds (including empty ones)
  uint64_t failed_rounds = 0;
  uint64_t recoveries = 0;
  uint64_t prunes = 0;             // OutboxSource::Prune calls that succeeded
  struct Shard {
    ShardId shard;
    // The cursor: the last entry published (its causing sequence and, for
    // the outbox, index); has_cursor false before the first. Lag in
    // records = projection checkpoint - sequence.
    bool has_cursor = false;
    Sequence sequence;
    uint32_t index = 0;
    std::string key;  // the cursor's entry key ("" = none)
  };
  std::vector<Shard> shards;
};

class OutboxEmitter {
 public:
  // Validates the options (InvalidArgument naming the field), creates the
  // producer and checks the brokers answer (Unavailable otherwise).
  // InvalidArgument when `log` is not from EventLog::Open (cursors need it).
  static absl::StatusOr<std::unique_ptr<OutboxEmitter>> Create(EventLog* log,
                                                               const OutboxSource* source,
                                                               OutboxEmitterOptions options);
  ~OutboxEmitter();
  OutboxEmitter(const OutboxEmitter&) = delete;
  OutboxEmitter& operator=(const OutboxEmitter&) = delete;

  // One round (recovering first when needed): returns how many actions were
  // published. Errors: Unavailable (broker, delivery or recovery timeout;
  // cursors unchanged, the next round recovers first), NotFound (topic
  // missing), DataLoss (a malformed outbox entry or stored cursor), storage
  // errors of the cursor write.
  absl::StatusOr<size_t> EmitOnce();

  // Loops EmitOnce until `stop_requested`. Idles up to idle_ms when a round
  // published less than a full batch for every shard; Notify() wakes it.
  // A failed round is logged to stderr and retried after idle_ms, except
  // DataLoss, InvalidArgument and FailedPrecondition, which Run returns.
  absl::Status Run(const std::atomic<bool>& stop_requested);

  // Wakes Run (new actions committed, or stop requested).
  void Notify();

  OutboxEmitterCounters counters() const;

  class Impl;

 private:
  explicit OutboxEmitter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_OUTBOX_EMITTER_H_
