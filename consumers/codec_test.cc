#include "consumers/codec.h"

#include <google/protobuf/util/message_differencer.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "consumers/internal/codec_test_util.h"
#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/definitions/definition.h"

namespace leadlog {
namespace {

using namespace ::leadlog::codec_testing;  // NOLINT: test helpers

using ::google::protobuf::util::MessageDifferencer;
using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Status Decode(absl::string_view bytes, v1::Event* event,
                    ContentType type = ContentType::kUnknown) {
  return DecodeEvent(bytes, type, event);
}

// Expects `json` to fail with `code`, naming `field` and exactly `message`.
void ExpectError(absl::string_view json, absl::StatusCode code, absl::string_view field,
                 absl::string_view message) {
  v1::Event event;
  absl::Status status = Decode(json, &event);
  EXPECT_THAT(status, StatusIs(code, std::string(message))) << json;
  EXPECT_EQ(ErrorField(status), field) << json;
}

int64_t Ms(int64_t seconds, int64_t millis = 0) { return seconds * 1000 + millis; }

// ---------------------------------------------------------------- call types

TEST(DecodeTrack, DecodesEveryField) {
  const std::string json = J(R"({
    'type':'track','messageId':'m-1','anonymousId':'a-1','userId':'u-1',
    'event':'Form Submitted','name':'ignored for track',
    'properties':{'form':'demo','fields':3,'tags':['a','b'],'nested':{'x':null}},
    'context':{'ip':'203.0.113.9','userAgent':'UA/1','locale':'de-DE','timezone':'Europe/Berlin',
      'page':{'url':'https://x.test/p?q=1','path':'/p','referrer':'https://ref.test/','title':'P'},
      'campaign':{'name':'spring','source':'google','medium':'cpc','term':'crm','content':'ad1'},
      'library':{'name':'analytics.js','version':'4.1.0'},'os':{'name':'ignored'}},
    'timestamp':'2024-05-01T12:00:00.123Z','originalTimestamp':'2024-05-01T14:00:00.100+02:00',
    'sentAt':'2024-05-01T12:00:01Z','receivedAt':'2024-05-01T12:00:02Z',
    'integrations':{'All':true},'version':2,'channel':'browser','writeKey':'k'})");
  v1::Event e = MustDecode(json);
  EXPECT_EQ(e.type(), v1::CALL_TYPE_TRACK);
  EXPECT_EQ(e.event_id(), "m-1");
  EXPECT_EQ(e.anonymous_id(), "a-1");
  EXPECT_EQ(e.user_id(), "u-1");
  EXPECT_EQ(e.name(), "Form Submitted");
  EXPECT_EQ(e.properties().fields().at("form").string_value(), "demo");
  EXPECT_EQ(e.properties().fields().at("fields").number_value(), 3);
  EXPECT_EQ(e.properties().fields().at("tags").list_value().values_size(), 2);
  const v1::Context& c = e.context();
  EXPECT_EQ(c.ip(), "203.0.113.9");
  EXPECT_EQ(c.user_agent(), "UA/1");
  EXPECT_EQ(c.locale(), "de-DE");
  EXPECT_EQ(c.timezone(), "Europe/Berlin");
  EXPECT_EQ(c.page_url(), "https://x.test/p?q=1");
  EXPECT_EQ(c.page_path(), "/p");
  EXPECT_EQ(c.page_referrer(), "https://ref.test/");
  EXPECT_EQ(c.page_title(), "P");
  EXPECT_EQ(c.campaign_name(), "spring");
  EXPECT_EQ(c.campaign_source(), "google");
  EXPECT_EQ(c.campaign_medium(), "cpc");
  EXPECT_EQ(c.campaign_term(), "crm");
  EXPECT_EQ(c.campaign_content(), "ad1");
  EXPECT_EQ(c.library_name(), "analytics.js");
  EXPECT_EQ(c.library_version(), "4.1.0");
  EXPECT_EQ(e.occurred_at_ms(), Ms(1714564800, 123));
  EXPECT_EQ(e.original_timestamp_ms(), Ms(1714564800, 100));
  EXPECT_EQ(e.sent_at_ms(), Ms(1714564801));
  EXPECT_FALSE(e.has_sales());
  EXPECT_FALSE(e.has_traits());
}

TEST(DecodeIdentify, DecodesTraits) {
  v1::Event e =
      MustDecode(J("{'type':'identify','messageId':'m','userId':'u','anonymousId':'a',"
                   "'traits':{'email':'x@y.test','plan':'pro','employees':250}}"));
  EXPECT_EQ(e.type(), v1::CALL_TYPE_IDENTIFY);
  EXPECT_EQ(e.traits().fields().at("email").string_value(), "x@y.test");
  EXPECT_EQ(e.traits().fields().at("employees").number_value(), 250);
}

TEST(DecodeIdentify, TakesContextTraitsWhenThereAreNoTopLevelTraits) {
  v1::Event e =
      MustDecode(J("{'type':'identify','messageId':'m','userId':'u','context':{'traits':{'email':'"
                   "c@y.test'}}}"));
  EXPECT_EQ(e.traits().fields().at("email").string_value(), "c@y.test");
  EXPECT_TRUE(e.has_context());
}

TEST(DecodeIdentify, TopLevelTraitsWinOverContextTraits) {
  v1::Event e =
      MustDecode(J("{'type':'identify','messageId':'m','userId':'u',"
                   "'traits':{'a':1},'context':{'traits':{'b':2}}}"));
  EXPECT_EQ(e.traits().fields().size(), 1u);
  EXPECT_TRUE(e.traits().fields().contains("a"));
}

TEST(DecodeTrack, IgnoresContextTraits) {
  v1::Event e = MustDecode(Track("X", ",'context':{'traits':{'b':2}}"));
  EXPECT_FALSE(e.has_traits());
}

TEST(DecodePage, DecodesNameCategoryAndProperties) {
  v1::Event e =
      MustDecode(J("{'type':'page','messageId':'m','anonymousId':'a','name':'Pricing',"
                   "'category':'Docs','event':'ignored','properties':{'url':'/pricing'}}"));
  EXPECT_EQ(e.type(), v1::CALL_TYPE_PAGE);
  EXPECT_EQ(e.name(), "Pricing");
  EXPECT_EQ(e.category(), "Docs");
  EXPECT_EQ(e.properties().fields().at("url").string_value(), "/pricing");
}

TEST(DecodeAlias, DecodesPreviousId) {
  v1::Event e = MustDecode(
      J("{'type':'alias','messageId':'m','userId':'new','previousId':'old','anonymousId':'a'}"));
  EXPECT_EQ(e.type(), v1::CALL_TYPE_ALIAS);
  EXPECT_EQ(e.previous_id(), "old");
  EXPECT_EQ(e.user_id(), "new");
}

TEST(DecodeGroup, DecodesGroupIdAndTraits) {
  v1::Event e =
      MustDecode(J("{'type':'group','messageId':'m','userId':'u','groupId':'acme',"
                   "'traits':{'industry':'retail'}}"));
  EXPECT_EQ(e.type(), v1::CALL_TYPE_GROUP);
  EXPECT_EQ(e.group_id(), "acme");
  EXPECT_EQ(e.traits().fields().at("industry").string_value(), "retail");
}

TEST(DecodeGroup, TakesContextTraitsWhenThereAreNoTopLevelTraits) {
  v1::Event e =
      MustDecode(J("{'type':'group','messageId':'m','userId':'u','groupId':'g',"
                   "'context':{'traits':{'size':5}}}"));
  EXPECT_EQ(e.traits().fields().at("size").number_value(), 5);
}

TEST(Decode, NullCountsAsAbsent) {
  v1::Event e =
      MustDecode(J("{'type':'track','messageId':'m','userId':null,'anonymousId':'a',"
                   "'event':'X','properties':null,'context':null,'timestamp':null,"
                   "'category':null}"));
  EXPECT_EQ(e.user_id(), "");
  EXPECT_FALSE(e.has_properties());
  EXPECT_FALSE(e.has_context());
  EXPECT_EQ(e.occurred_at_ms(), 0);
}

TEST(Decode, EmptyPropertiesArePresent) {
  EXPECT_TRUE(MustDecode(Track("X", ",'properties':{}")).has_properties());
  EXPECT_FALSE(MustDecode(Track("X")).has_properties());
}

TEST(Decode, DuplicateKeysLastOneWins) {
  v1::Event e = MustDecode(Track("X", ",'userId':'u-2','properties':{'a':1},'properties':{'b':2}"));
  EXPECT_EQ(e.user_id(), "u-2");
  EXPECT_FALSE(e.properties().fields().contains("a"));
  // An earlier member of the wrong type does not matter once overridden.
  EXPECT_OK(Decode(J("{'type':'track','userId':5,'messageId':'m','userId':'u','event':'X'}"), &e));
}

TEST(Decode, UnicodeAndEscapesSurviveIntoTheEvent) {
  v1::Event e = MustDecode(Track("Caf\\u00e9 \\ud83d\\ude00", ",'properties':{'q':'a\\\"b\\n'}"));
  EXPECT_EQ(e.name(), "Caf\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(e.properties().fields().at("q").string_value(), "a\"b\n");
}

// ---------------------------------------------------------------- validation errors

TEST(DecodeErrors, UnknownCallType) {
  ExpectError(J("{'type':'screen','messageId':'m','userId':'u'}"), kInvalid, "type",
              "type: unknown call type \"screen\"; expected one of track, identify, page, alias, "
              "group, definition, erasure");
}

TEST(DecodeErrors, MissingType) {
  ExpectError(J("{'messageId':'m','userId':'u'}"), kInvalid, "type",
              "type: required; expected one of track, identify, page, alias, group, "
              "definition, erasure");
}

TEST(DecodeErrors, TypeNotAString) {
  ExpectError(J("{'type':1,'messageId':'m','userId':'u'}"), kInvalid, "type",
              "type: expected string, got number");
}

TEST(DecodeErrors, MissingMessageId) {
  ExpectError(J("{'type':'track','userId':'u','event':'X'}"), kInvalid, "messageId",
              "messageId: required");
}

TEST(DecodeErrors, EmptyMessageId) {
  ExpectError(J("{'type':'track','messageId':'','userId':'u','event':'X'}"), kInvalid, "messageId",
              "messageId: required");
}

TEST(DecodeErrors, MessageIdNotAString) {
  ExpectError(J("{'type':'track','messageId':7,'userId':'u','event':'X'}"), kInvalid, "messageId",
              "messageId: expected string, got number");
}

TEST(DecodeErrors, IdsAtTheLengthLimitAreAcceptedOneMoreIsNot) {
  const std::string at_limit(kIdBytesMax, 'x');
  for (const char* field : {"messageId", "userId", "anonymousId", "previousId", "groupId"}) {
    std::string ok =
        J(absl::StrCat("{'type':'alias','messageId':'m','userId':'u','previousId':'p',"
                       "'groupId':'g','",
                       field, "':'", at_limit, "'}"));
    v1::Event e;
    EXPECT_OK(Decode(ok, &e)) << field;
    std::string bad =
        J(absl::StrCat("{'type':'alias','messageId':'m','userId':'u','previousId':'p',"
                       "'",
                       field, "':'", at_limit, "y'}"));
    ExpectError(bad, kInvalid, field, absl::StrCat(field, ": 257 bytes exceeds the limit of 256"));
  }
}

TEST(DecodeErrors, UserIdNumber) {
  ExpectError(J("{'type':'track','messageId':'m','userId':42,'event':'X'}"), kInvalid, "userId",
              "userId: expected string, got number");
}

TEST(DecodeErrors, AnonymousIdObject) {
  ExpectError(J("{'type':'track','messageId':'m','anonymousId':{},'event':'X'}"), kInvalid,
              "anonymousId", "anonymousId: expected string, got object");
}

TEST(DecodeErrors, NeitherUserIdNorAnonymousId) {
  ExpectError(J("{'type':'track','messageId':'m','event':'X'}"), kInvalid, "userId",
              "userId: one of userId or anonymousId is required");
  ExpectError(J("{'type':'page','messageId':'m','userId':'','anonymousId':''}"), kInvalid, "userId",
              "userId: one of userId or anonymousId is required");
}

TEST(DecodeErrors, AliasWithoutUserId) {
  ExpectError(J("{'type':'alias','messageId':'m','anonymousId':'a','previousId':'p'}"), kInvalid,
              "userId", "userId: required for alias");
}

TEST(DecodeErrors, AliasWithoutPreviousId) {
  ExpectError(J("{'type':'alias','messageId':'m','userId':'u'}"), kInvalid, "previousId",
              "previousId: required for alias");
}

TEST(DecodeErrors, GroupWithoutGroupId) {
  ExpectError(J("{'type':'group','messageId':'m','userId':'u'}"), kInvalid, "groupId",
              "groupId: required for group");
}

TEST(DecodeErrors, TrackWithoutEventName) {
  ExpectError(J("{'type':'track','messageId':'m','userId':'u'}"), kInvalid, "event",
              "event: required for track");
  ExpectError(J("{'type':'track','messageId':'m','userId':'u','event':''}"), kInvalid, "event",
              "event: required for track");
}

TEST(DecodeErrors, EventNameAtTheLimitIsAcceptedOneMoreIsNot) {
  v1::Event e;
  EXPECT_OK(Decode(Track(std::string(kEventNameBytesMax, 'n')), &e));
  ExpectError(Track(std::string(kEventNameBytesMax + 1, 'n')), kInvalid, "event",
              "event: 257 bytes exceeds the limit of 256");
  ExpectError(J(absl::StrCat("{'type':'page','messageId':'m','userId':'u','name':'",
                             std::string(kEventNameBytesMax + 1, 'n'), "'}")),
              kInvalid, "name", "name: 257 bytes exceeds the limit of 256");
}

TEST(DecodeErrors, EventNameNotAString) {
  ExpectError(J("{'type':'track','messageId':'m','userId':'u','event':['X']}"), kInvalid, "event",
              "event: expected string, got array");
}

TEST(DecodeErrors, PropertiesArray) {
  ExpectError(Track("X", ",'properties':[1]"), kInvalid, "properties",
              "properties: expected object, got array");
}

TEST(DecodeErrors, TraitsString) {
  ExpectError(J("{'type':'identify','messageId':'m','userId':'u','traits':'x'}"), kInvalid,
              "traits", "traits: expected object, got string");
  ExpectError(J("{'type':'identify','messageId':'m','userId':'u','context':{'traits':true}}"),
              kInvalid, "context.traits", "context.traits: expected object, got boolean");
}

TEST(DecodeErrors, ContextWrongTypes) {
  ExpectError(Track("X", ",'context':'web'"), kInvalid, "context",
              "context: expected object, got string");
  ExpectError(Track("X", ",'context':{'ip':1}"), kInvalid, "context.ip",
              "context.ip: expected string, got number");
  ExpectError(Track("X", ",'context':{'page':'p'}"), kInvalid, "context.page",
              "context.page: expected object, got string");
  ExpectError(Track("X", ",'context':{'campaign':{'source':false}}"), kInvalid,
              "context.campaign.source", "context.campaign.source: expected string, got boolean");
}

TEST(DecodeErrors, CategoryNotAString) {
  ExpectError(Track("X", ",'category':1"), kInvalid, "category",
              "category: expected string, got number");
}

TEST(DecodeErrors, UnparseableTimestamp) {
  ExpectError(Track("X", ",'timestamp':'yesterday'"), kInvalid, "timestamp",
              "timestamp: cannot parse \"yesterday\" as an ISO-8601 time");
  ExpectError(Track("X", ",'sentAt':'2024-05-01'"), kInvalid, "sentAt",
              "sentAt: cannot parse \"2024-05-01\" as an ISO-8601 time");
  ExpectError(Track("X", ",'originalTimestamp':12"), kInvalid, "originalTimestamp",
              "originalTimestamp: expected string, got number");
}

TEST(DecodeErrors, LongBadValuesAreCutInTheMessage) {
  v1::Event e;
  absl::Status s =
      Decode(Track("X", absl::StrCat(",'timestamp':'", std::string(200, 'z'), "'")), &e);
  EXPECT_THAT(s, StatusIs(kInvalid, HasSubstr(std::string(64, 'z') + "\"... as an ISO-8601 time")));
}

TEST(DecodeErrors, TopLevelNotAnObject) {
  ExpectError(" [1]", kInvalid, "",
              "message: not valid JSON (does not start with '{') nor a "
              "leadlog.v1.Event protobuf");
  v1::Event e;
  EXPECT_THAT(Decode("[1]", &e, ContentType::kJson),
              StatusIs(kInvalid, "message: expected a JSON object, got array"));
}

TEST(DecodeErrors, MalformedJsonNamesThePathAndOffset) {
  const std::string bad = Track("X", ",'properties':{'a':[1,2,}");
  ExpectError(bad, kInvalid, "properties.a[2]",
              absl::StrCat("properties.a[2]: invalid JSON: unexpected character at byte ",
                           bad.find(",}}") + 1));
  ExpectError(J("{'type':'track'} x"), kInvalid, "",
              "message: invalid JSON: unexpected characters after the value at byte 17");
}

TEST(DecodeErrors, InvalidUtf8NamesThePathAndOffset) {
  const std::string bad = Track("X", ",'properties':{'items':[{},{'name':'ok\xC0\xAF'}]}");
  ExpectError(
      bad, kInvalid, "properties.items[1].name",
      absl::StrCat("properties.items[1].name: invalid UTF-8 in string at byte ", bad.find('\xC0')));
}

TEST(DecodeErrors, EmptyMessage) { ExpectError("", kInvalid, "", "message: empty message"); }

// ---------------------------------------------------------------- timestamps

TEST(Timestamps, AcceptedForms) {
  struct Case {
    const char* text;
    int64_t ms;
  };
  for (const Case& c : std::vector<Case>{
           {"1970-01-01T00:00:01Z", 1000},
           {"2024-05-01T12:00:00Z", Ms(1714564800)},
           {"2024-05-01t12:00:00z", Ms(1714564800)},
           {"2024-05-01 12:00:00Z", Ms(1714564800)},
           {"2024-05-01T12:00:00.1Z", Ms(1714564800, 100)},
           {"2024-05-01T12:00:00.12Z", Ms(1714564800, 120)},
           {"2024-05-01T12:00:00.123456789Z", Ms(1714564800, 123)},
           {"2024-05-01T14:00:00+02:00", Ms(1714564800)},
           {"2024-05-01T06:30:00-0530", Ms(1714564800)},
           {"2024-02-29T00:00:00Z", Ms(1709164800)},
           {"2000-02-29T00:00:00Z", Ms(951782400)},
           {"1969-12-31T23:59:59.999Z", -1},
           {"0000-01-01T00:00:00Z", -62167219200000},
           {"9999-12-31T23:59:59.999Z", 253402300799999},
       }) {
    v1::Event e;
    ASSERT_OK(Decode(Track("X", absl::StrCat(",'timestamp':'", c.text, "'")), &e)) << c.text;
    EXPECT_EQ(e.occurred_at_ms(), c.ms) << c.text;
  }
}

TEST(Timestamps, RejectedForms) {
  for (const char* text : {"2024-05-01T12:00:00", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
                           "1900-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z",
                           "2024-05-01T12:60:00Z", "2024-05-01T12:00:61Z", "2024-05-01T12:00:00.Z",
                           "2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+02",
                           "24-05-01T12:00:00Z", "2024-05-01T12:00:00Z ", " 2024-05-01T12:00:00Z",
                           "2024-5-1T12:00:00Z", "9999-12-31T23:00:00-05:00", "", "1714564800"}) {
    ExpectError(Track("X", absl::StrCat(",'timestamp':'", text, "'")), kInvalid, "timestamp",
                absl::StrCat("timestamp: cannot parse \"", text, "\" as an ISO-8601 time"));
  }
}

TEST(Timestamps, OccurredAtFallsBackToOriginalTimestamp) {
  v1::Event e = MustDecode(Track("X", ",'originalTimestamp':'2024-05-01T12:00:00Z'"));
  EXPECT_EQ(e.occurred_at_ms(), Ms(1714564800));
  EXPECT_EQ(e.original_timestamp_ms(), Ms(1714564800));
  EXPECT_EQ(MustDecode(Track("X")).occurred_at_ms(), 0);
  EXPECT_EQ(MustDecode(Track("X", ",'sentAt':'2024-05-01T12:00:00Z'")).occurred_at_ms(), 0);
}

// ---------------------------------------------------------------- sales facts

struct SalesCase {
  const char* name;
  v1::SalesFactKind kind;
};

class SalesFacts : public ::testing::TestWithParam<SalesCase> {};

TEST_P(SalesFacts, DecodeIntoSalesFactWithAllProperties) {
  v1::Event e = MustDecode(Track(GetParam().name,
                                 ",'properties':{'reason':'no_budget','owner_id':'rep-7',"
                                 "'opportunity_id':'opp-1','amount':12500.5,'currency':'EUR',"
                                 "'channel':'call','crm_record_id':'crm-9','other':1}"));
  ASSERT_TRUE(e.has_sales());
  EXPECT_EQ(e.sales().kind(), GetParam().kind);
  EXPECT_EQ(e.sales().reason(), "no_budget");
  EXPECT_EQ(e.sales().owner_id(), "rep-7");
  EXPECT_EQ(e.sales().opportunity_id(), "opp-1");
  EXPECT_EQ(e.sales().amount(), 12500.5);
  EXPECT_EQ(e.sales().currency(), "EUR");
  EXPECT_EQ(e.sales().channel(), "call");
  EXPECT_EQ(e.sales().crm_record_id(), "crm-9");
  EXPECT_EQ(SalesFactKindOf(GetParam().name), GetParam().kind);
  EXPECT_EQ(SalesFactName(GetParam().kind), GetParam().name);
}

TEST_P(SalesFacts, RequireUserId) {
  ExpectError(
      J(absl::StrCat("{'type':'track','messageId':'m','anonymousId':'a','event':'", GetParam().name,
                     "','properties':{'reason':'r','owner_id':'o','opportunity_id':'p'}}")),
      kInvalid, "userId",
      absl::StrCat("userId: required for sales fact \"", GetParam().name, "\""));
}

TEST_P(SalesFacts, AmountMustBeANumber) {
  ExpectError(Track(GetParam().name,
                    ",'properties':{'reason':'r','owner_id':'o',"
                    "'opportunity_id':'p','amount':'100'}"),
              kInvalid, "properties.amount", "properties.amount: expected number, got string");
}

TEST_P(SalesFacts, StringPropertiesMustBeStrings) {
  for (const char* key :
       {"reason", "owner_id", "opportunity_id", "currency", "channel", "crm_record_id"}) {
    std::string props = absl::StrCat(
        ",'properties':{'reason':'r','owner_id':'o',"
        "'opportunity_id':'p','",
        key, "':5}");
    ExpectError(Track(GetParam().name, props), kInvalid, absl::StrCat("properties.", key),
                absl::StrCat("properties.", key, ": expected string, got number"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, SalesFacts,
    ::testing::Values(SalesCase{"Lead Accepted", v1::SALES_FACT_KIND_LEAD_ACCEPTED},
                      SalesCase{"Lead Rejected", v1::SALES_FACT_KIND_LEAD_REJECTED},
                      SalesCase{"Lead Contacted", v1::SALES_FACT_KIND_LEAD_CONTACTED},
                      SalesCase{"Lead Disqualified", v1::SALES_FACT_KIND_LEAD_DISQUALIFIED},
                      SalesCase{"Opportunity Created", v1::SALES_FACT_KIND_OPPORTUNITY_CREATED},
                      SalesCase{"Opportunity Won", v1::SALES_FACT_KIND_OPPORTUNITY_WON},
                      SalesCase{"Opportunity Lost", v1::SALES_FACT_KIND_OPPORTUNITY_LOST},
                      SalesCase{"Owner Assigned", v1::SALES_FACT_KIND_OWNER_ASSIGNED},
                      SalesCase{"Record Updated", v1::SALES_FACT_KIND_RECORD_UPDATED}),
    [](const ::testing::TestParamInfo<SalesCase>& info) {
      return absl::StrReplaceAll(info.param.name, {{" ", ""}});
    });

TEST(SalesFactErrors, MissingRequiredProperties) {
  struct Case {
    const char* name;
    const char* properties;
    const char* field;
  };
  for (const Case& c : std::vector<Case>{
           {"Lead Rejected", "{}", "reason"},
           {"Lead Rejected", "{'reason':''}", "reason"},
           {"Lead Rejected", "{'reason':null}", "reason"},
           {"Lead Disqualified", "{'owner_id':'o'}", "reason"},
           {"Opportunity Lost", "{'opportunity_id':'p'}", "reason"},
           {"Opportunity Lost", "{'reason':'price'}", "opportunity_id"},
           {"Opportunity Created", "{'amount':5}", "opportunity_id"},
           {"Opportunity Won", "{}", "opportunity_id"},
           {"Owner Assigned", "{'reason':'x'}", "owner_id"},
       }) {
    ExpectError(Track(c.name, absl::StrCat(",'properties':", c.properties)), kInvalid,
                absl::StrCat("properties.", c.field),
                absl::StrCat("properties.", c.field, ": required for sales fact \"", c.name, "\""));
  }
  ExpectError(Track("Owner Assigned"), kInvalid, "properties.owner_id",
              "properties.owner_id: required for sales fact \"Owner Assigned\"");
}

TEST(SalesFactErrors, OptionalPropertiesMayBeAbsentOrNull) {
  v1::Event e = MustDecode(Track("Lead Accepted", ",'properties':{'amount':null,'channel':null}"));
  EXPECT_EQ(e.sales().kind(), v1::SALES_FACT_KIND_LEAD_ACCEPTED);
  EXPECT_EQ(e.sales().amount(), 0);
  EXPECT_EQ(MustDecode(Track("Lead Contacted")).sales().kind(), v1::SALES_FACT_KIND_LEAD_CONTACTED);
}

TEST(SalesFacts, ReservedNamesOnlyCountForTrack) {
  v1::Event e =
      MustDecode(J("{'type':'page','messageId':'m','userId':'u','name':'Lead Rejected'}"));
  EXPECT_FALSE(e.has_sales());
  EXPECT_FALSE(MustDecode(Track("lead rejected")).has_sales()) << "names are case-sensitive";
}

TEST(SalesFacts, UnknownKindHasNoName) {
  EXPECT_EQ(SalesFactName(v1::SALES_FACT_KIND_UNSPECIFIED), "");
  EXPECT_EQ(SalesFactKindOf("Form Submitted"), v1::SALES_FACT_KIND_UNSPECIFIED);
}

// ---------------------------------------------------------------- content type

TEST(ContentTypeHeader, MapsKnownValues) {
  EXPECT_EQ(ContentTypeFromHeader("application/json"), ContentType::kJson);
  EXPECT_EQ(ContentTypeFromHeader(" Application/JSON; charset=utf-8"), ContentType::kJson);
  EXPECT_EQ(ContentTypeFromHeader("application/vnd.segment+json"), ContentType::kJson);
  EXPECT_EQ(ContentTypeFromHeader("application/x-protobuf"), ContentType::kProtobuf);
  EXPECT_EQ(ContentTypeFromHeader("application/protobuf; messageType=leadlog.v1.Event"),
            ContentType::kProtobuf);
  EXPECT_EQ(ContentTypeFromHeader("application/vnd.google.protobuf"), ContentType::kProtobuf);
  EXPECT_EQ(ContentTypeFromHeader("text/plain"), ContentType::kUnknown);
  EXPECT_EQ(ContentTypeFromHeader(""), ContentType::kUnknown);
}

TEST(Sniffing, JsonWithLeadingWhitespace) {
  EXPECT_EQ(MustDecode(" \t\r\n" + Track("X")).name(), "X");
  EXPECT_EQ(MustDecode("\n" + Track("X")).name(), "X");
}

TEST(Sniffing, ProtobufStartingWithNewline) {
  const std::string bytes = SampleEvent().SerializeAsString();
  ASSERT_EQ(bytes[0], '\n');
  v1::Event e = MustDecode(bytes);
  EXPECT_TRUE(MessageDifferencer::Equals(e, SampleEvent()));
}

TEST(Sniffing, ProtobufThatLooksLikeJsonIsTriedAsProtobuf) {
  v1::Event sample = SampleEvent();
  sample.set_event_id("{ten bytes");  // length byte 10 = '\n', then '{'
  const std::string bytes = sample.SerializeAsString();
  ASSERT_EQ(bytes.substr(0, 3), "\n\n{");
  v1::Event e = MustDecode(bytes);
  EXPECT_EQ(e.event_id(), "{ten bytes");
}

TEST(Sniffing, NeitherJsonNorProtobuf) {
  ExpectError("not json", kInvalid, "",
              "message: not valid JSON (does not start with '{') nor a leadlog.v1.Event protobuf");
  ExpectError("\n{\"type\":", kInvalid, "",
              "message: not valid JSON (type: invalid JSON: unexpected end of input at byte 9) "
              "nor a leadlog.v1.Event protobuf");
}

TEST(Sniffing, JsonThatFailsValidationIsNotRetriedAsProtobuf) {
  // StrCat, not "\n" + std::string: g++ 12 -O2 reports a false -Wrestrict there.
  ExpectError(absl::StrCat("\n", J("{'type':'track','messageId':'m','event':'X'}")), kInvalid,
              "userId", "userId: one of userId or anonymousId is required");
}

TEST(ContentTypeHeader, DecidesWithoutSniffing) {
  v1::Event e;
  EXPECT_THAT(Decode(SampleEvent().SerializeAsString(), &e, ContentType::kJson),
              StatusIs(kInvalid, HasSubstr("invalid JSON")));
  EXPECT_THAT(Decode(Track("X"), &e, ContentType::kProtobuf),
              StatusIs(kInvalid, "message: not a valid leadlog.v1.Event protobuf"));
  EXPECT_OK(Decode(SampleEvent().SerializeAsString(), &e, ContentType::kProtobuf));
  EXPECT_OK(Decode(Track("X"), &e, ContentType::kJson));
}

// ---------------------------------------------------------------- protobuf form

TEST(DecodeProtobuf, FillsSalesFromProperties) {
  v1::Event sample = SampleEvent();
  sample.set_name("Lead Rejected");
  (*sample.mutable_properties()->mutable_fields())["reason"].set_string_value("spam");
  v1::Event e = MustDecode(sample.SerializeAsString(), ContentType::kProtobuf);
  EXPECT_EQ(e.sales().kind(), v1::SALES_FACT_KIND_LEAD_REJECTED);
  EXPECT_EQ(e.sales().reason(), "spam");
}

TEST(DecodeProtobuf, TypedSalesFactJoinsTheProperties) {
  v1::Event sample = SampleEvent();
  sample.set_name("Opportunity Won");
  sample.mutable_sales()->set_opportunity_id("opp-1");
  sample.mutable_sales()->set_amount(99.5);
  v1::Event e = MustDecode(sample.SerializeAsString());
  EXPECT_EQ(e.sales().kind(), v1::SALES_FACT_KIND_OPPORTUNITY_WON);
  EXPECT_EQ(e.properties().fields().at("opportunity_id").string_value(), "opp-1");
  EXPECT_EQ(e.properties().fields().at("amount").number_value(), 99.5);
}

TEST(DecodeProtobuf, TypedSalesFactDisagreeingWithPropertiesIsAnError) {
  v1::Event sample = SampleEvent();
  sample.set_name("Lead Rejected");
  sample.mutable_sales()->set_reason("spam");
  (*sample.mutable_properties()->mutable_fields())["reason"].set_string_value("price");
  ExpectError(sample.SerializeAsString(), kInvalid, "sales.reason",
              "sales.reason: disagrees with properties.reason");
  sample.mutable_sales()->set_reason("price");
  sample.mutable_sales()->set_kind(v1::SALES_FACT_KIND_LEAD_ACCEPTED);
  ExpectError(sample.SerializeAsString(), kInvalid, "sales.kind",
              "sales.kind: kind 1 does not match event \"Lead Rejected\"");
}

TEST(DecodeProtobuf, SalesFactOnAnOrdinaryEventIsAnError) {
  v1::Event sample = SampleEvent();
  sample.mutable_sales()->set_kind(v1::SALES_FACT_KIND_LEAD_ACCEPTED);
  ExpectError(sample.SerializeAsString(), kInvalid, "sales",
              "sales: set on an event that is not a sales fact");
}

TEST(DecodeProtobuf, FailingValidationNamesTheField) {
  v1::Event sample = SampleEvent();
  sample.clear_event_id();
  ExpectError(sample.SerializeAsString(), kInvalid, "messageId", "messageId: required");
  sample = SampleEvent();
  sample.set_type(static_cast<v1::CallType>(42));
  ExpectError(sample.SerializeAsString(), kInvalid, "type",
              "type: unknown call type 42; expected one of track, identify, page, alias, group, "
              "definition, erasure");
}

TEST(DecodeProtobuf, InvalidProtobuf) {
  ExpectError(std::string("\x0a\x05m-1", 5), kInvalid, "",
              "message: not valid JSON (does not start with '{') nor a leadlog.v1.Event protobuf");
  v1::Event e;
  EXPECT_THAT(Decode(std::string("\x0a\xff\xff", 3), &e, ContentType::kProtobuf),
              StatusIs(kInvalid, "message: not a valid leadlog.v1.Event protobuf"));
}

TEST(DecodeProtobuf, UnknownFieldsAreDiscarded) {
  std::string bytes = SampleEvent().SerializeAsString();
  bytes += std::string("\xf8\x06\x01", 3);  // field 111, varint 1
  v1::Event e = MustDecode(bytes);
  EXPECT_TRUE(MessageDifferencer::Equals(e, SampleEvent()));
  EXPECT_EQ(e.SerializeAsString(), SampleEvent().SerializeAsString());
}

TEST(DecodeProtobuf, StructValuesJsonCannotHoldAreErrors) {
  v1::Event sample = SampleEvent();
  auto& fields = *sample.mutable_properties()->mutable_fields();
  fields["bad"].mutable_list_value()->add_values()->set_number_value(std::nan(""));
  ExpectError(sample.SerializeAsString(), kInvalid, "properties.bad[0]",
              "properties.bad[0]: number is not finite");
  fields["bad"].mutable_list_value()->mutable_values(0)->Clear();
  ExpectError(sample.SerializeAsString(), kInvalid, "properties.bad[0]",
              "properties.bad[0]: a value with no kind cannot be written as JSON");
}

TEST(DecodeProtobuf, StructNestedPastTheLimitIsResourceExhausted) {
  // Event = depth 1, properties = 2, so 30 more levels reach the limit.
  auto nest = [](int levels) {
    v1::Event sample = SampleEvent();
    google::protobuf::Struct* s = sample.mutable_properties();
    std::string path = "properties";
    for (int i = 0; i < levels; ++i) {
      s = (*s->mutable_fields())["k"].mutable_struct_value();
      path += ".k";
    }
    return std::make_pair(sample.SerializeAsString(), path);
  };
  v1::Event e;
  EXPECT_OK(Decode(nest(kJsonDepthMax - 2).first, &e));
  auto [bytes, path] = nest(kJsonDepthMax - 1);
  ExpectError(bytes, kExhausted, path, absl::StrCat(path, ": nesting deeper than 32"));
}

TEST(ValidateEvent, FallsBackToOriginalTimestamp) {
  v1::Event e = SampleEvent();
  e.set_original_timestamp_ms(5000);
  ASSERT_OK(ValidateEvent(&e));
  EXPECT_EQ(e.occurred_at_ms(), 5000);
}

TEST(ValidateEvent, RejectsTimestampsOutsideRfc3339Years) {
  v1::Event e = SampleEvent();
  e.set_sent_at_ms(253402300800000);
  absl::Status s = ValidateEvent(&e);
  EXPECT_THAT(s,
              StatusIs(kInvalid, "sentAt: 253402300800000 ms is outside the years 0000 to 9999"));
  EXPECT_EQ(ErrorField(s), "sentAt");
}

TEST(ValidateEvent, RejectsInvalidUtf8) {
  v1::Event e = SampleEvent();
  e.mutable_context()->set_page_title("\xFF");
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalid, "context.page.title: invalid UTF-8"));
  e = SampleEvent();
  (*e.mutable_traits()->mutable_fields())["a\xFF"].set_bool_value(true);
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalid, "traits: invalid UTF-8 in object key"));
}

