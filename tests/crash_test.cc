// Crash tests of the real `leadlog` binary (DESIGN.md invariant 2, STYLE.md
// "Tests"): a separate `leadlog broker` process, a producer in this process,
// and `leadlog serve` killed with SIGKILL at points chosen from a seed, then
// restarted on the same data dir. The recovery contract: no event whose
// offset was stored is lost, none is appended twice, and the stored offsets
// end exactly at the partitions' high watermarks.
//
// The seed is printed; LEADLOG_CRASH_SEED=<seed> replays the same schedule
// (the kill points are replayed, the timing of the processes is not).
//
// Every child is killed by the fixture (and by PR_SET_PDEATHSIG if this
// process dies), so a failing test never leaves processes behind.
#include <fcntl.h>
#include <librdkafka/rdkafkacpp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/event_log.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "engine/testing/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::TempDir;
using ::leadlog::testing::WaitFor;
using ::testing::HasSubstr;

constexpr char kEventsTopic[] = "leadlog.events";
constexpr int kPartitions = 8;
// Distinct messageIds, plus re-sent copies of earlier ones (same key, so the
// same partition and shard: dedup is per shard).
constexpr int kUniqueEvents = 6000;
constexpr int kResentEvents = 60;
constexpr int kLeads = 500;
constexpr int kWaves = 6;
// Messages produced between two flushes: spreads a wave over time, so that
// kills land while batches are in flight.
constexpr int kProduceChunk = 10;
// Messages of a wave ingested before a kill at a count is armed.
constexpr size_t kLeadIn = 50;

// ---------------------------------------------------------------------------
// Child processes.

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("killed by signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

// One child process running argv[0] with stdout and stderr appended to files.
// The destructor SIGKILLs and reaps it if it is still running.
class Subprocess {
 public:
  // Fork + exec from the calling thread. The child gets SIGKILL when that
  // thread's process dies (PR_SET_PDEATHSIG), so call it from the test thread.
  static std::unique_ptr<Subprocess> Start(const std::vector<std::string>& argv,
                                           const std::string& stdout_path,
                                           const std::string& stderr_path) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (in < 0 || out < 0 || err < 0) {
      ADD_FAILURE() << "cannot open child's files " << stdout_path << ", " << stderr_path;
      for (int fd : {in, out, err}) if (fd >= 0) close(fd);
      return nullptr;
    }
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec: other threads (librdkafka's)
      // may have held locks at the fork.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      signal(SIGTERM, SIG_DFL);
      signal(SIGINT, SIG_DFL);
      dup2(in, 0);
      dup2(out, 1);
      dup2(err, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in);
    close(out);
    close(err);
    if (pid < 0) {
      ADD_FAILURE() << "fork failed";
      return nullptr;
    }
    return std::unique_ptr<Subprocess>(new Subprocess(pid));
  }

  ~Subprocess() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      Reap(/*block=*/true);
    }
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal) {
    if (!reaped_) kill(pid_, signal);
  }
  // True once the child has exited (reaping it).
  bool Exited() { return reaped_ || Reap(/*block=*/false); }
  // Waits up to `timeout` for the exit; its wait status, or nullopt.
  std::optional<int> Wait(absl::Duration timeout) {
    if (!WaitFor([&] { return Exited(); }, timeout)) return std::nullopt;
    return status_;
  }
  // SIGKILL and reap; the wait status.
  int KillNine() {
    Signal(SIGKILL);
    if (!reaped_) Reap(/*block=*/true);
    return status_;
  }

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  bool Reap(bool block) {
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != pid_) return false;
    reaped_ = true;
    status_ = status;
    return true;
  }
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

