#include "projections/api/position.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "projections/api/limits.h"

namespace leadlog {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("min_position: ", why));
}

}  // namespace

absl::StatusOr<MinPosition> ParseMinPosition(absl::string_view text) {
  MinPosition out;
  if (text.empty()) return out;
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  if (parts.size() > kApiPositionShardsMax) {
    return Bad(absl::StrCat("more than ", kApiPositionShardsMax, " shards"));
  }
  for (absl::string_view part : parts) {
    uint32_t shard = 0;
    uint64_t sequence = 0;
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos && parts.size() == 1) {
      if (!absl::SimpleAtoi(part, &sequence) || part.empty() || part[0] == '-' || part[0] == '+') {
        return Bad(absl::StrCat("expected SEQUENCE or SHARD:SEQUENCE,..., got \"", part, "\""));
      }
    } else {
      absl::string_view s = part.substr(0, colon == absl::string_view::npos ? part.size() : colon);
      absl::string_view q = colon == absl::string_view::npos ? "" : part.substr(colon + 1);
      if (s.empty() || q.empty() || !isdigit(static_cast<unsigned char>(s[0])) ||
          !isdigit(static_cast<unsigned char>(q[0])) || !absl::SimpleAtoi(s, &shard) ||
          !absl::SimpleAtoi(q, &sequence)) {
        return Bad(absl::StrCat("expected SHARD:SEQUENCE, got \"", part, "\""));
      }
    }
    out.emplace_back(ShardId(shard), Sequence(sequence));
  }
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i) {
    if (out[i].first == out[i - 1].first) {
      return Bad(absl::StrCat("shard ", out[i].first.value(), " named twice"));
    }
  }
  return out;
}

bool Reached(const ProjectionRunner& runner, const MinPosition& min) {
  for (const auto& [shard, sequence] : min) {
    if (runner.Checkpoint(shard).value() < sequence.value()) return false;
  }
  return true;
}

v1::ApiPosition CurrentPosition(const ProjectionRunner& runner, const std::vector<ShardId>& shards) {
  v1::ApiPosition position;
  std::string token;
  for (ShardId shard : shards) {
    const uint64_t sequence = runner.Checkpoint(shard).value();
    v1::ApiPosition::Shard* s = position.add_shards();
    s->set_shard(shard.value());
    s->set_sequence(sequence);
    absl::StrAppend(&token, token.empty() ? "" : ",", shard.value(), ":", sequence);
  }
  position.set_token(token);
  return position;
}

void PositionWaiter::Notify() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  changed_.SignalAll();
}

int PositionWaiter::waiters() const {
  absl::MutexLock lock(&mu_);
  return waiters_;
}

absl::StatusOr<bool> PositionWaiter::Wait(const std::function<bool()>& reached,
                                          absl::Duration timeout) {
  if (reached()) return true;
  const absl::Time deadline = absl::Now() + timeout;
  {
    absl::MutexLock lock(&mu_);
    if (waiters_ >= kApiWaitersMax) {
      return absl::ResourceExhaustedError(
          absl::StrCat("min_position: ", kApiWaitersMax, " requests already wait"));
    }
    ++waiters_;
  }
  bool ok = false;
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = generation_;
    }
    // Checked after reading the generation: a Notify in between is not lost.
    ok = reached();
    if (ok || absl::Now() >= deadline) break;
    absl::MutexLock lock(&mu_);
    while (generation_ == seen) {
      if (changed_.WaitWithDeadline(&mu_, deadline)) break;  // timed out
    }
  }
  absl::MutexLock lock(&mu_);
  --waiters_;
  return ok;
}

}  // namespace leadlog
