#include "projections/definition_text.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace leadlog {
namespace {

// Keeps the first text-format error, with a 1-based position.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

}  // namespace

absl::Status ParseDefinitionText(absl::string_view text, DefinitionSyntax syntax,
                                 size_t bytes_max, absl::string_view what,
                                 google::protobuf::Message* out) {
  if (text.size() > bytes_max) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": ", text.size(), " bytes, at most ", bytes_max));
  }
  if (syntax == DefinitionSyntax::kAuto) {
    absl::string_view body = absl::StripLeadingAsciiWhitespace(text);
    syntax = !body.empty() && body.front() == '{' ? DefinitionSyntax::kJson : DefinitionSyntax::kText;
  }
  const std::string input(text.data(), text.size());
  out->Clear();
  if (syntax == DefinitionSyntax::kJson) {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    auto status = google::protobuf::util::JsonStringToMessage(input, out, options);
    if (status.ok()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(what, " JSON: ", status.message().as_string()));
  }
  FirstError errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (parser.ParseFromString(input, out)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": not valid protobuf text format: ", errors.first()));
}

}  // namespace leadlog