TEST(ValidateEvent, RejectsMissingType) {
  v1::Event e = SampleEvent();
  e.clear_type();
  EXPECT_THAT(ValidateEvent(&e),
              StatusIs(kInvalid,
                       "type: required; expected one of track, identify, page, alias, "
                       "group, definition, erasure"));
}

// ---------------------------------------------------------------- definition events

constexpr char kRoutingJson[] =
    "{'owner_routing':{'id':'r','version':3,'queues':[{'id':'smb','owners':['o1','o2']}],"
    "'territories':[{'id':'big','queue':'smb','where':[{'field':'traits.employees','op':'gte',"
    "'value':1000}]}],'default_queue':'smb'}}";

v1::Definition RoutingDefinition() {
  v1::Definition d;
  v1::OwnerRouting* r = d.mutable_owner_routing();
  r->set_id("r");
  r->set_version(3);
  v1::OwnerQueue* q = r->add_queues();
  q->set_id("smb");
  q->add_owners("o1");
  q->add_owners("o2");
  v1::Territory* t = r->add_territories();
  t->set_id("big");
  t->set_queue("smb");
  v1::ScoringPredicate* p = t->add_where();
  p->set_field("traits.employees");
  p->set_op("gte");
  p->mutable_value()->set_number_value(1000);
  r->set_default_queue("smb");
  return d;
}

