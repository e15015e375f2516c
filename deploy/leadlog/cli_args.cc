#include "deploy/leadlog/cli_args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace leadlog::cli {

CliArgs& CliArgs::String(const std::string& name, const std::string& metavar,
                         const std::string& help, const std::string& default_value) {
  order_.push_back(name);
  flags_[name] = Flag{metavar, help, default_value, true, false, false};
  return *this;
}

CliArgs& CliArgs::Repeated(const std::string& name, const std::string& metavar,
                           const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{metavar, help, "", true, true, false};
  return *this;
}

CliArgs& CliArgs::Bool(const std::string& name, const std::string& help) {
  order_.push_back(name);
  flags_[name] = Flag{"", help, "", false, false, false};
  return *this;
}

CliArgs& CliArgs::Required() {
  flags_[order_.back()].required = true;
  return *this;
}

CliArgs& CliArgs::Positional(const std::string& usage, int min_count, int max_count) {
  positional_usage_ = usage;
  positional_min_ = min_count;
  positional_max_ = max_count;
  return *this;
}

absl::Status CliArgs::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(arg[1] == '-' ? 2 : 1);
    std::string value;
    bool has_inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos && arg[1] == '-') {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_inline_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", arg));
    }
    if (!it->second.takes_value) {
      if (has_inline_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      values_[name].push_back("true");
      continue;
    }
    if (!has_inline_value) {
      if (i + 1 >= args.size()) return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      value = args[++i];
    }
    if (!it->second.repeated && values_.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
    }
    values_[name].push_back(value);
  }
  for (const auto& [name, flag] : flags_) {
    if (flag.required && !values_.count(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
    }
  }
  int count = static_cast<int>(positional_.size());
  if (count < positional_min_ || count > positional_max_) {
    return absl::InvalidArgumentError(
        positional_max_ == 0 ? absl::StrCat("unexpected argument \"", positional_[0], "\"")
                             : absl::StrCat("expected ", positional_usage_));
  }
  return absl::OkStatus();
}

std::string CliArgs::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  auto flag = flags_.find(name);
  return flag == flags_.end() ? std::string() : flag->second.default_value;
}

const std::vector<std::string>& CliArgs::GetAll(const std::string& name) const {
  static const std::vector<std::string> kEmpty;
  auto it = values_.find(name);
  return it == values_.end() ? kEmpty : it->second;
}

absl::StatusOr<int64_t> CliArgs::GetInt(const std::string& name, int64_t min, int64_t max) const {
  std::string text = Get(name);
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, ": \"", text, "\" is not an integer"));
  }
  if (value < min || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": ", value, " is outside [", min, ", ", max, "]"));
  }
  return value;
}

std::string CliArgs::Usage() const {
  std::string out = absl::StrCat("usage: leadlog ", command_);
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    std::string one = absl::StrCat(name.size() == 1 ? "-" : "--", name,
                                   f.takes_value ? absl::StrCat(" ", f.metavar) : "");
    absl::StrAppend(&out, " ", f.required ? one : absl::StrCat("[", one, "]"));
  }
  if (!positional_usage_.empty()) absl::StrAppend(&out, " ", positional_usage_);
  absl::StrAppend(&out, "\n");
  for (const std::string& name : order_) {
    const Flag& f = flags_.at(name);
    absl::StrAppend(&out, "  ", name.size() == 1 ? "-" : "--", name, "  ", f.help);
    if (!f.default_value.empty()) absl::StrAppend(&out, " (default ", f.default_value, ")");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace leadlog::cli
