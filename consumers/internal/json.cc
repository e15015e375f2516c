#include "consumers/internal/json.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "engine/status_macros.h"

namespace leadlog::json {
namespace {

// Bytes the string scanner must look at: '"', '\\', control characters and
// the lead bytes of multi-byte UTF-8 sequences.
constexpr std::array<bool, 256> MakeStringSpecial() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return table;
}
constexpr std::array<bool, 256> kStringSpecial = MakeStringSpecial();

// The two-character escapes: "\n" stands for '\n' and so on.
constexpr absl::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr absl::string_view kEscapedChars = "\"\\/\b\f\n\r\t";

// Objects with at most this many members find duplicate keys pairwise
// (no allocation); larger ones use a hash map.
constexpr uint32_t kPairwiseDuplicateScanMax = 16;
// Deepest Value the writer descends into (it serves events built in code,
// which no parser has bounded).
constexpr int kWriteDepthMax = 1000;

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsContinuation(uint8_t b) { return (b & 0xC0) == 0x80; }

// Length of the well-formed UTF-8 sequence at p (RFC 3629 table 3-7), or 0.
size_t Utf8SequenceLength(const uint8_t* p, const uint8_t* end) {
  const uint8_t b0 = p[0];
  const size_t avail = static_cast<size_t>(end - p);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return avail >= 2 && IsContinuation(p[1]) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (avail < 3) return 0;
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;  // E0: no overlong forms
    const uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;  // ED: no surrogates
    return p[1] >= lo && p[1] <= hi && IsContinuation(p[2]) ? 3 : 0;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (avail < 4) return 0;
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;  // F0: no overlong forms
    const uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;  // F4: nothing above U+10FFFF
    return p[1] >= lo && p[1] <= hi && IsContinuation(p[2]) && IsContinuation(p[3]) ? 4 : 0;
  }
  return 0;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ReadHex4(const char* p, const char* end, uint32_t* out) {
  if (end - p < 4) return false;
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = HexValue(p[i]);
    if (digit < 0) return false;
    value = value << 4 | static_cast<uint32_t>(digit);
  }
  *out = value;
  return true;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | cp >> 6));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | cp >> 12));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | cp >> 18));
    out->push_back(static_cast<char>(0x80 | (cp >> 12 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp >> 6 & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsPlainKey(absl::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    const auto b = static_cast<uint8_t>(c);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
                       c == '-' || c == '$' || c == '@' || b >= 0x80;
    if (!plain) return false;
  }
  return true;
}

}  // namespace

// Recursive-descent parser writing Document nodes. Depth is bounded by
// ParseOptions::depth_max, so recursion is too.
class Parser {
 public:
  Parser(absl::string_view input, const ParseOptions& options, Document* doc)
      : begin_(input.data()),
        p_(input.data()),
        end_(input.data() + input.size()),
        depth_max_(options.depth_max),
        doc_(doc) {}

  bool Run() {
    SkipWhitespace();
    if (p_ == end_) return Fail("invalid JSON: empty input");
    uint32_t root;
    if (!ParseValue(0, &root)) return false;
    SkipWhitespace();
    if (p_ != end_) return Fail("invalid JSON: unexpected characters after the value");
    return true;
  }

  // Fills doc->error_ after Run() returned false.
  void ReportError() {
    ParseError& error = doc_->error_;
    std::reverse(path_.begin(), path_.end());
    error.path = FormatPath(path_);
    error.offset = error_offset_;
    error.reason = absl::StrCat(error_what_, " at byte ", error_offset_);
    error.too_deep = too_deep_;
  }

 private:
  using Node = Document::Node;

  std::vector<Node>& nodes() { return doc_->nodes_; }

  void SkipWhitespace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool FailAt(const char* where, absl::string_view what) {
    error_offset_ = static_cast<size_t>(where - begin_);
    error_what_ = std::string(what);
    return false;
  }
  bool Fail(absl::string_view what) { return FailAt(p_, what); }
  bool FailEnd() { return Fail("invalid JSON: unexpected end of input"); }

  bool ParseValue(int depth, uint32_t* index) {
    SkipWhitespace();
    if (p_ == end_) return FailEnd();
    *index = static_cast<uint32_t>(nodes().size());
    nodes().emplace_back();
    switch (*p_) {
      case '{':
      case '[': {
        if (depth >= depth_max_) {
          too_deep_ = true;
          return Fail(absl::StrCat("nesting deeper than ", depth_max_));
        }
        const bool object = *p_ == '{';
        nodes()[*index].type = object ? Type::kObject : Type::kArray;
        ++p_;
        return object ? ParseObject(depth + 1, *index) : ParseArray(depth + 1, *index);
      }
      case '"': {
        const char* data;
        uint32_t size;
        if (!ParseString(&data, &size)) return false;
        Node& node = nodes()[*index];
        node.type = Type::kString;
        node.str = data;
        node.size = size;
        return true;
      }
      case 't':
        return ParseLiteral("true", Type::kBool, true, *index);
      case 'f':
        return ParseLiteral("false", Type::kBool, false, *index);
      case 'n':
        return ParseLiteral("null", Type::kNull, false, *index);
      default:
        if (*p_ == '-' || IsDigit(*p_)) return ParseNumber(*index);
        return Fail("invalid JSON: unexpected character");
    }
  }

  bool ParseLiteral(absl::string_view word, Type type, bool flag, uint32_t index) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        absl::string_view(p_, word.size()) != word) {
      return Fail("invalid JSON: unexpected character");
    }
    p_ += word.size();
    nodes()[index].type = type;
    nodes()[index].flag = flag;
    return true;
  }

  // Links `child` after `last` (or as the first child of `parent`).
  void Link(uint32_t parent, uint32_t last, uint32_t child) {
    if (last == 0) {
      nodes()[parent].first_child = child;
    } else {
      nodes()[last].next = child;
    }
  }

  // After '{'.
  bool ParseObject(int depth, uint32_t index) {
    SkipWhitespace();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    uint32_t last = 0, count = 0;
    while (true) {
      SkipWhitespace();
      if (p_ == end_) return FailEnd();
      if (*p_ != '"') return Fail("invalid JSON: expected a string as object key");
      const char* key;
      uint32_t key_size;
      if (!ParseString(&key, &key_size)) return false;
      SkipWhitespace();
      if (p_ == end_) return FailEnd();
      if (*p_ != ':') return Fail("invalid JSON: expected ':' after object key");
      ++p_;
      uint32_t child;
      if (!ParseValue(depth, &child)) {
        path_.push_back(PathSegment{absl::string_view(key, key_size), -1});
        return false;
      }
      nodes()[child].key = key;
      nodes()[child].key_size = key_size;
      Link(index, last, child);
      last = child;
      ++count;
      SkipWhitespace();
      if (p_ == end_) return FailEnd();
      if (*p_ == '}') break;
      if (*p_ != ',') return Fail("invalid JSON: expected ',' or '}' in object");
      ++p_;
    }
    ++p_;
    nodes()[index].size = count - MarkDuplicates(index, count);
    return true;
  }

  // After '['.
  bool ParseArray(int depth, uint32_t index) {
    SkipWhitespace();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    uint32_t last = 0, count = 0;
    while (true) {
      uint32_t child;
      if (!ParseValue(depth, &child)) {
        path_.push_back(PathSegment{absl::string_view(), count});
        return false;
      }
      Link(index, last, child);
      last = child;
      ++count;
      SkipWhitespace();
      if (p_ == end_) return FailEnd();
      if (*p_ == ']') break;
      if (*p_ != ',') return Fail("invalid JSON: expected ',' or ']' in array");
      ++p_;
    }
    ++p_;
    nodes()[index].size = count;
    return true;
  }

  absl::string_view KeyOf(uint32_t index) {
    const Node& node = nodes()[index];
    return absl::string_view(node.key, node.key_size);
  }

  // Marks members whose key repeats later as shadowed (last wins); returns
  // how many were marked.
  uint32_t MarkDuplicates(uint32_t object, uint32_t count) {
    if (count < 2) return 0;
    uint32_t marked = 0;
    if (count <= kPairwiseDuplicateScanMax) {
      for (uint32_t i = nodes()[object].first_child; i != 0; i = nodes()[i].next) {
        for (uint32_t j = nodes()[i].next; j != 0; j = nodes()[j].next) {
          if (KeyOf(i) == KeyOf(j)) {
            nodes()[i].shadowed = true;
            ++marked;
            break;
          }
        }
      }
      return marked;
    }
    absl::flat_hash_map<absl::string_view, uint32_t> latest;
    latest.reserve(count);
    for (uint32_t i = nodes()[object].first_child; i != 0; i = nodes()[i].next) {
      auto [it, inserted] = latest.try_emplace(KeyOf(i), i);
      if (!inserted) {
        nodes()[it->second].shadowed = true;
        it->second = i;
        ++marked;
      }
    }
    return marked;
  }

  // At the opening quote. Strings without escapes point into the input.
  bool ParseString(const char** data, uint32_t* size) {
    const char* quote = p_++;
    const char* start = p_;
    while (true) {
      while (p_ < end_ && !kStringSpecial[static_cast<uint8_t>(*p_)]) ++p_;
      if (p_ == end_) return FailAt(quote, "invalid JSON: unterminated string");
      const auto c = static_cast<uint8_t>(*p_);
      if (c == '"') {
        *data = start;
        *size = static_cast<uint32_t>(p_ - start);
        ++p_;
        return true;
      }
      if (c == '\\') return ParseEscapedString(quote, start, data, size);
      if (!SkipNonAscii()) return false;
    }
  }

  // At a control character or a byte >= 0x80 inside a string.
  bool SkipNonAscii() {
    if (static_cast<uint8_t>(*p_) < 0x20) {
      return Fail("invalid JSON: unescaped control character in string");
    }
    const size_t n = Utf8SequenceLength(reinterpret_cast<const uint8_t*>(p_),
                                        reinterpret_cast<const uint8_t*>(end_));
    if (n == 0) return Fail("invalid UTF-8 in string");
    p_ += n;
    return true;
  }

  // At the first backslash of a string starting at `start`: unescapes into
  // the arena. The arena is reserved to the input size on first use, and
  // unescaping never grows text, so it is never reallocated (views into it
  // stay valid).
  bool ParseEscapedString(const char* quote, const char* start, const char** data, uint32_t* size) {
    std::string& arena = doc_->arena_;
    if (!arena_reserved_) {
      arena.reserve(static_cast<size_t>(end_ - begin_));
      arena_reserved_ = true;
    }
    const size_t arena_start = arena.size();
    const char* arena_data = arena.data();
    arena.append(start, static_cast<size_t>(p_ - start));
    while (true) {
      const char* run = p_;
      while (p_ < end_ && !kStringSpecial[static_cast<uint8_t>(*p_)]) ++p_;
      arena.append(run, static_cast<size_t>(p_ - run));
      if (p_ == end_) return FailAt(quote, "invalid JSON: unterminated string");
      const auto c = static_cast<uint8_t>(*p_);
      if (c == '"') break;
      if (c == '\\') {
        if (!ParseEscape(&arena)) return false;
        continue;
      }
      const char* at = p_;
      if (!SkipNonAscii()) return false;
      arena.append(at, static_cast<size_t>(p_ - at));
    }
    ++p_;
    LEADLOG_CHECK(arena.data() == arena_data) << "JSON arena reallocated during a parse";
    *data = arena.data() + arena_start;
    *size = static_cast<uint32_t>(arena.size() - arena_start);
    return true;
  }

  // At a backslash.
  bool ParseEscape(std::string* out) {
    if (end_ - p_ < 2) return FailAt(end_, "invalid JSON: unexpected end of input");
    if (p_[1] == 'u') return ParseUnicodeEscape(out);
    const size_t which = kEscapeLetters.find(p_[1]);
    if (which == absl::string_view::npos) return Fail("invalid JSON: invalid escape in string");
    out->push_back(kEscapedChars[which]);
    p_ += 2;
    return true;
  }

  // At "\u". Surrogates must come as a high-low pair.
  bool ParseUnicodeEscape(std::string* out) {
    uint32_t cp;
    if (!ReadHex4(p_ + 2, end_, &cp)) {
      return Fail("invalid JSON: \\u must be followed by 4 hex digits");
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail("invalid JSON: lone surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low;
      if (end_ - p_ < 12 || p_[6] != '\\' || p_[7] != 'u' || !ReadHex4(p_ + 8, end_, &low) ||
          low < 0xDC00 || low > 0xDFFF) {
        return Fail("invalid JSON: lone surrogate in \\u escape");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      p_ += 6;
    }
    p_ += 6;
    AppendUtf8(cp, out);
    return true;
  }

  // Scans digits; returns how many.
  int64_t SkipDigits() {
    const char* start = p_;
    while (p_ < end_ && IsDigit(*p_)) ++p_;
    return p_ - start;
  }

  bool ParseNumber(uint32_t index) {
    const char* start = p_;
    if (*p_ == '-') ++p_;
    if (p_ == end_ || !IsDigit(*p_)) return Fail("invalid JSON: expected a digit");
    // Decimal magnitude, to tell overflow from underflow if from_chars fails.
    int64_t magnitude = 0;
    if (*p_ == '0') {
      ++p_;
      if (p_ < end_ && IsDigit(*p_)) return FailAt(start, "invalid JSON: leading zero in number");
    } else {
      magnitude = SkipDigits();
    }
    bool integral = true;
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      integral = false;
      const char* digits = p_;
      if (SkipDigits() == 0) return Fail("invalid JSON: expected a digit after '.'");
      if (magnitude == 0) {
        while (digits < p_ && *digits == '0') ++digits, --magnitude;
      }
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      integral = false;
      const bool negative = p_ < end_ && *p_ == '-';
      if (p_ < end_ && (*p_ == '-' || *p_ == '+')) ++p_;
      const char* digits = p_;
      if (SkipDigits() == 0) return Fail("invalid JSON: expected a digit in exponent");
      int64_t exponent = 0;
      for (; digits < p_ && exponent < 1'000'000; ++digits)
        exponent = exponent * 10 + (*digits - '0');
      magnitude += negative ? -exponent : exponent;
    }
    double value = 0;
    const auto [ptr, ec] = std::from_chars(start, p_, value);
    if (ec == std::errc::result_out_of_range) {
      if (magnitude > 0) return FailAt(start, "number out of the double range");
      value = *start == '-' ? -0.0 : 0.0;
    } else if (ec != std::errc() || ptr != p_) {
      return FailAt(start, "invalid JSON: malformed number");
    }
    Node& node = nodes()[index];
    node.type = Type::kNumber;
    node.number = value;
    node.flag = integral;
    return true;
  }

  const char* const begin_;
  const char* p_;
  const char* const end_;
  const int depth_max_;
  Document* const doc_;
  bool arena_reserved_ = false;
  // Error state; path_ is innermost-first until ReportError.
  std::vector<PathSegment> path_;
  size_t error_offset_ = 0;
  std::string error_what_;
  bool too_deep_ = false;
};

