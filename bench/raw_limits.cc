// raw_limits: the raw speeds leadlog is compared against, measured on the
// same messages and bytes as a bench/run.sh run (DESIGN.md §9: report ratios
// to limits measured in the same run, never bare times). Also the small
// helpers run.sh needs to read a data dir precisely.
//
//   raw_limits kafka --brokers B [--topic T]
//       librdkafka consume, no processing: assigns every partition of T at
//       its log-start offset and consumes (KafkaConsumer::consume, one
//       message per call, serve's fetch settings) up to the high watermarks
//       read before the start. Rate = messages / (first → last message).
//       Fails unless exactly sum(high − low) messages arrive.
//   raw_limits rocksdb --data-dir D --work W [--batch N] [--events-max N]
//       RocksDB append of the bytes of D's `log` column family (the stored
//       LogRecords: the same bytes leadlog appended) into a fresh DB with
//       default options, BE64 keys, one WriteBatch of N (default 1000) per
//       DB::Write, sync=true (fsync per batch) then sync=false (each on a
//       fresh DB); only Put + Write are timed (values are loaded 100 k at a
//       time, untimed). Then the synced DB is flushed, reopened and scanned
//       (sequential read of every value).
//   raw_limits decode --data-dir D [--threads N]
//       Every record of D's log read and decoded through EventLog::ReadRange
//       (what `leadlog rebuild` hands its fold) with no fold, the shards
//       split over N threads (default 2): the floor of any rebuild of D.
//   raw_limits positions --data-dir D
//       "shard position" per line (the next sequence of each shard).
//   raw_limits span --data-dir D --positions FILE
//       log time of the first record at or after each shard's position in
//       FILE and of the last record: the log-time span of what was appended
//       since FILE was written.
//
// Every result is one line of key=value pairs on stdout.
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/event_log.h"
#include "engine/limits.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace leadlog {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "raw_limits: %s\n", what.c_str());
  std::exit(1);
}

// --name value pairs after the subcommand.
std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) Die(std::string("bad flag ") + argv[i]);
    flags[argv[i] + 2] = argv[i + 1];
  }
  return flags;
}

std::string Need(const std::map<std::string, std::string>& flags, const std::string& name) {
  auto it = flags.find(name);
  if (it == flags.end()) Die("--" + name + " is required");
  return it->second;
}

std::string Get(const std::map<std::string, std::string>& flags, const std::string& name,
                const std::string& fallback) {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

// ---- kafka -------------------------------------------------------------

std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  // serve's consumer settings (consumers/kafka_ingest.cc), minus the group.
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"bootstrap.servers", brokers},
           {"group.id", "raw-limits"},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           {"enable.partition.eof", "false"},
           {"fetch.wait.max.ms", "100"},
           {"queued.max.messages.kbytes", "65536"},
           {"log_level", "4"}}) {
    if (conf->set(k, v, error) != RdKafka::Conf::CONF_OK) Die(k + ": " + error);
  }
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), error));
  if (consumer == nullptr) Die("consumer: " + error);
  return consumer;
}

int Kafka(const std::map<std::string, std::string>& flags) {
  const std::string topic = Get(flags, "topic", "leadlog.events");
  auto consumer = MakeConsumer(Need(flags, "brokers"));
  std::string error;
  std::unique_ptr<RdKafka::Topic> handle(RdKafka::Topic::create(consumer.get(), topic, nullptr, error));
  if (handle == nullptr) Die("topic " + topic + ": " + error);
  RdKafka::Metadata* raw_metadata = nullptr;
  if (consumer->metadata(false, handle.get(), &raw_metadata, 10000) != RdKafka::ERR_NO_ERROR) {
    Die("metadata of " + topic);
  }
  std::unique_ptr<RdKafka::Metadata> metadata(raw_metadata);
  if (metadata->topics()->empty()) Die("no topic " + topic);
  std::vector<RdKafka::TopicPartition*> assignment;
  std::vector<int64_t> high_of;
  int64_t expected = 0;
  for (const RdKafka::PartitionMetadata* p : *metadata->topics()->at(0)->partitions()) {
    int64_t low = 0, high = 0;
    if (consumer->query_watermark_offsets(topic, p->id(), &low, &high, 10000) != RdKafka::ERR_NO_ERROR) {
      Die("watermarks of partition " + std::to_string(p->id()));
    }
    if (static_cast<size_t>(p->id()) >= high_of.size()) high_of.resize(p->id() + 1, 0);
    high_of[p->id()] = high;
    expected += high - low;
    if (high > low) assignment.push_back(RdKafka::TopicPartition::create(topic, p->id(), low));
  }
  if (consumer->assign(assignment) != RdKafka::ERR_NO_ERROR) Die("assign");
  RdKafka::TopicPartition::destroy(assignment);
  int64_t consumed = 0, bytes = 0;
  Clock::time_point first{}, last{};
  const Clock::time_point deadline = Clock::now() + std::chrono::minutes(10);
  while (consumed < expected && Clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() == RdKafka::ERR__TIMED_OUT) continue;
    if (m->err() != RdKafka::ERR_NO_ERROR) Die("consume: " + m->errstr());
    if (m->offset() >= high_of[m->partition()]) continue;  // published after the start
    if (consumed == 0) first = Clock::now();
    ++consumed;
    bytes += static_cast<int64_t>(m->len());
    last = Clock::now();
  }
  consumer->close();
  if (consumed != expected) {
    Die("kafka: consumed " + std::to_string(consumed) + " of " + std::to_string(expected) + " messages");
  }
  const double s = std::max(1e-9, std::chrono::duration<double>(last - first).count());
  std::printf("raw kafka_consume messages=%lld bytes=%lld seconds=%.3f per_s=%.0f\n",
              static_cast<long long>(consumed), static_cast<long long>(bytes), s, consumed / s);
  return 0;
}

