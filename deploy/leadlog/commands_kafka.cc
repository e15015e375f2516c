// Commands that talk Kafka: broker, serve, demo.
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/clock.h"
#include "consumers/codec.h"
#include "consumers/embedded_broker.h"
#include "consumers/kafka_ingest.h"
#include "consumers/kafka_util.h"
#include "consumers/outbox_emitter.h"
#include "consumers/workload.h"
#include "deploy/leadlog/commands.h"
#include "deploy/leadlog/lead_changes.h"
#include "deploy/leadlog/serve_http.h"
#include "engine/live_projector.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"
#include "projections/lead/lead_projection.h"

namespace leadlog::cli {
namespace {

// Set by SIGTERM/SIGINT; the ingest (if running) is stopped through it too.
std::atomic<bool> g_stop{false};
std::atomic<KafkaIngest*> g_ingest{nullptr};
// Set by SIGUSR1: serve rebuilds the lead projection blue/green.
std::atomic<bool> g_rebuild{false};

void OnSignal(int) {
  g_stop.store(true);
  if (KafkaIngest* ingest = g_ingest.load()) ingest->Stop();
}

void OnRebuildSignal(int) { g_rebuild.store(true); }

void InstallSignalHandlers() {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  struct sigaction rebuild = {};
  rebuild.sa_handler = OnRebuildSignal;
  sigemptyset(&rebuild.sa_mask);
  sigaction(SIGUSR1, &rebuild, nullptr);
}

// Prints the bootstrap line on stdout (flushed: scripts wait for it) and
// optionally writes it to a file, for tests and scripts.
absl::Status AnnounceBootstrap(const std::string& bootstrap, const std::string& file) {
  std::cout << "kafka bootstrap: " << bootstrap << std::endl;
  if (file.empty()) return absl::OkStatus();
  std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp);
    out << bootstrap << "\n";
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), file.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", file));
  }
  return absl::OkStatus();
}

absl::StatusOr<KafkaProperties> ParseProperties(const std::vector<std::string>& texts) {
  KafkaProperties properties;
  for (const std::string& text : texts) {
    ASSIGN_OR_RETURN(auto property, ParseKafkaProperty(text));
    properties.push_back(std::move(property));
  }
  return properties;
}

}  // namespace

int Broker(const Args& argv) {
  CliArgs args("broker");
  args.String("partitions", "N", "partitions of leadlog.events and its companions", "8");
  args.String("projector-threads", "N",
              "threads folding shards of the live projection concurrently (0 = the machine's "
              "cores, at most " + std::to_string(kLiveProjectorThreadsAuto) + ")",
              std::to_string(kLiveProjectorThreadsDefault));
  args.String("bootstrap-file", "FILE", "also write the bootstrap address to FILE");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  auto partitions = args.GetInt("partitions", 1, 1024);
  if (!partitions.ok()) return Fail("broker", partitions.status());
  InstallSignalHandlers();
  EmbeddedBrokerOptions options;
  options.partitions = static_cast<int>(*partitions);
  auto broker = EmbeddedBroker::Start(options);
  if (!broker.ok()) return Fail("broker", broker.status());
  if (auto s = AnnounceBootstrap((*broker)->bootstrap(), args.Get("bootstrap-file")); !s.ok()) {
    return Fail("broker", s);
  }
  while (!g_stop.load()) pause();  // woken by the signal
  return 0;
}

