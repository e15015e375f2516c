#include "consumers/internal/json.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog::json {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Parses `text` and returns the root (the Document must outlive it).
Value MustParse(Document& doc, absl::string_view text) {
  absl::Status status = doc.Parse(text);
  EXPECT_OK(status) << text;
  return doc.root();
}

std::vector<std::string> Keys(Value object) {
  std::vector<std::string> keys;
  for (Value member : object.children()) keys.emplace_back(member.key());
  return keys;
}

std::string Nested(int depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

// --- Valid documents.

TEST(JsonParse, ScalarsAreValidTopLevelValues) {
  Document doc;
  EXPECT_EQ(MustParse(doc, "null").type(), Type::kNull);
  EXPECT_TRUE(MustParse(doc, " true ").bool_value());
  EXPECT_EQ(MustParse(doc, "false").type(), Type::kBool);
  EXPECT_FALSE(doc.root().bool_value());
  EXPECT_EQ(MustParse(doc, "\t\r\n42\n").number_value(), 42);
  EXPECT_EQ(MustParse(doc, "\"hi\"").string_value(), "hi");
}

TEST(JsonParse, ObjectsAndArraysKeepDocumentOrder) {
  Document doc;
  Value root = MustParse(doc, R"({"b":1,"a":[true,null,"x",{"c":{}}],"e":{}})");
  ASSERT_EQ(root.type(), Type::kObject);
  EXPECT_EQ(root.size(), 3u);
  EXPECT_THAT(Keys(root), ElementsAre("b", "a", "e"));
  Value array = root.Find("a");
  ASSERT_EQ(array.type(), Type::kArray);
  EXPECT_EQ(array.size(), 4u);
  std::vector<Type> types;
  for (Value element : array.children()) types.push_back(element.type());
  EXPECT_THAT(types, ElementsAre(Type::kBool, Type::kNull, Type::kString, Type::kObject));
  EXPECT_EQ(root.Find("e").size(), 0u);
  EXPECT_FALSE(root.Find("missing").valid());
  EXPECT_TRUE(root.Find("missing").is_null()) << "absent reads as null";
  EXPECT_FALSE(array.Find("b").valid()) << "Find on an array finds nothing";
}

TEST(JsonParse, EmptyContainersAndWhitespaceEverywhere) {
  Document doc;
  Value root = MustParse(doc, " { \"a\" : [ ] , \"b\" : { } , \"c\" : [ 1 , 2 ] } ");
  EXPECT_EQ(root.Find("a").size(), 0u);
  EXPECT_EQ(root.Find("b").type(), Type::kObject);
  EXPECT_EQ(root.Find("c").size(), 2u);
}

TEST(JsonParse, EscapesDecode) {
  Document doc;
  Value v = MustParse(doc, R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC \u0000!")");
  static constexpr char kExpected[] = "q\" b\\ s/ \b\f\n\r\t \xC3\xA9 \xE2\x82\xAC \0!";
  EXPECT_EQ(v.string_value(), absl::string_view(kExpected, sizeof(kExpected) - 1));
}

TEST(JsonParse, EscapedKeysDecode) {
  Document doc;
  Value root = MustParse(doc, R"({"a\u0062":1,"plain":2})");
  EXPECT_EQ(root.Find("ab").number_value(), 1);
  EXPECT_EQ(root.Find("plain").number_value(), 2);
}

TEST(JsonParse, SurrogatePairBecomesOneFourByteCharacter) {
  Document doc;
  EXPECT_EQ(MustParse(doc, R"("\ud83d\ude00")").string_value(), "\xF0\x9F\x98\x80");
  EXPECT_EQ(MustParse(doc, R"("\uDBFF\uDFFF")").string_value(), "\xF4\x8F\xBF\xBF");
}

TEST(JsonParse, RawUtf8IsKept) {
  Document doc;
  const std::string text = "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"";
  EXPECT_EQ(MustParse(doc, text).string_value(), text.substr(1, text.size() - 2));
}

TEST(JsonParse, LongEscapedStringsStayValid) {
  // Many escaped strings: views into the arena must survive later ones.
  std::string text = "[";
  for (int i = 0; i < 500; ++i) absl::StrAppend(&text, i ? "," : "", "\"\\u00e9", i, "\\n\"");
  text += "]";
  Document doc;
  Value root = MustParse(doc, text);
  int i = 0;
  for (Value element : root.children()) {
    EXPECT_EQ(element.string_value(), absl::StrCat("\xC3\xA9", i, "\n"));
    ++i;
  }
  EXPECT_EQ(i, 500);
}

TEST(JsonParse, NumbersParseAsDoubles) {
  Document doc;
  EXPECT_EQ(MustParse(doc, "0").number_value(), 0);
  EXPECT_EQ(MustParse(doc, "-12").number_value(), -12);
  EXPECT_EQ(MustParse(doc, "1.5").number_value(), 1.5);
  EXPECT_EQ(MustParse(doc, "-12.25e+2").number_value(), -1225);
  EXPECT_EQ(MustParse(doc, "1E3").number_value(), 1000);
  EXPECT_EQ(MustParse(doc, "25e-2").number_value(), 0.25);
  EXPECT_EQ(MustParse(doc, "0.1").number_value(), 0.1);
  EXPECT_EQ(MustParse(doc, "1.7976931348623157e308").number_value(), 1.7976931348623157e308);
  EXPECT_EQ(MustParse(doc, "5e-324").number_value(), 5e-324);
}

TEST(JsonParse, NegativeZeroKeepsItsSign) {
  Document doc;
  Value v = MustParse(doc, "-0");
  EXPECT_EQ(v.number_value(), 0);
  EXPECT_TRUE(std::signbit(v.number_value()));
  EXPECT_TRUE(std::signbit(MustParse(doc, "-0.0e5").number_value()));
}

TEST(JsonParse, BigIntegersRoundToNearestDouble) {
  Document doc;
  Value v = MustParse(doc, "12345678901234567890");
  EXPECT_EQ(v.number_value(), 12345678901234567890.0);
  EXPECT_TRUE(v.is_integral());
  EXPECT_EQ(MustParse(doc, "9007199254740993").number_value(), 9007199254740992.0);
}

TEST(JsonParse, IntegralFlagFollowsTheText) {
  Document doc;
  EXPECT_TRUE(MustParse(doc, "-7").is_integral());
  EXPECT_FALSE(MustParse(doc, "7.0").is_integral());
  EXPECT_FALSE(MustParse(doc, "7e0").is_integral());
  EXPECT_FALSE(MustParse(doc, "\"7\"").is_integral());
}

TEST(JsonParse, UnderflowBecomesZero) {
  Document doc;
  EXPECT_EQ(MustParse(doc, "1e-400").number_value(), 0);
  EXPECT_TRUE(std::signbit(MustParse(doc, "-1e-400").number_value()));
  EXPECT_EQ(MustParse(doc, "0.0000000000000000000000000000000001e-300").number_value(), 0);
}

TEST(JsonParse, OverflowIsAnError) {
  Document doc;
  EXPECT_THAT(doc.Parse("[1e400]"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             "[0]: number out of the double range at byte 1"));
  EXPECT_THAT(doc.Parse("-1e309"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of the double range")));
  EXPECT_THAT(doc.Parse("1000e306"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of the double range")));
}

TEST(JsonParse, DuplicateKeysLastOneWins) {
  Document doc;
  Value root = MustParse(doc, R"({"a":1,"b":2,"a":3})");
  EXPECT_EQ(root.size(), 2u);
  EXPECT_EQ(root.Find("a").number_value(), 3);
  EXPECT_THAT(Keys(root), ElementsAre("b", "a"));
}

TEST(JsonParse, DuplicateKeysInLargeObjectsLastOneWins) {
  std::string text = "{";
  for (int i = 0; i < 40; ++i) absl::StrAppend(&text, "\"k", i % 20, "\":", i, ",");
  text += "\"last\":true}";
  Document doc;
  Value root = MustParse(doc, text);
  EXPECT_EQ(root.size(), 21u);
  EXPECT_EQ(root.Find("k0").number_value(), 20);
  EXPECT_EQ(root.Find("k19").number_value(), 39);
  EXPECT_EQ(Keys(root).front(), "k0");
}

TEST(JsonParse, DocumentIsReusable) {
  Document doc;
  MustParse(doc, R"({"a":"\u00e9"})");
  Value root = MustParse(doc, R"(["x"])");
  EXPECT_EQ(root.size(), 1u);
  EXPECT_EQ((*root.children().begin()).string_value(), "x");
  EXPECT_FALSE(doc.Parse("[").ok());
  EXPECT_FALSE(doc.root().valid()) << "no root after a failed parse";
}

// --- Malformed documents: each names the reason and the byte offset.

struct BadCase {
  const char* name;
  std::string text;
  std::string expected;  // full status message
};

class JsonMalformed : public ::testing::TestWithParam<BadCase> {};

TEST_P(JsonMalformed, IsInvalidArgumentWithPathAndOffset) {
  Document doc;
  EXPECT_THAT(doc.Parse(GetParam().text),
              StatusIs(absl::StatusCode::kInvalidArgument, GetParam().expected));
  EXPECT_FALSE(doc.error().too_deep);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonMalformed,
    ::testing::Values(
        BadCase{"EmptyInput", "", "invalid JSON: empty input at byte 0"},
        BadCase{"OnlyWhitespace", " \n", "invalid JSON: empty input at byte 2"},
        BadCase{"TrailingCommaInObject", R"({"a":1,})",
                "invalid JSON: expected a string as object key at byte 7"},
        BadCase{"TrailingCommaInArray", "[1,]",
                "[1]: invalid JSON: unexpected character at byte 3"},
        BadCase{"UnterminatedString", R"({"a":"abc)",
                "a: invalid JSON: unterminated string at byte 5"},
        BadCase{"UnterminatedEscapedString", R"(["a\n)",
                "[0]: invalid JSON: unterminated string at byte 1"},
        BadCase{"BackslashAtEnd", R"("a\)", "invalid JSON: unexpected end of input at byte 3"},
        BadCase{"BadEscape", R"({"a":"x\q"})",
                "a: invalid JSON: invalid escape in string at byte 7"},
        BadCase{"ShortUnicodeEscape", R"("\u12")",
                "invalid JSON: \\u must be followed by 4 hex digits at byte 1"},
        BadCase{"NonHexUnicodeEscape", R"("\u12g4")",
                "invalid JSON: \\u must be followed by 4 hex digits at byte 1"},
        BadCase{"LoneHighSurrogate", R"("\ud83d")",
                "invalid JSON: lone surrogate in \\u escape at byte 1"},
        BadCase{"HighSurrogateThenText", R"("\ud83dx")",
                "invalid JSON: lone surrogate in \\u escape at byte 1"},
        BadCase{"HighSurrogateThenHigh", R"("\ud83d\ud83d")",
                "invalid JSON: lone surrogate in \\u escape at byte 1"},
        BadCase{"LoneLowSurrogate", R"(["\ude00"])",
                "[0]: invalid JSON: lone surrogate in \\u escape at byte 2"},
        BadCase{"RawNewlineInString", "[\"a\nb\"]",
                "[0]: invalid JSON: unescaped control character in string at byte 3"},
        BadCase{"RawNulInString", std::string("\"a\0\"", 4),
                "invalid JSON: unescaped control character in string at byte 2"},
        BadCase{"LeadingZero", "[01]", "[0]: invalid JSON: leading zero in number at byte 1"},
        BadCase{"NegativeLeadingZero", "-01", "invalid JSON: leading zero in number at byte 0"},
        BadCase{"PlusSign", "+1", "invalid JSON: unexpected character at byte 0"},
        BadCase{"BareDot", ".5", "invalid JSON: unexpected character at byte 0"},
        BadCase{"MinusAlone", "-", "invalid JSON: expected a digit at byte 1"},
        BadCase{"DotWithoutDigits", "1.", "invalid JSON: expected a digit after '.' at byte 2"},
        BadCase{"ExponentWithoutDigits", "1e+",
                "invalid JSON: expected a digit in exponent at byte 3"},
        BadCase{"NaN", "NaN", "invalid JSON: unexpected character at byte 0"},
        BadCase{"Infinity", "[-Infinity]", "[0]: invalid JSON: expected a digit at byte 2"},
        BadCase{"TrailingGarbage", "{} x",
                "invalid JSON: unexpected characters after the value at byte 3"},
        BadCase{"TwoDocuments", "{}{}",
                "invalid JSON: unexpected characters after the value at byte 2"},
        BadCase{"MissingColon", R"({"a" 1})",
                "invalid JSON: expected ':' after object key at byte 5"},
        BadCase{"MissingValue", R"({"a":})", "a: invalid JSON: unexpected character at byte 5"},
        BadCase{"MissingComma", R"({"a":1 "b":2})",
                "invalid JSON: expected ',' or '}' in object at byte 7"},
        BadCase{"ArrayMissingComma", "[1 2]",
                "invalid JSON: expected ',' or ']' in array at byte 3"},
        BadCase{"SingleQuotes", "{'a':1}",
                "invalid JSON: expected a string as object key at byte 1"},
        BadCase{"UnquotedKey", "{a:1}", "invalid JSON: expected a string as object key at byte 1"},
        BadCase{"MisspelledLiteral", "[tru]", "[0]: invalid JSON: unexpected character at byte 1"},
        BadCase{"UnterminatedObject", R"({"a":1)",
                "invalid JSON: unexpected end of input at byte 6"},
        BadCase{"UnterminatedArray", "[[1]", "invalid JSON: unexpected end of input at byte 4"},
        BadCase{"NestedPath", R"({"properties":{"items":[0,1,2,{"name":"x\z"}]}})",
                "properties.items[3].name: invalid JSON: invalid escape in string at byte 40"},
        BadCase{"QuotedKeyInPath", R"({"a.b":[x]})",
                "[\"a.b\"][0]: invalid JSON: unexpected character at byte 8"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(JsonParse, ErrorPartsAreAvailableSeparately) {
  Document doc;
  ASSERT_FALSE(doc.Parse(R"({"a":{"b":[1,tx]}})").ok());
  EXPECT_EQ(doc.error().path, "a.b[1]");
  EXPECT_EQ(doc.error().offset, 13u);
  EXPECT_EQ(doc.error().reason, "invalid JSON: unexpected character at byte 13");
}

// --- Depth.

TEST(JsonParse, ArraysNestedExactlyAtTheLimitParse) {
  Document doc;
  EXPECT_OK(doc.Parse(Nested(kJsonDepthMax, '[', ']')));
}

TEST(JsonParse, ArraysNestedOnePastTheLimitAreResourceExhausted) {
  Document doc;
  const std::string text = Nested(kJsonDepthMax + 1, '[', ']');
  std::string path;
  for (int i = 0; i < kJsonDepthMax; ++i) path += "[0]";
  EXPECT_THAT(doc.Parse(text), StatusIs(absl::StatusCode::kResourceExhausted,
                                        absl::StrCat(path, ": nesting deeper than 32 at byte 32")));
  EXPECT_TRUE(doc.error().too_deep);
  EXPECT_EQ(doc.error().path, path);
}

TEST(JsonParse, ObjectsNestedPastTheLimitNameTheirPath) {
  std::string at_limit, past_limit;
  for (int i = 0; i < kJsonDepthMax - 1; ++i) at_limit += "{\"k\":";
  at_limit += "{}" + std::string(kJsonDepthMax - 1, '}');
  for (int i = 0; i < kJsonDepthMax; ++i) past_limit += "{\"k\":";
  past_limit += "[]" + std::string(kJsonDepthMax, '}');
  Document doc;
  EXPECT_OK(doc.Parse(at_limit));
  EXPECT_THAT(doc.Parse(past_limit),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("nesting deeper than 32")));
  EXPECT_EQ(doc.error().path.size(), 2u * kJsonDepthMax - 1) << doc.error().path;  // k.k.k...
}

TEST(JsonParse, DepthLimitIsConfigurable) {
  Document doc;
  EXPECT_OK(doc.Parse("[[1]]", ParseOptions{.depth_max = 2}));
  EXPECT_THAT(
      doc.Parse("[[[1]]]", ParseOptions{.depth_max = 2}),
      StatusIs(absl::StatusCode::kResourceExhausted, "[0][0]: nesting deeper than 2 at byte 2"));
  EXPECT_OK(doc.Parse("\"scalars have no depth\"", ParseOptions{.depth_max = 1}));
}

TEST(JsonParse, VeryDeepInputFailsWithoutDeepRecursion) {
  Document doc;
  EXPECT_THAT(doc.Parse(std::string(1'000'000, '[')),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("nesting deeper")));
}

// --- Invalid UTF-8.

struct Utf8Case {
  const char* name;
  std::string bytes;  // placed inside a string at byte 8: {"k":["<bytes>"]}
};

class JsonInvalidUtf8 : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(JsonInvalidUtf8, IsRejectedWithPathAndOffset) {
  const std::string text = "{\"k\":[\"" + GetParam().bytes + "\"]}";
  Document doc;
  EXPECT_THAT(doc.Parse(text), StatusIs(absl::StatusCode::kInvalidArgument,
                                        "k[0]: invalid UTF-8 in string at byte 7"));
  EXPECT_FALSE(IsValidUtf8(GetParam().bytes));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonInvalidUtf8,
    ::testing::Values(
        Utf8Case{"Byte0xFF", "\xFF"}, Utf8Case{"Byte0xFE", "\xFE"},
        Utf8Case{"LoneContinuation", "\x80"}, Utf8Case{"OverlongTwoByteSlash", "\xC0\xAF"},
        Utf8Case{"OverlongTwoByteC1", "\xC1\xBF"}, Utf8Case{"OverlongThreeByte", "\xE0\x80\xAF"},
        Utf8Case{"OverlongFourByte", "\xF0\x80\x80\xAF"}, Utf8Case{"TruncatedTwoByte", "\xC3"},
        Utf8Case{"TruncatedThreeByte", "\xE2\x82"}, Utf8Case{"TruncatedFourByte", "\xF0\x9F\x98"},
        Utf8Case{"HighSurrogateEncoded", "\xED\xA0\x80"},
        Utf8Case{"LowSurrogateEncoded", "\xED\xBF\xBF"},
        Utf8Case{"AboveMaxCodePoint", "\xF4\x90\x80\x80"},
        Utf8Case{"LeadByteF5", "\xF5\x80\x80\x80"}, Utf8Case{"BadContinuation", "\xE2\x28\xA1"}),
    [](const ::testing::TestParamInfo<Utf8Case>& info) { return std::string(info.param.name); });

TEST(JsonParse, InvalidUtf8InKeyNamesTheObject) {
  Document doc;
  EXPECT_THAT(doc.Parse("{\"a\":{\"\xFF\":1}}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "a: invalid UTF-8 in string at byte 7"));
}

TEST(JsonParse, Utf8OutsideStringsIsASyntaxError) {
  Document doc;
  EXPECT_THAT(doc.Parse("[\xC3\xA9]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "[0]: invalid JSON: unexpected character at byte 1"));
}

TEST(Utf8, ValidSequencesAtTheBoundariesAreAccepted) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
  EXPECT_TRUE(IsValidUtf8(std::string("\0", 1)));
}

TEST(Utf8, PrefixStopsAtACharacterBoundary) {
  EXPECT_EQ(Utf8Prefix("abc", 5), 3u);
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9", 3), 2u);
  EXPECT_EQ(Utf8Prefix("ab\xC3\xA9x", 4), 4u);
}

// --- Paths.

TEST(JsonPath, PlainKeysAreDottedOthersQuoted) {
  std::vector<PathSegment> path = {{"properties", -1}, {"items", -1}, {"", 3}, {"a b", -1},
                                   {"x\"y", -1},       {"", 0},       {"", -1}};
  EXPECT_EQ(FormatPath(path), R"(properties.items[3]["a b"]["x\"y"][0][""])");
  EXPECT_EQ(FormatPath({}), "");
}

// --- Conversion and writing.

TEST(JsonToProto, ConvertsEveryKind) {
  Document doc;
  Value root = MustParse(doc, R"({"n":null,"b":true,"x":1.5,"s":"t","l":[1,"2"],"o":{"k":false}})");
  google::protobuf::Struct out;
  ToProtoStruct(root, &out);
  const auto& f = out.fields();
  EXPECT_EQ(f.at("n").kind_case(), google::protobuf::Value::kNullValue);
  EXPECT_TRUE(f.at("b").bool_value());
  EXPECT_EQ(f.at("x").number_value(), 1.5);
  EXPECT_EQ(f.at("s").string_value(), "t");
  ASSERT_EQ(f.at("l").list_value().values_size(), 2);
  EXPECT_EQ(f.at("l").list_value().values(1).string_value(), "2");
  EXPECT_FALSE(f.at("o").struct_value().fields().at("k").bool_value());
}

TEST(JsonWrite, QuotedEscapesControlCharactersAndKeepsUtf8) {
  std::string out;
  static constexpr char kText[] = "a\"b\\c\b\f\n\r\t\x01\x1F\x7F\0 \xC3\xA9";
  AppendQuoted(absl::string_view(kText, sizeof(kText) - 1), &out);
  EXPECT_EQ(out, std::string("\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u0001\\u001f\x7F\\u0000 \xC3\xA9\""));
}

TEST(JsonWrite, NumbersAreShortestAndIntegralWithoutFraction) {
  auto render = [](double d) {
    std::string out;
    AppendNumber(d, &out);
    return out;
  };
  EXPECT_EQ(render(42), "42");
  EXPECT_EQ(render(-3), "-3");
  EXPECT_EQ(render(-0.0), "-0");
  EXPECT_EQ(render(0.1), "0.1");
  EXPECT_EQ(render(1e20), "1e+20");
  EXPECT_EQ(render(1e-7), "1e-07");
  EXPECT_EQ(render(12345678901234567890.0), "12345678901234567168");
  EXPECT_EQ(render(std::nan("")), "null");
  EXPECT_EQ(render(INFINITY), "null");
  Document doc;
  for (double d : {0.1, 1.0 / 3, 1e20, 5e-324, -1.7976931348623157e308, 123456.789}) {
    EXPECT_EQ(MustParse(doc, render(d)).number_value(), d) << render(d);
  }
}

TEST(JsonWrite, StructKeysAreSorted) {
  Document doc;
  Value root = MustParse(doc, R"({"z":1,"a":{"y":[true,null],"b":"s"},"m":-0.5})");
  google::protobuf::Struct object;
  ToProtoStruct(root, &object);
  std::string out;
  AppendProtoStruct(object, &out);
  EXPECT_EQ(out, R"({"a":{"b":"s","y":[true,null]},"m":-0.5,"z":1})");
}

TEST(JsonWrite, ValueWithoutKindIsNull) {
  google::protobuf::Value value;
  std::string out;
  AppendProtoValue(value, &out);
  EXPECT_EQ(out, "null");
}

}  // namespace
}  // namespace leadlog::json
