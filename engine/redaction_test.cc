#include "engine/redaction.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using google::protobuf::Struct;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

Struct ParseStruct(const std::string& json) {
  Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

// Struct maps print in no fixed order: compare as messages.
::testing::AssertionResult SameStruct(const Struct& got, const std::string& want_json) {
  if (google::protobuf::util::MessageDifferencer::Equals(got, ParseStruct(want_json))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << got.DebugString() << " != " << want_json;
}

TEST(Redaction, EveryPersonalFieldNameIsRemovedOrMaskedAndOthersKept) {
  Struct traits = ParseStruct(R"({
    "email": "jane.doe@acme.com", "name": "Jane Doe", "firstName": "Jane",
    "last_name": "Doe", "Full-Name": "Jane Q Doe", "phone": "+1 555 0100",
    "mobile": "+1 555 0101", "phone_number": "555", "address": {"street": "1 Main"},
    "street": "1 Main St", "city": "Springfield", "postal_code": "12345", "zip": "12345",
    "zipCode": "12345", "birthday": "1980-01-01", "birthdate": "1980-01-01",
    "date_of_birth": "1980-01-01", "ip": "10.1.2.3", "user_agent": "Mozilla",
    "company": "Acme", "title": "CTO", "employees": 120, "plan": "pro"})");
  std::vector<std::string> removed;
  EXPECT_TRUE(RedactStruct(&traits, &removed));
  EXPECT_TRUE(SameStruct(traits, R"({"company":"Acme","email":"erased@acme.com","employees":120,"plan":"pro",)"
            R"("title":"CTO"})"));
  EXPECT_THAT(removed, ::testing::Contains("Jane Doe"));
  EXPECT_THAT(removed, ::testing::Contains("jane.doe@acme.com"));
  EXPECT_THAT(removed, ::testing::Contains("1 Main"));  // inside the removed address
  for (absl::string_view name : kPersonalFieldNames) EXPECT_TRUE(IsPersonalField(name)) << name;
}

TEST(Redaction, NestedObjectsAndListsAreRedacted) {
  Struct props = ParseStruct(R"({
    "form": {"fields": {"email": "a@b.org", "company": "B"}, "id": "f1"},
    "attendees": [{"name": "Bob", "role": "dev"}, "plain", {"phone": "123456"}]})");
  std::vector<std::string> removed;
  EXPECT_TRUE(RedactStruct(&props, &removed));
  EXPECT_TRUE(SameStruct(props, R"({"attendees":[{"role":"dev"},"plain",{}],)"
            R"("form":{"fields":{"company":"B","email":"erased@b.org"},"id":"f1"}})"));
  EXPECT_THAT(removed, UnorderedElementsAre("Bob", "123456", "a@b.org"));
}

TEST(Redaction, EmailKeepsItsDomainOnlyAndIsNeverRemoved) {
  EXPECT_EQ(ErasedEmail("jane@sub.acme.co.uk"), "erased@sub.acme.co.uk");
  EXPECT_EQ(ErasedEmail("a@b@c.com"), "erased@c.com");
  EXPECT_EQ(ErasedEmail("no-at-sign"), "erased");
  Struct traits = ParseStruct(R"({"email": ["x@y.com"], "Email": "X@Y.com"})");
  std::vector<std::string> removed;
  RedactStruct(&traits, &removed);
  EXPECT_TRUE(SameStruct(traits, R"({"Email":"erased@Y.com","email":"erased"})"));
  EXPECT_THAT(removed, UnorderedElementsAre("x@y.com", "X@Y.com"));
}

TEST(Redaction, IsIdempotent) {
  v1::Event event;
  event.set_user_id("u-1");
  *event.mutable_traits() = ParseStruct(R"({"email": "j@acme.com", "name": "J", "n": {"city": "X"}})");
  *event.mutable_properties() = ParseStruct(R"({"phone": "1", "page": "/a"})");
  event.mutable_context()->set_ip("10.0.0.1");
  event.mutable_context()->set_user_agent("Mozilla/5.0");
  event.mutable_context()->set_page_path("/a");
  std::vector<std::string> removed;
  EXPECT_TRUE(RedactEvent(&event, &removed));
  EXPECT_THAT(removed, ::testing::Contains("10.0.0.1"));
  EXPECT_THAT(removed, ::testing::Contains("Mozilla/5.0"));
  v1::Event once = event;
  removed.clear();
  EXPECT_FALSE(RedactEvent(&event, &removed));
  EXPECT_THAT(removed, ElementsAre());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(once, event));
  EXPECT_EQ(event.user_id(), "u-1");  // identifiers stay: pseudonyms
  EXPECT_EQ(event.context().page_path(), "/a");
  EXPECT_TRUE(event.context().ip().empty());
  EXPECT_TRUE(SameStruct(event.traits(), R"({"email":"erased@acme.com","n":{}})"));
}

TEST(Redaction, FieldOfATopLevelTrait) {
  google::protobuf::Value v;
  v.set_string_value("Jane");
  EXPECT_FALSE(RedactField("first_name", v, nullptr).has_value());
  EXPECT_EQ(RedactField("industry", v, nullptr)->string_value(), "Jane");
  v.set_string_value("jane@x.io");
  EXPECT_EQ(RedactField("EMAIL", v, nullptr)->string_value(), "erased@x.io");
}

}  // namespace
}  // namespace leadlog
