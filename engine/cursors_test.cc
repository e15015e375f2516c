#include "engine/cursors.h"

#include "absl/strings/str_cat.h"
#include "engine/internal/test_util.h"
#include "engine/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::leadlog::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

TEST(Cursors, StoredValuesSurviveReopenAndAreReadableReadOnly) {
  internal::LogFixture f;
  {
    std::unique_ptr<EventLog> log = f.Open();
    AppendBatch batch = internal::BatchOf({internal::MakeEvent(ShardId(2), "e1", "u1")});
    ASSERT_OK(log->Append(batch).status());
    auto missing = LoadCursor(log.get(), "emitter", ShardId(2));
    ASSERT_OK(missing.status());
    EXPECT_EQ(*missing, std::nullopt);
    ASSERT_OK(StoreCursor(log.get(), "emitter", ShardId(2), "first", /*sync=*/true));
    ASSERT_OK(StoreCursors(log.get(), "emitter",
                           {{ShardId(2), std::string("second\0x", 8)}, {ShardId(5), "other"}},
                           /*sync=*/true));
    ASSERT_OK(StoreCursor(log.get(), "audit", ShardId(2), "", /*sync=*/false));
    EXPECT_EQ(log->Shards(), std::vector<ShardId>{ShardId(2)})
        << "a cursor alone does not make a shard";
  }
  std::unique_ptr<EventLog> log = f.Open();  // writable open: recovery accepts cursor keys
  EXPECT_THAT(*LoadCursor(log.get(), "emitter", ShardId(2)), Optional(std::string("second\0x", 8)));
  EXPECT_THAT(*LoadCursor(log.get(), "emitter", ShardId(5)), Optional(std::string("other")));
  EXPECT_THAT(*LoadCursor(log.get(), "audit", ShardId(2)), Optional(std::string()));
  log.reset();

  EventLogOptions options = f.Options();
  options.read_only = true;
  std::unique_ptr<EventLog> reader = internal::LogFixture::Open(options);
  ASSERT_NE(reader, nullptr);
  EXPECT_THAT(*LoadCursor(reader.get(), "emitter", ShardId(5)), Optional(std::string("other")));
  EXPECT_THAT(StoreCursor(reader.get(), "emitter", ShardId(5), "x", true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("read-only")));
}

TEST(Cursors, VerifyAcceptsCursorKeys) {
  internal::LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  AppendBatch batch = internal::BatchOf({internal::MakeEvent(ShardId(0), "e1", "u1")});
  ASSERT_OK(log->Append(batch).status());
  ASSERT_OK(StoreCursor(log.get(), "emitter", ShardId(0), "position", true));
  ASSERT_OK(StoreCursor(log.get(), "emitter", ShardId(9), "no records here", true));
  EXPECT_OK(log->Verify());
}

TEST(Cursors, BadNamesShardsAndValuesAreRejectedNamingTheField) {
  internal::LogFixture f;
  std::unique_ptr<EventLog> log = f.Open();
  EXPECT_THAT(StoreCursor(log.get(), "", ShardId(0), "v", false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(StoreCursor(log.get(), "Emitter", ShardId(0), "v", false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_THAT(LoadCursor(log.get(), std::string(kCursorNameBytesMax + 1, 'a'), ShardId(0)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("name")));
  EXPECT_OK(StoreCursor(log.get(), std::string(kCursorNameBytesMax, 'a'), ShardId(0), "v", false));
  EXPECT_THAT(StoreCursor(log.get(), "emitter", ShardId(0xFFFFFFFF), "v", false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard")));
  EXPECT_THAT(StoreCursor(log.get(), "emitter", ShardId(0), std::string(kCursorValueBytesMax + 1, 'v'),
                          false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("value")));
  EXPECT_OK(StoreCursor(log.get(), "emitter", ShardId(0), std::string(kCursorValueBytesMax, 'v'), false));
  // A failed StoreCursors writes none of its updates.
  EXPECT_THAT(StoreCursors(log.get(), "batch", {{ShardId(1), "ok"}, {ShardId(0xFFFFFFFF), "bad"}}, false),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("shard")));
  EXPECT_EQ(*LoadCursor(log.get(), "batch", ShardId(1)), std::nullopt);
}

}  // namespace
}  // namespace leadlog
