#include "engine/timers.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/internal/test_util.h"
#include "engine/projection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::internal::BatchOf;
using ::leadlog::internal::kTestStartMs;
using ::leadlog::internal::LogFixture;
using ::leadlog::internal::MakeEvent;
using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const ShardId kShard(0);
constexpr int64_t kMinuteMs = 60'000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr int64_t kDayMs = 24 * kHourMs;

std::string Be64(uint64_t value) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
  return out;
}

// Appends one event per name (the name is the fold's command).
void AppendNamed(EventLog& log, const std::vector<std::string>& names) {
  static int next_id = 0;
  std::vector<PendingEvent> events;
  for (const std::string& name : names) {
    PendingEvent pending = MakeEvent(kShard, absl::StrCat("ev-", next_id++), "user");
    v1::Event event;
    ASSERT_TRUE(event.ParseFromString(pending.event_bytes));
    event.set_name(name);
    pending.event_bytes = event.SerializeAsString();
    events.push_back(std::move(pending));
  }
  AppendBatch batch = BatchOf(std::move(events));
  ASSERT_OK(log.Append(batch));
}

std::unique_ptr<ProjectionRunner> MakeRunner(EventLog& log, ProjectionFold& fold,
                                             uint64_t records_per_commit,
                                             uint32_t family_version = 0) {
  ProjectionRunnerOptions options;
  options.records_per_commit = records_per_commit;
  options.sync_per_commit = false;
  options.family_version = family_version;
  absl::StatusOr<std::unique_ptr<ProjectionRunner>> runner =
      ProjectionRunner::Create(&log, &fold, options);
  EXPECT_THAT(runner, IsOk());
  return runner.ok() ? std::move(*runner) : nullptr;
}

// "<id>@<due - kTestStartMs>:<payload>", or "none", or the error.
std::string Show(const absl::StatusOr<std::optional<Timer>>& timer) {
  if (!timer.ok()) return timer.status().ToString();
  if (!timer->has_value()) return "none";
  return absl::StrCat((*timer)->id, "@", (*timer)->due_ms, ":", (*timer)->payload);
}

// Pops every timer due at `now_ms`, shown as above.
std::vector<std::string> PopAll(TimerIndex& timers, int64_t now_ms,
                                absl::string_view caller_pairs_prefix = "") {
  std::vector<std::string> popped;
  while (true) {
    absl::StatusOr<std::optional<Timer>> timer = timers.PopDue(now_ms, caller_pairs_prefix);
    if (!timer.ok() || !timer->has_value()) {
      if (!timer.ok()) popped.push_back(timer.status().ToString());
      return popped;
    }
    popped.push_back(Show(timer));
  }
}

// Runs steps[i] on the record at sequence i, with one TimerIndex per
// record, as a fold would.
class ScriptFold final : public ProjectionFold {
 public:
  using Step = std::function<void(ProjectionTxn&)>;
  explicit ScriptFold(std::vector<Step> steps) : steps_(std::move(steps)) {}
  std::string name() const override { return "timer_script"; }
  uint32_t version() const override { return 1; }
  absl::Status Apply(ShardId, const v1::LogRecord& record, ProjectionTxn& txn) override {
    if (record.sequence() < steps_.size()) steps_[record.sequence()](txn);
    return absl::OkStatus();
  }

 private:
  std::vector<Step> steps_;
};

// Each TimerIndex behaviour runs twice: one record per chunk (reads see the
// committed state of earlier steps) and one chunk for all (reads see only
// pending writes).
class TimerIndexTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  // Runs the steps over a fresh log; returns the runner for state checks.
  std::unique_ptr<ProjectionRunner> Run(std::vector<ScriptFold::Step> steps) {
    log_ = f_.Open();
    AppendNamed(*log_, std::vector<std::string>(steps.size(), "step"));
    fold_ = std::make_unique<ScriptFold>(std::move(steps));
    std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log_, *fold_, GetParam());
    EXPECT_THAT(runner->CatchUp(kShard), IsOk());
    return runner;
  }

  LogFixture f_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<ScriptFold> fold_;
};

INSTANTIATE_TEST_SUITE_P(CommittedAndPending, TimerIndexTest, ::testing::Values(uint64_t{1}, uint64_t{1000}),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return info.param == 1 ? std::string("ChunkPerRecord")
                                                  : std::string("OneChunk");
                         });

