// json_bench: JSON rendering cost of AppendProtoJson (engine/proto_json.h)
// against protobuf's MessageToJsonString, on the same messages in the same
// run (issue 7: the change stream's and the HTTP API's rendering).
//
// Messages: the real-data fixtures in tests/fixtures/json (captured from a
// `bench/run.sh` data dir: a demo lead's LeadState with history, traits and
// enrollments, the lead lookup API response GET /v1/leads/{id} for it, an
// outbox action), each parsed once; then rendered --iterations times by
// each printer, alternating in rounds of 1000 so load changes hit both.
// Options as the call sites use them: preserve_proto_field_names, and
// always_print_primitive_fields for the action (the outbox emitter's).
//
//   json_bench [--iterations N]
// Prints a table and one line per message:
//   json message=<name> bytes=<n> protobuf_us=<µs> ours_us=<µs> ratio=<ours/protobuf>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/proto_json.h"
#include "google/protobuf/util/json_util.h"
#include "leadlog/v1/action.pb.h"
#include "leadlog/v1/api.pb.h"
#include "leadlog/v1/lead.pb.h"

namespace leadlog {
namespace {

struct Case {
  std::string name;
  std::unique_ptr<google::protobuf::Message> message;
  bool always_print = false;
};

bool Load(const std::string& file, google::protobuf::Message* message) {
  std::ifstream in(std::string(LEADLOG_SOURCE_DIR) + "/tests/fixtures/json/" + file);
  std::stringstream text;
  text << in.rdbuf();
  auto status = google::protobuf::util::JsonStringToMessage(text.str(), message);
  if (!in || !status.ok()) {
    std::fprintf(stderr, "json_bench: %s: %s\n", file.c_str(), status.ToString().c_str());
    return false;
  }
  return true;
}

double RenderProtobuf(const Case& c, std::string* out) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = c.always_print;
  out->clear();
  const auto start = std::chrono::steady_clock::now();
  if (!google::protobuf::util::MessageToJsonString(*c.message, out, options).ok()) std::abort();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

double RenderOurs(const Case& c, std::string* out) {
  out->clear();
  const auto start = std::chrono::steady_clock::now();
  if (!AppendProtoJson(*c.message, {.always_print_primitive_fields = c.always_print}, out).ok()) std::abort();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
}

int Main(int argc, char** argv) {
  int iterations = 20'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--iterations" && absl::SimpleAtoi(argv[i + 1], &iterations) && iterations > 0) continue;
    std::fprintf(stderr, "usage: json_bench [--iterations N]\n");
    return 2;
  }
  std::vector<Case> cases;
  cases.push_back({"lead_state", std::make_unique<v1::LeadState>(), false});
  cases.push_back({"lead_lookup_response", std::make_unique<v1::LeadResponse>(), false});
  cases.push_back({"action", std::make_unique<v1::Action>(), true});
  for (Case& c : cases) {
    if (!Load(c.name + ".json", c.message.get())) return 1;
  }
  std::printf("%-22s %7s %13s %10s %12s\n", "message", "bytes", "protobuf µs", "ours µs", "ours/protobuf");
  for (const Case& c : cases) {
    std::string expected, actual;
    RenderProtobuf(c, &expected);
    RenderOurs(c, &actual);
    if (expected != actual) {
      std::fprintf(stderr, "json_bench: %s renders differently\n", c.name.c_str());
      return 1;
    }
    double protobuf_us = 0, ours_us = 0;
    for (int done = 0; done < iterations; done += 1000) {
      for (int i = 0; i < 1000; ++i) protobuf_us += RenderProtobuf(c, &expected);
      for (int i = 0; i < 1000; ++i) ours_us += RenderOurs(c, &actual);
    }
    const int n = (iterations + 999) / 1000 * 1000;
    std::printf("%-22s %7zu %13.2f %10.2f %12.3f\n", c.name.c_str(), actual.size(), protobuf_us / n, ours_us / n,
                ours_us / protobuf_us);
    std::printf("json message=%s bytes=%zu protobuf_us=%.2f ours_us=%.2f ratio=%.3f\n", c.name.c_str(),
                actual.size(), protobuf_us / n, ours_us / n, ours_us / protobuf_us);
  }
  return 0;
}

}  // namespace
}  // namespace leadlog

int main(int argc, char** argv) { return leadlog::Main(argc, argv); }
