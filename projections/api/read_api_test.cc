// ReadApi through Handle (no socket): every endpoint's contract, errors that
// name the field, pagination, min_position, auth, readiness, and a seeded
// fuzz of paths and query strings.
#include "projections/api/read_api.h"

#include <google/protobuf/util/json_util.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"
#include "gmock/gmock.h"
#include "projections/api/internal/api_test_fixture.h"
#include "projections/api/read_model.h"

namespace leadlog {
namespace {

using api_testing::ApiFixture;
using api_testing::ReadExample;
using ::testing::HasSubstr;

template <typename M>
M Parse(const ApiResponse& r) {
  M m;
  google::protobuf::util::JsonParseOptions options;
  auto s = google::protobuf::util::JsonStringToMessage(r.body, &m, options);
  EXPECT_TRUE(s.ok()) << s << " in " << r.body.substr(0, 300);
  return m;
}

v1::ApiError Error(const ApiResponse& r) { return Parse<v1::ApiError>(r); }

// GET /v1/leads/{id} through `api`.
ApiResponse GetLeadFrom(const ReadApi& api, const std::string& id) {
  ApiRequest request;
  request.method = "GET";
  request.path = "/v1/leads/" + id;
  return api.Handle(request);
}

class ReadApiTest : public ApiFixture {
 protected:
  struct Call {
    v1::CallType type;
    std::string anonymous_id, user_id;
  };
  // Ingests one event per call (sharded by anonymous id, as the fixture's
  // workload is) and catches the projection up.
  void IngestCalls(const std::vector<Call>& calls) {
    std::string lines;
    for (size_t i = 0; i < calls.size(); ++i) {
      v1::Event event;
      event.set_event_id(absl::StrCat("call-", calls[i].anonymous_id, "-", i));
      event.set_type(calls[i].type);
      if (calls[i].type == v1::CALL_TYPE_PAGE) event.set_name("Pricing");
      event.set_anonymous_id(calls[i].anonymous_id);
      event.set_user_id(calls[i].user_id);
      event.set_occurred_at_ms(api_testing::kT0 + static_cast<int64_t>(i));
      absl::StrAppend(&lines, EncodeSegmentJson(event), "\n");
    }
    FileIngestOptions ingest;
    ingest.partitions = api_testing::kShards;
    std::istringstream in(lines);
    auto summary = IngestLines(in, ingest, log_.get());
    ASSERT_TRUE(summary.ok()) << summary.status();
    ASSERT_EQ(summary->appended, calls.size());
    ASSERT_TRUE(projection_->CatchUpAll().ok());
  }
};

TEST_F(ReadApiTest, LeadByIdHasStateScoreStageEnrollmentsAndPosition) {
  const std::string key = AnyLeadKey();
  ASSERT_FALSE(key.empty());
  ApiResponse r = Get("/v1/leads/" + key);
  ASSERT_EQ(r.status, 200) << r.body;
  v1::LeadResponse lead = Parse<v1::LeadResponse>(r);
  EXPECT_EQ(lead.lead().lead_key(), key);
  EXPECT_FALSE(lead.lead().lifecycle().current_stage().empty());
  ASSERT_EQ(lead.position().shards_size(), api_testing::kShards);
  // The position is the projection's checkpoint, and the token says the same.
  for (const auto& s : lead.position().shards()) {
    EXPECT_EQ(s.sequence(), projection_->runner()->Checkpoint(ShardId(s.shard())).value());
  }
  EXPECT_EQ(lead.position().token(),
            CurrentPosition(*projection_->runner(), log_->Shards()).token());
  // Lookup by user id or anonymous id resolves to the same lead.
  const std::string other = lead.lead().identifiers(lead.lead().identifiers_size() - 1).substr(2);
  EXPECT_EQ(Parse<v1::LeadResponse>(Get("/v1/leads/" + other)).lead().lead_key(), key);
}

TEST_F(ReadApiTest, SomeLeadHasANextScheduledStep) {
  // The welcome series waits between sends: at least one lead must be in it
  // with a timer, and its next step names the flow and a due time.
  bool found = false;
  ASSERT_TRUE(ForEachLead(*projection_->runner(), log_->Shards(),
                          [&](ShardId, const v1::LeadState& l) {
                            if (found) return;
                            v1::LeadResponse r = Parse<v1::LeadResponse>(Get("/v1/leads/" + l.lead_key()));
                            if (r.has_next_step()) {
                              found = true;
                              EXPECT_FALSE(r.next_step().flow_id().empty());
                              EXPECT_GT(r.next_step().due_ms(), 0);
                            }
                          }).ok());
  EXPECT_TRUE(found);
}

TEST_F(ReadApiTest, UnknownLeadIs404NamingTheId) {
  ApiResponse r = Get("/v1/leads/u:nobody");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r).code(), "not_found");
  EXPECT_EQ(Error(r).field(), "id");
}

