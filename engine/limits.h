// Every bound leadlog enforces, in one place (DESIGN.md invariant 10). Each
// has a unit in its name and a test at the limit beside the code enforcing it.
//
// Thread-safe: constants only.
//
//   if (bytes.size() > kEventBytesMax) return ResourceExhausted(...);
#ifndef LEADLOG_ENGINE_LIMITS_H_
#define LEADLOG_ENGINE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace leadlog {

// --- Events in (consumers/codec) ---
// Largest accepted message value. Segment's own per-call limit is 32 KiB.
inline constexpr size_t kEventBytesMax = 32 * 1024;
// Deepest accepted JSON nesting (objects and arrays) in a message.
inline constexpr int kJsonDepthMax = 32;
// Longest messageId, userId, anonymousId, previousId, groupId.
inline constexpr size_t kIdBytesMax = 256;
// Longest track/page name.
inline constexpr size_t kEventNameBytesMax = 256;

// --- Batching (consumers/) ---
// Default and ceiling of events per appended batch (group commit).
inline constexpr int kBatchEventsDefault = 1000;
inline constexpr int kBatchEventsMax = 10000;
// Default and ceiling of the time a batch may stay open.
inline constexpr int kBatchIntervalMsDefault = 5;
inline constexpr int kBatchIntervalMsMax = 1000;
// Bytes of decoded batches queued between the poll and the write thread;
// beyond this the consumer pauses its partitions.
inline constexpr size_t kInflightBytesDefault = 64 * 1024 * 1024;
inline constexpr size_t kInflightBytesMax = 1024 * 1024 * 1024;

// --- Storage (engine/) ---
// Raw bytes kept in a dead-letter record; longer values are cut and their
// original size recorded.
inline constexpr size_t kDeadLetterRawBytesMax = 1024 * 1024;
// How long an event id is remembered for dedup, by log time.
inline constexpr int64_t kDedupWindowMsDefault = 7LL * 24 * 3600 * 1000;
// Longest Kafka topic name (Kafka's own limit).
inline constexpr size_t kTopicBytesMax = 249;
// Most records one ReadRange call may visit.
inline constexpr uint64_t kReadRangeRecordsMax = 1'000'000;

// --- Projections (engine/projection.h) ---
// Longest projection name ([a-z0-9_]).
inline constexpr size_t kProjectionNameBytesMax = 32;
// Longest key and value a fold may write through ProjectionTxn.
inline constexpr size_t kProjectionKeyBytesMax = 1024;
inline constexpr size_t kProjectionValueBytesMax = 1024 * 1024;
// Default and ceiling of records folded per committed WriteBatch.
inline constexpr uint64_t kProjectionRecordsPerCommitDefault = 1000;
inline constexpr uint64_t kProjectionRecordsPerCommitMax = 100'000;

// Distinct range deletions (ProjectionTxn::DeleteRange) one chunk may
// buffer; beyond it DeleteRange refuses (returns false) and the caller
// deletes key by key. Each costs every read of the chunk one range check,
// and each committed one a RocksDB range tombstone that reads of the
// memtable fragment until it is flushed.
inline constexpr size_t kProjectionTxnRangeDeletesMax = 1024;
// A chunk keeps its pending writes in a hash map; Scan needs them in key
// order only under the prefixes it scans. The first Scan of a prefix orders
// the pending keys of its "scan domain", the prefix's first
// kProjectionTxnScanDomainBytes bytes (e.g. "t/d/", "o/\0\0"), and keeps
// that domain ordered for the rest of the chunk. Beyond
// kProjectionTxnScanDomainsMax domains a chunk orders every key (the
// domain ""), so a write costs at most that many prefix checks.
inline constexpr size_t kProjectionTxnScanDomainBytes = 4;
inline constexpr size_t kProjectionTxnScanDomainsMax = 16;

