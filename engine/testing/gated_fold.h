// GatedFold: a ProjectionFold for tests of live projection (engine's
// LiveProjector, serve's ingest wiring) that counts records per user and in
// total, and whose Apply waits while its gate is closed: how a test makes a
// projection lag behind ingest on purpose.
//
// Thread-safety: SetOpen from any thread; Apply on the runner's thread.
//
//   GatedFold fold;
//   fold.SetOpen(false);   // the next Apply blocks
//   ...;                   // ingest runs ahead
//   fold.SetOpen(true);    // the projection catches up
#ifndef LEADLOG_ENGINE_TESTING_GATED_FOLD_H_
#define LEADLOG_ENGINE_TESTING_GATED_FOLD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "engine/projection.h"

namespace leadlog::testing {

class GatedFold final : public ProjectionFold {
 public:
  std::string name() const override { return "gated"; }
  uint32_t version() const override { return 1; }
  // "total" and "n/<user id or anonymous id>" count the records folded.
  absl::Status Apply(ShardId, const v1::LogRecord& record, ProjectionTxn& txn) override {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&open_));
    }
    const v1::Event& event = record.event();
    const std::string who = event.user_id().empty() ? event.anonymous_id() : event.user_id();
    for (const std::string& key : {std::string("total"), "n/" + who}) {
      absl::StatusOr<std::optional<std::string>> old = txn.Get(key);
      if (!old.ok()) return old.status();
      uint64_t n = 0;
      if (old->has_value() && !absl::SimpleAtoi(**old, &n)) {
        return absl::DataLossError(absl::StrCat("gated fold: ", key, ": not a count"));
      }
      txn.Put(key, absl::StrCat(n + 1));
    }
    return absl::OkStatus();
  }
  void SetOpen(bool open) {
    absl::MutexLock lock(&mu_);
    open_ = open;
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
};

}  // namespace leadlog::testing

#endif  // LEADLOG_ENGINE_TESTING_GATED_FOLD_H_
