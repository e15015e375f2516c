// The change stream (consumers/change_emitter.h) over the real lead
// projection, through librdkafka's mock cluster: every change entry
// published once, keyed by lead, in log order per lead, with the lead's
// state (JSON or protobuf) or a tombstone after a merge; delivered entries
// pruned; a restart and a blue/green rebuild publish nothing twice.
#include "consumers/change_emitter.h"

#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "consumers/codec.h"
#include "consumers/ingest.h"
#include "consumers/workload.h"
#include "deploy/leadlog/lead_changes.h"
#include "engine/changes.h"
#include "engine/cursors.h"
#include "engine/testing/status_matchers.h"
#include "engine/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/outbox_test_support.h"

namespace leadlog {
namespace {

using ::leadlog::testing::MockCluster;
using ::leadlog::testing::ReadBack;
using ::leadlog::testing::StatusIs;
using ::leadlog::testing::TempDir;
using ::testing::HasSubstr;
using Change = std::tuple<uint32_t, uint64_t, std::string>;  // (shard, sequence, lead)

constexpr int kShards = 4;

class ChangeEmitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EventLogOptions options;
    options.data_dir = dir_.path() + "/db";
    options.sync_per_batch = false;
    auto log = EventLog::Open(options);
    ASSERT_OK(log.status());
    log_ = std::move(*log);
    auto projection = LeadProjection::Open(log_.get(), LeadProjectionOptions{});
    ASSERT_OK(projection.status());
    projection_ = std::move(*projection);
    source_ = std::make_unique<LeadChangeSource>(projection_.get());
    reader_ = std::make_unique<LeadChangeReader>(projection_.get());
  }

  void Ingest(const std::string& text, int partitions = kShards) {
    FileIngestOptions options;
    options.partitions = partitions;
    std::istringstream in(text);
    auto summary = IngestLines(in, options, log_.get());
    ASSERT_OK(summary.status());
    ASSERT_EQ(summary->dead_letters, 0u);
    ASSERT_OK(projection_->CatchUpAll());
  }

  // `events` events of the demo workload (seeded), ingested in batches of 100.
  void IngestWorkload(uint64_t events, uint64_t seed) {
    WorkloadOptions options;
    options.events = events;
    options.leads = 80;
    options.seed = seed;
    auto workload = Workload::Create(options);
    ASSERT_OK(workload.status());
    v1::Event event;
    std::string text;
    int lines = 0;
    while ((*workload)->Next(&event)) {
      absl::StrAppend(&text, EncodeSegmentJson(event), "\n");
      if (++lines % 100 == 0) {
        Ingest(text);
        text.clear();
      }
    }
    if (!text.empty()) Ingest(text);
  }

  // The change entries pending in the active version, every shard.
  std::set<Change> Pending() {
    std::set<Change> out;
    for (ShardId shard : log_->Shards()) {
      auto entries = projection_->runner()->Scan(shard, kChangePrefix, "", 1'000'000);
      EXPECT_OK(entries.status());
      for (const ProjectionEntry& e : entries.value_or(std::vector<ProjectionEntry>{})) {
        Sequence sequence;
        std::string lead;
        EXPECT_TRUE(ParseChangeKey(e.key, &sequence, &lead));
        out.emplace(shard.value(), sequence.value(), lead);
      }
    }
    return out;
  }

  std::unique_ptr<OutboxEmitter> MakeEmitter(const MockCluster& cluster, ChangeEncoder* encoder,
                                             int batch = 50) {
    OutboxEmitterOptions options = ChangeStreamOptions(cluster.bootstrap(), encoder);
    options.batch = batch;
    options.delivery_timeout_ms = 10000;
    options.idle_ms = 50;
    options.prune_entries_min = 1;  // prune every round
    auto emitter = OutboxEmitter::Create(log_.get(), source_.get(), std::move(options));
    EXPECT_OK(emitter.status());
    return emitter.ok() ? std::move(*emitter) : nullptr;
  }

  size_t Drain(OutboxEmitter& emitter) {
    absl::StatusOr<size_t> total = testing::Drain(emitter);
    EXPECT_OK(total.status());
    return total.value_or(0);
  }

  std::vector<ReadBack> Topic(const MockCluster& cluster) {
    auto all = testing::ReadTopic(cluster.bootstrap(), kLeadsTopic);
    EXPECT_OK(all.status());
    return all.ok() ? *all : std::vector<ReadBack>{};
  }

