// append_bench: EventLog::Append throughput against the raw RocksDB limit
// measured in the same run (DESIGN.md §9: report ratios, not bare times).
//
// Workload: N events (~400-600-byte serialized Events, UUID-like event ids,
// Zipf activity over 20k leads, each lead owning one of 64 shards, a user id
// and an anonymous id: 2 by_lead entries per event) in batches of 1000.
//   raw:    the keys and bytes Append writes (FORMAT.md: log shard‖seq →
//           LogRecord, 2 × by_lead, dedup shard‖id → 16 B, one offset key per
//           batch) as one rocksdb::WriteBatch per batch, in arrival order,
//           RocksDB default options, timed DB::Write only plus WriteBatch::Put.
//   append: EventLog::Append of the same events (plus one offset per touched
//           shard, as the Kafka consumer does); dedup lookup included.
// Each mode runs on a fresh DB; sync=true (fsync per batch) and sync=false.
// Modes alternate within a repetition; the report gives medians over the
// repetitions, and the ratio is the median of per-repetition append/raw.
//
//   append_bench [--events N] [--reps N] [--dir PATH]
//   (env LEADLOG_BENCH_EVENTS, LEADLOG_BENCH_REPS, LEADLOG_BENCH_DIR too)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/event_log.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace leadlog {
namespace {

constexpr size_t kBatchEvents = 1000;
constexpr uint32_t kShards = 64;
constexpr size_t kLeads = 20000;
constexpr int64_t kLogTimeMs = 1700000000000;
constexpr char kTopic[] = "leadlog.events";

struct Config {
  size_t events = 200000;
  int reps = 3;
  std::string dir;
};

// One generated event plus what the raw writer needs to write its bytes.
struct BenchEvent {
  PendingEvent pending;
  uint64_t sequence = 0;   // position in its shard
  std::string log_header;  // LogRecord fields 1-4 + tag 0x52 + varint length
};

void PutBigEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(value >> (8 * i)));
}

std::string UuidLike(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  for (size_t i = 0; i < id.size(); ++i) {
    if (i != 8 && i != 13 && i != 18 && i != 23) id[i] = kHex[rng() & 15];
  }
  return id;
}