TEST_P(TimerIndexTest, PopDueReturnsTimersInDueOrderWithTiesById) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<std::string> popped;
  std::vector<std::optional<int64_t>> next;
  std::unique_ptr<ProjectionRunner> runner = Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        // 255 / 256 differ in the low byte only, 1 << 40 in a high byte.
        for (auto [due, id] : std::vector<std::pair<int64_t, std::string>>{
                 {300, "b"}, {100, "z"}, {300, "a"}, {256, "x"}, {255, "y"},
                 {int64_t{1} << 40, "big"}, {0, "zero"}, {kMax, "max"}, {300, "a\xff"}}) {
          ASSERT_OK(timers.Schedule(due, id, "p-" + id));
        }
        EXPECT_EQ(Show(timers.PopDue(-1)), "none");
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        next.push_back(*timers.NextDue());
        popped = PopAll(timers, 300);
        next.push_back(*timers.NextDue());
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        std::vector<std::string> rest = PopAll(timers, kMax);
        popped.insert(popped.end(), rest.begin(), rest.end());
        next.push_back(*timers.NextDue());
      },
  });
  EXPECT_THAT(popped, ElementsAre("zero@0:p-zero", "z@100:p-z", "y@255:p-y", "x@256:p-x",
                                  "a@300:p-a", "a\xff@300:p-a\xff", "b@300:p-b",
                                  absl::StrCat("big@", int64_t{1} << 40, ":p-big"),
                                  absl::StrCat("max@", kMax, ":p-max")));
  EXPECT_THAT(next, ElementsAre(0, int64_t{1} << 40, std::nullopt));
  absl::StatusOr<std::vector<ProjectionEntry>> left = runner->Scan(kShard, "t/", "", 10);
  ASSERT_OK(left);
  EXPECT_THAT(*left, IsEmpty());
}

TEST_P(TimerIndexTest, RescheduleMovesATimer) {
  std::vector<std::string> seen;
  std::unique_ptr<ProjectionRunner> runner = Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        ASSERT_OK(timers.Schedule(100, "a", "first"));
        ASSERT_OK(timers.Schedule(200, "b", "b"));
        ASSERT_OK(timers.Schedule(500, "c", "c"));
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        ASSERT_OK(timers.Schedule(300, "a", "second"));  // later
        ASSERT_OK(timers.Schedule(50, "c", "earlier"));  // earlier
        seen.push_back(Show(timers.Find("a")));
        seen.push_back(Show(timers.Find("c")));
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        for (const std::string& s : PopAll(timers, 250)) seen.push_back(s);
        seen.push_back("|");
        for (const std::string& s : PopAll(timers, 1000)) seen.push_back(s);
      },
  });
  EXPECT_THAT(seen, ElementsAre("a@300:second", "c@50:earlier", "c@50:earlier", "b@200:b", "|",
                                "a@300:second"));
  absl::StatusOr<std::vector<ProjectionEntry>> left = runner->Scan(kShard, "t/", "", 10);
  ASSERT_OK(left);
  EXPECT_THAT(*left, IsEmpty());  // no stale entry of a moved timer
}

TEST_P(TimerIndexTest, CancelRemovesATimer) {
  std::vector<std::string> seen;
  Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        ASSERT_OK(timers.Schedule(100, "a", "a"));
        ASSERT_OK(timers.Schedule(200, "b", "b"));
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        seen.push_back(absl::StrCat(*timers.Cancel("a")));
        seen.push_back(absl::StrCat(*timers.Cancel("a")));
        seen.push_back(absl::StrCat(*timers.Cancel("never")));
        seen.push_back(Show(timers.Find("a")));
        seen.push_back(Show(timers.Find("b")));
        seen.push_back(absl::StrCat(**timers.NextDue()));
        for (const std::string& s : PopAll(timers, 1000)) seen.push_back(s);
      },
  });
  EXPECT_THAT(seen, ElementsAre("1", "0", "0", "none", "b@200:b", "200", "b@200:b"));
}