namespace {

void DeclareServeFlags(CliArgs& args) {
  args.String("data-dir", "DIR", "the log's directory (created if missing)").Required();
  args.String("brokers", "LIST", "Kafka bootstrap servers; without it an embedded broker starts");
  args.String("topic", "T", "the events topic", kEventsTopic);
  args.String("group", "G", "the consumer group", "leadlog");
  args.Bool("assign-partitions",
            "the only consumer of the topic: take every partition at start without joining the "
            "group (always so with the embedded broker)");
  args.String("dead-letter-topic", "T", "topic for bad messages (\"\" = stored record only)",
              kDeadLetterTopic);
  args.String("partitions", "N", "partitions of the embedded broker's topics", "8");
  args.String("batch-events", "N", "a batch closes at N messages", "1000");
  args.String("batch-ms", "MS", "... or after MS milliseconds", "5");
  args.String("inflight-mb", "MB", "queued batches before partitions pause", "64");
  args.Bool("no-fsync", "do not fsync each batch (a machine crash may lose the last batches)");
  args.Bool("no-projections",
            "ingest only: no live lead projection, no actions (they catch up on the next start)");
  args.String("projection-lag-max", "N",
              "records a shard may be appended ahead of its live projection before ingest waits",
              std::to_string(kProjectionLagRecordsDefault));
  args.String("projector-threads", "N",
              "threads folding shards of the live projection concurrently (0 = the machine's "
              "cores, at most " + std::to_string(kLiveProjectorThreadsAuto) + ")",
              std::to_string(kLiveProjectorThreadsDefault));
  args.String("bootstrap-file", "FILE", "also write the bootstrap address to FILE");
  args.String("progress-ms", "MS", "print progress to stderr every MS ms (0 = never)", "10000");
  args.String("broker-timeout-ms", "MS", "fail if no broker answers within MS", "10000");
  args.String("tick-ms", "MS", "append a ClockTick to a shard idle for MS (0 = never)", "60000");
  args.Repeated("X", "KEY=VALUE", "librdkafka property (SASL/TLS, session.timeout.ms, ...)");
  args.String("actions-topic", "T", "where outbox actions are published (\"\" = not published)",
              kActionsTopic);
  args.String("changes-topic", "T", "compacted topic of lead state changes, keyed by lead",
              kLeadsTopic);
  args.String("changes-format", "json|protobuf", "value format on the changes topic", "json");
  args.Bool("no-changes", "do not publish lead changes (they stay pending in the projection)");
  DeclareHttpFlags(args);
}

// The change stream of serve (README "Change stream"), or nullptr when off.
absl::StatusOr<std::unique_ptr<ChangeStream>> StartChanges(const CliArgs& args, EventLog* log,
                                                           LeadProjection* projection,
                                                           const KafkaIngestOptions& ingest) {
  if (projection == nullptr || args.GetBool("no-changes")) return std::unique_ptr<ChangeStream>();
  ChangeStream::Options options;
  ASSIGN_OR_RETURN(options.format, ParseChangeFormat(args.Get("changes-format")));
  options.brokers = ingest.brokers;
  options.topic = args.Get("changes-topic");
  options.properties = ingest.properties;
  return ChangeStream::Start(log, projection, std::move(options));
}

// The emitter reads the outbox of the lead projection's active version.
class LeadOutboxSource final : public OutboxSource {
 public:
  explicit LeadOutboxSource(const LeadProjection* projection) : projection_(projection) {}
  std::vector<ShardId> Shards() const override { return projection_->log()->Shards(); }
  absl::StatusOr<std::vector<ProjectionEntry>> Read(ShardId shard, absl::string_view after_key,
                                                    size_t limit) const override {
    return projection_->runner()->Scan(shard, kOutboxPrefix,
                                       after_key.empty() ? kOutboxPrefix : after_key, limit);
  }