std::string DefinitionJson(absl::string_view message_id, absl::string_view definition,
                           absl::string_view extra = "") {
  return J(absl::StrCat("{'type':'definition','messageId':'", message_id, "','definition':",
                        definition, extra, ",'timestamp':'2024-05-01T12:00:00Z'}"));
}

TEST(DefinitionEvent, ProtobufFormDecodesWithoutIdentity) {
  const v1::Event made = MakeDefinitionEvent(RoutingDefinition(), Ms(1714564800));
  for (ContentType type : {ContentType::kProtobuf, ContentType::kUnknown}) {
    v1::Event e = MustDecode(made.SerializeAsString(), type);
    EXPECT_TRUE(MessageDifferencer::Equals(e, made)) << e.DebugString();
    EXPECT_THAT(LeadKeysOf(e), ElementsAre());
    EXPECT_EQ(PartitionKeyOf(e), "");
  }
}

TEST(DefinitionEvent, JsonFormDecodesWithTheProtobufJsonMapping) {
  v1::Event e = MustDecode(DefinitionJson("definition:owner_routing:r:v3", kRoutingJson));
  EXPECT_EQ(e.type(), v1::CALL_TYPE_DEFINITION);
  EXPECT_EQ(e.event_id(), "definition:owner_routing:r:v3");
  EXPECT_EQ(e.occurred_at_ms(), Ms(1714564800));
  EXPECT_TRUE(MessageDifferencer::Equals(e.definition(), RoutingDefinition())) << e.DebugString();
  EXPECT_THAT(LeadKeysOf(e), ElementsAre());
}

