// The erasure rewrite through EventLog::Append (engine/internal/erasure.h).
#include "engine/internal/erasure.h"

#include "engine/internal/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog::internal {
namespace {

using ::leadlog::testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

PendingEvent Identify(ShardId shard, const std::string& id, const std::string& user,
                      const std::string& anonymous, const std::string& email,
                      const std::string& name) {
  PendingEvent pending = MakeEvent(shard, id, user, anonymous);
  v1::Event event;
  event.ParseFromString(pending.event_bytes);
  event.set_type(v1::CALL_TYPE_IDENTIFY);
  auto& fields = *event.mutable_traits()->mutable_fields();
  fields["email"].set_string_value(email);
  fields["name"].set_string_value(name);
  fields["plan"].set_string_value("pro");
  event.mutable_context()->set_ip("203.0.113.77");
  pending.event_bytes = event.SerializeAsString();
  return pending;
}

PendingEvent Erasure(ShardId shard, const std::string& request_id, std::vector<LeadKey> keys) {
  v1::Event event;
  event.set_event_id("erasure:" + request_id);
  event.set_type(v1::CALL_TYPE_ERASURE);
  for (const LeadKey& k : keys) event.mutable_erasure()->add_lead_keys(k.encoded());
  event.mutable_erasure()->set_reason("gdpr");
  event.mutable_erasure()->set_request_id(request_id);
  PendingEvent pending;
  pending.shard = shard;
  pending.event_id = event.event_id();
  pending.event_bytes = event.SerializeAsString();
  pending.erase_lead_keys = std::move(keys);
  return pending;
}

// Every stored byte of the log as one string (for "is it still there").
std::string AllBytes(const EventLog& log, ShardId shard) {
  std::string out;
  for (const v1::LogRecord& r : ReadAll(log, shard)) out += r.SerializeAsString();
  EXPECT_THAT(log.ReadDeadLetters(shard,
                                  [&](const v1::DeadLetter& d) {
                                    out += d.SerializeAsString();
                                    return absl::OkStatus();
                                  }),
              IsOk());
  return out;
}

TEST(Erasure, RewritesTheLeadsRecordsInPlaceAndLeavesOthers) {
  LogFixture f;
  auto log = f.Open();
  const ShardId s(0);
  AppendBatch first = BatchOf({Identify(s, "e0", "u-jane", "anon-1", "jane@acme.com", "Jane Roe"),
                               Identify(s, "e1", "u-bob", "", "bob@beta.io", "Bob Poe"),
                               MakeEvent(s, "e2", "", "anon-1")});
  first.dead_letters.push_back(MakeDeadLetter(s, R"({"userId":"u-jane","broken":)"));
  first.dead_letters.push_back(MakeDeadLetter(s, R"({"userId":"u-bob","broken":)"));
  ASSERT_THAT(log->Append(first), IsOk());
  const auto jane_before = LeadSequences(*log, s, LeadKey::ForAnonymous("anon-1"));

  AppendBatch erase = BatchOf(
      {Erasure(s, "r1", {LeadKey::ForUser("u-jane"), LeadKey::ForAnonymous("anon-1")})});
  absl::StatusOr<AppendResult> result = log->Append(erase);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->appended, 1u);
  EXPECT_EQ(result->erasures, 1u);
  EXPECT_EQ(result->records_rewritten, 1u);  // e0; e2 has nothing personal
  EXPECT_EQ(result->dead_letters_erased, 1u);