TEST_F(ReadApiTest, ListPagesCoverEveryLeadExactlyOnce) {
  uint64_t total = 0;
  ASSERT_TRUE(ForEachLead(*projection_->runner(), log_->Shards(),
                          [&](ShardId, const v1::LeadState&) { ++total; }).ok());
  ASSERT_GT(total, 50u);
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    std::multimap<std::string, std::string> q = {{"limit", "7"}};
    if (!cursor.empty()) q.emplace("cursor", cursor);
    ApiResponse r = Get("/v1/leads", q);
    ASSERT_EQ(r.status, 200) << r.body;
    v1::LeadListResponse page = Parse<v1::LeadListResponse>(r);
    EXPECT_LE(page.leads_size(), 7);
    for (const auto& l : page.leads()) EXPECT_TRUE(seen.insert(l.lead_key()).second) << l.lead_key();
    cursor = page.next_cursor();
    ASSERT_LT(++pages, 1000);
  } while (!cursor.empty());
  EXPECT_EQ(seen.size(), total);
}

TEST_F(ReadApiTest, ListFiltersByStageAndOwner) {
  v1::LeadListResponse all = Parse<v1::LeadListResponse>(Get("/v1/leads", {{"limit", "500"}}));
  ASSERT_GT(all.leads_size(), 0);
  const std::string stage = all.leads(0).stage();
  v1::LeadListResponse in_stage =
      Parse<v1::LeadListResponse>(Get("/v1/leads", {{"stage", stage}, {"limit", "500"}}));
  ASSERT_GT(in_stage.leads_size(), 0);
  for (const auto& l : in_stage.leads()) EXPECT_EQ(l.stage(), stage);
  EXPECT_EQ(Parse<v1::LeadListResponse>(Get("/v1/leads", {{"stage", "no_such_stage"}})).leads_size(), 0);
  for (const auto& l : all.leads()) {
    if (l.owner_id().empty()) continue;
    v1::LeadListResponse owned =
        Parse<v1::LeadListResponse>(Get("/v1/leads", {{"owner", l.owner_id()}, {"limit", "500"}}));
    ASSERT_GT(owned.leads_size(), 0);
    for (const auto& o : owned.leads()) EXPECT_EQ(o.owner_id(), l.owner_id());
    break;
  }
}