// Committed projection state a runner keeps in memory between chunks, split
// evenly over the log's shards (ProjectionRunnerOptions::state_cache_bytes;
// keys + values + a fixed charge per entry, engine/internal/state_cache.h).
// Default and ceiling; 0 disables. The default bounds a serve at 64 shards
// to 256 MiB per runner (two runners during a blue/green rebuild), well
// inside the 1.5 GiB peak-RSS budget (issue 7).
inline constexpr size_t kProjectionStateCacheBytesDefault = 256u << 20;
inline constexpr size_t kProjectionStateCacheBytesMax = 1u << 30;
// Most threads a rebuild folds shards on (LeadProjectionOptions::
// rebuild_fold_threads; its default is the machine's cores up to this).
inline constexpr uint32_t kRebuildFoldThreadsMax = 16;

// Records a shard's log may run ahead of its live projection before the
// ingest writer waits for the projector thread (engine/live_projector.h,
// `serve --projection-lag-max`): bounds read staleness and the catch-up a
// stop or restart has to do (shards x this). Default and ceiling.
inline constexpr uint64_t kProjectionLagRecordsDefault = 4096;
inline constexpr uint64_t kProjectionLagRecordsMax = 1'000'000;

// Threads the live projector folds signalled shards on (engine/
// live_projector.h, `serve --projector-threads`): different shards fold
// concurrently, each shard on one thread at a time. 0 (automatic) means the
// machine's cores, at most kLiveProjectorThreadsAuto; the ceiling bounds
// what a flag may ask for.
inline constexpr uint32_t kLiveProjectorThreadsDefault = 0;
inline constexpr uint32_t kLiveProjectorThreadsAuto = 2;
inline constexpr uint32_t kLiveProjectorThreadsMax = 16;

static_assert(kLiveProjectorThreadsAuto <= kLiveProjectorThreadsMax);
static_assert(kLiveProjectorThreadsDefault <= kLiveProjectorThreadsMax);
static_assert(kBatchEventsDefault <= kBatchEventsMax);
static_assert(kProjectionLagRecordsDefault <= kProjectionLagRecordsMax);
static_assert(kProjectionLagRecordsDefault >= kProjectionRecordsPerCommitDefault,
              "a lagging shard must be able to fill a whole chunk");
static_assert(kProjectionRecordsPerCommitDefault <= kProjectionRecordsPerCommitMax);
static_assert(kProjectionStateCacheBytesDefault <= kProjectionStateCacheBytesMax);
static_assert(kProjectionStateCacheBytesMax >= kProjectionValueBytesMax + kProjectionKeyBytesMax,
              "the largest entry a fold may write must fit the largest cache");
static_assert(kProjectionRecordsPerCommitMax <= kReadRangeRecordsMax,
              "one chunk must be readable with one ReadRange call");
static_assert(kBatchIntervalMsDefault <= kBatchIntervalMsMax);
static_assert(kInflightBytesDefault <= kInflightBytesMax);
static_assert(kEventBytesMax <= kDeadLetterRawBytesMax,
              "a dead letter must be able to keep any accepted-size message whole");
static_assert(kInflightBytesDefault >= kBatchEventsMax * kEventBytesMax / 8,
              "the in-flight queue must hold at least a few full batches");

// --- projections/lifecycle: a lifecycle model ---
// Largest accepted model file (JSON or text format).
inline constexpr size_t kLifecycleModelBytesMax = 64 * 1024;
// Most stages in one model.
inline constexpr int kLifecycleStagesMax = 32;
// Most allowed transitions in one model.
inline constexpr int kLifecycleTransitionsMax = 256;
// Most sales-fact rules in one model.
inline constexpr int kLifecycleSalesFactRulesMax = 64;
// Longest model, stage or rule id.
inline constexpr size_t kLifecycleIdBytesMax = 64;
// Longest stage display name.
inline constexpr size_t kLifecycleNameBytesMax = 128;
// --- Bounds of a lead's lifecycle state ---
// Applied transitions kept per lead (oldest dropped beyond).
inline constexpr int kLifecycleHistoryMax = 128;
// Rejected transitions kept per lead (newest dropped beyond).
inline constexpr int kLifecycleRejectedMax = 64;
// Record sequences kept in one transition cause.
inline constexpr int kLifecycleCauseSequencesMax = 32;
// Longest reason code kept (longer ones are cut at a UTF-8 boundary).
inline constexpr size_t kLifecycleReasonBytesMax = 128;

