// Definition text: parses a definition message (scoring model, lifecycle
// model, and later flows and rules) from a file's text, JSON or protobuf
// text format, with the same size bound and error style for every kind.
// Validation of the parsed message is the caller's (each kind has its own).
//
// Thread-safety: a free function, no shared state.
//
//   v1::ScoringModel model;
//   RETURN_IF_ERROR(ParseDefinitionText(text, DefinitionSyntax::kAuto,
//                                       kScoringModelBytesMax, "scoring model", &model));
#ifndef LEADLOG_PROJECTIONS_DEFINITION_TEXT_H_
#define LEADLOG_PROJECTIONS_DEFINITION_TEXT_H_

#include <cstddef>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace leadlog {

enum class DefinitionSyntax {
  kAuto,  // JSON when the first non-blank character is '{', else text format
  kJson,  // protobuf JSON mapping; unknown fields are errors
  kText,  // protobuf text format
};

// Replaces *out with the message in `text`. Errors:
//   ResourceExhausted  "<what>: N bytes, at most M" when text exceeds bytes_max;
//   InvalidArgument    "<what> JSON: <parser message>" or
//                      "<what>: not valid protobuf text format: line L column C: <message>".
absl::Status ParseDefinitionText(absl::string_view text, DefinitionSyntax syntax,
                                 size_t bytes_max, absl::string_view what,
                                 google::protobuf::Message* out);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_DEFINITION_TEXT_H_