TEST_P(TimerIndexTest, ATimerScheduledBehindPoppedOnesStillFires) {
  std::vector<std::string> seen;
  Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        ASSERT_OK(timers.Schedule(10, "a", "a"));
        ASSERT_OK(timers.Schedule(20, "b", "b"));
        ASSERT_OK(timers.Schedule(30, "c", "c"));
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        seen.push_back(Show(timers.PopDue(100)));            // a
        seen.push_back(Show(timers.PopDue(100)));            // b
        ASSERT_OK(timers.Schedule(5, "late", "late"));       // before what was popped
        ASSERT_OK(timers.Schedule(10, "a", "again"));        // the popped key itself
        for (const std::string& s : PopAll(timers, 100)) seen.push_back(s);
      },
  });
  EXPECT_THAT(seen, ElementsAre("a@10:a", "b@20:b", "late@5:late", "a@10:again", "c@30:c"));
}

// PopDue reads due entries ahead; writes inside the read-ahead window
// between pops (a timer rescheduled, cancelled or added among the due ones)
// are seen by the next PopDue, as they are without it.
TEST_P(TimerIndexTest, WritesAmongReadAheadDueTimersAreSeenByTheNextPop) {
  std::vector<std::string> seen;
  Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        for (int i = 0; i < 200; ++i) {
          ASSERT_OK(timers.Schedule(100 + i, absl::StrCat("t", 100 + i), "p"));
        }
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        seen.push_back(Show(timers.PopDue(1000)));               // t100, reads ahead
        ASSERT_OK(timers.Cancel("t101"));                         // in the window
        ASSERT_OK(timers.Schedule(5000, "t102", "moved"));        // out of the window
        ASSERT_OK(timers.Schedule(103, "new", "new"));            // into the window
        ASSERT_OK(timers.Schedule(150, "t299", "earlier"));       // from past the window into it
        int popped = 0;
        while (true) {
          absl::StatusOr<std::optional<Timer>> t = timers.PopDue(1000);
          ASSERT_OK(t);
          if (!t->has_value()) break;
          ++popped;
          if ((*t)->id == "new" || (*t)->id == "t299" || (*t)->id == "t101" ||
              (*t)->id == "t102" || (*t)->id == "t103" || (*t)->id == "t104") {
            seen.push_back(Show(*t));
          }
        }
        seen.push_back(absl::StrCat(popped));
        seen.push_back(absl::StrCat(**timers.NextDue()));
      },
  });
  EXPECT_THAT(seen, ElementsAre("t100@100:p", "new@103:new", "t103@103:p", "t104@104:p",
                                "t299@150:earlier", "198", "5000"));
}

