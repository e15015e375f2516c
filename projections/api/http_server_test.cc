// HttpServer on loopback (port 0) through a real HTTP client: every endpoint
// answers over the wire, readers under load while the writer ingests, the
// library's own refusals are JSON, and seeded garbage over a raw socket
// never takes the server down.
#include "projections/api/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "projections/api/internal/api_test_fixture.h"

namespace leadlog {
namespace {

using ::testing::HasSubstr;

class HttpServerTest : public api_testing::ApiFixture {
 protected:
  void SetUp() override {
    ApiFixture::SetUp();
    HttpServerOptions options;
    options.address = "127.0.0.1:0";
    options.threads = 16;
    auto server = HttpServer::Start(api_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->port(), 0);
  }
  void TearDown() override { server_->Stop(); }

  httplib::Client Client() {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(10, 0);
    return client;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, EveryEndpointAnswersOverTheWire) {
  httplib::Client client = Client();
  const std::string key = AnyLeadKey();
  struct Case {
    std::string path;
    int status;
    std::string needle;
  } cases[] = {
      {"/healthz", 200, "\"status\":\"ok\""},
      {"/readyz", 200, "\"status\":\"ready\""},
      {"/metrics", 200, "leadlog_projection_checkpoint_records{shard=\"0\"}"},
      {"/v1/leads/" + key, 200, "\"lead_key\":\"" + key + "\""},
      {"/v1/leads/" + key + "/timeline?limit=5", 200, "\"entries\""},
      {"/v1/leads?limit=3", 200, "\"next_cursor\""},
      {"/v1/leads?stalled=true&limit=3", 200, "\"position\""},
      {"/v1/reports/funnel?from=2025-12-01", 200, "\"cohorts\""},
      {"/v1/reports/sla", 200, "\"position\""},
      {"/v1/reports/recycle", 200, "\"position\""},
      {"/v1/flows", 200, "welcome_series"},
      {"/v1/flows/welcome_series/stats", 200, "\"enrolled\""},
      {"/v1/definitions", 200, "\"scoring_model\""},
      {"/v1/stats", 200, "\"projection_checkpoint\""},
      {"/v1/leads?limit=501", 400, "\"field\":\"limit\""},
      {"/v1/leads/u%3Anobody", 404, "\"field\":\"id\""},
      {"/nope", 404, "\"code\":\"not_found\""},
  };
  for (const Case& c : cases) {
    auto r = client.Get(c.path.c_str());
    ASSERT_TRUE(r) << c.path << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, c.status) << c.path << " " << r->body;
    EXPECT_THAT(r->body, HasSubstr(c.needle)) << c.path;
    if (c.path != "/metrics") {
      EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    }
  }
  auto validated = client.Post("/v1/definitions/validate", api_testing::ReadExample("scoring_model.json"),
                               "application/json");
  ASSERT_TRUE(validated);
  EXPECT_EQ(validated->status, 200) << validated->body;
  auto refused = client.Post("/v1/definitions", "{}", "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
}

TEST_F(HttpServerTest, OversizedBodyIsAJson413) {
  httplib::Client client = Client();
  auto r = client.Post("/v1/definitions/validate", std::string(kApiRequestBodyBytesMax + 1, ' '),
                       "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_THAT(r->body, HasSubstr("\"field\":\"body\""));
}

// Many client threads read while the writer thread appends and catches up
// (as serve's ingest does): every read succeeds, and each client sees the
// position never go backwards.
TEST_F(HttpServerTest, ConcurrentReadersWhileIngesting) {
  const std::string key = AnyLeadKey();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      httplib::Client client = Client();
      uint64_t last = 0;
      while (!stop.load()) {
        const std::string path = t % 2 ? "/v1/leads/" + key : "/v1/leads?limit=50";
        auto r = client.Get(path.c_str());
        if (!r || r->status != 200) {
          ++failures;
          continue;
        }
        ++reads;
        const size_t at = r->body.find("\"sequence\":\"");
        uint64_t seq = at == std::string::npos ? 0 : std::stoull(r->body.substr(at + 12));
        if (seq < last) ++failures;
        last = seq;
      }
    });
  }
  // Ingest goes on until the readers have read a good deal during it.
  for (int round = 0; round < 10 || (reads.load() < 200 && round < 500); ++round) IngestMore(200);
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(reads.load(), 200u);
}

TEST_F(HttpServerTest, MinPositionOverTheWireWaitsForIngest) {
  httplib::Client client = Client();
  auto before = client.Get("/v1/stats");
  ASSERT_TRUE(before);
  const v1::ApiPosition now = CurrentPosition(*projection_->runner(), log_->Shards());
  const std::string want = absl::StrCat("1:", now.shards(1).sequence() + 1);
  std::thread writer([&] { IngestMore(400); });
  auto r = client.Get(absl::StrCat("/v1/stats?min_position=", want).c_str());
  writer.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

// Sends bytes on a fresh connection and returns what came back (at most
// 4 KiB, until the server closes or 2 s pass).
std::string RawExchange(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "connect failed";
  }
  timeval tv = {2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while (out.size() < 4096 && (n = recv(fd, buf, sizeof(buf), 0)) > 0) out.append(buf, n);
  close(fd);
  return out;
}

TEST_F(HttpServerTest, FuzzedRawRequestsNeverTakeTheServerDown) {
  const uint64_t seed = api_testing::FuzzSeed();
  SCOPED_TRACE(absl::StrCat("seed ", seed, " (LEADLOG_FUZZ_SEED=", seed, " replays it)"));
  std::mt19937_64 rng(seed);
  const std::string key = AnyLeadKey();
  const std::vector<std::string> seeds = {
      "GET /v1/leads/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /v1/leads?limit=5&cursor=0.6c2f HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /v1/definitions/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
      "GET /v1/reports/funnel?from=2026-01-01 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /v1/stats?min_position=0:1 HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n"};
  int answered = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bytes = seeds[rng() % seeds.size()];
    for (int m = static_cast<int>(rng() % 6); m > 0; --m) {
      const size_t at = rng() % (bytes.size() + 1);
      switch (rng() % 4) {
        case 0: bytes.insert(at, 1, static_cast<char>(rng() % 256)); break;
        case 1: if (at < bytes.size()) bytes.erase(at, 1 + rng() % 8); break;
        case 2: if (at < bytes.size()) bytes[at] = static_cast<char>(rng() % 256); break;
        default: bytes.insert(at, std::string(rng() % 9000, "A%0?&=:"[rng() % 7])); break;
      }
    }
    const std::string reply = RawExchange(server_->port(), bytes);
    ASSERT_NE(reply, "connect failed") << "request " << i;
    if (reply.empty()) continue;  // closed without an answer (truncated request)
    ++answered;
    ASSERT_TRUE(absl::StartsWith(reply, "HTTP/1.1 ")) << reply.substr(0, 200);
    const int status = std::stoi(reply.substr(9, 3));
    EXPECT_TRUE(status < 500 || status == 503) << status << " for " << bytes.substr(0, 200);
  }
  EXPECT_GT(answered, 0);
  httplib::Client client = Client();
  auto health = client.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

}  // namespace
}  // namespace leadlog