// ---- rocksdb -----------------------------------------------------------

std::unique_ptr<rocksdb::DB> OpenSourceLog(const std::string& dir, rocksdb::ColumnFamilyHandle** log_cf,
                                           std::vector<rocksdb::ColumnFamilyHandle*>* handles) {
  std::vector<std::string> names;
  rocksdb::Options options;
  if (!rocksdb::DB::ListColumnFamilies(options, dir, &names).ok()) Die("no RocksDB in " + dir);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, dir, descriptors, handles, &db);
  if (!s.ok()) Die("open " + dir + ": " + s.ToString());
  *log_cf = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "log") *log_cf = (*handles)[i];
  }
  if (*log_cf == nullptr) Die(dir + " has no log column family");
  return std::unique_ptr<rocksdb::DB>(db);
}

std::unique_ptr<rocksdb::DB> OpenFresh(const std::string& dir) {
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, &db);
  if (!s.ok()) Die("open " + dir + ": " + s.ToString());
  return std::unique_ptr<rocksdb::DB>(db);
}

std::string Be64(uint64_t v) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) key[i] = static_cast<char>(v & 0xff);
  return key;
}

struct AppendResult {
  uint64_t events = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// Appends the source log's values to `db` in batches of `batch` records.
AppendResult Append(rocksdb::DB* source, rocksdb::ColumnFamilyHandle* log_cf, rocksdb::DB* db,
                    bool sync, size_t batch, uint64_t events_max) {
  constexpr size_t kChunk = 100000;  // values loaded per untimed read
  AppendResult result;
  std::unique_ptr<rocksdb::Iterator> it(source->NewIterator(rocksdb::ReadOptions(), log_cf));
  it->SeekToFirst();
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  std::vector<std::string> values;
  while (it->Valid() && result.events < events_max) {
    values.clear();
    for (; it->Valid() && values.size() < kChunk && result.events + values.size() < events_max; it->Next()) {
      values.push_back(it->value().ToString());
    }
    const Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < values.size(); i += batch) {
      rocksdb::WriteBatch wb;
      for (size_t j = i; j < std::min(values.size(), i + batch); ++j) {
        wb.Put(Be64(result.events + j), values[j]);
        result.bytes += values[j].size();
      }
      rocksdb::Status s = db->Write(write_options, &wb);
      if (!s.ok()) Die("write: " + s.ToString());
    }
    result.seconds += SecondsSince(t0);
    result.events += values.size();
  }
  if (!it->status().ok()) Die("read source: " + it->status().ToString());
  return result;
}

void PrintRate(const char* name, uint64_t events, uint64_t bytes, double seconds) {
  seconds = std::max(seconds, 1e-9);
  std::printf("raw %s events=%llu bytes=%llu seconds=%.3f per_s=%.0f\n", name,
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(bytes),
              seconds, events / seconds);
}

int Rocks(const std::map<std::string, std::string>& flags) {
  const std::string work = Need(flags, "work");
  const size_t batch = std::stoul(Get(flags, "batch", "1000"));
  const uint64_t events_max = std::stoull(Get(flags, "events-max", "18446744073709551615"));
  rocksdb::ColumnFamilyHandle* log_cf = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::unique_ptr<rocksdb::DB> source = OpenSourceLog(Need(flags, "data-dir"), &log_cf, &handles);
  std::filesystem::create_directories(work);
  const std::string synced_dir = work + "/raw-sync", unsynced_dir = work + "/raw-nosync";
  {
    auto db = OpenFresh(synced_dir);
    AppendResult r = Append(source.get(), log_cf, db.get(), true, batch, events_max);
    PrintRate("rocksdb_append_sync", r.events, r.bytes, r.seconds);
    if (!db->Flush(rocksdb::FlushOptions()).ok()) Die("flush");
  }
  {
    auto db = OpenFresh(unsynced_dir);
    AppendResult r = Append(source.get(), log_cf, db.get(), false, batch, events_max);
    PrintRate("rocksdb_append_nosync", r.events, r.bytes, r.seconds);
  }
  std::filesystem::remove_all(unsynced_dir);
  for (auto* h : handles) source->DestroyColumnFamilyHandle(h);
  source.reset();
  {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options options;
    if (!rocksdb::DB::OpenForReadOnly(options, synced_dir, &raw).ok()) Die("reopen " + synced_dir);
    std::unique_ptr<rocksdb::DB> db(raw);
    uint64_t events = 0, bytes = 0;
    const Clock::time_point t0 = Clock::now();
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++events;
      bytes += it->value().size();
    }
    PrintRate("rocksdb_read_seq", events, bytes, SecondsSince(t0));
  }
  std::filesystem::remove_all(synced_dir);
  return 0;
}