TEST_F(ReadApiTest, ListByFlowStalledAndSlaState) {
  v1::LeadListResponse flow = Parse<v1::LeadListResponse>(
      Get("/v1/leads", {{"flow", "welcome_series"}, {"limit", "500"}}));
  EXPECT_GT(flow.leads_size(), 0);
  ApiResponse stalled = Get("/v1/leads", {{"stalled", "true"}, {"limit", "500"}});
  ASSERT_EQ(stalled.status, 200);
  const v1::LeadListResponse stalled_page = Parse<v1::LeadListResponse>(stalled);
  for (const auto& l : stalled_page.leads()) EXPECT_GT(l.stall_due_ms(), 0);
  ApiResponse sla = Get("/v1/leads", {{"sla", "open"}, {"limit", "500"}});
  ASSERT_EQ(sla.status, 200);
  const v1::LeadListResponse sla_page = Parse<v1::LeadListResponse>(sla);
  for (const auto& l : sla_page.leads()) EXPECT_FALSE(l.sla_id().empty());
  ApiResponse bad = Get("/v1/leads", {{"sla", "late"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Error(bad).field(), "sla");
}

TEST_F(ReadApiTest, PageSizeIsBoundedAnd400NamesLimit) {
  EXPECT_EQ(Get("/v1/leads", {{"limit", std::to_string(kApiPageSizeMax)}}).status, 200);
  for (const std::string& bad : std::vector<std::string>{std::to_string(kApiPageSizeMax + 1), "0", "x", "-1"}) {
    ApiResponse r = Get("/v1/leads", {{"limit", bad}});
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(Error(r).field(), "limit") << r.body;
  }
}

TEST_F(ReadApiTest, BadParametersAre400NamingThem) {
  struct Case {
    std::string path;
    std::multimap<std::string, std::string> query;
    std::string field;
  } cases[] = {
      {"/v1/leads", {{"colour", "red"}}, "colour"},
      {"/v1/leads", {{"stage", "a"}, {"stage", "b"}}, "stage"},
      {"/v1/leads", {{"cursor", "nonsense"}}, "cursor"},
      {"/v1/leads", {{"cursor", "1.zz"}}, "cursor"},
      {"/v1/leads", {{"stage", std::string(kApiParamBytesMax + 1, 'x')}}, "stage"},
      {"/v1/reports/funnel", {{"from", "yesterday"}}, "from"},
      {"/v1/reports/funnel", {{"from", "2026-02-01"}, {"to", "2026-01-01"}}, "to"},
      {"/v1/leads/" + AnyLeadKey() + "/timeline", {{"cursor", "-3"}}, "cursor"},
      {"/v1/leads/" + AnyLeadKey() + "/timeline", {{"limit", "1001"}}, "limit"},
      {"/v1/stats", {{"min_position", "a:b"}}, "min_position"},
  };
  for (const Case& c : cases) {
    ApiResponse r = Get(c.path, c.query);
    EXPECT_EQ(r.status, 400) << c.path << " " << r.body;
    EXPECT_EQ(Error(r).code(), "invalid_argument");
    EXPECT_EQ(Error(r).field(), c.field) << r.body;
  }
}

TEST_F(ReadApiTest, TimelinePagesAreOrderedAndCoverEveryRecordOfTheLead) {
  // The lead with the most records.
  std::string key;
  uint64_t most = 0;
  ShardId shard;
  ASSERT_TRUE(ForEachLead(*projection_->runner(), log_->Shards(), [&](ShardId s, const v1::LeadState& l) {
    if (l.engagement().events() > most) {
      most = l.engagement().events();
      key = l.lead_key();
      shard = s;
    }
  }).ok());
  std::set<uint64_t> expected;
  v1::LeadResponse lead = Parse<v1::LeadResponse>(Get("/v1/leads/" + key));
  for (const std::string& id : lead.lead().identifiers()) {
    ASSERT_TRUE(log_->ReadLead(shard, LeadKey::FromEncoded(id), [&](const v1::LogRecord& r) {
      expected.insert(r.sequence());
      return absl::OkStatus();
    }).ok());
  }
  ASSERT_GT(expected.size(), 3u);
  std::vector<uint64_t> got;
  int transitions = 0;
  std::string cursor;
  do {
    std::multimap<std::string, std::string> q = {{"limit", "3"}};
    if (!cursor.empty()) q.emplace("cursor", cursor);
    ApiResponse r = Get("/v1/leads/" + key + "/timeline", q);
    ASSERT_EQ(r.status, 200) << r.body;
    v1::TimelineResponse page = Parse<v1::TimelineResponse>(r);
    for (const auto& e : page.entries()) {
      if (e.has_record()) got.push_back(e.sequence());
      if (e.has_transition()) ++transitions;
    }
    cursor = page.next_cursor();
  } while (!cursor.empty());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()), expected);
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_EQ(transitions, lead.lead().lifecycle().history_size());
}

TEST_F(ReadApiTest, FunnelCountsAddUpAndCohortsAreMonths) {
  ApiResponse r = Get("/v1/reports/funnel");
  ASSERT_EQ(r.status, 200) << r.body;
  v1::FunnelReport report = Parse<v1::FunnelReport>(r);
  uint64_t current = 0;
  for (const auto& s : report.stages()) {
    current += s.current();
    EXPECT_GE(s.reached(), s.current()) << s.stage();
    EXPECT_GE(s.conversion_to_next(), 0.0);
  }
  EXPECT_EQ(current, report.leads());
  uint64_t cohort_leads = 0;
  for (const auto& c : report.cohorts()) {
    EXPECT_EQ(c.month().size(), 7u) << c.month();
    cohort_leads += c.leads();
  }
  EXPECT_EQ(cohort_leads, report.leads());
  // A range before any lead was seen holds none.
  v1::FunnelReport empty =
      Parse<v1::FunnelReport>(Get("/v1/reports/funnel", {{"from", "2020-01-01"}, {"to", "2020-02-01"}}));
  EXPECT_EQ(empty.leads(), 0u);
}

