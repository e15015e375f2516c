// The persisted format: golden bytes for every key layout (a change here is
// a format change: bump kFormatVersion and update engine/FORMAT.md).
#include "engine/internal/format.h"

#include <string>

#include "engine/internal/batch_writer.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog::internal {
namespace {

using ::leadlog::testing::IsOk;
using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

std::string Bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(Format, PersistedConstantsAreUnchanged) {
  EXPECT_STREQ(kLogFamily, "log");
  EXPECT_STREQ(kByLeadFamily, "by_lead");
  EXPECT_STREQ(kDedupFamily, "dedup");
  EXPECT_STREQ(kMetaFamily, "meta");
  EXPECT_STREQ(kDeadLettersFamily, "dead_letters");
  EXPECT_EQ(kFormatVersion, 1u);
  EXPECT_EQ(kSchemaVersionCurrent, 1u);
  EXPECT_EQ(FormatVersionKey(), Bytes({0xff, 0xff, 0xff, 0xff, 'V'}));
}

TEST(Format, KeysHaveTheDocumentedLayout) {
  std::string key;
  EncodeLogKey(ShardId(3), Sequence(0x0102), &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 1, 2}));
  EncodeByLeadKey(ShardId(1), LeadKey::ForUser("x"), Sequence(5), &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 1, 0, 3, 'u', ':', 'x', 0, 0, 0, 0, 0, 0, 0, 5}));
  EncodeDedupKey(ShardId(2), "id", &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 2, 'i', 'd'}));
  EncodeDeadLetterKey(ShardId(2), 9, &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 9}));
  EncodeShardStateKey(ShardId(4), &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 4, 'c'}));
  EncodeOffsetKey(ShardId(4), "t", &key);
  EXPECT_EQ(key, Bytes({0, 0, 0, 4, 'o', 't'}));
}

TEST(Format, ValuesHaveTheDocumentedLayout) {
  std::string value;
  EncodeDedupValue(DedupEntry{Sequence(1), -2}, &value);
  EXPECT_EQ(value, Bytes({0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}));
  EncodeOffsetValue(KafkaOffset(258), &value);
  EXPECT_EQ(value, Bytes({0, 0, 0, 0, 0, 0, 1, 2}));
  EncodeShardState(ShardState{Sequence(1), 2, 3, 4, 5}, &value);
  ASSERT_EQ(value.size(), kShardStateBytes);
  EXPECT_EQ(value.substr(0, 16), Bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2}));
}

TEST(Format, ValuesRoundTrip) {
  std::string value;
  ShardState state{Sequence(10), 1'700'000'000'000, 9, 8, 7};
  EncodeShardState(state, &value);
  EXPECT_EQ(DecodeShardState(value), state);
  EncodeFormatVersion(3, &value);
  EXPECT_EQ(DecodeFormatVersion(value), 3u);
  EncodeDedupValue(DedupEntry{Sequence(4), 5}, &value);
  ASSERT_TRUE(DecodeDedupValue(value).has_value());
  EXPECT_EQ(DecodeDedupValue(value)->sequence, Sequence(4));
  EXPECT_EQ(DecodeDedupValue(value)->log_time_ms, 5);
}

TEST(Format, MalformedKeysAndValuesDoNotDecode) {
  EXPECT_FALSE(DecodeLogKey("short").has_value());
  EXPECT_FALSE(DecodeByLeadKey(Bytes({0, 0, 0, 1, 0, 9, 'u', ':', 'x', 0, 0, 0, 0, 0, 0, 0, 5}))
                   .has_value());  // length field says 9, holds 3
  EXPECT_FALSE(DecodeDedupKey(Bytes({0, 0, 0, 1})).has_value());
  EXPECT_FALSE(DecodeMetaKey("abc").has_value());
  EXPECT_FALSE(DecodeShardState("short").has_value());
  EXPECT_FALSE(DecodeDedupValue("short").has_value());
  EXPECT_FALSE(DecodeOffsetValue("").has_value());
  EXPECT_FALSE(DecodeFormatVersion("12345").has_value());
}