static_assert(kLifecycleTransitionsMax >= kLifecycleStagesMax,
              "a model must be able to connect every stage");

// --- projections/scoring: a scoring model and a lead's score state ---
// Largest definition, as text (JSON / text format) and as serialized proto.
inline constexpr size_t kScoringModelBytesMax = 256 * 1024;
// Behaviour rules per model; fit rules per model.
inline constexpr int kScoringRulesMax = 1000;
inline constexpr int kScoringFitRulesMax = 1000;
// Predicates per rule (behaviour or fit).
inline constexpr int kScoringPredicatesPerRuleMax = 32;
// Operands of one `in` predicate.
inline constexpr int kScoringInValuesMax = 256;
// Longest model id, rule id, field path; longest string operand.
inline constexpr size_t kScoringIdBytesMax = 128;
inline constexpr size_t kScoringFieldBytesMax = 256;
inline constexpr size_t kScoringStringValueBytesMax = 1024;
// Largest |points| of one rule, and of a cap or grade band, in whole points.
inline constexpr int64_t kScoringPointsAbsMax = 1'000'000;
// Longest cap window and decay period, ms.
inline constexpr int64_t kScoringCapWindowMsMax = 366LL * 24 * 3600 * 1000;
inline constexpr int64_t kScoringDecayPeriodMsMax = 366LL * 24 * 3600 * 1000;
// Most awards one rule can hold in its cap window (cap points_max / |points|,
// rounded up); bounds ScoreState size.
inline constexpr int64_t kScoringCapAwardsMax = 1000;
// Most decay periods per half-life; bounds the steps decay takes to reach 0.
inline constexpr int64_t kScoringHalfLifePeriodsMax = 1000;
// Record sequences kept per rule in a breakdown (the count is kept apart).
inline constexpr int kScoringBreakdownSequencesMax = 16;

static_assert(kScoringPointsAbsMax * 1000 * kScoringRulesMax < (int64_t{1} << 62),
              "milli-point sums of all rules must not overflow int64");
static_assert(kScoringInValuesMax * kScoringStringValueBytesMax <= kScoringModelBytesMax);

// --- projections/definitions: owner routing and definition events ---
// Largest owner routing definition (text and serialized).
inline constexpr size_t kRoutingBytesMax = 256 * 1024;
// Queues per routing; owners per queue; territories per routing.
inline constexpr int kRoutingQueuesMax = 64;
inline constexpr int kRoutingOwnersPerQueueMax = 1000;
inline constexpr int kRoutingTerritoriesMax = 256;
// Longest routing id / queue id / territory id / owner id.
inline constexpr size_t kRoutingIdBytesMax = 128;
// Largest definition file or definition event of any kind.
inline constexpr size_t kDefinitionBytesMax = 256 * 1024;

// --- Erasure (engine/redaction.h, POST /v1/leads/{id}/erase) ---
// Longest erasure request id (the event id is "erasure:" + it) and reason.
inline constexpr size_t kErasureRequestIdBytesMax = 128;
inline constexpr size_t kErasureReasonBytesMax = 1024;
// Erasures kept in one lead's state (the oldest dropped beyond).
inline constexpr int kLeadErasuresMax = 16;

static_assert(kErasureRequestIdBytesMax + 8 <= kIdBytesMax,
              "an erasure's event id must be a valid event id");