// Zipf(s=1) over [0, n): inverse CDF by binary search.
class Zipf {
 public:
  explicit Zipf(size_t n) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / static_cast<double>(i + 1));
    for (double& c : cdf_) c /= sum;
  }
  size_t Next(std::mt19937_64& rng) {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return std::min<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(),
                            cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

// A page view shaped like demo traffic, padded to a size in [400, 600].
std::string EventBytes(const std::string& id, const std::string& user, const std::string& anon,
                       std::mt19937_64& rng) {
  v1::Event event;
  event.set_event_id(id);
  event.set_type(v1::CALL_TYPE_PAGE);
  event.set_user_id(user);
  event.set_anonymous_id(anon);
  event.set_name("Pricing");
  event.set_occurred_at_ms(kLogTimeMs - static_cast<int64_t>(rng() % 100000));
  v1::Context* context = event.mutable_context();
  context->set_ip("203.0.113.7");
  context->set_user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0");
  context->set_locale("en-US");
  context->set_page_url("https://example.com/pricing?utm_source=newsletter");
  context->set_page_path("/pricing");
  context->set_campaign_name("spring-launch");
  auto* fields = event.mutable_properties()->mutable_fields();
  (*fields)["plan"].set_string_value("enterprise");
  (*fields)["seats"].set_number_value(static_cast<double>(rng() % 500));
  const size_t target = 400 + rng() % 201;
  const size_t size = event.ByteSizeLong();
  if (size + 16 < target) (*fields)["note"].set_string_value(std::string(target - size - 16, 'x'));
  return event.SerializeAsString();
}

std::string LogHeader(const PendingEvent& pending, uint64_t sequence) {
  v1::LogRecord header;
  header.set_sequence(sequence);
  header.set_log_time_ms(kLogTimeMs);
  header.set_schema_version(1);
  *header.mutable_source() = pending.source;
  std::string out = header.SerializeAsString();
  out.push_back(0x52);
  for (uint64_t n = pending.event_bytes.size(); true; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
  }
  return out;
}

std::vector<BenchEvent> MakeEvents(size_t n) {
  std::mt19937_64 rng(42);
  Zipf zipf(kLeads);
  std::vector<std::string> anon_ids(kLeads);
  for (std::string& anon : anon_ids) anon = UuidLike(rng);
  std::vector<uint64_t> next_sequence(kShards, 0);
  std::vector<BenchEvent> events(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t lead = zipf.Next(rng);
    const ShardId shard(static_cast<uint32_t>((lead * 2654435761u) % kShards));
    const std::string user = absl::StrCat("user-", lead);
    BenchEvent& bench = events[i];
    PendingEvent& pending = bench.pending;
    pending.shard = shard;
    pending.event_id = UuidLike(rng);
    pending.lead_keys = {LeadKey::ForUser(user), LeadKey::ForAnonymous(anon_ids[lead])};
    pending.event_bytes = EventBytes(pending.event_id, user, anon_ids[lead], rng);
    pending.source.set_topic(kTopic);
    pending.source.set_partition(static_cast<int32_t>(shard.value()));
    pending.source.set_offset(static_cast<int64_t>(next_sequence[shard.value()]));
    bench.sequence = next_sequence[shard.value()]++;
    bench.log_header = LogHeader(pending, bench.sequence);
  }
  return events;
}

struct Families {
  rocksdb::ColumnFamilyHandle* log;
  rocksdb::ColumnFamilyHandle* by_lead;
  rocksdb::ColumnFamilyHandle* dedup;
  rocksdb::ColumnFamilyHandle* meta;
};

// Builds and writes the raw WriteBatch of events [begin, end).
rocksdb::Status WriteRawBatch(rocksdb::DB* db, const Families& families,
                              const std::vector<BenchEvent>& events, size_t begin, size_t end,
                              bool sync) {
  rocksdb::WriteBatch batch;
  std::string key;
  std::string value;
  for (size_t i = begin; i < end; ++i) {
    const BenchEvent& event = events[i];
    const uint32_t shard = event.pending.shard.value();
    key.clear();
    PutBigEndian(shard, 4, &key);
    PutBigEndian(event.sequence, 8, &key);
    const rocksdb::Slice header(event.log_header), body(event.pending.event_bytes);
    const rocksdb::Slice parts[] = {header, body};
    const rocksdb::Slice key_slice(key);
    rocksdb::Status s =
        batch.Put(families.log, rocksdb::SliceParts(&key_slice, 1), rocksdb::SliceParts(parts, 2));
    for (const LeadKey& lead : event.pending.lead_keys) {
      key.clear();
      PutBigEndian(shard, 4, &key);
      PutBigEndian(lead.encoded().size(), 2, &key);
      key.append(lead.encoded());
      PutBigEndian(event.sequence, 8, &key);
      if (s.ok()) s = batch.Put(families.by_lead, key, rocksdb::Slice());
    }
    key.clear();
    PutBigEndian(shard, 4, &key);
    key.append(event.pending.event_id);
    value.clear();
    PutBigEndian(event.sequence, 8, &value);
    PutBigEndian(static_cast<uint64_t>(kLogTimeMs), 8, &value);
    if (s.ok()) s = batch.Put(families.dedup, key, value);
    if (!s.ok()) return s;
  }
  key.clear();
  PutBigEndian(events[begin].pending.shard.value(), 4, &key);
  key.push_back('o');
  key.append(kTopic);
  value.clear();
  PutBigEndian(end, 8, &value);
  rocksdb::Status s = batch.Put(families.meta, key, value);
  if (!s.ok()) return s;
  rocksdb::WriteOptions options;
  options.sync = sync;
  return db->Write(options, &batch);
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "append_bench: %s\n", what.c_str());
  std::exit(1);
}

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the calling (writing) thread: less sensitive than wall time to
// other load on the machine; excludes RocksDB's background flushes.
double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

// One timed run: events/s (wall) and foreground CPU µs per event.
struct Rate {
  double events_per_s = 0;
  double cpu_us_per_event = 0;
};

Rate RateOf(size_t events, Clock::time_point start, double cpu_start) {
  const double n = static_cast<double>(events);
  return Rate{n / Seconds(start), (ThreadCpuSeconds() - cpu_start) * 1e6 / n};
}

// Raw WriteBatches into a fresh DB in `dir`.
Rate RunRaw(const std::vector<BenchEvent>& events, bool sync, const std::string& dir) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : {"default", "log", "by_lead", "dedup", "meta"}) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw_db);
  if (!s.ok()) Fail("open raw: " + s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw_db);
  const Families families{handles[1], handles[2], handles[3], handles[4]};
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  for (size_t begin = 0; begin < events.size(); begin += kBatchEvents) {
    const size_t end = std::min(events.size(), begin + kBatchEvents);
    s = WriteRawBatch(db.get(), families, events, begin, end, sync);
    if (!s.ok()) Fail("raw write: " + s.ToString());
  }
  const Rate rate = RateOf(events.size(), start, cpu_start);
  for (rocksdb::ColumnFamilyHandle* handle : handles) db->DestroyColumnFamilyHandle(handle);
  s = db->Close();
  if (!s.ok()) Fail("close raw: " + s.ToString());
  return rate;
}

// The events as AppendBatches of kBatchEvents, each with one offset update
// per touched shard (copied: Append consumes its batch).
std::vector<AppendBatch> MakeBatches(const std::vector<BenchEvent>& events) {
  std::vector<AppendBatch> batches;
  for (size_t begin = 0; begin < events.size(); begin += kBatchEvents) {
    const size_t end = std::min(events.size(), begin + kBatchEvents);
    AppendBatch& batch = batches.emplace_back();
    batch.events.reserve(end - begin);
    absl::flat_hash_map<uint32_t, int64_t> next_offsets;
    for (size_t i = begin; i < end; ++i) {
      batch.events.push_back(events[i].pending);
      next_offsets[events[i].pending.shard.value()] = events[i].pending.source.offset() + 1;
    }
    for (const auto& [shard, next] : next_offsets) {
      batch.offsets.push_back({ShardId(shard), kTopic, KafkaOffset(next)});
    }
  }
  return batches;
}

