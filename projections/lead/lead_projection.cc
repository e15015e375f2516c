// Design note: the active runner is a shared_ptr swapped under mu_, so
// readers hold a snapshot while a rebuild switches versions. The rebuild's
// bulk fold runs without catch_up_mu_; only its last short catch-up and the
// switch hold it, which is when live ingest waits. The bulk fold runs
// shards on up to rebuild_fold_threads threads: the runner serialises
// CatchUp per shard only, and LeadFold keeps its chunk state per txn.
#include "projections/lead/lead_projection.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/changes.h"
#include "engine/cursors.h"
#include "engine/status_macros.h"

namespace leadlog {

LeadProjection::LeadProjection(EventLog* log, LeadProjectionOptions options)
    : log_(log), options_(options) {}

namespace {

// The threads to fold `shards` shards on (options checked by Open).
uint32_t FoldThreads(uint32_t requested, size_t shards) {
  uint32_t threads = requested;
  if (threads == 0) {
    threads = std::clamp<uint32_t>(std::thread::hardware_concurrency(), 1, kRebuildFoldThreadsMax);
  }
  return static_cast<uint32_t>(std::clamp<size_t>(shards, 1, threads));
}

// Runs `fold(shard)` for every shard on `threads` threads (each takes the
// next shard not yet taken). Returns the first error; once one failed, the
// threads take no further shard.
absl::Status FoldShardsInParallel(const std::vector<ShardId>& shards, uint32_t threads,
                                  const std::function<absl::Status(ShardId)>& fold) {
  std::atomic<size_t> next{0};
  absl::Mutex mu;
  absl::Status first_error;
  auto worker = [&] {
    for (size_t i = next++; i < shards.size(); i = next++) {
      absl::Status status = fold(shards[i]);
      if (status.ok()) continue;
      absl::MutexLock lock(&mu);
      if (first_error.ok()) first_error = std::move(status);
      next = shards.size();
      return;
    }
  };
  std::vector<std::thread> pool;
  for (uint32_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& thread : pool) thread.join();
  absl::MutexLock lock(&mu);
  return first_error;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LeadProjection>> LeadProjection::Open(EventLog* log,
                                                                     LeadProjectionOptions options) {
  if (options.rebuild_fold_threads > kRebuildFoldThreadsMax) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rebuild_fold_threads: ", options.rebuild_fold_threads,
        ", expected 0 (automatic) or 1..kRebuildFoldThreadsMax (", kRebuildFoldThreadsMax, ")"));
  }
  std::unique_ptr<LeadProjection> p(new LeadProjection(log, options));
  ASSIGN_OR_RETURN(p->catalog_, ProjectionCatalog::Create(log));
  const std::string name(kLeadProjectionName);
  ASSIGN_OR_RETURN(std::optional<uint32_t> active, p->catalog_->ActiveVersion(name));
  if (!active.has_value()) {
    if (options.read_only) {
      return absl::FailedPreconditionError(
          "lead projection: no active version (run `leadlog serve`, `leadlog ingest` or "
          "`leadlog rebuild` on this data dir first)");
    }
    ASSIGN_OR_RETURN(std::vector<uint32_t> versions, p->catalog_->Versions(name));
    active = versions.empty() ? kLeadProjectionVersion
                              : std::max(kLeadProjectionVersion, versions.back());
  }
  ProjectionRunnerOptions runner_options;
  runner_options.sync_per_commit = options.sync_live;
  runner_options.family_version = *active;
  ASSIGN_OR_RETURN(std::unique_ptr<ProjectionRunner> runner,
                   ProjectionRunner::Create(log, &p->fold_, runner_options));
  if (!options.read_only) RETURN_IF_ERROR(p->catalog_->SetActiveVersion(name, *active));
  absl::MutexLock lock(&p->mu_);
  p->active_ = std::move(runner);
  p->active_version_ = *active;
  return p;
}

std::shared_ptr<const ProjectionRunner> LeadProjection::runner() const {
  absl::MutexLock lock(&mu_);
  return active_;
}

uint32_t LeadProjection::active_version() const {
  absl::MutexLock lock(&mu_);
  return active_version_;
}

absl::StatusOr<LeadProjection::CurrentLead> LeadProjection::ReadLead(
    ShardId shard, absl::string_view lead_key) const {
  std::shared_ptr<const ProjectionRunner> active = runner();
  CurrentLead lead;
  lead.position = active->Checkpoint(shard);
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, active->Get(shard, LeadStateKey(lead_key)));
  if (bytes.has_value()) {
    lead.state.emplace();
    if (!lead.state->ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("lead projection: undecodable lead \"", lead_key,
                                              "\" in shard ", shard.value()));
    }
    RETURN_IF_ERROR(MergeStoredRevenue(*active, shard, &*lead.state));
    return lead;
  }
  ASSIGN_OR_RETURN(std::optional<FoundLead> survivor, FindLead(*active, {shard}, lead_key));
  if (survivor.has_value() && survivor->state.lead_key() != lead_key) {
    lead.merged_into = survivor->state.lead_key();
  }
  return lead;
}

absl::Status LeadProjection::PruneChanges(ShardId shard, absl::string_view through_key) {
  std::shared_ptr<ProjectionRunner> active;
  {
    absl::MutexLock lock(&mu_);
    active = active_;
  }
  return active->Prune(shard, kChangePrefix, through_key, /*sync=*/false);
}