struct CommandResult {
  std::optional<int> exit_code;  // nullopt: timed out or killed by a signal
  std::string wait_status;       // for messages
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Tail(const std::string& text, size_t bytes) {
  return text.size() <= bytes ? text : "..." + text.substr(text.size() - bytes);
}

// The value of the first `"key":<digits>` in `json` (the top-level counters
// come before "shards" in `leadlog stats --json`).
std::optional<uint64_t> JsonCount(const std::string& json, absl::string_view key) {
  std::string needle = absl::StrCat("\"", key, "\":");
  size_t at = json.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = json.data() + at + needle.size();
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(begin, json.data() + json.size(), value);
  if (ec != std::errc() || end == begin) return std::nullopt;
  return value;
}

struct StatsSnapshot {
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t dead_letters = 0;
  std::string DebugString() const {
    return absl::StrCat("events_appended=", appended, " duplicates_skipped=", duplicates,
                        " dead_letters=", dead_letters);
  }
};

// ---------------------------------------------------------------------------
// The workload.

struct Message {
  std::string id;
  std::string key;
  std::string value;
};

// Deterministic helpers on the raw 64-bit output, so that a seed gives the
// same schedule with any standard library (the std distributions do not).
uint64_t Uniform(std::mt19937_64& rng, uint64_t lo, uint64_t hi) {  // [lo, hi]
  return lo + rng() % (hi - lo + 1);
}
template <typename T>
void Shuffle(std::mt19937_64& rng, std::vector<T>& v) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[Uniform(rng, 0, i - 1)]);
}

std::string EventJson(int i, int lead, std::mt19937_64& rng) {
  static const char* const kNames[] = {"Email Opened", "Page Viewed", "Form Submitted",
                                       "Webinar Attended", "Pricing Page Visited"};
  const std::string anonymous = absl::StrCat("a-", lead);
  const std::string timestamp = absl::StrCat("2026-01-05T09:", 10 + (i / 600) % 50, ":",
                                             10 + i % 50, "Z");
  if (i % 10 == 3) {  // some identify calls, so leads carry two index keys
    return absl::StrCat("{\"type\":\"identify\",\"messageId\":\"crash-", i,
                        "\",\"anonymousId\":\"", anonymous, "\",\"userId\":\"u-", lead,
                        "\",\"traits\":{\"email\":\"lead", lead,
                        "@example.com\"},\"timestamp\":\"", timestamp, "\"}");
  }
  return absl::StrCat("{\"type\":\"track\",\"messageId\":\"crash-", i, "\",\"anonymousId\":\"",
                      anonymous, "\",\"event\":\"", kNames[Uniform(rng, 0, 4)],
                      "\",\"properties\":{\"n\":", i, "},\"timestamp\":\"", timestamp, "\"}");
}

// kUniqueEvents distinct events in order, with kResentEvents copies of
// earlier ones (a producer's retry after a timeout) spliced in after their
// originals.
std::vector<Message> BuildMessages(std::mt19937_64& rng) {
  std::vector<Message> messages;
  for (int i = 0; i < kUniqueEvents; ++i) {
    int lead = static_cast<int>(Uniform(rng, 0, kLeads - 1));
    messages.push_back({absl::StrCat("crash-", i), absl::StrCat("a-", lead), EventJson(i, lead, rng)});
  }
  for (int r = 0; r < kResentEvents; ++r) {
    size_t original = Uniform(rng, 0, messages.size() - 2);
    Message copy = messages[original];
    size_t at = Uniform(rng, original + 1, messages.size());
    messages.insert(messages.begin() + static_cast<std::ptrdiff_t>(at), std::move(copy));
  }
  return messages;
}