absl::string_view TypeName(Type type) {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kNumber:
      return "number";
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "unknown";
}

// --- Document and Value.

absl::Status Document::Parse(absl::string_view input, const ParseOptions& options) {
  LEADLOG_CHECK(options.depth_max >= 1 && options.depth_max <= 1000) << options.depth_max;
  nodes_.clear();
  arena_.clear();
  error_ = ParseError();
  parsed_ = false;
  if (input.size() >= UINT32_MAX) {
    error_.reason = "input of 4 GiB or more";
    return absl::ResourceExhaustedError(error_.reason);
  }
  Parser parser(input, options, this);
  if (!parser.Run()) {
    parser.ReportError();
    std::string message =
        error_.path.empty() ? error_.reason : absl::StrCat(error_.path, ": ", error_.reason);
    return error_.too_deep ? absl::ResourceExhaustedError(message)
                           : absl::InvalidArgumentError(message);
  }
  parsed_ = true;
  return absl::OkStatus();
}

Value Document::root() const { return parsed_ ? Value(this, 0) : Value(); }

size_t Document::capacity_bytes() const {
  return nodes_.capacity() * sizeof(Node) + arena_.capacity();
}

uint32_t Document::SkipShadowed(uint32_t index) const {
  while (index != 0 && nodes_[index].shadowed) index = nodes_[index].next;
  return index;
}