TEST(DefinitionEvent, EncodesToJsonThatDecodesBackEqual) {
  const v1::Event made = MakeDefinitionEvent(RoutingDefinition(), Ms(1714564800, 5));
  const std::string json = EncodeSegmentJson(made);
  EXPECT_THAT(json, HasSubstr("\"type\":\"definition\""));
  EXPECT_THAT(json, HasSubstr("\"definition\":{\"owner_routing\":"));
  v1::Event back = MustDecode(json, ContentType::kJson);
  EXPECT_TRUE(MessageDifferencer::Equals(back, made)) << json;
}

TEST(DefinitionEvent, EventIdMustBeTheDefinitionEventId) {
  ExpectError(DefinitionJson("definition:owner_routing:r:v2", kRoutingJson), kInvalid, "messageId",
              "messageId: a definition event's id must be \"definition:owner_routing:r:v3\" "
              "(definition:<kind>:<id>:v<version>), got \"definition:owner_routing:r:v2\"");
  v1::Event e = MakeDefinitionEvent(RoutingDefinition(), 0);
  e.set_event_id("m-1");
  ExpectError(e.SerializeAsString(), kInvalid, "messageId",
              "messageId: a definition event's id must be \"definition:owner_routing:r:v3\" "
              "(definition:<kind>:<id>:v<version>), got \"m-1\"");
  e.clear_event_id();
  ExpectError(e.SerializeAsString(), kInvalid, "messageId", "messageId: required");
}

