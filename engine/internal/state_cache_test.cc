#include "engine/internal/state_cache.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog::internal {
namespace {

using ::testing::Optional;

// What an entry of `key` and `value` bytes is charged.
size_t Charge(size_t key, size_t value) { return key + value + kStateCacheEntryOverheadBytes; }

TEST(StateCache, RemembersValuesAndAbsenceAndCountsHitsAndMisses) {
  StateCache cache(1 << 20);
  EXPECT_EQ(cache.Find("a"), nullptr);
  cache.Insert("a", std::string("1"));
  cache.Insert("gone", std::nullopt);
  const std::optional<std::string>* a = cache.Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_THAT(*a, Optional(std::string("1")));
  const std::optional<std::string>* gone = cache.Find("gone");
  ASSERT_NE(gone, nullptr);
  EXPECT_EQ(*gone, std::nullopt);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.bytes(), Charge(1, 1) + Charge(4, 0));
}

TEST(StateCache, InsertReplacesAndReChargesAndEraseForgets) {
  StateCache cache(1 << 20);
  cache.Insert("k", std::string(100, 'x'));
  cache.Insert("k", std::string("y"));
  EXPECT_EQ(cache.bytes(), Charge(1, 1));
  EXPECT_THAT(*cache.Find("k"), Optional(std::string("y")));
  cache.Erase("k");
  EXPECT_EQ(cache.Find("k"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(StateCache, FillsExactlyToTheBoundAndEvictsEverythingOneByteBeyond) {
  // Two entries fill the bound exactly; a third entry of one byte more than
  // what is left drops both first.
  const size_t bound = Charge(1, 10) + Charge(1, 20);
  StateCache cache(bound);
  cache.Insert("a", std::string(10, 'a'));
  cache.Insert("b", std::string(20, 'b'));
  EXPECT_EQ(cache.bytes(), bound);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(cache.evictions(), 0u);
  cache.Insert("c", std::string(""));
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_THAT(*cache.Find("c"), Optional(std::string("")));
  EXPECT_EQ(cache.bytes(), Charge(1, 0));
  EXPECT_LE(cache.bytes(), cache.bytes_max());
}

TEST(StateCache, AnEntryLargerThanTheBoundIsNotKept) {
  StateCache cache(Charge(1, 10));
  cache.Insert("a", std::string(10, 'a'));  // exactly the bound: kept
  EXPECT_NE(cache.Find("a"), nullptr);
  cache.Insert("b", std::string(11, 'b'));  // one byte over: never fits
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("a"), nullptr);  // and costs nothing else
  EXPECT_EQ(cache.evictions(), 0u);
}

TEST(StateCache, EraseRangeHidesCoveredEntriesButNotLaterInserts) {
  StateCache cache(1 << 20);
  for (const char* key : {"a", "b", "c", "d"}) cache.Insert(key, std::string("v"));
  cache.EraseRange("b", "d");  // b, c
  cache.Insert("c", std::string("new"));  // after the range: kept
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_THAT(*cache.Find("c"), Optional(std::string("new")));
  EXPECT_NE(cache.Find("d"), nullptr);  // the end is exclusive
  EXPECT_EQ(cache.entries(), 3u);       // b was dropped when Find met it
  EXPECT_EQ(cache.bytes(), 2 * Charge(1, 1) + Charge(1, 3));
}

// Up to kStateCacheErasedRangesMax ranges are remembered; the next one first
// drops every covered entry in one pass (their bytes too) and starts over.
TEST(StateCache, ErasedRangesBeyondTheLimitAreAppliedInOnePass) {
  StateCache cache(1 << 20);
  const size_t n = kStateCacheErasedRangesMax + 1;
  for (size_t i = 0; i <= n; ++i) cache.Insert(absl::StrCat("k", i + 10), std::string("v"));
  for (size_t i = 0; i < kStateCacheErasedRangesMax; ++i) {
    cache.EraseRange(absl::StrCat("k", i + 10), absl::StrCat("k", i + 10, "~"));
  }
  EXPECT_EQ(cache.entries(), n + 1);  // recorded, not yet applied
  cache.EraseRange(absl::StrCat("k", n + 9), absl::StrCat("k", n + 9, "~"));  // the pass
  EXPECT_EQ(cache.entries(), 2u);  // the last range's key (until met) and the untouched one
  EXPECT_EQ(cache.Find(absl::StrCat("k", n + 9)), nullptr);
  EXPECT_NE(cache.Find(absl::StrCat("k", n + 10)), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), Charge(3, 1));
}

TEST(StateCache, ZeroBytesDisablesIt) {
  StateCache cache(0);
  EXPECT_FALSE(cache.enabled());
  cache.Insert("a", std::string("1"));
  EXPECT_EQ(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace leadlog::internal