Value::Iterator& Value::Iterator::operator++() {
  index_ = doc_->SkipShadowed(doc_->nodes_[index_].next);
  return *this;
}

Type Value::type() const { return doc_ ? doc_->nodes_[index_].type : Type::kNull; }

bool Value::bool_value() const { return type() == Type::kBool && doc_->nodes_[index_].flag; }

double Value::number_value() const {
  return type() == Type::kNumber ? doc_->nodes_[index_].number : 0;
}

bool Value::is_integral() const { return type() == Type::kNumber && doc_->nodes_[index_].flag; }

absl::string_view Value::string_value() const {
  if (type() != Type::kString) return absl::string_view();
  const Document::Node& node = doc_->nodes_[index_];
  return absl::string_view(node.str, node.size);
}

absl::string_view Value::key() const {
  if (!doc_) return absl::string_view();
  const Document::Node& node = doc_->nodes_[index_];
  return absl::string_view(node.key, node.key_size);
}

size_t Value::size() const {
  const Type t = type();
  return t == Type::kObject || t == Type::kArray ? doc_->nodes_[index_].size : 0;
}

Value::Range Value::children() const {
  const Type t = type();
  if (t != Type::kObject && t != Type::kArray) return Range{Iterator(doc_, 0), Iterator(doc_, 0)};
  const uint32_t first = doc_->SkipShadowed(doc_->nodes_[index_].first_child);
  return Range{Iterator(doc_, first), Iterator(doc_, 0)};
}

