// Crash test of the outbox emitter (DESIGN.md invariant 8): a separate
// `leadlog broker` process, and outbox_emit_tool (tests/outbox_emit_tool.cc)
// emitting a log's outbox, SIGKILLed at points chosen from a seed: right
// after a round's messages are acknowledged and before its cursors are
// stored (the window recovery exists for), and after a number of completed
// rounds. New events arrive between runs. At the end the topic must hold
// every action exactly once, in outbox order per shard.
//
// LEADLOG_CRASH_SEED=<seed> replays the schedule.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "engine/testing/wait.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/outbox_test_support.h"

namespace leadlog {
namespace {

using ::leadlog::testing::TempDir;
using ::leadlog::testing::WaitFor;

constexpr int kShards = 5;
constexpr int kPartitions = 3;  // several shards per partition
constexpr int kBatch = 40;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t CountLines(const std::string& text, absl::string_view prefix) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += absl::StartsWith(line, prefix) ? 1 : 0;
  return n;
}

// A child process with stdout and stderr in one file; SIGKILLed and reaped
// by the destructor, and by PR_SET_PDEATHSIG if the test dies.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& out_path) : out_path_(out_path) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      dup2(in, 0);
      dup2(out, 1);
      dup2(out, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in);
    close(out);
  }
  ~Child() { KillNine(); }
  std::string Output() const { return ReadFile(out_path_); }
  bool Exited() {
    if (reaped_) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    reaped_ = true;
    status_ = status;
    return true;
  }
  int KillNine() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    return status_;
  }
  int status() const { return status_; }

 private:
  std::string out_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

uint64_t Seed() {
  if (const char* env = std::getenv("LEADLOG_CRASH_SEED"); env != nullptr && *env != '\0') {
    return std::strtoull(env, nullptr, 10);
  }
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) | device();
}

class OutboxCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("LEADLOG_BIN");
    ASSERT_NE(bin, nullptr) << "LEADLOG_BIN must name the leadlog binary (set by ctest)";
    tool_ = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "outbox_emit_tool")
                .string();
    ASSERT_EQ(access(tool_.c_str(), X_OK), 0) << tool_;
    data_dir_ = dir_.path() + "/data";
    const std::string file = dir_.path() + "/bootstrap";
    broker_ = std::make_unique<Child>(
        std::vector<std::string>{bin, "broker", "--partitions", std::to_string(kPartitions),
                                 "--bootstrap-file", file},
        dir_.path() + "/broker.log");
    ASSERT_TRUE(WaitFor(
        [&] {
          std::string text = ReadFile(file);
          if (text.find('\n') == std::string::npos) return broker_->Exited();
          brokers_ = text.substr(0, text.find('\n'));
          return true;
        },
        absl::Seconds(30)));
    ASSERT_FALSE(brokers_.empty()) << "leadlog broker exited: " << broker_->Output();
  }

  // Appends events [from, to) to every shard (the tool folds them).
  void AddEvents(int from, int to) {
    EventLogOptions options;
    options.data_dir = data_dir_;
    auto log = EventLog::Open(options);
    ASSERT_OK(log.status());
    for (int s = 0; s < kShards; ++s) ASSERT_OK(testing::AppendEvents(log->get(), ShardId(s), from, to));
  }

  std::unique_ptr<Child> StartTool(int pause_after_delivery) {
    ++runs_;
    return std::make_unique<Child>(
        std::vector<std::string>{tool_, "--data-dir", data_dir_, "--brokers", brokers_, "--batch",
                                 std::to_string(kBatch), "--pause-after-delivery",
                                 std::to_string(pause_after_delivery)},
        absl::StrCat(dir_.path(), "/tool-", runs_, ".log"));
  }

  TempDir dir_;
  std::string tool_;
  std::string data_dir_;
  std::string brokers_;
  std::unique_ptr<Child> broker_;
  int runs_ = 0;
};

TEST_F(OutboxCrashTest, KillNineAnywhereNeverPublishesAnActionTwiceOrLosesOne) {
  const uint64_t seed = Seed();
  std::cout << "[ seed   ] LEADLOG_CRASH_SEED=" << seed << std::endl;
  SCOPED_TRACE(absl::StrCat("replay with LEADLOG_CRASH_SEED=", seed));
  std::mt19937_64 rng(seed);
  int events = 0;
  for (int phase = 0; phase < 4; ++phase) {
    const int more = 60 + static_cast<int>(rng() % 60);
    ASSERT_NO_FATAL_FAILURE(AddEvents(events, events + more));
    events += more;
    // Crash between acknowledgement and cursor write in round k...
    const int k = 1 + static_cast<int>(rng() % 3);
    {
      auto tool = StartTool(k);
      ASSERT_TRUE(WaitFor([&] { return CountLines(tool->Output(), "DELIVERED") >= size_t(k) ||
                                       tool->Exited(); },
                          absl::Seconds(60)));
      ASSERT_FALSE(tool->Exited()) << tool->Output();
      tool->KillNine();
      std::cout << "[ crash  ] SIGKILL after delivery of round " << k << std::endl;
    }
    // ...then after some completed rounds (or a start-up, when r is 0).
    const size_t r = rng() % 4;
    auto tool = StartTool(0);
    ASSERT_TRUE(WaitFor([&] { return CountLines(tool->Output(), "ROUND") >= r || tool->Exited(); },
                        absl::Seconds(60)));
    tool->KillNine();
    std::cout << "[ crash  ] SIGKILL after " << r << " completed rounds" << std::endl;
  }
  auto last = StartTool(0);
  ASSERT_TRUE(WaitFor([&] { return last->Exited(); }, absl::Seconds(120))) << last->Output();
  ASSERT_TRUE(WIFEXITED(last->status()) && WEXITSTATUS(last->status()) == 0) << last->Output();
  ASSERT_THAT(last->Output(), ::testing::HasSubstr("DONE"));

  auto messages = testing::ReadTopic(brokers_, kActionsTopic);
  ASSERT_OK(messages.status());
  absl::flat_hash_map<std::string, int> count;
  std::map<std::string, std::string> last_key;  // shard -> outbox key
  for (const testing::ReadBack& m : *messages) {
    ++count[m.headers.at("leadlog-action-id")];
    const std::string key = absl::HexStringToBytes(m.headers.at("leadlog-outbox-key"));
    std::string& previous = last_key[m.headers.at("leadlog-shard")];
    EXPECT_GT(key, previous) << "out of order or repeated: " << m.headers.at("leadlog-action-id");
    previous = key;
  }
  // Every action the fold wrote: one per event, two for every third.
  size_t expected = 0;
  for (int s = 0; s < kShards; ++s) {
    for (int i = 0; i < events; ++i) {
      const int actions = i % 3 == 0 ? 2 : 1;
      for (int a = 0; a < actions; ++a) {
        const std::string id = ActionId(ShardId(s), Sequence(i), a == 0 ? "handoff" : "notify_owner", a);
        ++expected;
        EXPECT_EQ(count[id], 1) << id;
      }
    }
  }
  EXPECT_EQ(messages->size(), expected);
  EXPECT_EQ(count.size(), expected);
}

}  // namespace
}  // namespace leadlog