  // Checks the messages against `expected` (each exactly once), their order
  // per lead, keys, partitions and headers; decodes every value with
  // `format`. Returns the last message per lead (partition order).
  std::map<std::string, ReadBack> ExpectEachChangeOnce(const std::vector<ReadBack>& messages,
                                                       const std::set<Change>& expected,
                                                       ChangeFormat format, int partitions) {
    std::map<Change, int> seen;
    std::map<std::string, uint64_t> last_sequence;
    std::map<std::string, ReadBack> last;
    for (const ReadBack& m : messages) {
      uint32_t shard = 0;
      uint64_t sequence = 0, position = 0;
      EXPECT_TRUE(absl::SimpleAtoi(m.headers.at("leadlog-shard"), &shard));
      EXPECT_TRUE(absl::SimpleAtoi(m.headers.at(kChangeSequenceHeader), &sequence));
      EXPECT_TRUE(absl::SimpleAtoi(m.headers.at(kChangePositionHeader), &position));
      EXPECT_GT(position, sequence) << "the state reflects the change";
      EXPECT_EQ(absl::HexStringToBytes(m.headers.at(kChangeKeyHeader)),
                ChangeKey(Sequence(sequence), m.key));
      EXPECT_EQ(m.partition, static_cast<int>(shard % partitions));
      if (last_sequence.count(m.key)) {
        EXPECT_GT(sequence, last_sequence[m.key]) << "out of order for lead " << m.key;
      }
      last_sequence[m.key] = sequence;
      ++seen[Change{shard, sequence, m.key}];
      last[m.key] = m;
      if (m.headers.count(kChangeMergedIntoHeader)) {
        EXPECT_TRUE(m.null_value) << "a merged lead's message is a tombstone";
        continue;
      }
      v1::LeadState lead;
      if (format == ChangeFormat::kJson) {
        EXPECT_EQ(m.headers.at("content-type"), "application/json");
        EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(m.value, &lead).ok()) << m.value;
      } else {
        EXPECT_EQ(m.headers.at("content-type"), "application/x-protobuf");
        EXPECT_TRUE(lead.ParseFromString(m.value));
      }
      EXPECT_EQ(lead.lead_key(), m.key);
    }
    EXPECT_EQ(seen.size(), expected.size());
    for (const Change& c : expected) {
      EXPECT_EQ(seen[c], 1) << "shard " << std::get<0>(c) << " sequence " << std::get<1>(c)
                            << " lead " << std::get<2>(c);
    }
    return last;
  }

  // The last message of every lead carries its current state (or is a
  // tombstone naming the survivor).
  void ExpectLastIsCurrent(const std::map<std::string, ReadBack>& last, ChangeFormat format) {
    for (const auto& [key, m] : last) {
      uint32_t shard = 0;
      ASSERT_TRUE(absl::SimpleAtoi(m.headers.at("leadlog-shard"), &shard));
      auto current = projection_->ReadLead(ShardId(shard), key);
      ASSERT_OK(current.status());
      if (!current->state.has_value()) {
        EXPECT_EQ(m.headers.at(kChangeMergedIntoHeader), current->merged_into) << key;
        continue;
      }
      v1::LeadState published;
      if (format == ChangeFormat::kJson) {
        ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(m.value, &published).ok());
      } else {
        ASSERT_TRUE(published.ParseFromString(m.value));
      }
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(published, *current->state))
          << key;
    }
  }

  void PublishesEveryChangeOnce(ChangeFormat format) {
    // 600 events: lead states are several KiB of JSON, and the mock broker
    // silently evicts past ~5 MiB per partition (DESIGN.md §8).
    MockCluster cluster(3, kLeadsTopic);
    IngestWorkload(600, 7);
    const std::set<Change> expected = Pending();
    ASSERT_GE(expected.size(), 600u);
    ChangeEncoder encoder(reader_.get(), format);
    auto emitter = MakeEmitter(cluster, &encoder);
    ASSERT_NE(emitter, nullptr);
    EXPECT_EQ(Drain(*emitter), expected.size());
    std::vector<ReadBack> messages = Topic(cluster);
    EXPECT_EQ(messages.size(), expected.size());
    ExpectLastIsCurrent(ExpectEachChangeOnce(messages, expected, format, 3), format);
    EXPECT_TRUE(Pending().empty()) << "delivered entries are pruned";
  }

  TempDir dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<LeadProjection> projection_;
  std::unique_ptr<LeadChangeSource> source_;
  std::unique_ptr<LeadChangeReader> reader_;
};

TEST_F(ChangeEmitterTest, PublishesEveryChangeOnceAsJson) { PublishesEveryChangeOnce(ChangeFormat::kJson); }

TEST_F(ChangeEmitterTest, PublishesEveryChangeOnceAsProtobuf) {
  PublishesEveryChangeOnce(ChangeFormat::kProtobuf);
}