TEST(Format, ByLeadRangesOfPrefixLeadsAreDisjoint) {
  std::string x_prefix;
  std::string xy_key;
  EncodeByLeadPrefix(ShardId(0), LeadKey::ForAnonymous("x"), &x_prefix);
  EncodeByLeadKey(ShardId(0), LeadKey::ForAnonymous("xy"), Sequence(0), &xy_key);
  const std::string x_end = PrefixSuccessor(x_prefix);
  EXPECT_FALSE(xy_key >= x_prefix && xy_key < x_end);
  std::optional<ByLeadKeyParts> parts = DecodeByLeadKey(xy_key);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->lead, "a:xy");
}

TEST(Format, PrefixSuccessorSkipsTrailingFfBytes) {
  EXPECT_EQ(PrefixSuccessor(Bytes({1, 2})), Bytes({1, 3}));
  EXPECT_EQ(PrefixSuccessor(Bytes({1, 0xff})), Bytes({2}));
  EXPECT_EQ(PrefixSuccessor(Bytes({0xff, 0xff})), "");
}

TEST(Format, EventRecordFramingEqualsTheFullSerialization) {
  v1::Event event;
  event.set_event_id("e1");
  event.set_user_id("u1");
  event.set_name(std::string(300, 'n'));  // length needs a two-byte varint
  v1::SourcePosition source;
  source.set_topic("leadlog.events");
  source.set_partition(2);
  source.set_offset(99);
  v1::LogRecord header;
  std::string framed;
  EncodeEventRecord(Sequence(7), 123, source, event.SerializeAsString(), &header, &framed);

  v1::LogRecord full;
  full.set_sequence(7);
  full.set_log_time_ms(123);
  full.set_schema_version(kSchemaVersionCurrent);
  *full.mutable_source() = source;
  *full.mutable_event() = event;
  EXPECT_EQ(framed, full.SerializeAsString());
  v1::LogRecord decoded;
  ASSERT_THAT(DecodeRecord(ShardId(0), Sequence(7), framed, &decoded), IsOk());
  EXPECT_EQ(decoded.event().event_id(), "e1");
}

TEST(Format, DecodeRecordRejectsAnUnknownSchemaVersion) {
  v1::LogRecord record;
  record.set_sequence(1);
  record.mutable_clock_tick();
  v1::LogRecord decoded;
  EXPECT_THAT(
      DecodeRecord(ShardId(2), Sequence(1), record.SerializeAsString(), &decoded),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shard 2 sequence 1: schema version 0")));
}

TEST(Format, DedupWindowIsHalfOpen) {
  EXPECT_TRUE(WithinDedupWindow(1000, 1, 1000));
  EXPECT_FALSE(WithinDedupWindow(1000, 0, 1000));
  EXPECT_FALSE(WithinDedupWindow(5, 5, 0));
  EXPECT_TRUE(WithinDedupWindow(5, 6, 10));                          // stored time ahead of now
  EXPECT_FALSE(WithinDedupWindow(INT64_MAX, INT64_MIN, INT64_MAX));  // no overflow
}

TEST(Format, DeadLetterRawIsCutAtTheLimitKeepingItsSize) {
  v1::DeadLetter letter;
  letter.set_raw(std::string(kDeadLetterRawBytesMax + 1, 'r'));
  CutDeadLetterRaw(&letter);
  EXPECT_EQ(letter.raw().size(), kDeadLetterRawBytesMax);
  EXPECT_EQ(letter.raw_size(), kDeadLetterRawBytesMax + 1);
  letter.set_raw("short");
  letter.set_raw_size(1'000);  // cut earlier by the caller
  CutDeadLetterRaw(&letter);
  EXPECT_EQ(letter.raw(), "short");
  EXPECT_EQ(letter.raw_size(), 1'000u);
}

}  // namespace
}  // namespace leadlog::internal