  std::vector<v1::LogRecord> records = ReadAll(*log, s);
  ASSERT_EQ(records.size(), 4u);
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].sequence(), i);
  EXPECT_EQ(records[0].event().traits().fields().at("email").string_value(), "erased@acme.com");
  EXPECT_FALSE(records[0].event().traits().fields().contains("name"));
  EXPECT_EQ(records[0].event().traits().fields().at("plan").string_value(), "pro");
  EXPECT_TRUE(records[0].event().context().ip().empty());
  EXPECT_EQ(records[0].event().user_id(), "u-jane");
  EXPECT_EQ(records[1].event().traits().fields().at("name").string_value(), "Bob Poe");
  EXPECT_EQ(LeadSequences(*log, s, LeadKey::ForAnonymous("anon-1")), jane_before);

  const std::string bytes = AllBytes(*log, s);
  EXPECT_THAT(bytes, Not(HasSubstr("jane@acme.com")));
  EXPECT_THAT(bytes, Not(HasSubstr("Jane Roe")));
  EXPECT_THAT(bytes, Not(HasSubstr("203.0.113.77\x2a")));  // Bob still has the same ip
  EXPECT_THAT(bytes, HasSubstr("Bob Poe"));
  EXPECT_THAT(bytes, HasSubstr("u-bob\",\"broken"));
  std::vector<std::string> erased_by;
  ASSERT_THAT(log->ReadDeadLetters(s,
                                   [&](const v1::DeadLetter& d) {
                                     erased_by.push_back(d.erased_by());
                                     return absl::OkStatus();
                                   }),
              IsOk());
  EXPECT_THAT(erased_by, ElementsAre("erasure:r1", ""));
  EXPECT_THAT(log->Verify(), IsOk());
  EXPECT_THAT(log->PurgeErased(s), IsOk());
  EXPECT_THAT(log->Verify(), IsOk());

  // Reopened: the rewrite is durable; a repeated request is a duplicate.
  log.reset();
  log = f.Open();
  EXPECT_THAT(AllBytes(*log, s), Not(HasSubstr("Jane Roe")));
  AppendBatch again = BatchOf(
      {Erasure(s, "r1", {LeadKey::ForUser("u-jane"), LeadKey::ForAnonymous("anon-1")})});
  result = log->Append(again);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->duplicates, 1u);
  EXPECT_EQ(result->erasures, 0u);
}

TEST(Erasure, RecordsAndDeadLettersEarlierInTheSameBatchAreRewrittenLaterOnesKept) {
  LogFixture f;
  auto log = f.Open();
  const ShardId s(2);
  AppendBatch batch = BatchOf({Identify(s, "e0", "u-ann", "", "ann@gamma.de", "Ann Example"),
                               Erasure(s, "r2", {LeadKey::ForUser("u-ann")}),
                               Identify(s, "e2", "u-ann", "", "ann@gamma.de", "Ann Again")});
  batch.dead_letters.push_back(MakeDeadLetter(s, "garbage mentioning u-ann"));
  absl::StatusOr<AppendResult> result = log->Append(batch);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->records_rewritten, 1u);
  EXPECT_EQ(result->dead_letters_erased, 1u);
  std::vector<v1::LogRecord> records = ReadAll(*log, s);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_FALSE(records[0].event().traits().fields().contains("name"));
  EXPECT_EQ(records[1].event().erasure().request_id(), "r2");
  // A fact that arrives after the erasure is new data, kept.
  EXPECT_EQ(records[2].event().traits().fields().at("name").string_value(), "Ann Again");
  EXPECT_THAT(log->Verify(), IsOk());
}

TEST(Erasure, OtherShardsAreUntouched) {
  LogFixture f;
  auto log = f.Open();
  AppendBatch batch = BatchOf({Identify(ShardId(0), "e0", "u-x", "", "x@x.com", "Xavier X"),
                               Identify(ShardId(1), "e0", "u-x", "", "x@x.com", "Xavier X"),
                               Erasure(ShardId(0), "r3", {LeadKey::ForUser("u-x")})});
  ASSERT_THAT(log->Append(batch), IsOk());
  EXPECT_THAT(AllBytes(*log, ShardId(0)), Not(HasSubstr("Xavier X")));
  EXPECT_THAT(AllBytes(*log, ShardId(1)), HasSubstr("Xavier X"));
}

}  // namespace
}  // namespace leadlog::internal