TEST_F(ChangeEmitterTest, AbsorbedLeadGetsATombstoneNamingTheSurvivor) {
  // One shard, so that both devices' leads meet.
  MockCluster cluster(4, kLeadsTopic);
  Ingest(R"({"type":"identify","messageId":"e1","anonymousId":"laptop","userId":"u-1","traits":{"employees":5}})"
         "\n"
         R"({"type":"page","messageId":"e2","anonymousId":"phone","name":"P","context":{"page":{"path":"/x"}}})"
         "\n",
         1);
  ChangeEncoder encoder(reader_.get(), ChangeFormat::kJson);
  auto emitter = MakeEmitter(cluster, &encoder);
  ASSERT_NE(emitter, nullptr);
  EXPECT_EQ(Drain(*emitter), 2u);
  // The phone identifies as u-1: a:phone merges into a:laptop.
  Ingest(R"({"type":"identify","messageId":"e3","anonymousId":"phone","userId":"u-1","traits":{"employees":5}})"
         "\n",
         1);
  EXPECT_EQ(Pending(), (std::set<Change>{{0, 2, "a:laptop"}, {0, 2, "a:phone"}}));
  EXPECT_EQ(Drain(*emitter), 2u);
  std::vector<ReadBack> messages = Topic(cluster);
  ASSERT_EQ(messages.size(), 4u);
  std::map<std::string, ReadBack> last =
      ExpectEachChangeOnce(messages,
                           {{0, 0, "a:laptop"}, {0, 1, "a:phone"}, {0, 2, "a:laptop"}, {0, 2, "a:phone"}},
                           ChangeFormat::kJson, 4);
  ASSERT_EQ(last.count("a:phone"), 1u);
  const ReadBack& tombstone = last["a:phone"];
  EXPECT_EQ(tombstone.headers.at(kChangeMergedIntoHeader), "a:laptop");
  EXPECT_TRUE(tombstone.null_value);
  EXPECT_EQ(tombstone.headers.count("content-type"), 0u);
  ExpectLastIsCurrent(last, ChangeFormat::kJson);
  v1::LeadState laptop;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(last["a:laptop"].value, &laptop).ok());
  ASSERT_EQ(laptop.merges_size(), 1);
  EXPECT_EQ(laptop.merges(0).absorbed_lead_key(), "a:phone");
}

TEST_F(ChangeEmitterTest, RestartAndRebuildPublishNothingTwice) {
  MockCluster cluster(4, kLeadsTopic);
  IngestWorkload(600, 11);
  std::set<Change> expected = Pending();
  ChangeEncoder encoder(reader_.get(), ChangeFormat::kJson);
  {
    auto first = MakeEmitter(cluster, &encoder, 40);
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(Drain(*first), expected.size());
  }
  // A rebuild rewrites every change entry since sequence 0 into the new
  // version; the cursor (log meta) is behind none of them.
  auto report = projection_->Rebuild();
  ASSERT_OK(report.status());
  EXPECT_TRUE(report->identical);
  EXPECT_EQ(Pending(), expected);
  auto second = MakeEmitter(cluster, &encoder, 40);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(Drain(*second), 0u);
  EXPECT_TRUE(Pending().empty()) << "the first round after a start prunes what the rebuild rewrote";
  IngestWorkload(300, 12);  // same leads, new events
  const std::set<Change> more = Pending();
  ASSERT_FALSE(more.empty());
  EXPECT_EQ(Drain(*second), more.size());
  expected.insert(more.begin(), more.end());
  std::vector<ReadBack> messages = Topic(cluster);
  EXPECT_EQ(messages.size(), expected.size());
  ExpectLastIsCurrent(ExpectEachChangeOnce(messages, expected, ChangeFormat::kJson, 4),
                      ChangeFormat::kJson);
}

TEST_F(ChangeEmitterTest, MalformedEntriesAreDataLoss) {
  ChangeEncoder encoder(reader_.get(), ChangeFormat::kJson);
  EmitterMessage message;
  EXPECT_THAT(encoder.Encode(ShardId(0), {"c/short", ""}, &message),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("malformed entry")));
  EXPECT_THAT(encoder.Encode(ShardId(0), {ChangeKey(Sequence(3), "a:x"), "state?"}, &message),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("6-byte value")));
  Sequence sequence;
  EXPECT_FALSE(encoder.ParseKey(ChangeKey(Sequence(3), ""), &sequence)) << "no lead key";
  EXPECT_TRUE(encoder.ParseKey(ChangeKey(Sequence(3), "a:x"), &sequence));
  EXPECT_EQ(sequence, Sequence(3));
}

TEST_F(ChangeEmitterTest, ACursorThatIsNotAChangeKeyIsDataLoss) {
  MockCluster cluster(4, kLeadsTopic);
  Ingest(R"({"type":"page","messageId":"e1","anonymousId":"a","name":"P","context":{"page":{"path":"/x"}}})"
         "\n",
         1);
  ASSERT_OK(StoreCursor(log_.get(), kChangesCursorName, ShardId(0), "o/not-a-change", true));
  ChangeEncoder encoder(reader_.get(), ChangeFormat::kJson);
  auto emitter = MakeEmitter(cluster, &encoder);
  ASSERT_NE(emitter, nullptr);
  EXPECT_THAT(emitter->EmitOnce().status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cursor changes of shard 0")));
}

TEST_F(ChangeEmitterTest, UnknownFormatIsRejected) {
  EXPECT_THAT(ParseChangeFormat("avro").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected json or protobuf")));
}

}  // namespace
}  // namespace leadlog
