#include "projections/definitions/owner_routing.h"

#include <google/protobuf/text_format.h>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "engine/limits.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/definitions/definition.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;

v1::OwnerRouting Routing(const std::string& text) {
  v1::OwnerRouting r;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &r)) << text;
  return r;
}

// Two queues, one territory by employees.
v1::OwnerRouting Valid() {
  return Routing(R"(
    id: "r" version: 1
    queues { id: "ent" owners: "a" owners: "b" owners: "c" }
    queues { id: "smb" owners: "x" }
    territories { id: "big" queue: "ent"
                  where { field: "traits.employees" op: "gte" value { number_value: 1000 } } }
    default_queue: "smb")");
}

google::protobuf::Struct Traits(const std::string& text) {
  google::protobuf::Struct s;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &s)) << text;
  return s;
}

TEST(OwnerRouting, ValidRoutingPasses) { EXPECT_OK(ValidateOwnerRouting(Valid())); }

TEST(OwnerRouting, ErrorsNameThePath) {
  struct Case {
    std::function<void(v1::OwnerRouting*)> mutate;
    absl::StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {[](auto* r) { r->clear_id(); }, kInvalid, "id: required"},
      {[](auto* r) { r->set_id("Bad-Id"); }, kInvalid, "id: \"Bad-Id\" may contain only [a-z0-9_]"},
      {[](auto* r) { r->set_id(std::string(kRoutingIdBytesMax + 1, 'a')); }, kInvalid,
       "id: longer than 128 bytes"},
      {[](auto* r) { r->set_version(0); }, kInvalid, "version: must be >= 1"},
      {[](auto* r) { r->clear_queues(); }, kInvalid, "queues: at least one queue required"},
      {[](auto* r) { r->mutable_queues(1)->set_id("ent"); }, kInvalid,
       "queues[1].id: duplicate \"ent\""},
      {[](auto* r) { r->mutable_queues(1)->set_id("S M B"); }, kInvalid,
       "queues[1].id: \"S M B\" may contain only [a-z0-9_.-]"},
      {[](auto* r) { r->mutable_queues(1)->clear_owners(); }, kInvalid,
       "queues[1].owners: at least one owner required"},
      {[](auto* r) { r->mutable_queues(0)->add_owners("b"); }, kInvalid,
       "queues[0].owners[3]: duplicate \"b\""},
      {[](auto* r) { r->mutable_queues(0)->set_owners(1, "rep 7"); }, kInvalid,
       "queues[0].owners[1]: may not contain spaces or control characters"},
      {[](auto* r) { r->mutable_territories(0)->set_queue("emea"); }, kInvalid,
       "territories[0].queue: unknown queue \"emea\""},
      {[](auto* r) { r->mutable_territories(0)->clear_queue(); }, kInvalid,
       "territories[0].queue: required"},
      {[](auto* r) { *r->add_territories() = r->territories(0); }, kInvalid,
       "territories[1].id: duplicate \"big\""},
      {[](auto* r) { r->mutable_territories(0)->clear_where(); }, kInvalid,
       "territories[0].where: at least one predicate required (default_queue takes the other "
       "leads)"},
      {[](auto* r) { r->mutable_territories(0)->mutable_where(0)->set_op("like"); }, kInvalid,
       "territories[0].where[0].op: unknown operator \"like\""},
      {[](auto* r) { r->mutable_territories(0)->mutable_where(0)->set_field("properties.plan"); },
       kInvalid,
       "territories[0].where[0].field: unknown field \"properties.plan\" (fit rules read traits.* "
       "only)"},
      {[](auto* r) { r->set_default_queue("nope"); }, kInvalid,
       "default_queue: unknown queue \"nope\""},
      {[](auto* r) { r->clear_default_queue(); }, kInvalid, "default_queue: required"},
  };
  for (const Case& c : cases) {
    v1::OwnerRouting r = Valid();
    c.mutate(&r);
    EXPECT_THAT(ValidateOwnerRouting(r), StatusIs(c.code, c.message));
  }
}