// --- projections/lead: one lead's state ---
// Identifiers ("a:..", "u:..") kept per lead; merges kept in its history.
inline constexpr int kLeadIdentifiersMax = 64;
inline constexpr int kLeadMergesMax = 64;
// Profile traits kept per lead (top-level keys).
inline constexpr int kLeadProfileTraitsMax = 128;
// Keys per engagement list (pages, content, emails).
inline constexpr int kLeadEngagementKeysMax = 20;
// Owner changes kept per lead.
inline constexpr int kLeadOwnerHistoryMax = 32;

// --- engine/timers: the due-time index of a projection ---
// Longest timer id (bytes).
inline constexpr size_t kTimerIdBytesMax = 256;
// Largest timer payload (bytes).
inline constexpr size_t kTimerPayloadBytesMax = 16 * 1024;
// Timers one TimerIndex pops (PopDue) one by one before it removes the
// popped due entries with one range deletion per TimerIndex instead of one
// delete per timer (a tick firing 50 k timers writes one range tombstone; a
// record firing a few keeps point deletes, so the memtable does not collect
// a tombstone per record: RocksDB re-fragments them on reads).
inline constexpr size_t kTimerRangeDeletePopsMin = 64;

// --- consumers/outbox_emitter ---
// Actions published per emitter round (then flushed and the cursor stored);
// also how far back the emitter reads the actions topic after a restart.
inline constexpr int kEmitterBatchDefault = 500;
inline constexpr int kEmitterBatchMax = 10000;
// How long a round waits for its messages to be acknowledged before it
// fails (librdkafka message.timeout.ms).
inline constexpr int kEmitterDeliveryTimeoutMsDefault = 30'000;
inline constexpr int kEmitterDeliveryTimeoutMsMax = 600'000;
// How long Run idles when nothing is pending (Notify wakes it earlier).
inline constexpr int kEmitterIdleMsDefault = 1000;
inline constexpr int kEmitterIdleMsMax = 60'000;
// Message bytes (keys and values) one emitter round produces before it
// stops taking more (the round's messages wait in librdkafka until they
// are acknowledged). The change stream's messages are whole leads
// (≈ 4–5 KiB): 500 per shard over 64 shards could hold ≈ 160 MiB in
// flight; with this bound serve's peak RSS in a 2 M-event projection-live
// run fell from ≈ 1,000 to ≈ 630 MiB at the same speed (docs/BENCHMARKS.md
// "Change stream rounds bounded in bytes").
inline constexpr int64_t kEmitterRoundBytesDefault = int64_t{16} << 20;
inline constexpr int64_t kEmitterRoundBytesMax = int64_t{1} << 30;

// --- engine/thread_priority: serve's background threads ---
// Nice value serve's ingest, live projection and emitter threads run at
// (--background-nice): 0 = the process's own priority, 19 = Linux's lowest.
// Negative (higher priority) is refused: it needs CAP_SYS_NICE. Off by
// default: measured on 2 shared cores, a niced writer or projector holding a
// lock a request needs (RocksDB's, a runner's checkpoint mutex) stretched
// the lookup p99 instead of cutting it (docs/BENCHMARKS.md "HTTP API").
inline constexpr int kBackgroundNiceMin = 0;
inline constexpr int kBackgroundNiceMax = 19;
inline constexpr int kBackgroundNiceDefault = 0;
static_assert(kBackgroundNiceMin <= kBackgroundNiceDefault &&
              kBackgroundNiceDefault <= kBackgroundNiceMax);

// --- consumers/change_emitter.h ---
// Change entries a shard delivers between two prunes of its delivered
// entries (one RocksDB range deletion each: few range tombstones).
inline constexpr uint64_t kChangesPruneEntriesMin = 10'000;

// --- engine/outbox.h ---
// Longest action type ([a-z0-9_]); it is part of the action id.
inline constexpr size_t kActionTypeBytesMax = 64;
// Most actions one log record may cause. A clock tick after downtime fires
// every overdue timer of its shard and attributes their actions to itself
// (50 k SLA warnings among 1 M leads in bench/tick_bench), so this bounds a
// shard's simultaneous timers, not a lead's: 16 M. They commit in one
// WriteBatch (~0.5 KB each), so memory, not this limit, is what a tick that
// large costs.
inline constexpr uint32_t kOutboxActionsPerRecordMax = 1u << 24;