// An idempotent (acks=all) producer shared by the test thread and the wave
// threads (librdkafka producers are thread-safe).
class Producer : public RdKafka::DeliveryReportCb {
 public:
  absl::Status Init(const std::string& brokers) {
    std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
    std::string error;
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"bootstrap.servers", brokers}, {"enable.idempotence", "true"}, {"acks", "all"},
             {"linger.ms", "5"}, {"log_level", "4"}}) {
      if (conf->set(k, v, error) != RdKafka::Conf::CONF_OK) {
        return absl::InvalidArgumentError(absl::StrCat(k, ": ", error));
      }
    }
    conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), error);
    producer_.reset(RdKafka::Producer::create(conf.get(), error));
    if (producer_ == nullptr) return absl::InternalError(absl::StrCat("producer: ", error));
    return absl::OkStatus();
  }

  // Produces messages[from, to) in order, flushing every kProduceChunk.
  // Records the first error; stops early when `stop` is requested.
  void Produce(const std::vector<Message>& messages, size_t from, size_t to, std::stop_token stop) {
    for (size_t i = from; i < to && !stop.stop_requested(); ++i) {
      const Message& m = messages[i];
      RdKafka::ErrorCode err;
      while ((err = producer_->produce(kEventsTopic, RdKafka::Topic::PARTITION_UA,
                                       RdKafka::Producer::RK_MSG_COPY,
                                       const_cast<char*>(m.value.data()), m.value.size(),
                                       m.key.data(), m.key.size(), 0, nullptr)) ==
             RdKafka::ERR__QUEUE_FULL) {
        producer_->poll(10);
      }
      if (err != RdKafka::ERR_NO_ERROR) {
        SetError(absl::StrCat("produce ", m.id, ": ", RdKafka::err2str(err)));
        return;
      }
      if ((i + 1 - from) % kProduceChunk == 0 || i + 1 == to) Flush();
    }
  }

  void Flush() {
    RdKafka::ErrorCode err = producer_->flush(30000);
    if (err != RdKafka::ERR_NO_ERROR) SetError(absl::StrCat("flush: ", RdKafka::err2str(err)));
  }

  void dr_cb(RdKafka::Message& message) override {
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      delivered_.fetch_add(1);
    } else {
      SetError(absl::StrCat("delivery: ", message.errstr()));
    }
  }

  uint64_t delivered() const { return delivered_.load(); }
  std::string error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

  // Low and high watermark of one partition.
  absl::Status Watermarks(int partition, int64_t* low, int64_t* high) {
    RdKafka::ErrorCode err =
        producer_->query_watermark_offsets(kEventsTopic, partition, low, high, 10000);
    if (err != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat("watermarks: ", RdKafka::err2str(err)));
    }
    return absl::OkStatus();
  }

 private:
  void SetError(std::string error) {
    absl::MutexLock lock(&mu_);
    if (error_.empty()) error_ = std::move(error);
  }
  std::unique_ptr<RdKafka::Producer> producer_;
  std::atomic<uint64_t> delivered_{0};
  mutable absl::Mutex mu_;
  std::string error_ ABSL_GUARDED_BY(mu_);
};