TEST(DefinitionEvent, InvalidDefinitionNamesTheNestedField) {
  ExpectError(
      DefinitionJson("definition:owner_routing:r:v3",
                     absl::StrReplaceAll(kRoutingJson, {{"'queue':'smb'", "'queue':'emea'"}})),
      kInvalid, "definition.owner_routing.territories[0].queue",
      "definition.owner_routing.territories[0].queue: unknown queue \"emea\"");
  v1::Definition d = RoutingDefinition();
  d.mutable_owner_routing()->mutable_territories(0)->mutable_where(0)->set_op("like");
  ExpectError(MakeDefinitionEvent(d, 0).SerializeAsString(), kInvalid,
              "definition.owner_routing.territories[0].where[0].op",
              "definition.owner_routing.territories[0].where[0].op: unknown operator \"like\"");
  v1::Definition scoring;
  scoring.mutable_scoring_model()->set_id("m");
  ExpectError(MakeDefinitionEvent(scoring, 0).SerializeAsString(), kInvalid,
              "definition.scoring_model.version", "definition.scoring_model.version: must be >= 1");
}

TEST(DefinitionEvent, DefinitionWithoutKindOrMissingIsRejected) {
  ExpectError(DefinitionJson("definition:::v0", "{}"), kInvalid, "definition",
              "definition: no kind set");
  v1::Event e = MakeDefinitionEvent(v1::Definition(), 0);
  ExpectError(e.SerializeAsString(), kInvalid, "definition", "definition: no kind set");
  e.clear_definition();
  ExpectError(e.SerializeAsString(), kInvalid, "definition",
              "definition: required for a definition event");
  ExpectError(J("{'type':'definition','messageId':'d'}"), kInvalid, "definition",
              "definition: required for a definition event");
}