 private:
  const LeadProjection* const projection_;
};

void PrintRebuild(const absl::StatusOr<RebuildReport>& report) {
  if (!report.ok()) {
    std::cerr << "leadlog serve: rebuild failed: " << report.status() << "\n";
    return;
  }
  std::cerr << "leadlog serve: rebuilt lead v" << report->old_version << " -> v"
            << report->new_version << ": " << report->records << " records in "
            << report->seconds << " s; state "
            << (report->identical ? "identical to the live version" : "DIFFERS from the live version")
            << "\n";
}

// The live lead projection's own thread (engine/live_projector.h): the
// ingest writer signals the shards it appended to and waits only when one
// lags more than --projection-lag-max records; the projector catches them up,
// calls `shard_done` after each (HTTP min_position waiters) and `round_done`
// after each pass over them (the emitters, which scan every shard per round).
absl::StatusOr<std::unique_ptr<LiveProjector>> StartProjector(const CliArgs& args, EventLog* log,
                                                              LeadProjection* projection,
                                                              std::function<void()> shard_done,
                                                              std::function<void()> round_done) {
  LiveProjectorOptions options;
  ASSIGN_OR_RETURN(int64_t lag_max, args.GetInt("projection-lag-max", 1, kProjectionLagRecordsMax));
  options.lag_records_max = static_cast<uint64_t>(lag_max);
  ASSIGN_OR_RETURN(int64_t threads, args.GetInt("projector-threads", 0, kLiveProjectorThreadsMax));
  options.threads = static_cast<uint32_t>(threads);
  LiveProjectorCallbacks callbacks;
  callbacks.catch_up = [projection](ShardId shard) { return projection->CatchUp({shard}); };
  callbacks.checkpoint = [projection](ShardId shard) { return projection->runner()->Checkpoint(shard); };
  callbacks.progress = std::move(shard_done);
  callbacks.round_done = std::move(round_done);
  callbacks.error = [](const absl::Status& status) {
    std::cerr << "leadlog serve: live projection (retried on the next batch): " << status << "\n";
  };
  return LiveProjector::Start(log, options, std::move(callbacks));
}

// Records the live projection has folded, over every shard (progress lines).
uint64_t ProjectedRecords(const LeadProjection& projection) {
  std::shared_ptr<const ProjectionRunner> runner = projection.runner();
  uint64_t projected = 0;
  for (ShardId shard : projection.log()->Shards()) projected += runner->Checkpoint(shard).value();
  return projected;
}

// serve's progress line (bench/run.sh and tests parse it), with the records
// the live projection has folded when `projection` is set. Quiet while idle;
// the line after the last append (and the last catch-up) shows it too.
std::function<void(const IngestCounters&)> ProgressPrinter(const LeadProjection* projection) {
  return [projection, last = uint64_t{UINT64_MAX}](const IngestCounters& c) mutable {
    const uint64_t projected = projection != nullptr ? ProjectedRecords(*projection) : 0;
    const uint64_t done = c.messages + c.appended + c.duplicates + c.dead_letters + projected;
    if (done == last) return;
    last = done;
    std::cerr << "leadlog serve: consumed " << c.messages << ", appended " << c.appended
              << ", duplicates " << c.duplicates << ", dead letters " << c.dead_letters;
    if (projection != nullptr) std::cerr << ", projected " << projected;
    std::cerr << "\n";
  };
}

// Everything but the brokers, from the parsed flags.
absl::StatusOr<KafkaIngestOptions> ServeOptions(const CliArgs& args) {
  KafkaIngestOptions options;
  ASSIGN_OR_RETURN(int64_t batch_events, args.GetInt("batch-events", 1, kBatchEventsMax));
  ASSIGN_OR_RETURN(int64_t batch_ms, args.GetInt("batch-ms", 0, kBatchIntervalMsMax));
  ASSIGN_OR_RETURN(int64_t inflight_mb, args.GetInt("inflight-mb", 1, kInflightBytesMax >> 20));
  ASSIGN_OR_RETURN(int64_t progress_ms, args.GetInt("progress-ms", 0, 3600 * 1000));
  ASSIGN_OR_RETURN(int64_t timeout_ms, args.GetInt("broker-timeout-ms", 100, 600'000));
  ASSIGN_OR_RETURN(options.clock_tick_interval_ms, args.GetInt("tick-ms", 0, 24LL * 3600 * 1000));
  ASSIGN_OR_RETURN(options.properties, ParseProperties(args.GetAll("X")));
  options.topic = args.Get("topic");
  options.group = args.Get("group");
  options.assign_partitions = args.GetBool("assign-partitions");
  options.dead_letter_topic = args.Get("dead-letter-topic");
  options.batch.batch_events_max = static_cast<int>(batch_events);
  options.batch.batch_interval_ms = static_cast<int>(batch_ms);
  options.inflight_bytes_max = static_cast<size_t>(inflight_mb) << 20;
  options.progress_interval_ms = static_cast<int>(progress_ms);
  options.broker_timeout_ms = static_cast<int>(timeout_ms);
  options.progress = ProgressPrinter(nullptr);
  return options;
}

// Starts the embedded broker with serve's topics and points `options` at it.
absl::StatusOr<std::unique_ptr<EmbeddedBroker>> StartEmbeddedBroker(const CliArgs& args,
                                                                    KafkaIngestOptions* options) {
  EmbeddedBrokerOptions broker_options;
  ASSIGN_OR_RETURN(int64_t partitions, args.GetInt("partitions", 1, 1024));
  broker_options.partitions = static_cast<int>(partitions);
  broker_options.topics = {options->topic, kActionsTopic, args.Get("changes-topic")};
  if (!options->dead_letter_topic.empty()) broker_options.topics.push_back(options->dead_letter_topic);
  ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedBroker> broker, EmbeddedBroker::Start(broker_options));
  options->brokers = broker->bootstrap();
  // The broker lives and dies with this process: nobody shares its
  // partitions, so skip the group join (3 s on the mock) on every start.
  options->assign_partitions = true;
  // The mock waits session.timeout.ms - 1 s per rebalance: keep it short
  // (flags given with -X come later and win).
  options->properties.insert(options->properties.begin(),
                             {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "1000"}});
  RETURN_IF_ERROR(AnnounceBootstrap(broker->bootstrap(), args.Get("bootstrap-file")));
  return broker;
}

}  // namespace

