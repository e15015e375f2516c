#include "consumers/workload.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "consumers/codec.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;

const std::set<std::string> kSalesFactNames = {"Lead Accepted",     "Lead Rejected",       "Lead Contacted",
                                               "Lead Disqualified", "Opportunity Created", "Opportunity Won",
                                               "Opportunity Lost",  "Owner Assigned",      "Record Updated"};

std::vector<v1::Event> Generate(const WorkloadOptions& options) {
  std::vector<v1::Event> events;
  auto workload = Workload::Create(options);
  EXPECT_TRUE(workload.ok()) << workload.status();
  if (!workload.ok()) return events;
  v1::Event event;
  while ((*workload)->Next(&event)) events.push_back(event);
  return events;
}

WorkloadOptions Options(uint64_t seed, uint32_t leads, uint64_t events) {
  WorkloadOptions options;
  options.seed = seed;
  options.leads = leads;
  options.events = events;
  return options;
}

// Struct fields are protobuf maps, whose default serialization order is
// seeded per process: compare deterministic serializations.
std::string Serialized(const google::protobuf::MessageLite& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream out(&stream);
  out.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&out);
  out.Trim();
  return bytes;
}

// The 50k-event stream most behaviour tests look at, generated once.
const std::vector<v1::Event>& Stream50k() {
  static const std::vector<v1::Event>* events =
      new std::vector<v1::Event>(Generate(Options(42, 1000, 50'000)));
  return *events;
}

TEST(Workload, SameSeedGivesByteIdenticalStream) {
  const std::vector<v1::Event> a = Generate(Options(7, 500, 5000));
  const std::vector<v1::Event> b = Generate(Options(7, 500, 5000));
  ASSERT_EQ(a.size(), 5000u);
  ASSERT_EQ(b.size(), 5000u);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(Serialized(a[i]), Serialized(b[i])) << "event " << i;
  }
}

TEST(Workload, DifferentSeedGivesDifferentStream) {
  const std::vector<v1::Event> a = Generate(Options(7, 500, 2000));
  const std::vector<v1::Event> b = Generate(Options(8, 500, 2000));
  ASSERT_EQ(a.size(), b.size());
  size_t same_ids = 0, same_bytes = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    same_ids += a[i].event_id() == b[i].event_id();
    same_bytes += Serialized(a[i]) == Serialized(b[i]);
  }
  EXPECT_EQ(same_ids, 0u);
  EXPECT_EQ(same_bytes, 0u);
}

TEST(Workload, ProducesExactlyTheRequestedEventsThenStops) {
  auto workload = Workload::Create(Options(1, 100, 1234));
  ASSERT_OK(workload);
  v1::Event event;
  uint64_t count = 0;
  while ((*workload)->Next(&event)) {
    ++count;
    ASSERT_EQ((*workload)->produced(), count);
  }
  EXPECT_EQ(count, 1234u);
  EXPECT_EQ(event.ByteSizeLong(), 0u) << "the last Next() must leave the event cleared";
  EXPECT_FALSE((*workload)->Next(&event));
  EXPECT_EQ((*workload)->produced(), 1234u);
}

TEST(Workload, MessageIdsAreUniqueAndTimeNeverGoesBackwards) {
  const std::vector<v1::Event>& events = Stream50k();
  ASSERT_EQ(events.size(), 50'000u);
  EXPECT_EQ(events.front().occurred_at_ms(), kWorkloadStartTimeMsDefault);
  std::unordered_set<std::string> ids;
  int64_t last_ms = 0;
  for (const v1::Event& e : events) {
    EXPECT_TRUE(ids.insert(e.event_id()).second) << "duplicate messageId " << e.event_id();
    EXPECT_EQ(e.event_id().size(), 36u) << e.event_id();
    EXPECT_GE(e.occurred_at_ms(), last_ms) << e.event_id();
    last_ms = e.occurred_at_ms();
    EXPECT_EQ(e.context().library_name(), "leadlog-demo");
  }
}

TEST(Workload, StreamSpansAboutTheConfiguredDuration) {
  WorkloadOptions options = Options(3, 1000, 20'000);
  options.duration_ms = 14LL * 24 * 3600 * 1000;  // two whole weeks
  const std::vector<v1::Event> events = Generate(options);
  ASSERT_FALSE(events.empty());
  const double span = static_cast<double>(events.back().occurred_at_ms() - options.start_time_ms);
  EXPECT_GT(span, 0.8 * static_cast<double>(options.duration_ms));
  EXPECT_LT(span, 1.2 * static_cast<double>(options.duration_ms));
  // Busier weekday afternoons (UTC) than nights.
  int afternoon = 0, night = 0;
  for (const v1::Event& e : events) {
    const int64_t hour = (e.occurred_at_ms() / 3'600'000) % 24;
    afternoon += hour >= 13 && hour < 17;
    night += hour >= 0 && hour < 4;
  }
  EXPECT_GT(afternoon, 3 * night);
}

// Top 10 of 1000 leads under Zipf(1.1) draw ~48% of organic events, under a
// uniform choice 1%.
TEST(Workload, ActivityIsZipfSkewedOverLeads) {
  std::unordered_map<std::string, int> by_lead;
  for (const v1::Event& e : Stream50k()) ++by_lead[e.anonymous_id()];
  std::vector<int> counts;
  for (const auto& [lead, n] : by_lead) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  ASSERT_GE(counts.size(), 10u);
  int top10 = 0;
  for (int i = 0; i < 10; ++i) top10 += counts[i];
  const double share = top10 / 50'000.0;
  std::cout << "top 10 of 1000 leads: " << share * 100 << "% of events; top lead "
            << counts[0] * 100.0 / 50'000 << "%; leads seen " << counts.size() << "\n";
  EXPECT_GT(share, 0.35);
  EXPECT_LT(share, 0.60);
  EXPECT_GT(counts[0], 50'000 * 0.12);  // rank 1: 1 / H(1000, 1.1) = 18%
}

TEST(Workload, SmallZipfExponentSpreadsActivityEvenly) {
  WorkloadOptions options = Options(5, 1000, 50'000);
  options.zipf_s = 0.01;
  std::unordered_map<std::string, int> by_lead;
  for (const v1::Event& e : Generate(options)) ++by_lead[e.anonymous_id()];
  std::vector<int> counts;
  for (const auto& [lead, n] : by_lead) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  int top10 = 0;
  for (int i = 0; i < 10; ++i) top10 += counts[i];
  EXPECT_EQ(counts.size(), 1000u);
  EXPECT_LT(top10 / 50'000.0, 0.03);
}

TEST(Workload, EveryCallTypeAndSalesFactAppearsIn50kEvents) {
  std::map<v1::CallType, int> by_type;
  std::map<std::string, int> by_name;
  for (const v1::Event& e : Stream50k()) {
    ++by_type[e.type()];
    if (e.type() == v1::CALL_TYPE_TRACK) ++by_name[e.name()];
  }
  for (v1::CallType type : {v1::CALL_TYPE_TRACK, v1::CALL_TYPE_IDENTIFY, v1::CALL_TYPE_PAGE,
                            v1::CALL_TYPE_ALIAS, v1::CALL_TYPE_GROUP}) {
    EXPECT_GT(by_type[type], 0) << v1::CallType_Name(type);
  }
  for (const std::string& name : kSalesFactNames) EXPECT_GT(by_name[name], 0) << name;
  for (const char* name : {"Form Submitted", "Content Downloaded", "Email Opened", "Email Clicked",
                           "Webinar Registered", "Webinar Attended", "Demo Requested"}) {
    EXPECT_GT(by_name[name], 0) << name;
  }
  for (const auto& [name, n] : by_name) std::cout << "  " << name << ": " << n << "\n";
  for (const auto& [type, n] : by_type) std::cout << "  " << v1::CallType_Name(type) << ": " << n << "\n";
  EXPECT_GT(by_type[v1::CALL_TYPE_PAGE], 50'000 / 4) << "page views dominate web traffic";
}

TEST(Workload, SalesFactsConcernOnlyIdentifiedLeadsAndCarryUserId) {
  std::unordered_map<std::string, std::string> user_of;  // anonymous id -> user id
  int sales = 0;
  for (const v1::Event& e : Stream50k()) {
    if (e.type() == v1::CALL_TYPE_IDENTIFY) user_of[e.anonymous_id()] = e.user_id();
    if (!kSalesFactNames.count(e.name())) continue;
    ++sales;
    ASSERT_FALSE(e.user_id().empty()) << e.name() << " " << e.event_id();
    auto it = user_of.find(e.anonymous_id());
    ASSERT_NE(it, user_of.end()) << e.name() << " before identify: " << e.event_id();
    EXPECT_EQ(it->second, e.user_id());
    EXPECT_NE(e.sales().kind(), v1::SALES_FACT_KIND_UNSPECIFIED) << e.event_id();
  }
  EXPECT_GT(sales, 500);
}

TEST(Workload, IdentifiedLeadsLaterEventsCarryTheirUserId) {
  std::unordered_map<std::string, std::string> user_of;
  int identifies = 0, later = 0;
  for (const v1::Event& e : Stream50k()) {
    ASSERT_FALSE(e.anonymous_id().empty()) << e.event_id();
    auto it = user_of.find(e.anonymous_id());
    if (it != user_of.end()) {
      ASSERT_EQ(e.user_id(), it->second) << e.event_id();
      ++later;
    } else if (e.type() != v1::CALL_TYPE_IDENTIFY) {
      ASSERT_TRUE(e.user_id().empty()) << "user id before identify: " << e.event_id();
    }
    if (e.type() != v1::CALL_TYPE_IDENTIFY) continue;
    ++identifies;
    ASSERT_THAT(e.user_id(), ::testing::StartsWith("user-"));
    user_of[e.anonymous_id()] = e.user_id();
    for (const char* trait :
         {"email", "first_name", "last_name", "company", "title", "industry", "country", "timezone"}) {
      ASSERT_TRUE(e.traits().fields().contains(trait)) << trait;
      EXPECT_FALSE(e.traits().fields().at(trait).string_value().empty()) << trait;
    }
    EXPECT_GT(e.traits().fields().at("employees").number_value(), 0);
    EXPECT_THAT(e.traits().fields().at("email").string_value(),
                ::testing::MatchesRegex("[a-z]+\\.[a-z]+@[a-z0-9]+\\.com"));
  }
  EXPECT_GT(identifies, 100);
  EXPECT_GT(later, 10'000);
}

// Per lead: accepted/rejected only after an owner was assigned, contacts
// after acceptance, opportunities after contact, won/lost after an
// opportunity; the opportunity keeps its id and amount.
TEST(Workload, SalesFactsFollowTheFunnel) {
  struct Funnel {
    std::string stage = "none";
    std::string opportunity_id;
    double amount = 0;
  };
  std::unordered_map<std::string, Funnel> funnel;
  for (const v1::Event& e : Stream50k()) {
    if (!kSalesFactNames.count(e.name()) || e.name() == "Record Updated") continue;
    Funnel& f = funnel[e.anonymous_id()];
    const std::string& name = e.name();
    SCOPED_TRACE(name + " in stage " + f.stage + ": " + e.event_id());
    if (name == "Owner Assigned") {
      EXPECT_THAT(f.stage, ::testing::AnyOf("none", "rejected", "disqualified", "lost"));
      f.stage = "assigned";
    } else if (name == "Lead Accepted" || name == "Lead Rejected") {
      EXPECT_EQ(f.stage, "assigned");
      f.stage = name == "Lead Accepted" ? "accepted" : "rejected";
    } else if (name == "Lead Contacted") {
      EXPECT_THAT(f.stage, ::testing::AnyOf("accepted", "contacted", "opportunity"));
      if (f.stage != "opportunity") f.stage = "contacted";
    } else if (name == "Opportunity Created" || name == "Lead Disqualified") {
      EXPECT_EQ(f.stage, "contacted");
      f.stage = name == "Opportunity Created" ? "opportunity" : "disqualified";
      f.opportunity_id = e.sales().opportunity_id();
      f.amount = e.sales().amount();
    } else {  // Opportunity Won / Lost
      EXPECT_EQ(f.stage, "opportunity");
      EXPECT_EQ(e.sales().opportunity_id(), f.opportunity_id);
      EXPECT_EQ(e.sales().amount(), f.amount);
      f.stage = name == "Opportunity Won" ? "won" : "lost";
    }
  }
}

// The generator fills Event.sales itself; the codec derives it from the
// properties. Both must agree, and every event must be valid.
TEST(Workload, EveryEventPassesCodecValidationWithRealisticSize) {
  std::vector<size_t> sizes;
  for (const v1::Event& generated : Stream50k()) {
    v1::Event e = generated;
    e.clear_sales();
    ASSERT_OK(ValidateEvent(&e)) << generated.DebugString();
    ASSERT_EQ(Serialized(e.sales()), Serialized(generated.sales())) << generated.DebugString();
    const std::string json = EncodeSegmentJson(e);
    ASSERT_GE(json.size(), 150u) << json;
    ASSERT_LE(json.size(), 1200u) << json;
    sizes.push_back(json.size());
  }
  std::sort(sizes.begin(), sizes.end());
  const size_t median = sizes[sizes.size() / 2];
  std::cout << "Segment JSON bytes: min " << sizes.front() << ", p10 " << sizes[sizes.size() / 10]
            << ", median " << median << ", p90 " << sizes[sizes.size() * 9 / 10] << ", max " << sizes.back()
            << "\n";
  EXPECT_GE(median, 200u);
  EXPECT_LE(median, 600u);
}

TEST(Workload, InvalidOptionsAreRejectedNamingTheOption) {
  struct Case {
    const char* option;
    void (*set)(WorkloadOptions*);
  };
  const Case cases[] = {
      {"leads", [](WorkloadOptions* o) { o->leads = 0; }},
      {"leads", [](WorkloadOptions* o) { o->leads = kWorkloadLeadsMax + 1; }},
      {"events", [](WorkloadOptions* o) { o->events = 0; }},
      {"zipf_s", [](WorkloadOptions* o) { o->zipf_s = 0; }},
      {"zipf_s", [](WorkloadOptions* o) { o->zipf_s = -1; }},
      {"zipf_s", [](WorkloadOptions* o) { o->zipf_s = std::nan(""); }},
      {"zipf_s", [](WorkloadOptions* o) { o->zipf_s = kWorkloadZipfSMax * 2; }},
      {"start_time_ms", [](WorkloadOptions* o) { o->start_time_ms = -1; }},
      {"start_time_ms", [](WorkloadOptions* o) { o->start_time_ms = kWorkloadStartTimeMsMax + 1; }},
      {"duration_ms", [](WorkloadOptions* o) { o->duration_ms = 0; }},
      {"duration_ms", [](WorkloadOptions* o) { o->duration_ms = kWorkloadDurationMsMax + 1; }},
  };
  for (const Case& c : cases) {
    WorkloadOptions options;
    c.set(&options);
    EXPECT_THAT(Workload::Create(options), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr(std::string("WorkloadOptions.") + c.option)));
  }
}

TEST(Workload, ExtremeButValidOptionsWork) {
  for (double s : {0.001, 1.0, kWorkloadZipfSMax}) {
    WorkloadOptions options = Options(9, 1, 500);
    options.zipf_s = s;
    EXPECT_EQ(Generate(options).size(), 500u) << "s=" << s;
    options.leads = 50;
    EXPECT_EQ(Generate(options).size(), 500u) << "s=" << s;
  }
  WorkloadOptions options = Options(9, 10, 100);
  options.start_time_ms = 0;  // a Thursday, before the first Monday of the epoch
  const std::vector<v1::Event> events = Generate(options);
  ASSERT_EQ(events.size(), 100u);
  EXPECT_EQ(events.front().occurred_at_ms(), 0);
}

// All organic events in the same millisecond: follow-ups are never "due",
// so the bounded follow-up queue must release them without reordering time.
TEST(Workload, ZeroLengthDurationStillProducesAValidStream) {
  WorkloadOptions options = Options(11, 200, 40'000);
  options.duration_ms = 1;
  const std::vector<v1::Event> events = Generate(options);
  ASSERT_EQ(events.size(), 40'000u);
  int identifies = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_GE(events[i].occurred_at_ms(), events[i - 1].occurred_at_ms());
    identifies += events[i].type() == v1::CALL_TYPE_IDENTIFY;
  }
  EXPECT_GT(identifies, 0);
}

TEST(Workload, MillionLeadsAreCheapToCreateAndGenerate) {
  WorkloadOptions options = Options(13, 1'000'000, 10'000);
  auto workload = Workload::Create(options);
  ASSERT_OK(workload);
  v1::Event event;
  std::unordered_set<std::string> leads;
  while ((*workload)->Next(&event)) leads.insert(event.anonymous_id());
  EXPECT_EQ((*workload)->produced(), 10'000u);
  EXPECT_GT(leads.size(), 2000u) << "a Zipf tail over 1 M leads touches many distinct leads";
}

}  // namespace
}  // namespace leadlog