TEST_F(ReadApiTest, ReportsFlowsDefinitionsAndStatsAnswer) {
  v1::FlowListResponse flows = Parse<v1::FlowListResponse>(Get("/v1/flows"));
  ASSERT_GT(flows.flows_size(), 0);
  ApiResponse stats = Get("/v1/flows/" + flows.flows(0).flow_id() + "/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_GT(Parse<v1::FlowStatsResponse>(stats).counters().at("enrolled"), 0);
  EXPECT_EQ(Get("/v1/flows/nope/stats").status, 404);
  EXPECT_EQ(Get("/v1/reports/sla").status, 200);
  EXPECT_EQ(Get("/v1/reports/recycle").status, 200);
  v1::DefinitionListResponse defs = Parse<v1::DefinitionListResponse>(Get("/v1/definitions"));
  ASSERT_GE(defs.definitions_size(), 7);
  for (const auto& d : defs.definitions()) EXPECT_EQ(d.accepted_shards(), 4u) << d.id();
  const auto& d0 = defs.definitions(0);
  v1::DefinitionGetResponse got =
      Parse<v1::DefinitionGetResponse>(Get("/v1/definitions/" + d0.kind() + "/" + d0.id()));
  EXPECT_EQ(got.versions_size(), 1);
  EXPECT_TRUE(got.has_latest());
  EXPECT_EQ(Get("/v1/definitions/scoring_model/nope").status, 404);
  v1::StatsResponse s = Parse<v1::StatsResponse>(Get("/v1/stats"));
  ASSERT_EQ(s.shards_size(), 4);
  uint64_t appended = 0;
  for (const auto& sh : s.shards()) {
    appended += sh.events_appended();
    EXPECT_EQ(sh.projection_checkpoint(), sh.position());
  }
  EXPECT_GT(appended, 2000u);
}

TEST_F(ReadApiTest, MinPositionWaitsForTheLiveCatchUp) {
  v1::ApiPosition now = CurrentPosition(*projection_->runner(), log_->Shards());
  const std::string want = absl::StrCat("0:", now.shards(0).sequence() + 1);
  std::thread writer([&] { IngestMore(500); });
  ApiResponse r = Get("/v1/stats", {{"min_position", want}});
  writer.join();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(Parse<v1::StatsResponse>(r).position().shards(0).sequence(), now.shards(0).sequence() + 1);
}

TEST_F(ReadApiTest, MinPositionNotReachedIs503WithRetryAfter) {
  ReadApiOptions options;
  options.min_position_wait_ms = 50;
  SetOptions(options);
  ApiResponse r = Get("/v1/leads", {{"min_position", "0:999999999"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(Error(r).field(), "min_position");
  EXPECT_THAT(r.headers, ::testing::Contains(::testing::Pair("Retry-After", "1")));
  // A bare number means shard 0; one already reached answers at once.
  EXPECT_EQ(Get("/v1/leads", {{"min_position", "0"}}).status, 200);
}

class FakePublisher : public DefinitionPublisher {
 public:
  absl::StatusOr<std::map<int32_t, int64_t>> Publish(const v1::Event& event) override {
    events.push_back(event);
    return std::map<int32_t, int64_t>{{0, 5}, {1, 6}};
  }
  std::vector<v1::Event> events;
};

ApiResponse Post(const ReadApi& api, const std::string& path, const std::string& body,
                 const std::string& token) {
  ApiRequest request;
  request.method = "POST";
  request.path = path;
  request.body = body;
  if (!token.empty()) request.authorization = "Bearer " + token;
  return api.Handle(request);
}

TEST_F(ReadApiTest, PublishNeedsTheAdminTokenValidatesAndGoesToThePublisher) {
  FakePublisher publisher;
  context_.publisher = &publisher;
  const std::string flow = ReadExample("flows/webinar_follow_up.json");
  SetOptions(ReadApiOptions{});
  EXPECT_EQ(Post(*api_, "/v1/definitions", flow, "").status, 403);  // no admin token configured
  ReadApiOptions options;
  options.admin_token = "s3cret";
  SetOptions(options);
  ApiResponse none = Post(*api_, "/v1/definitions", flow, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(Error(none).code(), "unauthenticated");
  EXPECT_EQ(Post(*api_, "/v1/definitions", flow, "wrong").status, 403);
  ApiResponse bad = Post(*api_, "/v1/definitions", R"({"scoring_model": {"id": "x", "version": 0}})", "s3cret");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Error(bad).field(), "scoring_model.version") << bad.body;
  EXPECT_TRUE(publisher.events.empty());
  ApiResponse ok = Post(*api_, "/v1/definitions", flow, "s3cret");
  ASSERT_EQ(ok.status, 201) << ok.body;
  ASSERT_EQ(publisher.events.size(), 1u);
  EXPECT_EQ(publisher.events[0].event_id(), Parse<v1::DefinitionPublishResponse>(ok).event_id());
  EXPECT_EQ(Parse<v1::DefinitionPublishResponse>(ok).offsets().size(), 2u);
  // Validation needs no admin token and publishes nothing.
  ApiResponse validated = Post(*api_, "/v1/definitions/validate", flow, "");
  EXPECT_EQ(validated.status, 200);
  EXPECT_FALSE(Parse<v1::DefinitionPublishResponse>(validated).published());
  EXPECT_EQ(publisher.events.size(), 1u);
}

// Publishes by appending to every shard, catching up and notifying: what
// serve's ingest does with the Kafka messages, synchronously.
class AppendingPublisher : public DefinitionPublisher {
 public:
  AppendingPublisher(EventLog* log, LeadProjection* projection, PositionWaiter* waiter)
      : log_(log), projection_(projection), waiter_(waiter) {}
  absl::StatusOr<std::map<int32_t, int64_t>> Publish(const v1::Event& event) override {
    events.push_back(event);
    AppendBatch batch;
    for (int s = 0; s < api_testing::kShards; ++s) {
      PendingEvent pending;
      pending.shard = ShardId(s);
      pending.event_id = event.event_id();
      pending.event_bytes = event.SerializeAsString();
      pending.source.set_topic("test");
      for (const std::string& key : event.erasure().lead_keys()) {
        pending.erase_lead_keys.push_back(LeadKey::FromEncoded(key));
      }
      batch.events.push_back(std::move(pending));
    }
    RETURN_IF_ERROR(log_->Append(batch).status());
    RETURN_IF_ERROR(projection_->CatchUpAll());
    waiter_->Notify();
    return std::map<int32_t, int64_t>{{0, 1}};
  }
  std::vector<v1::Event> events;

 private:
  EventLog* log_;
  LeadProjection* projection_;
  PositionWaiter* waiter_;
};

TEST_F(ReadApiTest, EraseNeedsTheAdminTokenValidatesTheBodyAndWaitsForTheErasure) {
  AppendingPublisher publisher(log_.get(), projection_.get(), &waiter_);
  context_.publisher = &publisher;
  const std::string lead = AnyLeadKey();
  ASSERT_FALSE(lead.empty());
  const std::string path = absl::StrCat("/v1/leads/", lead, "/erase");
  const std::string body = R"({"reason": "subject request", "request_id": "r-42"})";
  SetOptions(ReadApiOptions{});
  EXPECT_EQ(Post(*api_, path, body, "").status, 403);  // no admin token configured
  ReadApiOptions options;
  options.admin_token = "s3cret";
  SetOptions(options);
  EXPECT_EQ(Post(*api_, path, body, "").status, 401);
  EXPECT_EQ(Post(*api_, path, body, "wrong").status, 403);
  ApiResponse no_reason = Post(*api_, path, R"({"request_id": "r-42"})", "s3cret");
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_EQ(Error(no_reason).field(), "reason") << no_reason.body;
  ApiResponse no_id = Post(*api_, path, R"({"reason": "x"})", "s3cret");
  EXPECT_EQ(no_id.status, 400);
  EXPECT_EQ(Error(no_id).field(), "request_id") << no_id.body;
  ApiResponse long_id = Post(
      *api_, path, absl::StrCat(R"({"reason": "x", "request_id": ")", std::string(129, 'r'), "\"}"),
      "s3cret");
  EXPECT_EQ(long_id.status, 400);
  EXPECT_THAT(long_id.body, HasSubstr("limit of 128"));
  ApiResponse not_json = Post(*api_, path, "reason=x", "s3cret");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(Error(not_json).field(), "body");
  ApiResponse unknown = Post(*api_, "/v1/leads/u:nobody-here/erase", body, "s3cret");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Error(unknown).field(), "id");
  EXPECT_TRUE(publisher.events.empty());

  ApiResponse ok = Post(*api_, path, body, "s3cret");
  ASSERT_EQ(ok.status, 202) << ok.body;
  auto erased = Parse<v1::EraseLeadResponse>(ok);
  EXPECT_EQ(erased.event_id(), "erasure:r-42");
  EXPECT_THAT(erased.lead_keys(), ::testing::Contains(lead));
  EXPECT_TRUE(erased.complete());
  ApiResponse read = Get(absl::StrCat("/v1/leads/", lead), {{"min_position", erased.min_position()}});
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_THAT(read.body, HasSubstr("\"request_id\":\"r-42\""));
  // Idempotent: the same request again is a duplicate everywhere.
  ASSERT_EQ(Post(*api_, path, body, "s3cret").status, 202);
  EXPECT_EQ(Parse<v1::LeadResponse>(Get(absl::StrCat("/v1/leads/", lead))).lead().erasures_size(), 1);
}

TEST_F(ReadApiTest, ReadTokenGuardsReadsButNotHealth) {
  ReadApiOptions options;
  options.read_token = "reader";
  options.admin_token = "admin";
  SetOptions(options);
  EXPECT_EQ(Get("/v1/stats").status, 401);
  EXPECT_EQ(Get("/healthz").status, 200);
  ApiRequest request;
  request.method = "GET";
  request.path = "/v1/stats";
  request.authorization = "Bearer reader";
  EXPECT_EQ(api_->Handle(request).status, 200);
  request.authorization = "Bearer admin";
  EXPECT_EQ(api_->Handle(request).status, 200);
  request.authorization = "Bearer readerX";
  EXPECT_EQ(api_->Handle(request).status, 403);
}

class FakeIngest : public IngestStatusSource {
 public:
  IngestStatus Status() const override { return status; }
  IngestStatus status;
};

TEST_F(ReadApiTest, ReadyWhenConsumerAndProjectionLagAreWithinBounds) {
  FakeIngest ingest;
  context_.ingest = &ingest;
  SetOptions(ReadApiOptions{});
  EXPECT_EQ(Get("/readyz").status, 503);  // lag not known yet
  ingest.status.lag_known = true;
  v1::PartitionLag lag;
  lag.set_partition(0);
  lag.set_end_offset(5000);
  lag.set_stored_offset(100);
  lag.set_lag(4900);
  ingest.status.partitions.push_back(lag);
  ApiResponse behind = Get("/readyz");
  EXPECT_EQ(behind.status, 503);
  EXPECT_THAT(behind.body, HasSubstr("consumer lag 4900"));
  ingest.status.partitions[0].set_lag(0);
  EXPECT_EQ(Get("/readyz").status, 200);
  // Appended but not folded: projection lag.
  IngestMore(300, /*catch_up=*/false);
  ReadApiOptions strict;
  strict.ready_projection_lag_max = 10;
  SetOptions(strict);
  ApiResponse folding = Get("/readyz");
  EXPECT_EQ(folding.status, 503);
  EXPECT_THAT(folding.body, HasSubstr("projection lag"));
}

TEST_F(ReadApiTest, MetricsArePrometheusTextWithLatencyHistograms) {
  Get("/v1/stats");
  Get("/v1/leads/u:nobody");
  ApiResponse r = Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("leadlog_projection_lag_records{shard=\"0\"} 0"));
  EXPECT_THAT(r.body, HasSubstr("leadlog_log_dead_letters_total{shard=\"3\"}"));
  EXPECT_THAT(r.body, HasSubstr("leadlog_http_requests_total{route=\"/v1/leads/{id}\",code=\"404\"} 1"));
  EXPECT_THAT(r.body,
              HasSubstr("leadlog_http_request_duration_seconds_bucket{route=\"/v1/stats\",le=\"+Inf\"} 1"));
}

TEST_F(ReadApiTest, UnknownPathsAndMethodsAreJson404And405) {
  ApiResponse r = Get("/v2/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(Error(r).field(), "path");
  ApiRequest del;
  del.method = "DELETE";
  del.path = "/v1/stats";
  EXPECT_EQ(api_->Handle(del).status, 405);
}

// Seeded random requests: paths mutated from the real routes, random query
// names and values. Nothing may crash or answer 5xx other than 503.
TEST_F(ReadApiTest, FuzzedRequestsAnswer4xxOr2xxNever500) {
  const uint64_t seed = api_testing::FuzzSeed();
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (LEADLOG_FUZZ_SEED=", seed, " replays it)"));
  std::mt19937_64 rng(seed);
  ReadApiOptions options;
  options.min_position_wait_ms = 0;
  SetOptions(options);
  const std::vector<std::string> paths = {
      "/v1/leads", "/v1/leads/" + AnyLeadKey(), "/v1/leads/x/timeline", "/v1/reports/funnel",
      "/v1/reports/sla", "/v1/reports/recycle", "/v1/flows", "/v1/flows/welcome_series/stats",
      "/v1/definitions", "/v1/definitions/scoring_model/x", "/v1/stats", "/healthz", "/metrics"};
  const std::vector<std::string> names = {"limit", "cursor", "stage", "owner", "flow", "stalled",
                                          "sla", "from", "to", "min_position", "kind", "\xff", ""};
  auto junk = [&](size_t max) {
    std::string s(rng() % max, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 4 == 0 ? rng() % 256 : "0123456789:,.-ab/"[rng() % 17]);
    return s;
  };
  for (int i = 0; i < 3000; ++i) {
    ApiRequest request;
    request.method = rng() % 10 == 0 ? junk(8) : (rng() % 5 == 0 ? "POST" : "GET");
    request.path = paths[rng() % paths.size()];
    if (rng() % 4 == 0) request.path.insert(rng() % (request.path.size() + 1), junk(12));
    for (int q = static_cast<int>(rng() % 4); q > 0; --q) {
      request.query.emplace(names[rng() % names.size()], junk(40));
    }
    if (rng() % 3 == 0) request.body = junk(200);
    if (rng() % 5 == 0) request.authorization = junk(30);
    ApiResponse r = api_->Handle(request);
    ASSERT_TRUE(r.status < 500 || r.status == 503)
        << r.status << " " << request.method << " " << request.path << " " << r.body;
    ASSERT_FALSE(r.body.empty());
  }
}

// Blue/green rebuild while readers read: every read answers 200.
TEST_F(ReadApiTest, ReadersKeepWorkingAcrossARebuild) {
  const std::string key = AnyLeadKey();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        if (Get("/v1/leads/" + key).status != 200) ++failures;
        if (Get("/v1/leads", {{"limit", "20"}}).status != 200) ++failures;
        ++reads;
      }
    });
  }
  const uint32_t before = projection_->active_version();
  absl::StatusOr<RebuildReport> report = projection_->Rebuild();
  waiter_.Notify();
  stop.store(true);
  for (std::thread& t : readers) t.join();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->identical);
  EXPECT_EQ(projection_->active_version(), before + 1);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(Get("/v1/leads/" + key).status, 200);
}