TEST(DefinitionEvent, MalformedDefinitionJsonIsRejected) {
  v1::Event e;
  absl::Status s = Decode(DefinitionJson("d", "{'owner_routing':{'colour':1}}"), &e);
  EXPECT_THAT(s, StatusIs(kInvalid, HasSubstr("definition: ")));
  EXPECT_EQ(ErrorField(s), "definition");
  ExpectError(DefinitionJson("d", "[1]"), kInvalid, "definition",
              "definition: expected object, got array");
}

TEST(DefinitionEvent, LeadFieldsAreNotAllowed) {
  ExpectError(DefinitionJson("definition:owner_routing:r:v3", kRoutingJson, ",'userId':'u-1'"),
              kInvalid, "userId", "userId: not allowed on a definition event");
  v1::Event e = MakeDefinitionEvent(RoutingDefinition(), 0);
  (*e.mutable_properties()->mutable_fields())["x"].set_number_value(1);
  ExpectError(e.SerializeAsString(), kInvalid, "properties",
              "properties: not allowed on a definition event");
}

TEST(DefinitionEvent, DefinitionThatJsonCannotHoldIsRejected) {
  v1::Definition d = RoutingDefinition();
  d.mutable_owner_routing()
      ->mutable_territories(0)
      ->mutable_where(0)
      ->mutable_value()
      ->set_number_value(std::nan(""));
  v1::Event e;
  absl::Status s = Decode(MakeDefinitionEvent(d, 0).SerializeAsString(), &e);
  EXPECT_THAT(s, StatusIs(kInvalid,
                          "definition: cannot be written as JSON and read back equal (a number "
                          "that is not finite?)"));
  EXPECT_EQ(ErrorField(s), "definition");
}