// --- engine/proto_json.h ---
// Deepest message nesting AppendProtoJson renders (each message, Value,
// Struct and ListValue level counts; the top-level message is level 0), as
// protobuf 3.21's MessageToJsonString (ProtoStreamObjectSource's default
// recursion limit): deeper is InvalidArgument from both. Event JSON is
// bounded far below it (kJsonDepthMax).
inline constexpr int kProtoJsonDepthMax = 64;

// --- engine/cursors.h ---
// Longest cursor name ([a-z0-9_]) and stored cursor value.
inline constexpr size_t kCursorNameBytesMax = 32;
inline constexpr size_t kCursorValueBytesMax = 1024;

static_assert(kEmitterBatchDefault <= kEmitterBatchMax);
static_assert(kEmitterDeliveryTimeoutMsDefault <= kEmitterDeliveryTimeoutMsMax);
static_assert(kEmitterIdleMsDefault <= kEmitterIdleMsMax);

// --- projections/calendar: a business calendar and its clock ---
// Largest calendar file (JSON / text format).
inline constexpr size_t kCalendarBytesMax = 64 * 1024;
// Longest calendar id; longest time zone name.
inline constexpr size_t kCalendarIdBytesMax = 64;
inline constexpr size_t kCalendarTimeZoneBytesMax = 64;
// Working windows per calendar; holidays per calendar.
inline constexpr int kCalendarWindowsMax = 64;
inline constexpr int kCalendarHolidaysMax = 1000;
// Most local days one clock call examines. An answer further away is
// "never" (BusinessCalendarClock::kNever); WorkingMsBetween stops counting
// there. 8 weeks per holiday (+1) leave room for every holiday to remove a
// working day and for DST gaps to swallow a few short windows, so a
// validated calendar always has a next working instant within this range.
inline constexpr int64_t kCalendarSearchDaysMax = 8 * (int64_t{kCalendarHolidaysMax} + 1);
// Largest working time one AddWorkingMs call may add (an SLA duration), ms.
inline constexpr int64_t kCalendarWorkingMsMax = 366LL * 24 * 3600 * 1000;
// Last instant a clock computes with (9999-12-31T23:59:59.999Z); later
// instants are "never", earlier than 0 (1970) are read as 0.
inline constexpr int64_t kCalendarTimeMsMax = 253'402'300'799'999;

static_assert(kCalendarSearchDaysMax >= 7 * (int64_t{kCalendarHolidaysMax} + 1),
              "holidays alone must never hide every working day of the search range");
static_assert(kCalendarHolidaysMax * 14 <= static_cast<int>(kCalendarBytesMax),
              "a calendar of maximal holidays (\"YYYY-MM-DD\", ) must fit in a file");
static_assert(kCalendarSearchDaysMax * 24 * 3600 * 1000 < kCalendarTimeMsMax,
              "a search range must fit in the computed time range");