// Lookups routed to the shard the ingest hashes the id's partition key to
// (serve's shard_for_key) answer byte for byte what the ordered search does,
// for every lead by its key, each identifier with and without prefix, and
// the keys merged into it (which resolve to the survivor).
TEST_F(ReadApiTest, RoutedLookupsAnswerWhatTheOrderedSearchDoesForEveryIdAndMergedKey) {
  // Two anonymous visitors in one shard become one lead: B identifies as
  // the user A already identified as, so a:B merges into a:A.
  const std::string a = "merge-a";
  std::string b;
  for (int i = 0; b.empty(); ++i) {
    const std::string candidate = absl::StrCat("merge-b", i);
    if (ShardForKey(candidate, api_testing::kShards) == ShardForKey(a, api_testing::kShards)) {
      b = candidate;
    }
  }
  ASSERT_NO_FATAL_FAILURE(IngestCalls({{v1::CALL_TYPE_PAGE, a, ""},
                                       {v1::CALL_TYPE_IDENTIFY, a, "merge-user"},
                                       {v1::CALL_TYPE_PAGE, b, ""},
                                       {v1::CALL_TYPE_IDENTIFY, b, "merge-user"}}));
  ReadApi ordered(context_, options_);
  ReadApiContext routed_context = context_;
  routed_context.shard_for_key = &ShardForKey;
  ReadApi routed(routed_context, options_);
  int lookups = 0, merged = 0;
  ASSERT_TRUE(ForEachLead(*projection_->runner(), log_->Shards(),
                          [&](ShardId shard, const v1::LeadState& lead) {
    std::vector<std::string> ids = {lead.lead_key()};
    for (const std::string& identifier : lead.identifiers()) {
      ids.push_back(identifier);
      ids.push_back(identifier.substr(2));
    }
    for (const v1::IdentityMerge& m : lead.merges()) {
      ids.push_back(m.absorbed_lead_key());
      ++merged;
    }
    for (const std::string& id : ids) {
      const ApiResponse want = GetLeadFrom(ordered, id);
      const ApiResponse got = GetLeadFrom(routed, id);
      ASSERT_EQ(got.status, 200) << id << ": " << got.body;
      EXPECT_EQ(got.body, want.body) << id;
      EXPECT_EQ(Parse<v1::LeadResponse>(got).lead().lead_key(), lead.lead_key()) << id;
      EXPECT_EQ(Parse<v1::LeadResponse>(got).shard(), shard.value()) << id;
      ++lookups;
    }
  }).ok());
  EXPECT_GT(merged, 0);
  ReadApiContext routed_only = context_;
  routed_only.shard_for_key = &ShardForKey;
  EXPECT_EQ(Parse<v1::LeadResponse>(GetLeadFrom(ReadApi(routed_only, options_), "a:" + b))
                .lead()
                .lead_key(),
            "a:" + a);
  EXPECT_GT(lookups, 200);
  EXPECT_EQ(GetLeadFrom(routed, "u:nobody").status, 404);
}

