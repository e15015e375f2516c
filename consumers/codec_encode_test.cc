// Encoding, round trips, lead keys and the decoder fuzz test. Decoding and
// validation are in codec_test.cc.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "consumers/codec.h"
#include "consumers/internal/codec_test_util.h"
#include "engine/status_macros.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using namespace ::leadlog::codec_testing;  // NOLINT: test helpers

using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;

// ---------------------------------------------------------------- encoding

TEST(EncodeSegmentJson, RendersTheCanonicalForm) {
  v1::Event e = MustDecode(J(R"({'type':'track','messageId':'m-1','userId':'u-1',
      'anonymousId':'a-1','event':'Opportunity Won','properties':{'amount':12500,'opportunity_id':'o',
      'ratio':0.25,'big':1e21,'list':[true,null,'x\u0001'],'name':'Caf\u00e9'},
      'context':{'ip':'1.2.3.4','page':{'url':'u'},'library':{'name':'n','version':'v'}},
      'timestamp':'2024-05-01T12:00:00.1Z','originalTimestamp':'1969-12-31T23:59:59.999Z'})"));
  EXPECT_EQ(EncodeSegmentJson(e),
            J("{'type':'track','messageId':'m-1','anonymousId':'a-1','userId':'u-1',"
              "'event':'Opportunity Won','properties':{'amount':12500,'big':1e+21,"
              "'list':[true,null,'x\\u0001'],'name':'Caf\xC3\xA9','opportunity_id':'o',"
              "'ratio':0.25},'context':{'ip':'1.2.3.4','page':{'url':'u'},"
              "'library':{'name':'n','version':'v'}},'timestamp':'2024-05-01T12:00:00.100Z',"
              "'originalTimestamp':'1969-12-31T23:59:59.999Z'}"));
}

TEST(EncodeSegmentJson, NonTrackNamesAreWrittenAsName) {
  v1::Event e =
      MustDecode(J("{'type':'page','messageId':'m','userId':'u','name':'Home',"
                   "'category':'c','context':{}}"));
  EXPECT_EQ(EncodeSegmentJson(e),
            J("{'type':'page','messageId':'m','userId':'u','name':'Home','category':'c',"
              "'context':{}}"));
}

void ExpectRoundTrip(const v1::Event& event) {
  const std::string json = EncodeSegmentJson(event);
  v1::Event again;
  ASSERT_OK(DecodeEvent(json, ContentType::kJson, &again)) << json;
  EXPECT_TRUE(MessageDifferencer::Equals(event, again))
      << json << "\nbefore: " << event.ShortDebugString()
      << "\nafter:  " << again.ShortDebugString();
  EXPECT_EQ(EncodeSegmentJson(again), json);
  v1::Event from_protobuf;
  ASSERT_OK(DecodeEvent(event.SerializeAsString(), ContentType::kUnknown, &from_protobuf));
  EXPECT_TRUE(MessageDifferencer::Equals(event, from_protobuf)) << json;
}

TEST(RoundTrip, DecodeOfEncodeIsIdentityForEveryCallType) {
  for (const std::string& json : {
           J("{'type':'track','messageId':'m','userId':'u','event':'E','properties':{'a':[1,{'b':-"
             "0}]},"
             "'context':{'userAgent':'x','campaign':{'term':'t'}},'sentAt':'2024-01-01T00:00:00Z'"
             "}"),
           J("{'type':'identify','messageId':'m','anonymousId':'a','userId':'u','traits':{'e':'\\t'"
             "}}"),
           J("{'type':'identify','messageId':'m','userId':'u','context':{'traits':{'x':1}}}"),
           J("{'type':'page','messageId':'m','anonymousId':'a','name':'N','category':'C',"
             "'properties':{}}"),
           J("{'type':'alias','messageId':'m','userId':'u','previousId':'p'}"),
           J("{'type':'group','messageId':'m','userId':'u','groupId':'g','traits':{'n':1.5e-9}}"),
           J("{'type':'track','messageId':'\\u0000\\u001f\\\"','userId':'\\ud83d\\ude00',"
             "'event':'Lead Rejected','properties':{'reason':'r','amount':-1e300}}"),
           J("{'type':'track','messageId':'m','userId':'u','event':'Owner Assigned',"
             "'properties':{'owner_id':'o','amount':null},'originalTimestamp':'0000-01-01T00:00:"
             "00Z'}"),
       }) {
    ExpectRoundTrip(MustDecode(json));
  }
}