TEST(DefinitionEvent, MayExceedTheEventLimitUpToTheDefinitionLimit) {
  v1::Definition d = RoutingDefinition();
  d.mutable_owner_routing()->set_description(std::string(kEventBytesMax, 'd'));
  const std::string bytes = MakeDefinitionEvent(d, 0).SerializeAsString();
  ASSERT_GT(bytes.size(), kEventBytesMax);
  v1::Event e = MustDecode(bytes);
  EXPECT_EQ(e.definition().owner_routing().description().size(), kEventBytesMax);
  v1::Event json = MustDecode(EncodeSegmentJson(e));
  EXPECT_TRUE(MessageDifferencer::Equals(json, e));
  // An invalid large definition names its field, not the size.
  d.mutable_owner_routing()->set_version(0);
  ExpectError(MakeDefinitionEvent(d, 0).SerializeAsString(), kInvalid,
              "definition.owner_routing.version", "definition.owner_routing.version: must be >= 1");
  // Other events stay within kEventBytesMax; nothing exceeds kDefinitionBytesMax.
  v1::Event track = SampleEvent();
  (*track.mutable_properties()->mutable_fields())["pad"].set_string_value(
      std::string(kEventBytesMax, 'p'));
  const std::string track_bytes = track.SerializeAsString();
  ExpectError(track_bytes, kExhausted, "",
              absl::StrCat("message: ", track_bytes.size(), " bytes exceeds the limit of 32768"));
  d.mutable_owner_routing()->set_description(std::string(kDefinitionBytesMax, 'd'));
  const std::string huge = MakeDefinitionEvent(d, 0).SerializeAsString();
  ExpectError(
      huge, kExhausted, "",
      absl::StrCat("message: ", huge.size(), " bytes exceeds the limit of ", kDefinitionBytesMax));
}