// A hash that names the wrong shard (a partition count other than the
// producer's) costs reads, never the lead: every lookup still finds it.
TEST_F(ReadApiTest, RoutedLookupFallsBackToTheOtherShardsWhenTheHashedOneLacksTheLead) {
  ReadApiContext wrong = context_;
  wrong.shard_for_key = [](absl::string_view key, int partitions) {
    return ShardId((ShardForKey(key, partitions).value() + 1) % partitions);
  };
  ReadApi api(wrong, options_);
  int found = 0;
  ASSERT_TRUE(ForEachLead(*projection_->runner(), log_->Shards(),
                          [&](ShardId, const v1::LeadState& lead) {
    ApiResponse r = GetLeadFrom(api, lead.lead_key());
    ASSERT_EQ(r.status, 200) << lead.lead_key();
    EXPECT_EQ(r.body, Get("/v1/leads/" + lead.lead_key()).body);
    ++found;
  }).ok());
  EXPECT_GT(found, 0);
}

// Against the keying rule, one anonymous id's events reach two shards (two
// leads with the same key): the routed lookup answers with the lead of the
// shard the key hashes to, the ordered search with the lowest shard's.
TEST_F(ReadApiTest, AnIdInTwoShardsResolvesToItsHashedShardWhenRouted) {
  std::string anonymous_id;
  for (int i = 0; anonymous_id.empty(); ++i) {
    const std::string candidate = absl::StrCat("dup-", i);
    if (ShardForKey(candidate, api_testing::kShards).value() != 0) anonymous_id = candidate;
  }
  const ShardId hashed = ShardForKey(anonymous_id, api_testing::kShards);
  ASSERT_NO_FATAL_FAILURE(IngestCalls({{v1::CALL_TYPE_PAGE, anonymous_id, ""}}));  // its shard
  // The same id again, appended to shard 0 directly.
  v1::Event event;
  event.set_event_id("dup-in-shard-0");
  event.set_type(v1::CALL_TYPE_PAGE);
  event.set_name("Pricing");
  event.set_anonymous_id(anonymous_id);
  event.set_occurred_at_ms(api_testing::kT0);
  FileIngestOptions ingest;
  ingest.partitions = 1;
  std::istringstream in(EncodeSegmentJson(event) + "\n");
  ASSERT_TRUE(IngestLines(in, ingest, log_.get()).ok());
  ASSERT_TRUE(projection_->CatchUpAll().ok());
  ReadApiContext routed_context = context_;
  routed_context.shard_for_key = &ShardForKey;
  ReadApi routed(routed_context, options_);
  const std::string id = "a:" + anonymous_id;
  EXPECT_EQ(Parse<v1::LeadResponse>(GetLeadFrom(routed, id)).shard(), hashed.value());
  EXPECT_EQ(Parse<v1::LeadResponse>(Get("/v1/leads/" + id)).shard(), 0u);
}

}  // namespace
}  // namespace leadlog