// EventLog::Append into a fresh log in `dir`.
Rate RunAppend(const std::vector<BenchEvent>& events, bool sync, const std::string& dir) {
  std::vector<AppendBatch> batches = MakeBatches(events);
  EventLogOptions options;
  options.data_dir = dir;
  options.sync_per_batch = sync;
  absl::StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(options);
  if (!log.ok()) Fail("open log: " + log.status().ToString());
  uint64_t appended = 0;
  const Clock::time_point start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  for (AppendBatch& batch : batches) {
    absl::StatusOr<AppendResult> result = (*log)->Append(batch);
    if (!result.ok()) Fail("append: " + result.status().ToString());
    appended += result->appended;
  }
  const Rate rate = RateOf(events.size(), start, cpu_start);
  if (appended != events.size()) Fail(absl::StrCat("appended ", appended, " of ", events.size()));
  return rate;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

size_t FlagOrEnv(int argc, char** argv, const char* flag, const char* env, size_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  const char* value = std::getenv(env);
  return value != nullptr ? std::strtoull(value, nullptr, 10) : fallback;
}

Config ParseConfig(int argc, char** argv) {
  Config config;
  config.events = FlagOrEnv(argc, argv, "--events", "LEADLOG_BENCH_EVENTS", config.events);
  config.reps = static_cast<int>(FlagOrEnv(argc, argv, "--reps", "LEADLOG_BENCH_REPS", 3));
  const char* dir = std::getenv("LEADLOG_BENCH_DIR");
  config.dir = dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--dir") == 0) config.dir = argv[i + 1];
  }
  if (config.events == 0 || config.reps <= 0) Fail("--events and --reps must be positive");
  return config;
}

std::string FreshDir(const Config& config, const char* name) {
  std::filesystem::path path =
      std::filesystem::path(config.dir) / absl::StrCat("append_bench.", getpid(), ".", name);
  std::filesystem::remove_all(path);
  return path.string();
}

void RunSync(const Config& config, const std::vector<BenchEvent>& events, bool sync) {
  std::vector<double> raw, append, ratio, raw_cpu, append_cpu, cpu_ratio;
  for (int rep = 0; rep < config.reps; ++rep) {
    const std::string raw_dir = FreshDir(config, "raw");
    const std::string log_dir = FreshDir(config, "log");
    const Rate r = RunRaw(events, sync, raw_dir);
    const Rate a = RunAppend(events, sync, log_dir);
    std::filesystem::remove_all(raw_dir);
    std::filesystem::remove_all(log_dir);
    raw.push_back(r.events_per_s);
    append.push_back(a.events_per_s);
    ratio.push_back(a.events_per_s / r.events_per_s);
    raw_cpu.push_back(r.cpu_us_per_event);
    append_cpu.push_back(a.cpu_us_per_event);
    cpu_ratio.push_back(r.cpu_us_per_event / a.cpu_us_per_event);
    std::printf(
        "  rep %d sync=%d: raw %.0f/s (%.2f us cpu/event)  append "
        "%.0f/s (%.2f)  ratio %.3f\n",
        rep, sync ? 1 : 0, r.events_per_s, r.cpu_us_per_event, a.events_per_s, a.cpu_us_per_event,
        ratio.back());
    std::fflush(stdout);
  }
  const char* label = sync ? "sync" : "nosync";
  std::printf("%-6s raw    %9.0f events/s  %5.2f us cpu/event\n", label, Median(raw),
              Median(raw_cpu));
  std::printf(
      "%-6s append %9.0f events/s  %5.2f us cpu/event  append/raw %.3f "
      "(cpu-based %.3f)\n",
      label, Median(append), Median(append_cpu), Median(ratio), Median(cpu_ratio));
  std::fflush(stdout);
}

}  // namespace
}  // namespace leadlog

int main(int argc, char** argv) {
  using namespace leadlog;
  const Config config = ParseConfig(argc, argv);
  const std::vector<BenchEvent> events = MakeEvents(config.events);
  std::vector<double> sizes;
  for (const BenchEvent& event : events) {
    sizes.push_back(static_cast<double>(event.pending.event_bytes.size()));
  }
  std::printf(
      "append_bench: %zu events, batches of %zu, %u shards, %zu leads "
      "(Zipf), event bytes "
      "median %.0f, %d reps (medians), dir %s\n",
      events.size(), kBatchEvents, kShards, kLeads, Median(sizes), config.reps, config.dir.c_str());
  RunSync(config, events, /*sync=*/true);
  RunSync(config, events, /*sync=*/false);
  return 0;
}