// --- projections/flows: nurture flows and their per-lead state ---
// Largest flow or governance definition (text and serialized).
inline constexpr size_t kFlowBytesMax = 256 * 1024;
// Steps, triggers, streams, content pieces per stream, branch cases, exit
// criteria per flow.
inline constexpr int kFlowStepsMax = 200;
inline constexpr int kFlowTriggersMax = 32;
inline constexpr int kFlowStreamsMax = 32;
inline constexpr int kFlowStreamContentMax = 500;
inline constexpr int kFlowBranchCasesMax = 32;
inline constexpr int kFlowExitCriteriaMax = 32;
// Flows in force at once (per shard).
inline constexpr int kFlowsInForceMax = 200;
// Shortest and longest wait / cadence / timeout, ms.
inline constexpr int64_t kFlowWaitMsMin = 60'000;
inline constexpr int64_t kFlowWaitMsMax = 366LL * 24 * 3600 * 1000;
// Steps one record or timer may run before the engine stops (a cycle is
// rejected at validation; this bounds what validation cannot see).
inline constexpr int kFlowStepsPerRunMax = 256;
// Journey entries kept per enrollment (oldest dropped, counted).
inline constexpr int kFlowJourneyMax = 100;
// How far ahead a run parked at kFlowStepsPerRunMax resumes (OnTimer), ms.
inline constexpr int64_t kFlowParkDelayMs = 60'000;
static_assert(kFlowParkDelayMs > 0, "a parked run must resume strictly later");
// Per lead: content ids kept as sent; recent events kept for windows; send
// records kept for caps.
inline constexpr int kNurtureSentContentMax = 2000;
inline constexpr int kNurtureRecentEventsMax = 64;
inline constexpr int kNurtureSendsMax = 1000;
// projections/flows/conditions: event windows per condition; frequency caps
// per governance; longest channel name ([a-z_]); longest lead time zone
// name; zone names whose load result is cached per process; last instant a
// local-time computation accepts (9999-12-31T23:59:59.999Z).
inline constexpr int kFlowConditionEventWindowsMax = 16;
inline constexpr int kFlowCapsMax = 32;
inline constexpr size_t kFlowChannelBytesMax = 32;
inline constexpr size_t kFlowTimeZoneBytesMax = 64;
inline constexpr int kFlowTimeZonesCachedMax = 256;
inline constexpr int64_t kFlowTimeMsMax = 253'402'300'799'999;

static_assert(kNurtureSendsMax >= 1, "a cap of one send must be enforceable");
static_assert(kFlowWaitMsMin < kFlowWaitMsMax);

// --- projections/revenue: revenue ops rules (recycling, SLAs, stale records) ---
// Largest rules definition (text and serialized).
inline constexpr size_t kRevenueRulesBytesMax = 128 * 1024;
// Longest rule, definition, stage, reason, flow, queue, template id.
inline constexpr size_t kRevenueIdBytesMax = 64;
// Recycle rules, SLAs, rejection rules per definition; stages per rule;
// reason codes per rejection rule; stop facts per SLA.
inline constexpr int kRevenueRecycleRulesMax = 64;
inline constexpr int kRevenueSlasMax = 32;
inline constexpr int kRevenueRejectionRulesMax = 64;
inline constexpr int kRevenueStagesPerRuleMax = 32;
inline constexpr int kRevenueReasonsPerRuleMax = 32;
inline constexpr int kRevenueSlaStopFactsMax = 8;
// Shortest and longest stall / stage age / cool-down / re-contact / stale
// duration, ms.
inline constexpr int64_t kRevenueDurationMsMin = 60'000;
inline constexpr int64_t kRevenueDurationMsMax = 366LL * 24 * 3600 * 1000;
// Longest SLA target, working ms (one AddWorkingMs call).
inline constexpr int64_t kRevenueSlaWorkingMsMax = 366LL * 24 * 3600 * 1000;
// Highest RecyclePolicy.recycles_max.
inline constexpr uint32_t kRevenueRecyclesMaxCeiling = 100;
// SLA clocks kept per lead (open + most recent closed; open are never dropped).
inline constexpr int kRevenueSlaClocksKeptMax = 48;

static_assert(kRevenueSlaWorkingMsMax <= kCalendarWorkingMsMax,
              "an SLA target must be addable by one BusinessCalendarClock call");
static_assert(kRevenueSlaClocksKeptMax >= kRevenueSlasMax,
              "every open clock of a lead (one per SLA at most) must be kept");
static_assert(kRevenueRulesBytesMax <= kDefinitionBytesMax);
static_assert(kRevenueDurationMsMin < kRevenueDurationMsMax);

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_LIMITS_H_
