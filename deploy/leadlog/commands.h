// The `leadlog` subcommands. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 failure, 2 usage error. Errors
// are one line on stderr: "leadlog <command>: <what>".
#ifndef LEADLOG_DEPLOY_LEADLOG_COMMANDS_H_
#define LEADLOG_DEPLOY_LEADLOG_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "deploy/leadlog/cli_args.h"
#include "engine/event_log.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog::cli {

using Args = std::vector<std::string>;

int Broker(const Args& args);
int Serve(const Args& args);
int Demo(const Args& args);
int Ingest(const Args& args);
int Stats(const Args& args);
int Verify(const Args& args);
int DeadLetters(const Args& args);
int Log(const Args& args);
// `definitions validate|publish` (commands_definitions.cc).
int Definitions(const Args& args);
int Leads(const Args& args);
// `leads erase` (commands_erase.cc).
int LeadsErase(const Args& args);
int Rebuild(const Args& args);
int LeadsJourney(const Args& args);
int LeadsStalled(const Args& args);
int Sla(const Args& args);
int Recycle(const Args& args);
int Actions(const Args& args);
// `changes`: the change stream's backlog (commands_changes.cc).
int Changes(const Args& args);
// `definitions list` (the `definitions` dispatcher calls it).
int DefinitionsList(const Args& args);
// `flows validate|list|stats` (commands_flows.cc): the dispatcher and
// `flows validate`; `flows list` and `flows stats` are in commands_leads.cc.
int Flows(const Args& args);
int FlowsValidate(const Args& args);
int FlowsList(const Args& args);
int FlowsStats(const Args& args);

// Helpers shared by the commands.
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
int Fail(const std::string& command, const absl::Status& status);
// `message` as the API renders it (engine/proto_json.h: field names as in
// the .proto, no whitespace); "{}" if it cannot be rendered.
std::string Json(const google::protobuf::Message& message);
// Parses; on error prints it with the usage and returns false.
bool ParseOrUsage(CliArgs& args, const Args& argv, int* exit_code);
// A token file's content without surrounding whitespace (at most
// kApiTokenBytesMax bytes); errors name the flag (`--FLAG: ...`).
absl::StatusOr<std::string> ReadTokenFile(const std::string& flag, const std::string& path);
absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const std::string& data_dir, bool read_only,
                                                  bool sync_per_batch);
// Admin events (definitions, erasures) to every shard (commands_publish.cc):
// appended into `data_dir` (its shards plus 0..shard_count-1) and applied by
// the lead projection, or produced to every partition of `topic`.
absl::Status PublishToLog(const v1::Event& event, const std::string& source,
                          const std::string& data_dir, int64_t shard_count);
absl::Status PublishToKafka(const v1::Event& event, const std::string& brokers,
                            const std::string& topic, const std::vector<std::string>& properties);

}  // namespace leadlog::cli

#endif  // LEADLOG_DEPLOY_LEADLOG_COMMANDS_H_
