// CliArgs: a per-command flag parser for the `leadlog` binary. Each command
// declares its flags; anything else is an error naming the flag, so a typo
// never silently changes behaviour.
//
// Thread-safety: not thread-safe; used once on the main thread.
//
//   CliArgs args("serve");
//   args.String("data-dir", "DIR", "where the log lives").Required();
//   args.Bool("no-fsync", "do not fsync each batch");
//   if (absl::Status s = args.Parse(argc, argv); !s.ok()) ...
//   std::string dir = args.Get("data-dir");
#ifndef LEADLOG_DEPLOY_LEADLOG_CLI_ARGS_H_
#define LEADLOG_DEPLOY_LEADLOG_CLI_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace leadlog::cli {

class CliArgs {
 public:
  explicit CliArgs(std::string command) : command_(std::move(command)) {}

  // Declares a flag taking a value; `metavar` and `help` go into Usage().
  CliArgs& String(const std::string& name, const std::string& metavar, const std::string& help,
                  const std::string& default_value = "");
  // Declares a repeatable flag taking a value (e.g. -X key=value).
  CliArgs& Repeated(const std::string& name, const std::string& metavar, const std::string& help);
  // Declares a flag without a value.
  CliArgs& Bool(const std::string& name, const std::string& help);
  // Marks the last declared flag required.
  CliArgs& Required();
  // Declares positional arguments: their usage text, and how many.
  CliArgs& Positional(const std::string& usage, int min_count, int max_count);

  // Parses argv after the command word. InvalidArgument naming the flag.
  absl::Status Parse(const std::vector<std::string>& args);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name) const;
  const std::vector<std::string>& GetAll(const std::string& name) const;
  bool GetBool(const std::string& name) const { return Has(name); }
  // The flag's value as an integer in [min, max]; InvalidArgument naming it.
  absl::StatusOr<int64_t> GetInt(const std::string& name, int64_t min, int64_t max) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string Usage() const;

 private:
  struct Flag {
    std::string metavar;  // empty for Bool
    std::string help;
    std::string default_value;
    bool takes_value = true;
    bool repeated = false;
    bool required = false;
  };
  std::string command_;
  std::vector<std::string> order_;
  std::map<std::string, Flag> flags_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  std::string positional_usage_;
  int positional_min_ = 0;
  int positional_max_ = 0;
};

}  // namespace leadlog::cli

#endif  // LEADLOG_DEPLOY_LEADLOG_CLI_ARGS_H_