TEST(DefinitionEvent, OtherEventsMustNotCarryADefinition) {
  v1::Event e = SampleEvent();
  *e.mutable_definition() = RoutingDefinition();
  ExpectError(e.SerializeAsString(), kInvalid, "definition",
              "definition: set on an event that is not a definition event");
  // In JSON a `definition` member of another call is an unknown field: ignored.
  v1::Event track = MustDecode(Track("X", J(absl::StrCat(",'definition':", kRoutingJson))));
  EXPECT_FALSE(track.has_definition());
}

// ---------------------------------------------------------------- limits

TEST(Limits, MessageExactlyAtTheLimitIsAccepted) {
  std::string json = Track("X", ",'properties':{'pad':'");
  const std::string tail = "'}}";
  json += std::string(kEventBytesMax - json.size() - tail.size(), 'p') + J(tail);
  ASSERT_EQ(json.size(), kEventBytesMax);
  v1::Event e;
  EXPECT_OK(Decode(json, &e));
}

TEST(Limits, MessageOneByteOverTheLimitIsResourceExhausted) {
  const std::string json = Track("X") + std::string(kEventBytesMax + 1 - Track("X").size(), ' ');
  ASSERT_EQ(json.size(), kEventBytesMax + 1);
  ExpectError(json, kExhausted, "", "message: 32769 bytes exceeds the limit of 32768");
  ExpectError(std::string(40000, 'x'), kExhausted, "",
              "message: 40000 bytes exceeds the limit of 32768");
}

std::string NestedProperties(int levels) {
  std::string open, path = "properties";
  for (int i = 0; i < levels; ++i) open += "{'k':", path += ".k";
  return Track("X", absl::StrCat(",'properties':", open, "1", std::string(levels, '}')));
}

TEST(Limits, JsonNestedExactlyAtTheLimitIsAccepted) {
  // Event = depth 1, properties = 2, so 30 more objects reach the limit.
  v1::Event e;
  EXPECT_OK(Decode(J(NestedProperties(kJsonDepthMax - 1)), &e));
}

TEST(Limits, JsonNestedOnePastTheLimitIsResourceExhausted) {
  std::string path = "properties";
  for (int i = 0; i < kJsonDepthMax - 1; ++i) path += ".k";
  v1::Event e;
  absl::Status s = Decode(J(NestedProperties(kJsonDepthMax)), &e);
  EXPECT_THAT(s, StatusIs(kExhausted, HasSubstr(path + ": nesting deeper than 32 at byte")));
  EXPECT_EQ(ErrorField(s), path);
}

// ---------------------------------------------------------------- errors

TEST(ErrorField, ReadsThePayload) {
  EXPECT_EQ(ErrorField(absl::OkStatus()), "");
  EXPECT_EQ(ErrorField(absl::InvalidArgumentError("userId: x")), "")
      << "the path comes from the payload, not the message";
}

}  // namespace
}  // namespace leadlog

namespace leadlog {
namespace {

v1::Event ErasureEvent(const std::string& request_id, const std::string& reason) {
  v1::Event e;
  e.set_type(v1::CALL_TYPE_ERASURE);
  e.set_event_id("erasure:" + request_id);
  e.mutable_erasure()->add_lead_keys("a:anon-1");
  e.mutable_erasure()->add_lead_keys("u:u-1");
  e.mutable_erasure()->set_request_id(request_id);
  e.mutable_erasure()->set_reason(reason);
  return e;
}

TEST(ValidateEvent, ErasureEventAtItsLimitsIsValid) {
  v1::Event e = ErasureEvent(std::string(kErasureRequestIdBytesMax, 'r'),
                             std::string(kErasureReasonBytesMax, 'x'));
  EXPECT_OK(ValidateEvent(&e));
  // Through the decoder too (protobuf form), with its lead keys intact.
  v1::Event decoded;
  EXPECT_OK(DecodeEvent(e.SerializeAsString(), ContentType::kProtobuf, &decoded));
  EXPECT_EQ(decoded.erasure().lead_keys_size(), 2);
}

TEST(ValidateEvent, BadErasureEventsNameTheField) {
  const auto kInvalidArgument = absl::StatusCode::kInvalidArgument;
  v1::Event e = ErasureEvent(std::string(kErasureRequestIdBytesMax + 1, 'r'), "why");
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, HasSubstr("erasure.request_id")));
  e = ErasureEvent("r", std::string(kErasureReasonBytesMax + 1, 'x'));
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, HasSubstr("erasure.reason")));
  e = ErasureEvent("r", "");
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, "erasure.reason: required"));
  e = ErasureEvent("r", "why");
  e.mutable_erasure()->clear_lead_keys();
  EXPECT_THAT(ValidateEvent(&e),
              StatusIs(kInvalidArgument, "erasure.lead_keys: at least one required"));
  e = ErasureEvent("r", "why");
  e.mutable_erasure()->add_lead_keys("jane@example.com");
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, HasSubstr("erasure.lead_keys: expected")));
  e = ErasureEvent("r", "why");
  e.set_event_id("erasure:other");
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, HasSubstr("messageId: an erasure")));
  e = ErasureEvent("r", "why");
  e.set_user_id("u-1");
  EXPECT_THAT(ValidateEvent(&e),
              StatusIs(kInvalidArgument, "userId: not allowed on an erasure event"));
  e = ErasureEvent("r", "why");
  e.clear_erasure();
  EXPECT_THAT(ValidateEvent(&e), StatusIs(kInvalidArgument, HasSubstr("erasure: required")));
  v1::Event track = SampleEvent();
  track.mutable_erasure()->set_reason("x");
  EXPECT_THAT(ValidateEvent(&track),
              StatusIs(kInvalidArgument, HasSubstr("erasure: set on an event that is not")));
}

}  // namespace
}  // namespace leadlog