Value Value::Find(absl::string_view key) const {
  if (type() != Type::kObject) return Value();
  for (Value member : children()) {
    if (member.key() == key) return member;
  }
  return Value();
}

// --- Paths and UTF-8.

std::string FormatPath(absl::Span<const PathSegment> segments) {
  std::string path;
  for (const PathSegment& segment : segments) {
    if (segment.index >= 0) {
      absl::StrAppend(&path, "[", segment.index, "]");
    } else if (IsPlainKey(segment.key)) {
      if (!path.empty()) path.push_back('.');
      path.append(segment.key.data(), segment.key.size());
    } else {
      path.push_back('[');
      AppendQuoted(segment.key, &path);
      path.push_back(']');
    }
  }
  return path;
}

bool IsValidUtf8(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const auto* end = p + bytes.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const size_t n = Utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

size_t Utf8Prefix(absl::string_view bytes, size_t max) {
  if (bytes.size() <= max) return bytes.size();
  size_t n = max;
  while (n > 0 && IsContinuation(static_cast<uint8_t>(bytes[n]))) --n;
  return n;
}

// --- Conversion to protobuf.

void ToProtoValue(Value value, google::protobuf::Value* out) {
  switch (value.type()) {
    case Type::kNull:
      out->set_null_value(google::protobuf::NULL_VALUE);
      return;
    case Type::kBool:
      out->set_bool_value(value.bool_value());
      return;
    case Type::kNumber:
      out->set_number_value(value.number_value());
      return;
    case Type::kString: {
      const absl::string_view s = value.string_value();
      out->set_string_value(s.data(), s.size());
      return;
    }
    case Type::kArray: {
      google::protobuf::ListValue* list = out->mutable_list_value();
      list->mutable_values()->Reserve(static_cast<int>(value.size()));
      for (Value element : value.children()) ToProtoValue(element, list->add_values());
      return;
    }
    case Type::kObject:
      ToProtoStruct(value, out->mutable_struct_value());
      return;
  }
}

void ToProtoStruct(Value object, google::protobuf::Struct* out) {
  auto* fields = out->mutable_fields();
  for (Value member : object.children()) {
    const absl::string_view key = member.key();
    ToProtoValue(member, &(*fields)[std::string(key.data(), key.size())]);
  }
}

// --- Writing.

void AppendQuoted(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  const char* run = text.data();
  const char* end = text.data() + text.size();
  for (const char* p = run; p < end; ++p) {
    const auto c = static_cast<uint8_t>(*p);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(run, static_cast<size_t>(p - run));
    run = p + 1;
    const size_t which = kEscapedChars.find(*p);
    if (which != absl::string_view::npos) {
      out->push_back('\\');
      out->push_back(kEscapeLetters[which]);
    } else {
      const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(escape, sizeof(escape));
    }
  }
  out->append(run, static_cast<size_t>(end - run));
  out->push_back('"');
}

void AppendNumber(double number, std::string* out) {
  if (!std::isfinite(number)) {
    out->append("null");
    return;
  }
  char buffer[32];
  const auto [ptr, ec] = std::to_chars(buffer, buffer + sizeof(buffer), number);
  LEADLOG_CHECK(ec == std::errc()) << "to_chars of a finite double failed";
  out->append(buffer, static_cast<size_t>(ptr - buffer));
}

namespace {

void AppendValueAt(const google::protobuf::Value& value, int depth, std::string* out);

void AppendStructAt(const google::protobuf::Struct& object, int depth, std::string* out) {
  using Entry = google::protobuf::MapPair<std::string, google::protobuf::Value>;
  std::vector<const Entry*> entries;
  entries.reserve(object.fields().size());
  for (const Entry& entry : object.fields()) entries.push_back(&entry);
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->first < b->first; });
  out->push_back('{');
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendQuoted(entries[i]->first, out);
    out->push_back(':');
    AppendValueAt(entries[i]->second, depth + 1, out);
  }
  out->push_back('}');
}

void AppendValueAt(const google::protobuf::Value& value, int depth, std::string* out) {
  using google::protobuf::Value;
  if (depth > kWriteDepthMax) {
    out->append("null");
    return;
  }
  switch (value.kind_case()) {
    case Value::kBoolValue:
      out->append(value.bool_value() ? "true" : "false");
      return;
    case Value::kNumberValue:
      AppendNumber(value.number_value(), out);
      return;
    case Value::kStringValue:
      AppendQuoted(value.string_value(), out);
      return;
    case Value::kStructValue:
      AppendStructAt(value.struct_value(), depth, out);
      return;
    case Value::kListValue: {
      out->push_back('[');
      const auto& values = value.list_value().values();
      for (int i = 0; i < values.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendValueAt(values[i], depth + 1, out);
      }
      out->push_back(']');
      return;
    }
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      out->append("null");
      return;
  }
}

}  // namespace

void AppendProtoValue(const google::protobuf::Value& value, std::string* out) {
  AppendValueAt(value, 0, out);
}

void AppendProtoStruct(const google::protobuf::Struct& object, std::string* out) {
  AppendStructAt(object, 0, out);
}

}  // namespace leadlog::json