TEST(RoundTrip, EventsBuiltInCodeRoundTripAfterValidation) {
  v1::Event e = SampleEvent();
  e.set_name("Owner Assigned");
  e.mutable_sales()->set_owner_id("rep");
  e.set_original_timestamp_ms(-1);
  (*e.mutable_traits()->mutable_fields())["t"].set_string_value("\xE2\x80\xA8");
  ASSERT_OK(ValidateEvent(&e));
  ExpectRoundTrip(e);
}

// ---------------------------------------------------------------- lead keys

TEST(LeadKeysOf, UserThenAnonymous) {
  v1::Event e = MustDecode(Track("X", ",'anonymousId':'a-1'"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForUser("u-1"), LeadKey::ForAnonymous("a-1")));
  EXPECT_EQ(PartitionKeyOf(e), "a-1");
}

TEST(LeadKeysOf, AnonymousOnly) {
  v1::Event e = MustDecode(J("{'type':'page','messageId':'m','anonymousId':'a'}"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForAnonymous("a")));
  EXPECT_EQ(PartitionKeyOf(e), "a");
}

TEST(LeadKeysOf, AliasAddsThePreviousUserId) {
  v1::Event e = MustDecode(
      J("{'type':'alias','messageId':'m','userId':'new','previousId':'old','anonymousId':'a'}"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForUser("new"), LeadKey::ForAnonymous("a"),
                                         LeadKey::ForUser("old")));
  EXPECT_EQ(PartitionKeyOf(e), "a");
}

TEST(LeadKeysOf, KeysAreDeduplicated) {
  v1::Event e =
      MustDecode(J("{'type':'alias','messageId':'m','userId':'same','previousId':'same'}"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForUser("same")));
  EXPECT_EQ(PartitionKeyOf(e), "same");
}

TEST(LeadKeysOf, PreviousIdCountsOnlyForAlias) {
  v1::Event e = MustDecode(Track("X", ",'previousId':'p'"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForUser("u-1")));
}

TEST(LeadKeysOf, SameUserAndAnonymousIdStayDistinct) {
  v1::Event e = MustDecode(J("{'type':'page','messageId':'m','userId':'x','anonymousId':'x'}"));
  EXPECT_THAT(LeadKeysOf(e), ElementsAre(LeadKey::ForUser("x"), LeadKey::ForAnonymous("x")));
}

// ---------------------------------------------------------------- fuzz

uint64_t FuzzSeed() {
  if (const char* env = std::getenv("LEADLOG_FUZZ_SEED")) return std::strtoull(env, nullptr, 10);
  return 20240501;
}

// Map order in plain serialization varies between runs; replay needs the
// same bytes.
std::string SerializeDeterministically(const v1::Event& event) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  LEADLOG_CHECK(event.SerializeToCodedStream(&coded));
  coded.Trim();
  return out;
}

std::vector<std::string> FuzzCorpus() {
  std::vector<std::string> corpus = {
      J(R"({'type':'track','messageId':'m-1','userId':'u','anonymousId':'a','event':'Lead Rejected',
          'properties':{'reason':'r','amount':12.5,'x':[1,-0,1e5,{'y':null}],'s':'\u00e9\n'},
          'context':{'ip':'1.2.3.4','page':{'url':'u','title':'t'},'campaign':{'name':'c'}},
          'timestamp':'2024-05-01T12:00:00.123+02:00','sentAt':'2024-05-01T12:00:00Z'})"),
      J("{'type':'identify','messageId':'m','userId':'u','traits':{'email':'e@x','n':1}}"),
      J("{'type':'page','messageId':'m','anonymousId':'a','name':'P','category':'C'}"),
      J("{'type':'alias','messageId':'m','userId':'u','previousId':'p'}"),
      J("{'type':'group','messageId':'m','userId':'u','groupId':'g','context':{'traits':{'a':1}}}"),
      J("{'type':'track','messageId':'m','userId':'u','event':'Owner Assigned',"
        "'properties':{'owner_id':'o'},'originalTimestamp':'2024-05-01T12:00:00Z'}"),
  };
  const size_t json_count = corpus.size();
  for (size_t i = 0; i < json_count; ++i) {
    v1::Event e;
    LEADLOG_CHECK_OK(DecodeEvent(corpus[i], ContentType::kJson, &e));
    corpus.push_back(SerializeDeterministically(e));
  }
  return corpus;
}

