// Codec: turns one message (Segment-spec JSON or a serialized
// leadlog.v1.Event) into a validated Event, and back into Segment JSON.
//
// Thread-safety: free functions with no shared state; safe from any thread.
// Ownership: inputs are borrowed for the duration of the call.
//
// Content type: a Kafka header "content-type" decides when present
// ("application/json" or "application/x-protobuf"). Without it the bytes are
// sniffed: after leading JSON whitespace, '{' means JSON; anything else is
// protobuf. A serialized Event never starts with '{' (event.proto), but may
// start with '\n' (field 1); so a message starting with '\n' that fails as
// JSON is tried as protobuf before it is rejected.
//
//   v1::Event event;
//   absl::Status s = DecodeEvent(bytes, ContentType::kUnknown, &event);
//   if (!s.ok()) dead_letter(ErrorField(s), s.message());
//   std::vector<LeadKey> keys = LeadKeysOf(event);
#ifndef LEADLOG_CONSUMERS_CODEC_H_
#define LEADLOG_CONSUMERS_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/ids.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog {

enum class ContentType { kUnknown, kJson, kProtobuf };

// Maps a "content-type" header value; unknown values give kUnknown (sniff).
ContentType ContentTypeFromHeader(absl::string_view value);

// Decodes and validates one message. Errors:
//   ResourceExhausted  the message exceeds kEventBytesMax, or JSON nests
//                      deeper than kJsonDepthMax;
//   InvalidArgument    anything else: malformed JSON or protobuf, invalid
//                      UTF-8, a wrong type, a missing or bad field.
// The message names the field path and the reason, e.g.
// "properties.amount: expected number, got string"; ErrorField() returns the
// path alone. On error *event is left in an unspecified state.
absl::Status DecodeEvent(absl::string_view bytes, ContentType content_type, v1::Event* event);

// The validation half of DecodeEvent, for events built in code or decoded
// from protobuf: required ids by call type, id and name lengths, sales-fact
// properties (Lead Rejected/Lead Disqualified/Opportunity Lost need `reason`,
// Owner Assigned needs `owner_id`, `amount` must be a number). Fills
// event->sales from the properties when the name is a reserved sales fact.
absl::Status ValidateEvent(v1::Event* event);

// The field path a DecodeEvent/ValidateEvent error names ("" for the
// message as a whole).
std::string ErrorField(const absl::Status& status);

// Renders an event as one line of Segment-spec JSON (no trailing newline):
// the inverse of DecodeEvent for every field the Event keeps.
std::string EncodeSegmentJson(const v1::Event& event);

// Identities to index for the event: user id, anonymous id and (alias)
// previous id, each at most once.
std::vector<LeadKey> LeadKeysOf(const v1::Event& event);

// The Kafka message key a producer should use: the anonymous id when there
// is one (it stays with the device across identify), otherwise the user id.
std::string PartitionKeyOf(const v1::Event& event);

// The reserved track name of a sales fact ("Lead Accepted", ...), and back.
absl::string_view SalesFactName(v1::SalesFactKind kind);
v1::SalesFactKind SalesFactKindOf(absl::string_view track_name);

}  // namespace leadlog

#endif  // LEADLOG_CONSUMERS_CODEC_H_