// ---- data dir helpers --------------------------------------------------

std::unique_ptr<EventLog> OpenReadOnly(const std::string& dir) {
  EventLogOptions options;
  options.data_dir = dir;
  options.read_only = true;
  auto log = EventLog::Open(options);
  if (!log.ok()) Die(log.status().ToString());
  return std::move(*log);
}

int Positions(const std::map<std::string, std::string>& flags) {
  auto log = OpenReadOnly(Need(flags, "data-dir"));
  for (ShardId shard : log->Shards()) {
    std::printf("%u %llu\n", shard.value(), static_cast<unsigned long long>(log->Position(shard).value()));
  }
  return 0;
}

int Span(const std::map<std::string, std::string>& flags) {
  auto log = OpenReadOnly(Need(flags, "data-dir"));
  std::map<uint32_t, uint64_t> from;
  std::ifstream in(Need(flags, "positions"));
  uint32_t shard = 0;
  uint64_t position = 0;
  while (in >> shard >> position) from[shard] = position;
  int64_t first_ms = INT64_MAX, last_ms = 0;
  uint64_t records = 0;
  for (ShardId s : log->Shards()) {
    const Sequence end = log->Position(s);
    const uint64_t start = from.count(s.value()) ? from[s.value()] : 0;
    if (end.value() <= start) continue;
    records += end.value() - start;
    absl::Status st = log->ReadRange(s, Sequence(start), Sequence(start + 1), [&](const v1::LogRecord& r) {
      first_ms = std::min<int64_t>(first_ms, r.log_time_ms());
      return absl::OkStatus();
    });
    if (!st.ok()) Die(st.ToString());
    last_ms = std::max<int64_t>(last_ms, log->Stats(s).last_log_time_ms);
  }
  if (records == 0) first_ms = 0;
  std::printf("span records=%llu first_log_time_ms=%lld last_log_time_ms=%lld span_ms=%lld\n",
              static_cast<unsigned long long>(records), static_cast<long long>(first_ms),
              static_cast<long long>(last_ms), static_cast<long long>(last_ms - first_ms));
  return 0;
}

// Reads and decodes every record of every shard through EventLog::ReadRange
// (exactly what a rebuild hands its fold, chunk by chunk) and does nothing
// with it: the floor of any fold over this log. Shards are split over
// `threads` threads, as `leadlog rebuild --fold-threads` splits them.
int Decode(const std::map<std::string, std::string>& flags) {
  auto log = OpenReadOnly(Need(flags, "data-dir"));
  const int threads = std::stoi(Get(flags, "threads", "2"));
  if (threads < 1 || threads > 64) Die("--threads: expected 1..64");
  const std::vector<ShardId> shards = log->Shards();
  std::atomic<size_t> next_shard{0};
  std::atomic<uint64_t> records{0};
  std::atomic<bool> failed{false};
  auto read_shards = [&] {
    uint64_t mine = 0;
    for (size_t i = next_shard++; i < shards.size() && !failed; i = next_shard++) {
      const uint64_t end = log->Position(shards[i]).value();
      for (uint64_t from = 0; from < end;) {
        const uint64_t to = std::min<uint64_t>(end, from + kReadRangeRecordsMax);
        absl::Status s = log->ReadRange(shards[i], Sequence(from), Sequence(to),
                                        [&](const v1::LogRecord&) {
                                          ++mine;
                                          return absl::OkStatus();
                                        });
        if (!s.ok()) {
          std::fprintf(stderr, "raw_limits: decode: %s\n", s.ToString().c_str());
          failed = true;
          return;
        }
        from = to;
      }
    }
    records += mine;
  };
  const Clock::time_point t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) workers.emplace_back(read_shards);
  for (std::thread& worker : workers) worker.join();
  const double seconds = std::max(SecondsSince(t0), 1e-9);
  if (failed) Die("decode failed");
  std::printf("raw log_decode records=%llu threads=%d seconds=%.3f per_s=%.0f\n",
              static_cast<unsigned long long>(records.load()), threads, seconds,
              records.load() / seconds);
  return 0;
}

}  // namespace
}  // namespace leadlog

int main(int argc, char** argv) {
  if (argc < 2) leadlog::Die("usage: raw_limits kafka|rocksdb|decode|positions|span --flag value ...");
  const std::string command = argv[1];
  auto flags = leadlog::Flags(argc, argv);
  if (command == "kafka") return leadlog::Kafka(flags);
  if (command == "rocksdb") return leadlog::Rocks(flags);
  if (command == "positions") return leadlog::Positions(flags);
  if (command == "span") return leadlog::Span(flags);
  if (command == "decode") return leadlog::Decode(flags);
  leadlog::Die("unknown command " + command);
}