std::string Mutate(const std::vector<std::string>& corpus, std::mt19937_64& rng) {
  static const std::vector<std::string> kTokens = {"{",
                                                   "}",
                                                   "[",
                                                   "]",
                                                   "\"",
                                                   "\\",
                                                   ",",
                                                   ":",
                                                   "null",
                                                   "true",
                                                   "-0",
                                                   "1e400",
                                                   "\\u",
                                                   "\\ud800",
                                                   "\xC3",
                                                   "\xFF",
                                                   "\n",
                                                   " ",
                                                   "\"type\":\"alias\"",
                                                   "\"userId\":",
                                                   "{\"a\":[",
                                                   "\x0a\x02",
                                                   "\"Lead Won\"",
                                                   "\"Opportunity Lost\"",
                                                   "0000-01-01T00:00:00Z"};
  auto pick = [&rng](size_t n) { return static_cast<size_t>(rng() % n); };
  std::string s = corpus[pick(corpus.size())];
  if (pick(20) == 0) {  // random bytes
    s.resize(pick(64));
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }
  const int mutations = 1 + static_cast<int>(pick(4));
  for (int m = 0; m < mutations; ++m) {
    const size_t at = s.empty() ? 0 : pick(s.size() + 1);
    switch (pick(6)) {
      case 0:
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(rng());
        break;
      case 1:
        s.insert(at, kTokens[pick(kTokens.size())]);
        break;
      case 2:
        s.erase(at, pick(8));
        break;
      case 3:
        s.resize(at);
        break;
      case 4:
        s.insert(at, s.substr(pick(s.size() + 1), pick(16)));
        break;
      case 5:
        s = s.substr(0, at) + corpus[pick(corpus.size())].substr(at % 7);
        break;
    }
  }
  return s;
}

TEST(Fuzz, ArbitraryInputGivesAStatusAndAcceptedInputRoundTripsBothWays) {
  const uint64_t seed = FuzzSeed();
  std::cout << "fuzz seed " << seed << " (replay: LEADLOG_FUZZ_SEED=" << seed << ")" << std::endl;
  google::protobuf::LogSilencer silence_invalid_utf8_warnings;
  std::mt19937_64 rng(seed);
  const std::vector<std::string> corpus = FuzzCorpus();
  constexpr ContentType kTypes[] = {ContentType::kUnknown, ContentType::kUnknown,
                                    ContentType::kJson, ContentType::kProtobuf};
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string input = Mutate(corpus, rng);
    const ContentType type = kTypes[rng() % 4];
    v1::Event event;
    const absl::Status status = DecodeEvent(input, type, &event);
    if (!status.ok()) {
      ASSERT_TRUE(status.code() == kInvalid || status.code() == kExhausted) << status;
      continue;
    }
    ++accepted;
    const std::string json = EncodeSegmentJson(event);
    v1::Event again;
    ASSERT_OK(DecodeEvent(json, ContentType::kJson, &again))
        << "seed " << seed << " iteration " << i << "\ninput: " << input << "\njson: " << json;
    ASSERT_TRUE(MessageDifferencer::Equals(event, again))
        << "seed " << seed << " iteration " << i << "\njson: " << json;
    v1::Event from_protobuf;
    ASSERT_OK(DecodeEvent(event.SerializeAsString(), ContentType::kProtobuf, &from_protobuf))
        << "seed " << seed << " iteration " << i << "\njson: " << json;
    ASSERT_TRUE(MessageDifferencer::Equals(event, from_protobuf))
        << "seed " << seed << " iteration " << i << "\njson: " << json;
  }
  std::cout << "fuzz accepted " << accepted << " of 20000" << std::endl;
  EXPECT_GT(accepted, 100) << "mutations should leave some inputs valid";
}

// ---------------------------------------------------------------- speed

}  // namespace
}  // namespace leadlog