TEST(OwnerRouting, BoundsAreEnforcedAtTheLimit) {
  v1::OwnerRouting r = Valid();
  while (r.queues_size() < kRoutingQueuesMax) {
    v1::OwnerQueue* q = r.add_queues();
    *q = r.queues(1);
    q->set_id("q" + std::to_string(r.queues_size()));
  }
  EXPECT_OK(ValidateOwnerRouting(r));
  r.add_queues()->CopyFrom(r.queues(1));
  r.mutable_queues(r.queues_size() - 1)->set_id("one_too_many");
  EXPECT_THAT(ValidateOwnerRouting(r), StatusIs(kExhausted, "queues: more than 64 queues"));

  r = Valid();
  while (r.queues(1).owners_size() < kRoutingOwnersPerQueueMax) {
    r.mutable_queues(1)->add_owners("o" + std::to_string(r.queues(1).owners_size()));
  }
  EXPECT_OK(ValidateOwnerRouting(r));
  r.mutable_queues(1)->add_owners("extra");
  EXPECT_THAT(ValidateOwnerRouting(r),
              StatusIs(kExhausted, "queues[1].owners: more than 1000 owners"));

  r = Valid();
  while (r.territories_size() < kRoutingTerritoriesMax) {
    v1::Territory* t = r.add_territories();
    *t = r.territories(0);
    t->set_id("t" + std::to_string(r.territories_size()));
  }
  EXPECT_OK(ValidateOwnerRouting(r));
  *r.add_territories() = r.territories(0);
  r.mutable_territories(r.territories_size() - 1)->set_id("extra");
  EXPECT_THAT(ValidateOwnerRouting(r),
              StatusIs(kExhausted, "territories: more than 256 territories"));

  r = Valid();
  r.set_description(std::string(kRoutingBytesMax, 'd'));
  EXPECT_THAT(ValidateOwnerRouting(r), StatusIs(kExhausted, HasSubstr("owner routing: ")));
}

TEST(OwnerRouter, FirstMatchingTerritoryWinsElseDefaultQueue) {
  v1::OwnerRouting r = Valid();
  // A second territory that also matches big companies never wins over the first.
  *r.add_territories() = r.territories(0);
  r.mutable_territories(1)->set_id("shadowed");
  r.mutable_territories(1)->set_queue("smb");
  auto router = OwnerRouter::Create(r);
  ASSERT_OK(router);
  RouteResult big =
      (*router)->Route(Traits(R"(fields { key: "employees" value { number_value: 5000 } })"), 0);
  EXPECT_EQ(big.territory_id, "big");
  EXPECT_EQ(big.queue_id, "ent");
  EXPECT_EQ(big.owner_id, "a");
  RouteResult small =
      (*router)->Route(Traits(R"(fields { key: "employees" value { number_value: 10 } })"), 7);
  EXPECT_EQ(small.territory_id, "");
  EXPECT_EQ(small.queue_id, "smb");
  EXPECT_EQ(small.owner_id, "x");
  RouteResult none = (*router)->Route(Traits(""), 0);
  EXPECT_EQ(none.queue_id, "smb");
  RouteResult matched =
      (*router)->Match(Traits(R"(fields { key: "employees" value { number_value: 1000 } })"));
  EXPECT_EQ(matched.queue_id, "ent");
  EXPECT_EQ(matched.owner_id, "");
}

TEST(OwnerRouter, OwnersTakeTurnsByCounter) {
  auto router = OwnerRouter::Create(Valid());
  ASSERT_OK(router);
  const google::protobuf::Struct big =
      Traits(R"(fields { key: "employees" value { number_value: 2000 } })");
  std::string owners;
  for (uint64_t counter = 0; counter < 7; ++counter)
    owners += (*router)->Route(big, counter).owner_id;
  EXPECT_EQ(owners, "abcabca");
  EXPECT_EQ((*router)->Route(big, UINT64_MAX).owner_id, "a");  // 2^64-1 = 0 mod 3
}

TEST(OwnerRouter, CreateRejectsAnInvalidRouting) {
  v1::OwnerRouting r = Valid();
  r.set_default_queue("nope");
  EXPECT_THAT(OwnerRouter::Create(r), StatusIs(kInvalid, "default_queue: unknown queue \"nope\""));
}

TEST(OwnerRouter, ExampleFileRoutesEnterpriseEmeaAndSmb) {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/examples/owner_routing.json");
  std::stringstream text;
  text << in.rdbuf();
  auto d = ParseDefinition(text.str());
  ASSERT_OK(d);
  ASSERT_TRUE(d->has_owner_routing());
  auto router = OwnerRouter::Create(d->owner_routing());
  ASSERT_OK(router);
  EXPECT_EQ((*router)
                ->Route(Traits(R"(fields { key: "employees" value { number_value: 1000 } }
                                       fields { key: "country" value { string_value: "DE" } })"),
                        4)
                .owner_id,
            "rep-ent-boris");
  RouteResult emea =
      (*router)->Route(Traits(R"(fields { key: "country" value { string_value: "de" } })"), 0);
  EXPECT_EQ(emea.territory_id, "emea");
  RouteResult smb =
      (*router)->Route(Traits(R"(fields { key: "country" value { string_value: "US" } })"), 5);
  EXPECT_EQ(smb.queue_id, "smb");
  EXPECT_EQ(smb.owner_id, "rep-smb-gus");
  EXPECT_EQ((*router)->routing().queues(2).owners_size(), 4);
}

}  // namespace
}  // namespace leadlog