absl::Status LeadProjection::CatchUp(const std::vector<ShardId>& shards, uint32_t threads) {
  // Shared: live catch-ups of different shards run concurrently (the
  // runner serialises each shard; the live projector's threads fold
  // different shards); the rebuild's switch takes it exclusively.
  absl::ReaderMutexLock catch_up(&catch_up_mu_);
  std::shared_ptr<ProjectionRunner> runner;
  {
    absl::MutexLock lock(&mu_);
    runner = active_;
  }
  return FoldShardsInParallel(shards, std::max<uint32_t>(threads, 1),
                              [&](ShardId shard) -> absl::Status {
                                RETURN_IF_ERROR(runner->CatchUp(shard).status());
                                return PurgeAfterErasure(*runner, shard);
                              });
}

absl::Status LeadProjection::PurgeAfterErasure(const ProjectionRunner& runner, ShardId shard) {
  if (options_.read_only) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> applied, runner.Get(shard, kLastErasureKey));
  if (!applied.has_value()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> purged, LoadCursor(log_, kErasurePurgeCursor, shard));
  if (purged.has_value() && *purged >= *applied) return absl::OkStatus();  // BE64: bytes order
  RETURN_IF_ERROR(log_->PurgeErased(shard));
  return StoreCursor(log_, kErasurePurgeCursor, shard, *applied, /*sync=*/true);
}

absl::Status LeadProjection::CatchUpAll() { return CatchUp(log_->Shards()); }

absl::StatusOr<RebuildReport> LeadProjection::Rebuild(
    const std::function<void(uint64_t)>& progress) {
  if (options_.read_only) return absl::FailedPreconditionError("rebuild: projection opened read-only");
  const std::string name(kLeadProjectionName);
  RebuildReport report;
  report.old_version = active_version();
  ASSIGN_OR_RETURN(std::vector<uint32_t> versions, catalog_->Versions(name));
  report.new_version = std::max(report.old_version, versions.empty() ? 0u : versions.back()) + 1;
  ProjectionRunnerOptions runner_options;
  runner_options.sync_per_commit = true;
  runner_options.family_version = report.new_version;
  ASSIGN_OR_RETURN(std::unique_ptr<ProjectionRunner> fresh,
                   ProjectionRunner::Create(log_, &fold_, runner_options));
  const auto started = std::chrono::steady_clock::now();
  // Bulk phase: the active version keeps serving and catching up; shards
  // fold in parallel, the longest first (a long shard started last would
  // leave the other threads idle at the end).
  std::vector<ShardId> shards = log_->Shards();
  std::stable_sort(shards.begin(), shards.end(), [&](ShardId a, ShardId b) {
    return log_->Position(a).value() > log_->Position(b).value();
  });
  absl::Mutex progress_mu;
  RETURN_IF_ERROR(FoldShardsInParallel(
      shards, FoldThreads(options_.rebuild_fold_threads, shards.size()),
      [&](ShardId shard) -> absl::Status {
        const Sequence before = fresh->Checkpoint(shard);
        ASSIGN_OR_RETURN(Sequence after, fresh->CatchUp(shard));
        absl::MutexLock lock(&progress_mu);
        report.records += after.value() - before.value();
        if (progress) progress(report.records);
        return absl::OkStatus();
      }));
  // Final phase: no live catch-up runs while the last records are folded
  // into both versions and the active version switches.
  absl::WriterMutexLock catch_up(&catch_up_mu_);
  std::shared_ptr<ProjectionRunner> old;
  {
    absl::MutexLock lock(&mu_);
    old = active_;
  }
  report.identical = old != nullptr;
  for (ShardId shard : log_->Shards()) {
    const Sequence before = fresh->Checkpoint(shard);
    ASSIGN_OR_RETURN(Sequence checkpoint, fresh->CatchUp(shard));
    report.records += checkpoint.value() - before.value();
    RebuildReport::Shard s{shard, checkpoint, "", ""};
    ASSIGN_OR_RETURN(s.new_digest, fresh->StateDigest(shard));
    if (old != nullptr) {
      ASSIGN_OR_RETURN(Sequence old_checkpoint, old->CatchUp(shard));
      if (old_checkpoint == checkpoint) {
        ASSIGN_OR_RETURN(s.old_digest, old->StateDigest(shard));
      }
      report.identical = report.identical && !s.old_digest.empty() && s.old_digest == s.new_digest;
    }
    report.shards.push_back(std::move(s));
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report.cache = fresh->Stats();
  report.decoded = fold_.decoded_leads_stats();
  RETURN_IF_ERROR(catalog_->SetActiveVersion(name, report.new_version));
  {
    absl::MutexLock lock(&mu_);
    active_ = std::move(fresh);
    active_version_ = report.new_version;
  }
  // Older versions are dropped once nothing uses them: a reader holding a
  // snapshot of the old runner keeps reading it until it lets go, so drop
  // only the versions below the old one now, and the old one when this
  // process holds the only reference.
  for (uint32_t v : versions) {
    if (v == report.new_version) continue;
    if (v == report.old_version && old.use_count() > 1) continue;
    if (v == report.old_version) old.reset();
    RETURN_IF_ERROR(catalog_->DropVersion(name, v));
  }
  return report;
}

}  // namespace leadlog