int Serve(const Args& argv) {
  const int64_t start_ms = SystemClock::Get()->MonotonicMs();
  CliArgs args("serve");
  DeclareServeFlags(args);
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  absl::StatusOr<KafkaIngestOptions> options = ServeOptions(args);
  if (!options.ok()) return Fail("serve", options.status());
  if (auto s = SetBackgroundNiceFromFlags(args); !s.ok()) return Fail("serve", s);
  InstallSignalHandlers();
  auto log = OpenLog(args.Get("data-dir"), false, !args.GetBool("no-fsync"));
  if (!log.ok()) return Fail("serve", log.status());
  std::unique_ptr<EmbeddedBroker> broker;
  if (args.Has("brokers")) {
    options->brokers = args.Get("brokers");
  } else {
    auto started = StartEmbeddedBroker(args, &*options);
    if (!started.ok()) return Fail("serve", started.status());
    broker = std::move(*started);
  }
  // The lead projection: caught up with what was appended before a restart,
  // then live on its own thread (StartProjector), signalled after every
  // appended batch.
  const bool projections = !args.GetBool("no-projections");
  absl::StatusOr<std::unique_ptr<LeadProjection>> projection =
      projections ? LeadProjection::Open(log->get(), LeadProjectionOptions{})
                  : absl::StatusOr<std::unique_ptr<LeadProjection>>(nullptr);
  if (!projection.ok()) return Fail("serve", projection.status());
  if (projections) {
    if (auto s = (*projection)->CatchUpAll(); !s.ok()) return Fail("serve", s);
  }
  std::unique_ptr<OutboxEmitter> emitter;    // set below, before ingest runs
  std::unique_ptr<ChangeStream> changes;     // likewise
  std::unique_ptr<ServeHttp> http;           // likewise
  std::unique_ptr<LiveProjector> projector;  // likewise
  if (projections) {
    // No round runs before the first Appended (once ingest runs), so the
    // objects the callbacks notify are all set by then.
    auto started = StartProjector(
        args, log->get(), projection->get(),
        [&] {
          if (http != nullptr) http->Notify();  // wakes min_position waiters
        },
        [&] {
          if (emitter != nullptr) emitter->Notify();
          if (changes != nullptr) changes->Notify();
        });
    if (!started.ok()) return Fail("serve", started.status());
    projector = *std::move(started);
    options->after_append = [&projector](const std::vector<ShardId>& shards) {
      return projector->Appended(shards);
    };
    options->progress = ProgressPrinter(projection->get());
  }
  // The consumer is created first: it reports unreachable brokers in one line.
  auto ingest = KafkaIngest::Create(*options, log->get());
  if (!ingest.ok()) return Fail("serve", ingest.status());
  LeadOutboxSource outbox(projection->get());
  if (projections && !args.Get("actions-topic").empty()) {
    OutboxEmitterOptions emitter_options;
    emitter_options.brokers = options->brokers;
    emitter_options.topic = args.Get("actions-topic");
    emitter_options.properties = options->properties;
    auto created = OutboxEmitter::Create(log->get(), &outbox, emitter_options);
    if (!created.ok()) return Fail("serve", created.status());
    emitter = std::move(*created);
  }
  auto changes_started = StartChanges(args, log->get(), projection->get(), *options);
  if (!changes_started.ok()) return Fail("serve", changes_started.status());
  changes = std::move(*changes_started);
  if (projections) {
    auto started = ServeHttp::Start(args, {projection->get(), log->get(), ingest->get(),
                                           emitter.get(), projector.get(), options->brokers,
                                           options->topic, options->properties});
    if (!started.ok()) return Fail("serve", started.status());
    http = *std::move(started);
  }
  // Throughput work from here on (this thread's ingest loop, and the
  // emitter, control and ingest threads it starts, which inherit it) runs
  // at --background-nice; the HTTP threads started above keep serve's.
  if (auto s = LowerThreadToBackground(); !s.ok()) std::cerr << "leadlog serve: " << s << "\n";
  std::atomic<bool> emitter_stop{false};
  std::thread emitter_thread;
  if (emitter != nullptr) {
    emitter_thread = std::thread([&] {
      NameThisThread("ll-actions");
      absl::Status s = emitter->Run(emitter_stop);
      if (!s.ok()) std::cerr << "leadlog serve: action emitter stopped: " << s << "\n";
    });
  }
  // SIGUSR1 asks for a blue/green rebuild of the lead projection while
  // ingest goes on.
  std::atomic<bool> control_stop{false};
  std::thread control([&] {
    NameThisThread("ll-control");
    while (!control_stop.load()) {
      if (g_rebuild.exchange(false) && projections) {
        PrintRebuild((*projection)->Rebuild());
        if (http != nullptr) http->Notify();
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  });
  // For restart benchmarks (bench/run.sh): the time before the consumer
  // starts (log open, projections caught up with the log).
  std::cerr << "leadlog serve: ready in " << SystemClock::Get()->MonotonicMs() - start_ms
            << " ms (log open, projections caught up); consuming "
            << (options->assign_partitions ? "every partition (assigned, no group join)"
                                           : "as a member of group " + options->group)
            << "\n";
  g_ingest.store(ingest->get());
  if (g_stop.load()) (*ingest)->Stop();
  absl::Status status = (*ingest)->Run();
  g_ingest.store(nullptr);
  // The last batches' catch-up (bounded by --projection-lag-max per shard),
  // before the HTTP API and the emitters stop.
  if (projector != nullptr) projector->Stop();
  if (http != nullptr) http->Stop();
  IngestCounters c = (*ingest)->counters();
  std::cerr << "leadlog serve: stopped; consumed " << c.messages << ", appended " << c.appended
            << ", duplicates " << c.duplicates << ", dead letters " << c.dead_letters << "\n";
  if (projector != nullptr) {
    const LiveProjectorCounters p = projector->counters();
    std::cerr << "leadlog serve: live projection: " << p.catch_ups << " shard catch-ups, "
              << p.errors << " errors; ingest waited " << p.waits << " times (" << p.wait_ms
              << " ms) for it; largest lag seen " << p.lag_records_max_seen << " records\n";
  }
  control_stop.store(true);
  control.join();
  if (emitter != nullptr) {
    emitter_stop.store(true);
    emitter->Notify();
    emitter_thread.join();
    // What the last batches handed off is published before exit.
    if (auto last = emitter->EmitOnce(); !last.ok()) {
      std::cerr << "leadlog serve: final action round: " << last.status() << "\n";
    }
  }
  if (changes != nullptr) {
    if (auto s = changes->Stop(); !s.ok()) std::cerr << "leadlog serve: change stream: " << s << "\n";
  }
  if (!status.ok()) return Fail("serve", status);
  return 0;
}

namespace {

// Publishes events to Kafka, keyed by lead, with an idempotent producer.
// librdkafka's own log lines go through the event callback (served by poll)
// instead of stderr, so a failure is reported as one line.
class DemoPublisher : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  absl::Status Init(const std::string& brokers, const KafkaProperties& extra) {
    brokers_ = brokers;
    KafkaProperties props = {{"bootstrap.servers", brokers}, {"enable.idempotence", "true"},
                             {"linger.ms", "20"},           {"log_level", "4"}};
    props.insert(props.end(), extra.begin(), extra.end());
    ASSIGN_OR_RETURN(auto conf, MakeKafkaConf(props));
    std::string error;
    conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), error);
    conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (producer_ == nullptr) return absl::InvalidArgumentError(absl::StrCat("producer: ", error));
    return CheckBrokersReachable(producer_.get(), brokers, 10000);
  }
  absl::Status Publish(const std::string& topic, const std::string& key, const std::string& value,
                       const char* content_type) {
    RdKafka::Headers* headers = RdKafka::Headers::create();
    headers->add("content-type", content_type);
    while (true) {
      RdKafka::ErrorCode err = producer_->produce(
          topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, headers, nullptr);
      if (err == RdKafka::ERR_NO_ERROR) break;
      if (err != RdKafka::ERR__QUEUE_FULL) {
        delete headers;
        return KafkaStatus(err, "publish");
      }
      producer_->poll(50);  // local queue full: let deliveries drain
    }
    producer_->poll(0);
    return absl::OkStatus();
  }
  absl::Status Flush() {
    RETURN_IF_ERROR(KafkaStatus(producer_->flush(60000), "flush"));
    if (failed_ > 0) return absl::UnavailableError(absl::StrCat(failed_, " messages not delivered"));
    return absl::OkStatus();
  }
  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      ++failed_;
      return;
    }
    const auto p = static_cast<size_t>(message.partition());
    if (p >= delivered_.size()) delivered_.resize(p + 1);
    Delivered& d = delivered_[p];
    d.offsets.emplace_back(message.offset(), d.bytes);
    d.bytes += message.len();
  }
  // Blocks while some partition of `topic` holds more than `max_bytes` of
  // delivered messages past `group`'s committed offset (serve commits its
  // offsets after each append). The embedded (mock) broker keeps only ~5 MiB
  // per partition and silently evicts the oldest messages, consumed or not,
  // so a producer far ahead of the consumer loses messages.
  absl::Status WaitForConsumer(const std::string& topic, const std::string& group, uint64_t max_bytes) {
    if (lag_consumer_ == nullptr) {
      ASSIGN_OR_RETURN(auto conf, MakeKafkaConf({{"bootstrap.servers", brokers_},
                                                 {"group.id", group},
                                                 {"enable.auto.commit", "false"},
                                                 {"log_level", "4"}}));
      std::string error;
      lag_consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), error));
      if (lag_consumer_ == nullptr) return absl::InvalidArgumentError(absl::StrCat("consumer: ", error));
    }
    while (true) {
      producer_->poll(0);
      std::vector<RdKafka::TopicPartition*> partitions;
      for (size_t p = 0; p < delivered_.size(); ++p) {
        if (!delivered_[p].offsets.empty()) {
          partitions.push_back(RdKafka::TopicPartition::create(topic, static_cast<int>(p)));
        }
      }
      if (partitions.empty()) return absl::OkStatus();
      RdKafka::ErrorCode err = lag_consumer_->committed(partitions, 10000);
      uint64_t ahead_max = 0;
      for (RdKafka::TopicPartition* tp : partitions) {
        Delivered& d = delivered_[tp->partition()];
        const int64_t committed = err == RdKafka::ERR_NO_ERROR ? tp->offset() : 0;
        while (!d.offsets.empty() && d.offsets.front().first < committed) d.offsets.pop_front();
        if (!d.offsets.empty()) ahead_max = std::max(ahead_max, d.bytes - d.offsets.front().second);
      }
      RdKafka::TopicPartition::destroy(partitions);
      if (ahead_max <= max_bytes) return absl::OkStatus();
      producer_->poll(20);
    }
  }
  // Transient broker errors are retried by librdkafka; undelivered messages
  // surface through dr_cb and Flush().
  void event_cb(RdKafka::Event&) override {}

 private:
  // Delivered messages of one partition not yet known to be consumed:
  // (offset, bytes delivered before it), oldest first.
  struct Delivered {
    std::deque<std::pair<int64_t, uint64_t>> offsets;
    uint64_t bytes = 0;
  };
  std::string brokers_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::KafkaConsumer> lag_consumer_;  // reads committed offsets only
  std::vector<Delivered> delivered_;  // by partition
  uint64_t failed_ = 0;
};

}  // namespace