// Past kTimerRangeDeletePopsMin pops, PopDue deletes the popped due entries
// with one widening range: timers scheduled behind the popped ones (inside
// the range) and the popped key itself still fire once, the rest fire in
// order, and nothing of a fired timer is left.
TEST_P(TimerIndexTest, PopsPastTheRangeThresholdFireExactlyOnceAndLeaveNothing) {
  const int n = static_cast<int>(3 * kTimerRangeDeletePopsMin);
  std::vector<std::string> seen;
  std::unique_ptr<ProjectionRunner> runner = Run({
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        for (int i = 0; i < n; ++i) ASSERT_OK(timers.Schedule(100 + i, absl::StrCat("t", 1000 + i), "p"));
        ASSERT_OK(timers.Schedule(100'000, "later", "p"));
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        for (int i = 0; i < 2 * static_cast<int>(kTimerRangeDeletePopsMin); ++i) {
          absl::StatusOr<std::optional<Timer>> t = timers.PopDue(10'000);
          ASSERT_OK(t);
          ASSERT_TRUE(t->has_value());
          EXPECT_EQ((*t)->id, absl::StrCat("t", 1000 + i));
        }
        ASSERT_OK(timers.Schedule(5, "late", "late"));         // behind the popped ones
        ASSERT_OK(timers.Schedule(100, "t1000", "again"));     // the first popped key
        ASSERT_OK(timers.Schedule(50'000, "t1001", "future"));  // a popped id, not due
        std::vector<std::string> rest = PopAll(timers, 10'000);
        seen.assign(rest.begin(), rest.begin() + 2);
        seen.push_back(absl::StrCat(rest.size()));
        seen.push_back(rest.back());
      },
      [&](ProjectionTxn& txn) {
        TimerIndex timers(txn);
        seen.push_back(Show(timers.Find("t1000")));
        seen.push_back(Show(timers.Find("t1001")));
        seen.push_back(Show(timers.Find("t1100")));
        for (const std::string& s : PopAll(timers, 1'000'000)) seen.push_back(s);
      },
  });
  EXPECT_THAT(seen, ElementsAre("late@5:late", "t1000@100:again",
                                absl::StrCat(2 + n - 2 * kTimerRangeDeletePopsMin),
                                absl::StrCat("t", 1000 + n - 1, "@", 100 + n - 1, ":p"), "none",
                                "t1001@50000:future", "none", "t1001@50000:future",
                                "later@100000:p"));
  absl::StatusOr<std::vector<ProjectionEntry>> left = runner->Scan(kShard, "t/", "", 10);
  ASSERT_OK(left);
  EXPECT_THAT(*left, IsEmpty());
}

TEST_P(TimerIndexTest, PrefixesKeepIndicesApart) {
  std::vector<std::string> seen;
  Run({
      [&](ProjectionTxn& txn) {
        TimerIndex one(txn, "flows/1/");
        TimerIndex two(txn, "flows/2/");
        ASSERT_OK(one.Schedule(100, "same", "one"));
        ASSERT_OK(two.Schedule(50, "same", "two"));
        ASSERT_OK(two.Schedule(70, "other", "two"));
        txn.Put("flows/1/x", "a fold key beside the index");
      },
      [&](ProjectionTxn& txn) {
        TimerIndex one(txn, "flows/1/");
        TimerIndex two(txn, "flows/2/");
        seen.push_back(Show(one.Find("same")));
        for (const std::string& s : PopAll(one, 1000)) seen.push_back(s);
        seen.push_back(Show(two.Find("same")));
        for (const std::string& s : PopAll(two, 1000)) seen.push_back(s);
      },
  });
  EXPECT_THAT(seen, ElementsAre("same@100:one", "same@100:one", "same@50:two", "same@50:two",
                                "other@70:two"));
}

TEST_P(TimerIndexTest, InvalidArgumentsAreRejectedAndDoNotPoisonTheChunk) {
  std::vector<absl::Status> errors;
  std::vector<std::string> seen;
  const std::string id_at_limit(kTimerIdBytesMax, 'i');
  std::unique_ptr<ProjectionRunner> runner = Run({[&](ProjectionTxn& txn) {
    TimerIndex timers(txn);
    errors.push_back(timers.Schedule(1, "", "p"));
    errors.push_back(timers.Schedule(1, std::string(kTimerIdBytesMax + 1, 'i'), "p"));
    errors.push_back(timers.Schedule(1, "id", std::string(kTimerPayloadBytesMax + 1, 'p')));
    errors.push_back(timers.Schedule(-1, "id", "p"));
    errors.push_back(timers.Cancel("").status());
    errors.push_back(timers.Find(std::string(kTimerIdBytesMax + 1, 'i')).status());
    TimerIndex long_prefix(txn, std::string(TimerIndex::kTimerPrefixBytesMax + 1, 'x'));
    errors.push_back(long_prefix.Schedule(1, "id", "p"));
    errors.push_back(long_prefix.PopDue(1).status());
    // At the limits: accepted, and the key still fits kProjectionKeyBytesMax.
    TimerIndex max_prefix(txn, std::string(TimerIndex::kTimerPrefixBytesMax, 'x'));
    ASSERT_OK(max_prefix.Schedule(0, id_at_limit, std::string(kTimerPayloadBytesMax, 'p')));
    absl::StatusOr<std::optional<Timer>> popped = max_prefix.PopDue(0);
    ASSERT_OK(popped);
    ASSERT_TRUE(popped->has_value());
    seen.push_back(absl::StrCat((*popped)->id.size(), " ", (*popped)->payload.size()));
    ASSERT_OK(timers.Schedule(0, id_at_limit, ""));
  }});
  using absl::StatusCode::kInvalidArgument;
  EXPECT_THAT(errors, ElementsAre(StatusIs(kInvalidArgument, HasSubstr("id: 0 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("id: 257 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("payload: 16385 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("due_ms: -1")),
                                  StatusIs(kInvalidArgument, HasSubstr("id: 0 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("id: 257 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("prefix: 759 bytes")),
                                  StatusIs(kInvalidArgument, HasSubstr("prefix: 759 bytes"))));
  EXPECT_THAT(seen, ElementsAre("256 16384"));
  EXPECT_EQ(runner->Checkpoint(kShard), Sequence(1));  // the chunk committed
  absl::StatusOr<std::optional<std::string>> stored = runner->Get(kShard, "t/i/" + id_at_limit);
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, Be64(0));
}

TEST_P(TimerIndexTest, DisagreeingEntriesAreDataLoss) {
  std::vector<std::string> seen;
  Run({[&](ProjectionTxn& txn) {
    TimerIndex timers(txn);
    txn.Put("t/i/short", "1234567");  // an id entry of 7 bytes
    seen.push_back(Show(timers.Find("short")));
    txn.Put("t/d/" + Be64(5) + "orphan", "p");  // a due entry without its id entry
    seen.push_back(Show(timers.PopDue(10)));
    txn.Delete("t/d/" + Be64(5) + "orphan");
    txn.Put("t/i/lost", Be64(7));  // an id entry without its due entry
    seen.push_back(Show(timers.Find("lost")));
  }});
  EXPECT_THAT(seen, ElementsAre(HasSubstr("DATA_LOSS: timer \"short\": malformed due time"),
                                HasSubstr("DATA_LOSS: timer \"orphan\": due entry says 5, id "
                                          "entry says nothing"),
                                HasSubstr("DATA_LOSS: timer \"lost\": id entry says due 7 but "
                                          "there is no due entry")));
}

// Pops without the id entry read (ids under the caller's prefix) return
// the same timers in the same order and leave the same state as paired
// pops, including a timer rescheduled right after it fired (a tick's SLA
// warning rescheduled to the breach).
TEST_P(TimerIndexTest, CallerPairedPopsFireAndWriteExactlyAsPairedPops) {
  // The same script on two indices: "p/" pops paired, "q/" caller-paired.
  std::vector<std::string> seen[2];
  const std::string index_prefix[2] = {"p/", "q/"};
  const std::string caller_pairs[2] = {"", "rev/"};
  auto step = [&](int n) {
    return [&, n](ProjectionTxn& txn) {
      for (int k = 0; k < 2; ++k) {
        TimerIndex timers(txn, index_prefix[k]);
        if (n == 0) {
          ASSERT_OK(timers.Schedule(100, "rev/b", "lead-b"));
          ASSERT_OK(timers.Schedule(100, "rev/a", "lead-a"));
          ASSERT_OK(timers.Schedule(50, "flow/x", "x"));
          ASSERT_OK(timers.Schedule(400, "rev/c", "lead-c"));
        } else if (n == 1) {
          while (true) {
            absl::StatusOr<std::optional<Timer>> timer = timers.PopDue(200, caller_pairs[k]);
            ASSERT_OK(timer.status());
            if (!timer->has_value()) break;
            seen[k].push_back(Show(*timer));
            if ((*timer)->id == "rev/a") {
              ASSERT_OK(timers.Schedule(300, "rev/a", "breach"));
            }
          }
          seen[k].push_back(Show(timers.Find("rev/a")));
          seen[k].push_back(Show(timers.Find("rev/b")));
        } else {
          for (const std::string& s : PopAll(timers, 1000, caller_pairs[k])) seen[k].push_back(s);
        }
      }
    };
  };
  std::unique_ptr<ProjectionRunner> runner = Run({step(0), step(1), step(2)});
  EXPECT_THAT(seen[0], ElementsAre("flow/x@50:x", "rev/a@100:lead-a", "rev/b@100:lead-b",
                                   "rev/a@300:breach", "none", "rev/a@300:breach",
                                   "rev/c@400:lead-c"));
  EXPECT_EQ(seen[1], seen[0]);
  for (const std::string& prefix : index_prefix) {
    absl::StatusOr<std::vector<ProjectionEntry>> left = runner->Scan(kShard, prefix, "", 10);
    ASSERT_OK(left);
    EXPECT_THAT(*left, IsEmpty()) << prefix;  // both entries of every fired timer deleted
  }
}

// The caller-paired pop skips only the id entry: a due entry without one
// pops under the prefix (the caller's state decides whether it fires),
// stays DataLoss outside it, and a malformed due key is DataLoss naming the
// key either way.
TEST_P(TimerIndexTest, CallerPairedPopSkipsOnlyTheIdEntry) {
  std::vector<std::string> seen;
  std::unique_ptr<ProjectionRunner> runner = Run({[&](ProjectionTxn& txn) {
    txn.Put("t/d/" + Be64(5) + "rev/orphan", "p");  // no id entry
    txn.Put("t/d/" + Be64(6) + "other", "q");        // no id entry
    TimerIndex timers(txn);
    seen.push_back(Show(timers.PopDue(10, "rev/")));
    seen.push_back(Show(timers.PopDue(10, "rev/")));
    txn.Delete("t/d/" + Be64(6) + "other");
    txn.Put("t/d/" + std::string("\x01\x02", 2), "short");  // 2 bytes of due, no id
    TimerIndex fresh(txn);
    seen.push_back(Show(fresh.PopDue(10, "rev/")));
  }});
  EXPECT_THAT(seen, ElementsAre("rev/orphan@5:p",
                                HasSubstr("DATA_LOSS: timer \"other\": due entry says 6, id "
                                          "entry says nothing"),
                                HasSubstr("DATA_LOSS: timer due entry \"t/d/\\x01\\x02\": "
                                          "malformed key")));
}

TEST(TimerIndex, KeyLayoutIsPinned) {
  LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendNamed(*log, {"step"});
  ScriptFold fold({[&](ProjectionTxn& txn) {
    ASSERT_OK(TimerIndex(txn).Schedule(258, "id1", "payload"));
  }});
  std::unique_ptr<ProjectionRunner> runner = MakeRunner(*log, fold, 1);
  ASSERT_THAT(runner->CatchUp(kShard), IsOk());
  absl::StatusOr<std::vector<ProjectionEntry>> state = runner->Scan(kShard, "", "", 10);
  ASSERT_OK(state);
  ASSERT_EQ(state->size(), 2u);
  EXPECT_EQ((*state)[0].key, std::string("t/d/\0\0\0\0\0\0\x01\x02id1", 15));
  EXPECT_EQ((*state)[0].value, "payload");
  EXPECT_EQ((*state)[1].key, "t/i/id1");
  EXPECT_EQ((*state)[1].value, std::string("\0\0\0\0\0\0\x01\x02", 8));
}

// A fold with timers, as projections use them. Each event's name is a
// command run on its record: "schedule <id> <delay_ms>" (due = record log
// time + delay) or "cancel <id>". Then, on every record (events and clock
// ticks), it fires every timer due at the record's log time, in order,
// appending "<id> due=+<due - t0> seq=<sequence>" under "fired/" ‖ BE64(n).
class TimerFold final : public ProjectionFold {
 public:
  std::string name() const override { return "timer_fold"; }
  uint32_t version() const override { return 1; }

  absl::Status Apply(ShardId, const v1::LogRecord& record, ProjectionTxn& txn) override {
    TimerIndex timers(txn);
    if (record.has_event()) {
      std::vector<std::string> words = absl::StrSplit(record.event().name(), ' ');
      int64_t delay_ms = 0;
      if (words.size() == 3 && words[0] == "schedule" && absl::SimpleAtoi(words[2], &delay_ms)) {
        absl::Status scheduled =
            timers.Schedule(record.log_time_ms() + delay_ms, words[1], "payload of " + words[1]);
        if (!scheduled.ok()) return scheduled;
      } else if (words.size() == 2 && words[0] == "cancel") {
        absl::StatusOr<bool> cancelled = timers.Cancel(words[1]);
        if (!cancelled.ok()) return cancelled.status();
      }
    }
    while (true) {
      absl::StatusOr<std::optional<Timer>> due = timers.PopDue(record.log_time_ms());
      if (!due.ok()) return due.status();
      if (!due->has_value()) return absl::OkStatus();
      absl::Status fired = Fire(**due, record, txn);
      if (!fired.ok()) return fired;
    }
  }

 private:
  static absl::Status Fire(const Timer& timer, const v1::LogRecord& record, ProjectionTxn& txn) {
    EXPECT_EQ(timer.payload, "payload of " + timer.id);
    absl::StatusOr<std::optional<std::string>> count = txn.Get("fired_count");
    if (!count.ok()) return count.status();
    uint64_t n = 0;
    if (count->has_value()) {
      EXPECT_TRUE(absl::SimpleAtoi(**count, &n));
    }
    txn.Put("fired/" + Be64(n), absl::StrCat(timer.id, " due=+", timer.due_ms - kTestStartMs,
                                             " seq=", record.sequence()));
    txn.Put("fired_count", absl::StrCat(n + 1));
    return absl::OkStatus();
  }
};

std::vector<std::string> Fired(const ProjectionRunner& runner) {
  absl::StatusOr<std::vector<ProjectionEntry>> fired = runner.Scan(kShard, "fired/", "", 1000);
  EXPECT_THAT(fired, IsOk());
  std::vector<std::string> out;
  if (fired.ok()) {
    for (const ProjectionEntry& entry : *fired) out.push_back(entry.value);
  }
  return out;
}

std::string Digest(const ProjectionRunner& runner) {
  absl::StatusOr<std::string> digest = runner.StateDigest(kShard);
  EXPECT_THAT(digest, IsOk());
  return digest.ok() ? *digest : "";
}

TEST(TimerFold, OverdueTimersFireInDueOrderOnTheFirstRecordAfterDowntime) {
  LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    TimerFold fold;
    std::unique_ptr<ProjectionRunner> live = MakeRunner(*log, fold, 1);
    AppendNamed(*log, {"schedule c 3600000", "schedule a 3600000"});  // t0, same due
    f.clock.AdvanceMs(kMinuteMs);
    AppendNamed(*log, {"schedule b 86400000", "schedule d 7200000", "schedule e 2592000000",
                       "schedule x 600000", "cancel x", "schedule now 0"});
    ASSERT_THAT(live->CatchUp(kShard), IsOk());
    // Only the timer due at its own record has fired (pending path).
    EXPECT_THAT(Fired(*live), ElementsAre("now due=+60000 seq=7"));
  }
  // Down for three days: no record, no tick. On restart the engine's first
  // record is a clock tick.
  f.clock.AdvanceMs(3 * kDayMs);
  std::string live_digest;
  std::vector<std::string> live_fired;
  {
    std::unique_ptr<EventLog> log = f.Open();
    TimerFold fold;
    std::unique_ptr<ProjectionRunner> live = MakeRunner(*log, fold, 1);
    EXPECT_EQ(live->Checkpoint(kShard), Sequence(8));
    ASSERT_THAT(log->AppendClockTick(kShard), IsOk());  // seq 8
    f.clock.AdvanceMs(1000);
    AppendNamed(*log, {"nothing"});  // seq 9: fires nothing
    ASSERT_THAT(live->CatchUp(kShard), IsOk());
    live_fired = Fired(*live);
    live_digest = Digest(*live);
  }
  EXPECT_THAT(live_fired,
              ElementsAre("now due=+60000 seq=7",
                          // all four overdue timers, on the tick, by due time then id
                          "a due=+3600000 seq=8", "c due=+3600000 seq=8",
                          "d due=+7260000 seq=8", "b due=+86460000 seq=8"));

  // After a restart, a fresh runner rebuilds into another family in one
  // chunk (every timer read from pending state) and fires the same timers on
  // the same records; the remaining timer (e) is in both states.
  std::unique_ptr<EventLog> log = f.Open();
  TimerFold fold;
  std::unique_ptr<ProjectionRunner> rebuilt = MakeRunner(*log, fold, 1000, /*family_version=*/2);
  EXPECT_EQ(rebuilt->Checkpoint(kShard), Sequence(0));
  ASSERT_THAT(rebuilt->CatchUp(kShard), IsOk());
  EXPECT_EQ(Fired(*rebuilt), live_fired);
  EXPECT_EQ(Digest(*rebuilt), live_digest);
  absl::StatusOr<std::optional<std::string>> e_due = rebuilt->Get(kShard, "t/i/e");
  ASSERT_OK(e_due);
  EXPECT_EQ(*e_due, Be64(static_cast<uint64_t>(kTestStartMs + kMinuteMs + 30 * kDayMs)));

  // Thirty days later both fire e on the same record, and still agree.
  std::unique_ptr<ProjectionRunner> live = MakeRunner(*log, fold, 1);
  f.clock.AdvanceMs(30 * kDayMs);
  ASSERT_THAT(log->AppendClockTick(kShard), IsOk());  // seq 10
  ASSERT_THAT(live->CatchUp(kShard), IsOk());
  ASSERT_THAT(rebuilt->CatchUp(kShard), IsOk());
  EXPECT_EQ(Fired(*live).back(), "e due=+2592060000 seq=10");
  EXPECT_EQ(Fired(*rebuilt), Fired(*live));
  EXPECT_EQ(Digest(*rebuilt), Digest(*live));
  absl::StatusOr<std::vector<ProjectionEntry>> left = live->Scan(kShard, "t/", "", 10);
  ASSERT_OK(left);
  EXPECT_THAT(*left, IsEmpty());
  EXPECT_OK(log->Verify());
}

}  // namespace
}  // namespace leadlog
