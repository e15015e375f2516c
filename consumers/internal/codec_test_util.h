// Test-only helpers shared by the codec tests (codec_test.cc,
// codec_encode_test.cc). Not for production code.
//
//   v1::Event e = MustDecode(Track("Demo Requested", ",'properties':{'seats':2}"));
#ifndef LEADLOG_CONSUMERS_INTERNAL_CODEC_TEST_UTIL_H_
#define LEADLOG_CONSUMERS_INTERNAL_CODEC_TEST_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "consumers/codec.h"
#include "engine/testing/status_matchers.h"
#include "gtest/gtest.h"

namespace leadlog::codec_testing {

inline constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
inline constexpr auto kExhausted = absl::StatusCode::kResourceExhausted;

// Single quotes stand for double quotes, to keep test JSON readable.
inline std::string J(absl::string_view text) { return absl::StrReplaceAll(text, {{"'", "\""}}); }

inline v1::Event MustDecode(absl::string_view bytes, ContentType type = ContentType::kUnknown) {
  v1::Event event;
  absl::Status status = DecodeEvent(bytes, type, &event);
  EXPECT_OK(status) << bytes;
  return event;
}

// A valid track call; `extra` members are appended.
inline std::string Track(absl::string_view event_name, absl::string_view extra = "") {
  return J(absl::StrCat("{'type':'track','messageId':'m-1','userId':'u-1','event':'", event_name,
                        "'", extra, "}"));
}

// A valid event built in code.
inline v1::Event SampleEvent() {
  v1::Event e;
  e.set_event_id("m-1");
  e.set_type(v1::CALL_TYPE_TRACK);
  e.set_user_id("u-1");
  e.set_name("Demo Requested");
  (*e.mutable_properties()->mutable_fields())["seats"].set_number_value(20);
  return e;
}

}  // namespace leadlog::codec_testing

#endif  // LEADLOG_CONSUMERS_INTERNAL_CODEC_TEST_UTIL_H_