// ---------------------------------------------------------------------------
// The fixture: paths, the leadlog binary, and the children it owns.

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("LEADLOG_BIN");
    ASSERT_NE(bin, nullptr) << "LEADLOG_BIN must name the leadlog binary (set by ctest)";
    bin_ = bin;
    ASSERT_EQ(access(bin_.c_str(), X_OK), 0) << bin_ << " is not executable";
    data_dir_ = dir_.path() + "/data";
    serve_log_ = dir_.path() + "/serve.log";
    broker_log_ = dir_.path() + "/broker.log";
  }

  void TearDown() override {
    if (serve_ != nullptr) serve_->KillNine();
    if (broker_ != nullptr) broker_->KillNine();
    if (HasFailure()) {
      std::cout << "---- serve output (tail) ----\n" << Tail(ReadFile(serve_log_), 6000)
                << "\n---- broker output (tail) ----\n" << Tail(ReadFile(broker_log_), 2000)
                << "\n";
    }
  }

  // Runs `leadlog args...` to completion (killed after `timeout`).
  CommandResult Run(const std::vector<std::string>& args,
                    absl::Duration timeout = absl::Seconds(30)) {
    const std::string base = absl::StrCat(dir_.path(), "/cmd-", ++commands_);
    std::vector<std::string> argv = {bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult result;
    auto child = Subprocess::Start(argv, base + ".out", base + ".err");
    if (child == nullptr) return result;
    std::optional<int> status = child->Wait(timeout);
    if (!status) status = child->KillNine();
    result.wait_status = DescribeWaitStatus(*status);
    if (WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
    result.out = ReadFile(base + ".out");
    result.err = ReadFile(base + ".err");
    std::remove((base + ".out").c_str());
    std::remove((base + ".err").c_str());
    return result;
  }

  // `leadlog stats --json`; nullopt while the data dir cannot be read yet.
  std::optional<StatsSnapshot> Stats() {
    CommandResult r = Run({"stats", "--data-dir", data_dir_, "--json"});
    if (r.exit_code != 0) {
      last_stats_error_ = absl::StrCat(r.wait_status, ": ", r.err);
      return std::nullopt;
    }
    auto appended = JsonCount(r.out, "events_appended");
    auto duplicates = JsonCount(r.out, "duplicates_skipped");
    auto dead_letters = JsonCount(r.out, "dead_letters");
    if (!appended || !duplicates || !dead_letters) {
      last_stats_error_ = absl::StrCat("unexpected stats output: ", r.out);
      return std::nullopt;
    }
    last_stats_ = {*appended, *duplicates, *dead_letters};
    return last_stats_;
  }

  // Waits until the stats satisfy `done`; false at the deadline.
  bool WaitForStats(const std::function<bool(const StatsSnapshot&)>& done, absl::Duration timeout) {
    return WaitFor(
        [&] {
          std::optional<StatsSnapshot> s = Stats();
          return s.has_value() && done(*s);
        },
        timeout);
  }

  // Starts `leadlog broker` and reads its bootstrap address from the file.
  void StartBroker() {
    const std::string file = dir_.path() + "/bootstrap";
    broker_ = Subprocess::Start({bin_, "broker", "--partitions", std::to_string(kPartitions),
                                 "--bootstrap-file", file},
                                broker_log_, broker_log_);
    ASSERT_NE(broker_, nullptr);
    ASSERT_TRUE(WaitFor([&] { return ReadBootstrap(file) || broker_->Exited(); },
                        absl::Seconds(30)))
        << "no bootstrap file from leadlog broker";
    ASSERT_FALSE(brokers_.empty()) << "leadlog broker exited early";
  }

  bool ReadBootstrap(const std::string& file) {
    std::string text = ReadFile(file);
    size_t end = text.find('\n');
    if (end == std::string::npos || end == 0) return false;  // not there yet
    brokers_ = text.substr(0, end);
    return true;
  }

  // Starts `leadlog serve` on data_dir_ against the external broker.
  void StartServe() {
    ++serve_generation_;
    {
      std::ofstream marker(serve_log_, std::ios::app);
      marker << "==== test: serve #" << serve_generation_ << " starts\n";
    }
    std::vector<std::string> argv = {bin_, "serve", "--data-dir", data_dir_, "--brokers", brokers_,
                                     "--group", "crash", "-X", "session.timeout.ms=6000", "-X",
                                     "heartbeat.interval.ms=1000", "--batch-events", "200",
                                     "--progress-ms", "5000"};
    if (assign_partitions_) argv.push_back("--assign-partitions");
    serve_ = Subprocess::Start(argv, serve_log_, serve_log_);
    ASSERT_NE(serve_, nullptr);
  }

  void KillServe(const std::string& why) {
    int status = serve_->KillNine();
    serve_.reset();
    std::optional<StatsSnapshot> durable = Stats();
    std::cout << "[ crash  ] " << why << " -> serve #" << serve_generation_ << " "
              << DescribeWaitStatus(status) << "; in the log: "
              << (durable ? durable->DebugString() : last_stats_error_) << std::endl;
  }

  // Kills serve at seeded points over waves of messages, then checks the
  // recovery contract (the test below, for each way of owning partitions).
  void KillAtRandomPointsAndCheck();

  TempDir dir_;  // first: outlives the children below
  // serve --assign-partitions (no group join) instead of a group member.
  bool assign_partitions_ = false;
  std::string bin_;
  std::string data_dir_;
  std::string serve_log_;
  std::string broker_log_;
  std::string brokers_;
  std::unique_ptr<Subprocess> broker_;
  std::unique_ptr<Subprocess> serve_;
  int serve_generation_ = 0;
  int commands_ = 0;
  StatsSnapshot last_stats_;
  std::string last_stats_error_;
};

uint64_t CrashSeed() {
  if (const char* env = std::getenv("LEADLOG_CRASH_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 10);
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

enum class Action { kKillAtCount, kKillAfterDelay, kTerminate, kNone };

const char* ActionName(Action a) {
  switch (a) {
    case Action::kKillAtCount: return "SIGKILL at a count";
    case Action::kKillAfterDelay: return "SIGKILL after a delay";
    case Action::kTerminate: return "SIGTERM at a count";
    case Action::kNone: return "no kill";
  }
  return "?";
}

// The same schedule against serve --assign-partitions: restarts skip the
// group join, so kills after a delay land in catch-up rather than the join.
class AssignedCrashTest : public CrashTest {
 protected:
  AssignedCrashTest() { assign_partitions_ = true; }
};

TEST_F(CrashTest, KillNineAtRandomPointsLosesAndDuplicatesNothing) { KillAtRandomPointsAndCheck(); }

TEST_F(AssignedCrashTest, KillNineAtRandomPointsLosesAndDuplicatesNothing) {
  KillAtRandomPointsAndCheck();
}

void CrashTest::KillAtRandomPointsAndCheck() {
  const uint64_t seed = CrashSeed();
  std::cout << "[ seed   ] LEADLOG_CRASH_SEED=" << seed << std::endl;
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE(absl::StrCat("replay with LEADLOG_CRASH_SEED=", seed));
  std::mt19937_64 rng(seed);

  const std::vector<Message> messages = BuildMessages(rng);
  ASSERT_EQ(messages.size(), static_cast<size_t>(kUniqueEvents + kResentEvents));
  // distinct_before[i]: distinct ids among messages [0, i), i.e.
  // events_appended once everything before message i is ingested.
  std::vector<uint64_t> distinct_before(messages.size() + 1, 0);
  {
    absl::flat_hash_set<std::string> seen;
    for (size_t i = 0; i < messages.size(); ++i) {
      seen.insert(messages[i].id);
      distinct_before[i + 1] = seen.size();
    }
  }
  std::vector<size_t> wave_end(kWaves);
  for (int w = 0; w < kWaves; ++w) wave_end[w] = messages.size() * (w + 1) / kWaves;
  // Four SIGKILLs and one SIGTERM in a seeded order; the last wave runs to
  // the end.
  std::vector<Action> actions = {Action::kKillAtCount, Action::kKillAtCount,
                                 Action::kKillAfterDelay, Action::kKillAfterDelay,
                                 Action::kTerminate};
  Shuffle(rng, actions);
  actions.push_back(Action::kNone);
  ASSERT_EQ(actions.size(), static_cast<size_t>(kWaves));

  ASSERT_NO_FATAL_FAILURE(StartBroker());
  Producer producer;
  ASSERT_OK(producer.Init(brokers_));
  const absl::Time started = absl::Now();

  int kills = 0;
  for (int w = 0; w < kWaves; ++w) {
    if (serve_ == nullptr) {
      ASSERT_NO_FATAL_FAILURE(StartServe());
    }
    const Action action = actions[w];
    const size_t from = w == 0 ? 0 : wave_end[w - 1];
    const size_t to = wave_end[w];
    // A kill at a count should hit a serve that is consuming, with batches in
    // flight: a lead-in of the wave is ingested first (so the new process
    // owns the partitions), then the rest streams in while stats are polled.
    // A kill after a delay mostly hits start-up, the group join or catch-up.
    const bool lead_in = action == Action::kKillAtCount || action == Action::kTerminate;
    const size_t stream_from = lead_in ? from + kLeadIn : from;
    const uint64_t threshold = Uniform(rng, distinct_before[stream_from] + 1, distinct_before[to]);
    const int64_t delay_ms = static_cast<int64_t>(Uniform(rng, 0, 7000));
    std::cout << "[ wave   ] " << w << ": messages [" << from << ", " << to << "), "
              << ActionName(action) << " (events_appended >= " << threshold << " / delay "
              << delay_ms << " ms)" << std::endl;
    if (lead_in) {
      producer.Produce(messages, from, stream_from, std::stop_token());
      ASSERT_EQ(producer.error(), "");
      ASSERT_TRUE(WaitForStats(
          [&](const StatsSnapshot& s) { return s.appended >= distinct_before[stream_from]; },
          absl::Seconds(90)))
          << "lead-in not ingested: " << last_stats_.DebugString() << " " << last_stats_error_;
    }
    {
      const uint64_t delivered_before = producer.delivered();
      std::jthread wave([&](std::stop_token stop) {
        producer.Produce(messages, stream_from, to, stop);
      });
      auto progress = [&] {
        return absl::StrCat(last_stats_.DebugString(), ", wave delivered ",
                            producer.delivered() - delivered_before, "/", to - stream_from);
      };
      switch (action) {
        case Action::kKillAtCount:
          ASSERT_TRUE(WaitForStats([&](const StatsSnapshot& s) { return s.appended >= threshold; },
                                   absl::Seconds(90)))
              << "stats stuck at " << last_stats_.DebugString() << " " << last_stats_error_;
          ASSERT_FALSE(serve_->Exited()) << "serve died on its own";
          KillServe(absl::StrCat("SIGKILL #", ++kills, " at ", progress()));
          break;
        case Action::kKillAfterDelay:
          ASSERT_FALSE(WaitFor([&] { return serve_->Exited(); }, absl::Milliseconds(delay_ms)))
              << "serve died on its own";
          KillServe(absl::StrCat("SIGKILL #", ++kills, " ", delay_ms, " ms into wave ", w));
          break;
        case Action::kTerminate: {
          ASSERT_TRUE(WaitForStats([&](const StatsSnapshot& s) { return s.appended >= threshold; },
                                   absl::Seconds(90)))
              << "stats stuck at " << last_stats_.DebugString() << " " << last_stats_error_;
          std::cout << "[ crash  ] SIGTERM at " << progress() << std::endl;
          serve_->Signal(SIGTERM);
          std::optional<int> status = serve_->Wait(absl::Seconds(30));
          ASSERT_TRUE(status.has_value()) << "serve did not stop within 30 s of SIGTERM";
          EXPECT_EQ(DescribeWaitStatus(*status), "exit 0") << "SIGTERM must stop serve cleanly";
          std::cout << "[ crash  ] SIGTERM -> serve #" << serve_generation_ << " "
                    << DescribeWaitStatus(*status) << std::endl;
          serve_.reset();
          // A clean stop leaves a consistent log with no duplicate appended.
          CommandResult verify = Run({"verify", "--data-dir", data_dir_});
          EXPECT_EQ(verify.exit_code, 0) << verify.wait_status << "\n" << verify.out << verify.err;
          std::optional<StatsSnapshot> s = Stats();
          ASSERT_TRUE(s.has_value()) << last_stats_error_;
          EXPECT_LE(s->appended, distinct_before[to]) << s->DebugString();
          EXPECT_LE(s->duplicates, static_cast<uint64_t>(kResentEvents)) << s->DebugString();
          break;
        }
        case Action::kNone:
          break;
      }
      wave.join();  // the whole wave is produced (a failed ASSERT above stops it instead)
    }
    ASSERT_EQ(producer.error(), "");
  }
  ASSERT_GE(kills, 3);
  EXPECT_EQ(producer.delivered(), messages.size());

  if (serve_ == nullptr) {
    ASSERT_NO_FATAL_FAILURE(StartServe());
  }
  const uint64_t total = messages.size();
  ASSERT_TRUE(WaitForStats(
      [&](const StatsSnapshot& s) { return s.appended + s.duplicates + s.dead_letters >= total; },
      absl::Seconds(120)))
      << "not all " << total << " messages ingested: " << last_stats_.DebugString() << " "
      << last_stats_error_;
  serve_->Signal(SIGTERM);
  std::optional<int> status = serve_->Wait(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "serve did not stop within 30 s of SIGTERM";
  EXPECT_EQ(DescribeWaitStatus(*status), "exit 0");
  serve_.reset();
  std::cout << "[ crash  ] all ingested after " << absl::FormatDuration(absl::Now() - started)
            << " and " << serve_generation_ << " serve processes" << std::endl;

  // Every serve took its partitions the configured way.
  const std::string assigned = "consuming every partition (assigned, no group join)";
  const std::string member = "consuming as a member of group crash";
  EXPECT_THAT(ReadFile(serve_log_), HasSubstr(assign_partitions_ ? assigned : member));
  EXPECT_THAT(ReadFile(serve_log_), ::testing::Not(HasSubstr(assign_partitions_ ? member : assigned)));

  // The counters: every distinct id appended once, every re-send counted.
  std::optional<StatsSnapshot> stats = Stats();
  ASSERT_TRUE(stats.has_value()) << last_stats_error_;
  EXPECT_EQ(stats->appended, static_cast<uint64_t>(kUniqueEvents)) << stats->DebugString();
  EXPECT_EQ(stats->duplicates, static_cast<uint64_t>(kResentEvents)) << stats->DebugString();
  EXPECT_EQ(stats->dead_letters, 0u) << stats->DebugString();

  CommandResult verify = Run({"verify", "--data-dir", data_dir_});
  EXPECT_EQ(verify.exit_code, 0) << verify.wait_status << "\n" << verify.out << verify.err;

  // The log itself, read in this process.
  EventLogOptions options;
  options.data_dir = data_dir_;
  options.read_only = true;
  auto log = EventLog::Open(options);
  ASSERT_OK(log.status());
  EXPECT_OK((*log)->Verify());
  absl::flat_hash_map<std::string, int> counts;
  uint64_t records = 0, ticks = 0;
  for (ShardId shard : (*log)->Shards()) {
    int64_t last_offset = -1;
    uint64_t shard_ticks = 0;
    ASSERT_OK((*log)->ReadRange(shard, Sequence(0), (*log)->Position(shard),
                                [&](const v1::LogRecord& r) {
                                  ++records;
                                  if (r.has_clock_tick()) {
                                    ++ticks;
                                    ++shard_ticks;
                                    return absl::OkStatus();
                                  }
                                  ++counts[r.event().event_id()];
                                  EXPECT_EQ(r.source().topic(), kEventsTopic);
                                  EXPECT_EQ(r.source().partition(), static_cast<int32_t>(shard.value()));
                                  EXPECT_GT(r.source().offset(), last_offset)
                                      << "shard " << shard << " re-read offset " << r.source().offset();
                                  last_offset = r.source().offset();
                                  return absl::OkStatus();
                                }));
    // Every message of the partition is accounted for: appended, skipped as a
    // duplicate or dead-lettered, and the stored offset is the high watermark.
    ShardStats s = (*log)->Stats(shard);
    int64_t low = -1, high = -1;
    ASSERT_OK(producer.Watermarks(static_cast<int>(shard.value()), &low, &high));
    EXPECT_EQ(low, 0) << "the mock evicted messages of partition " << shard;
    std::optional<KafkaOffset> stored = (*log)->StoredOffset(shard, kEventsTopic);
    ASSERT_TRUE(stored.has_value()) << "shard " << shard;
    EXPECT_EQ(stored->value(), high) << "shard " << shard;
    EXPECT_EQ(s.events_appended + s.duplicates_skipped + s.dead_letters, static_cast<uint64_t>(high))
        << "shard " << shard;
    EXPECT_EQ(s.position.value(), s.events_appended + shard_ticks) << "shard " << shard;
  }
  // ClockTick records would be the engine's own; serve appends none today.
  EXPECT_EQ(records - ticks, static_cast<uint64_t>(kUniqueEvents));
  EXPECT_EQ(counts.size(), static_cast<size_t>(kUniqueEvents));
  std::vector<std::string> missing, doubled;
  for (int i = 0; i < kUniqueEvents; ++i) {
    auto it = counts.find(absl::StrCat("crash-", i));
    if (it == counts.end()) {
      missing.push_back(absl::StrCat("crash-", i));
    } else if (it->second != 1) {
      doubled.push_back(absl::StrCat("crash-", i, " x", it->second));
    }
  }
  auto first = [](const std::vector<std::string>& v) {
    return absl::StrJoin(v.begin(), v.begin() + std::min<size_t>(v.size(), 10), ", ");
  };
  EXPECT_TRUE(missing.empty()) << missing.size() << " lost, e.g. " << first(missing);
  EXPECT_TRUE(doubled.empty()) << doubled.size() << " appended twice, e.g. " << first(doubled);
}

TEST_F(CrashTest, SecondServeOnALockedDataDirExitsNonZeroSayingLocked) {
  // The first serve runs its own embedded broker; it announces the bootstrap
  // only after opening (and locking) the log.
  const std::string file = dir_.path() + "/bootstrap";
  serve_ = Subprocess::Start({bin_, "serve", "--data-dir", data_dir_, "--bootstrap-file", file},
                             serve_log_, serve_log_);
  ASSERT_NE(serve_, nullptr);
  ASSERT_TRUE(WaitFor([&] { return ReadBootstrap(file) || serve_->Exited(); }, absl::Seconds(30)));
  ASSERT_FALSE(brokers_.empty()) << "the first serve exited early";

  CommandResult second = Run({"serve", "--data-dir", data_dir_, "--brokers", brokers_});
  EXPECT_EQ(second.exit_code, 1) << second.wait_status;
  EXPECT_THAT(second.err, HasSubstr("locked"));
  EXPECT_EQ(std::count(second.err.begin(), second.err.end(), '\n'), 1) << second.err;

  // Read-only commands still work beside the running serve.
  CommandResult stats = Run({"stats", "--data-dir", data_dir_, "--json"});
  EXPECT_EQ(stats.exit_code, 0) << stats.wait_status << " " << stats.err;
  EXPECT_TRUE(JsonCount(stats.out, "events_appended").has_value()) << stats.out;

  ASSERT_FALSE(serve_->Exited()) << "the first serve must keep running";
  serve_->Signal(SIGTERM);
  std::optional<int> status = serve_->Wait(absl::Seconds(30));
  ASSERT_TRUE(status.has_value()) << "serve did not stop within 30 s of SIGTERM";
  EXPECT_EQ(DescribeWaitStatus(*status), "exit 0");
  serve_.reset();
}

}  // namespace
}  // namespace leadlog
