// Redaction: the one function that decides what of a lead's data is
// personal and how an erasure removes it (DESIGN.md §10, invariant 1). The
// engine applies it to the erased lead's log records, the lead fold to the
// lead's state, so live state after an erasure equals a rebuild of the
// rewritten log (invariant 5).
//
// Rule: a personal field (kPersonalFieldNames, matched on the key with case,
// '_' and '-' ignored, at any depth of traits/properties, including inside
// lists) is removed with everything under it, except an email field: it is
// masked, never removed: a string becomes "erased@<domain>" (the domain is
// the company; scoring may look at it), any other value "erased". context.ip and context.user_agent are
// cleared. Identifiers (user_id, anonymous_id) are kept: they are the lead's
// pseudonyms, so producers must send opaque ids, not emails, as userId.
// Redaction is idempotent: Redact(Redact(x)) == Redact(x).
//
// Thread-safety: pure functions.
//
//   std::vector<std::string> removed;
//   if (RedactEvent(&event, &removed)) rewrite(event);  // removed: the values
#ifndef LEADLOG_ENGINE_REDACTION_H_
#define LEADLOG_ENGINE_REDACTION_H_

#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/strings/string_view.h"
#include "leadlog/v1/event.pb.h"

namespace leadlog {

// Personal field names, normalized (lower case, no '_' or '-').
// persisted: do not change. Records already rewritten and lead states
// already redacted followed this list; a rebuild of the log must decide the
// same way, so entries are only ever added together with a projection
// version bump (engine/FORMAT.md "Erasure").
inline constexpr absl::string_view kPersonalFieldNames[] = {
    "email",    "name",       "firstname", "lastname", "fullname", "phone",
    "mobile",   "phonenumber", "address",  "street",   "city",     "postalcode",
    "zip",      "zipcode",    "birthday",  "birthdate", "dateofbirth", "ip",
    "useragent",
};
// The normalized name whose string values keep their domain.
inline constexpr absl::string_view kEmailFieldName = "email";
// What an erased email becomes: kErasedEmailLocalPart + "@" + domain, or
// just kErasedEmailLocalPart when the value has no '@'.
// persisted: do not change.
inline constexpr absl::string_view kErasedEmailLocalPart = "erased";

// `key` lower-cased without '_' and '-' ("First_Name" -> "firstname").
std::string NormalizeFieldName(absl::string_view key);
bool IsPersonalField(absl::string_view key);
bool IsEmailField(absl::string_view key);

// "jane@acme.com" -> "erased@acme.com"; no '@' -> "erased".
std::string ErasedEmail(absl::string_view value);

// Redacts one top-level field `key` with `value`: nullopt when it is
// removed, else the (possibly changed) value. Appends the removed string
// values to `removed` (may be null).
std::optional<google::protobuf::Value> RedactField(absl::string_view key,
                                                   const google::protobuf::Value& value,
                                                   std::vector<std::string>* removed);

// Redacts a Struct in place; true when anything changed.
bool RedactStruct(google::protobuf::Struct* object, std::vector<std::string>* removed);

// "erasure:<request_id>": the event id of an erasure (dedup: a repeated
// request is a duplicate). persisted: do not change.
std::string ErasureEventId(absl::string_view request_id);

// Redacts traits, properties, context.ip and context.user_agent of `event`
// in place; true when anything changed.
bool RedactEvent(v1::Event* event, std::vector<std::string>* removed);

}  // namespace leadlog

#endif  // LEADLOG_ENGINE_REDACTION_H_