int Demo(const Args& argv) {
  CliArgs args("demo");
  args.String("brokers", "LIST", "publish to these Kafka bootstrap servers");
  args.String("topic", "T", "the events topic", kEventsTopic);
  args.String("out", "FILE|-", "write Segment JSON lines instead of publishing");
  args.String("format", "json|protobuf", "message format when publishing", "json");
  args.String("leads", "N", "number of leads", "1000");
  args.String("events", "N", "number of events", "20000");
  args.String("seed", "N", "random seed (same seed, same workload)", "42");
  args.String("rate", "N", "publish at most N events per second (0 = as fast as possible)", "0");
  args.String("max-ahead-kb", "KB",
              "stay at most KB of delivered messages per partition ahead of --group's committed "
              "offsets (0 = off; the embedded broker evicts past ~5 MiB per partition)",
              "0");
  args.String("group", "G", "the consumer group --max-ahead-kb waits for", "leadlog");
  args.Repeated("X", "KEY=VALUE", "librdkafka property for the producer");
  int code = 0;
  if (!ParseOrUsage(args, argv, &code)) return code;
  if (args.Has("brokers") == args.Has("out")) {
    return Fail("demo", absl::InvalidArgumentError("give exactly one of --brokers or --out"));
  }
  const std::string format = args.Get("format");
  if (format != "json" && format != "protobuf") {
    return Fail("demo", absl::InvalidArgumentError("--format: expected json or protobuf"));
  }
  auto leads = args.GetInt("leads", 1, 10'000'000);
  auto events = args.GetInt("events", 1, 1'000'000'000);
  auto seed = args.GetInt("seed", 0, INT64_MAX);
  auto rate = args.GetInt("rate", 0, 100'000'000);
  auto ahead_kb = args.GetInt("max-ahead-kb", 0, 1'000'000);
  auto properties = ParseProperties(args.GetAll("X"));
  for (const absl::Status& s :
       {leads.status(), events.status(), seed.status(), rate.status(), ahead_kb.status(),
        properties.status()}) {
    if (!s.ok()) return Fail("demo", s);
  }
  WorkloadOptions options;
  options.leads = static_cast<uint32_t>(*leads);
  options.events = static_cast<uint64_t>(*events);
  options.seed = static_cast<uint64_t>(*seed);
  auto workload = Workload::Create(options);
  if (!workload.ok()) return Fail("demo", workload.status());

  DemoPublisher publisher;
  std::ofstream file;
  std::ostream* out = nullptr;
  if (args.Has("brokers")) {
    if (auto s = publisher.Init(args.Get("brokers"), *properties); !s.ok()) return Fail("demo", s);
  } else if (args.Get("out") == "-") {
    out = &std::cout;
  } else {
    file.open(args.Get("out"));
    if (!file) return Fail("demo", absl::InternalError(absl::StrCat("cannot write ", args.Get("out"))));
    out = &file;
  }
  v1::Event event;
  uint64_t count = 0;
  const int64_t start_ms = SystemClock::Get()->MonotonicMs();
  while ((*workload)->Next(&event)) {
    ++count;
    if (*rate > 0 && count % 100 == 0) {
      // Pace: event `count` is due at start + count / rate seconds.
      int64_t due_ms = start_ms + static_cast<int64_t>(count * 1000 / *rate);
      int64_t wait_ms = due_ms - SystemClock::Get()->MonotonicMs();
      if (wait_ms > 0) absl::SleepFor(absl::Milliseconds(wait_ms));
    }
    if (*ahead_kb > 0 && out == nullptr && count % 1000 == 0) {
      absl::Status s = publisher.WaitForConsumer(args.Get("topic"), args.Get("group"),
                                                 static_cast<uint64_t>(*ahead_kb) << 10);
      if (!s.ok()) return Fail("demo", s);
    }
    if (out != nullptr) {
      *out << EncodeSegmentJson(event) << "\n";
      continue;
    }
    bool json = format == "json";
    absl::Status s = publisher.Publish(args.Get("topic"), PartitionKeyOf(event),
                                       json ? EncodeSegmentJson(event) : event.SerializeAsString(),
                                       json ? "application/json" : "application/x-protobuf");
    if (!s.ok()) return Fail("demo", s);
  }
  if (out == nullptr) {
    if (auto s = publisher.Flush(); !s.ok()) return Fail("demo", s);
    std::cerr << "leadlog demo: published " << count << " events to " << args.Get("topic") << "\n";
  } else if (!out->good()) {
    return Fail("demo", absl::InternalError("write failed"));
  }
  return 0;
}

}  // namespace leadlog::cli
