// A small, strict, bounded JSON parser (RFC 8259) and the JSON writing
// helpers the codec needs. Internal to consumers/.
//
// Thread-safety: a Document is not thread-safe; use one per thread. The free
// functions are thread-safe.
// Lifetime: a Document's strings point into the parsed input when they hold
// no escapes, so the input must outlive every Value read from the Document.
// Values are invalidated by the next Parse().
//
//   json::Document doc;
//   if (absl::Status s = doc.Parse(bytes); !s.ok()) return s;  // "a.b[2]: ..."
//   json::Value name = doc.root().Find("event");
//   if (name.type() == json::Type::kString) Use(name.string_value());
//
// Strictness: exactly one value with optional whitespace around it (trailing
// garbage, trailing commas, leading zeros, unescaped control characters,
// invalid UTF-8, lone surrogates in \u escapes and numbers beyond the double
// range are errors; numbers below the double range become 0). Objects and
// arrays nest at most ParseOptions::depth_max deep (the top-level value is
// depth 1). Duplicate object keys: the last one wins; earlier members with
// the same key are skipped by children(), Find() and size().
//
// Errors carry the path of the value where they happened
// ("properties.items[3].name", "" for the document as a whole), the byte
// offset into the input, and a reason. Keys that are not plain identifiers
// appear quoted in paths: properties["a.b"].
//
// Invariants: recursion is two frames per nesting level, so it is bounded by
// depth_max whatever the input; no exceptions; after a successful Parse
// every string and key is valid UTF-8 and every number is finite.
#ifndef LEADLOG_CONSUMERS_INTERNAL_JSON_H_
#define LEADLOG_CONSUMERS_INTERNAL_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/limits.h"
#include "google/protobuf/struct.pb.h"

namespace leadlog::json {

enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

// "null", "boolean", "number", "string", "array", "object".
absl::string_view TypeName(Type type);

struct ParseOptions {
  // Deepest accepted nesting of objects and arrays; the top-level container
  // is depth 1. Default kJsonDepthMax; must be in [1, 1000].
  int depth_max = kJsonDepthMax;
};

struct ParseError {
  std::string path;       // "properties.items[3]"; "" for the document itself
  size_t offset = 0;      // byte offset into the input
  std::string reason;     // "invalid UTF-8 in string at byte 57"
  bool too_deep = false;  // nesting exceeded depth_max (ResourceExhausted)
};

class Document;

// A borrowed handle to one value of a Document. A default-constructed Value
// is "absent": valid() is false (what Find() returns for a missing key).
class Value {
 public:
  class Iterator;
  struct Range;

  Value() = default;
  bool valid() const { return doc_ != nullptr; }
  // kNull for an absent Value, so that absent and null read alike.
  Type type() const;
  bool is_null() const { return type() == Type::kNull; }
  bool bool_value() const;
  double number_value() const;
  // True when the number was written without '.', 'e' or 'E'.
  bool is_integral() const;
  absl::string_view string_value() const;
  // The key of an object member ("" for array elements and the root).
  absl::string_view key() const;
  // Members (objects) or elements (arrays), duplicates excluded; 0 otherwise.
  size_t size() const;
  // Members or elements in document order, duplicates excluded.
  Range children() const;
  // The member with this key (the last one if repeated); absent if none or
  // if this is not an object.
  Value Find(absl::string_view key) const;

 private:
  friend class Document;
  Value(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_ = nullptr;
  uint32_t index_ = 0;
};

class Value::Iterator {
 public:
  Value operator*() const { return Value(doc_, index_); }
  Iterator& operator++();
  bool operator==(const Iterator& other) const { return index_ == other.index_; }
  bool operator!=(const Iterator& other) const { return index_ != other.index_; }

 private:
  friend class Value;
  Iterator(const Document* doc, uint32_t index) : doc_(doc), index_(index) {}
  const Document* doc_;
  uint32_t index_;  // 0 = end (the root, index 0, is never a child)
};

struct Value::Range {
  Iterator begin_it;
  Iterator end_it;
  Iterator begin() const { return begin_it; }
  Iterator end() const { return end_it; }
};

// A parsed JSON text. Reuse one Document across parses to reuse its memory.
class Document {
 public:
  Document() = default;
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;
  Document(Document&&) = default;
  Document& operator=(Document&&) = default;

  // Parses `input`, replacing earlier content. Errors: InvalidArgument for
  // malformed JSON or invalid UTF-8, ResourceExhausted for nesting deeper
  // than options.depth_max; the message is "path: reason" (reason alone for
  // the document as a whole) and error() holds the parts.
  absl::Status Parse(absl::string_view input, const ParseOptions& options = {});

  // The top-level value; absent before a successful Parse.
  Value root() const;
  const ParseError& error() const { return error_; }
  // Heap bytes held for reuse (to let a long-lived owner trim after a big
  // message).
  size_t capacity_bytes() const;

 private:
  friend class Value;
  friend class Value::Iterator;
  friend class Parser;
  struct Node {
    Type type = Type::kNull;
    bool flag = false;      // bool value, or number written as an integer
    bool shadowed = false;  // object member overridden by a later same key
    uint32_t next = 0;      // next sibling; 0 = none
    uint32_t size = 0;      // string bytes, or visible children
    uint32_t key_size = 0;
    union {
      double number;
      const char* str;
      uint32_t first_child;  // 0 = none
    };
    const char* key = nullptr;
    Node() : number(0) {}
  };
  uint32_t SkipShadowed(uint32_t index) const;

  std::vector<Node> nodes_;
  std::string arena_;  // unescaped strings; never reallocated during a parse
  ParseError error_;
  bool parsed_ = false;
};

// One step of a path: an object key or (key empty, index >= 0) an index.
struct PathSegment {
  absl::string_view key;
  int64_t index = -1;
};
// "a.b[2]" from outermost-first segments; keys that are not plain
// identifiers are quoted: a["x.y"].
std::string FormatPath(absl::Span<const PathSegment> segments);

// True when `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view bytes);
// Length of the longest prefix of `bytes` at most `max` long that ends on a
// UTF-8 character boundary (bytes must be valid UTF-8).
size_t Utf8Prefix(absl::string_view bytes, size_t max);

// --- Conversion to protobuf's JSON value types (recursion bounded by the
// Document's depth limit).
void ToProtoValue(Value value, google::protobuf::Value* out);
// `object` must be an object; duplicate keys are already resolved.
void ToProtoStruct(Value object, google::protobuf::Struct* out);

// --- Writing.
// Appends `text` as a JSON string: quotes, \" \\ \b \f \n \r \t, other
// control characters as \u00XX, everything else (incl. non-ASCII UTF-8)
// as is.
void AppendQuoted(absl::string_view text, std::string* out);
// Appends the shortest text that parses back to the same double ("42",
// "-0", "0.1", "1e+20"); non-finite numbers, which JSON cannot hold, as null.
void AppendNumber(double number, std::string* out);
// Appends a protobuf Value / Struct as JSON with object keys sorted bytewise
// (deterministic output). A Value with no kind, and anything nested deeper
// than 1000 levels, is written as null.
void AppendProtoValue(const google::protobuf::Value& value, std::string* out);
void AppendProtoStruct(const google::protobuf::Struct& object, std::string* out);

}  // namespace leadlog::json

#endif  // LEADLOG_CONSUMERS_INTERNAL_JSON_H_
