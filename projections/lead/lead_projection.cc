// Design note: the active runner is a shared_ptr swapped under mu_, so
// readers hold a snapshot while a rebuild switches versions. The rebuild's
// bulk fold runs without catch_up_mu_; only its last short catch-up and the
// switch hold it, which is when live ingest waits.
#include "projections/lead/lead_projection.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/changes.h"
#include "engine/cursors.h"
#include "engine/status_macros.h"

namespace leadlog {

LeadProjection::LeadProjection(EventLog* log, LeadProjectionOptions options)
    : log_(log), options_(options) {}

absl::StatusOr<std::unique_ptr<LeadProjection>> LeadProjection::Open(EventLog* log,
                                                                     LeadProjectionOptions options) {
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

absl::Status LeadProjection::CatchUp(const std::vector<ShardId>& shards) {
  absl::MutexLock catch_up(&catch_up_mu_);
  std::shared_ptr<ProjectionRunner> runner;
  {
    absl::MutexLock lock(&mu_);
    runner = active_;
  }
  for (ShardId shard : shards) {
    RETURN_IF_ERROR(runner->CatchUp(shard).status());
    RETURN_IF_ERROR(PurgeAfterErasure(*runner, shard));
  }
  return absl::OkStatus();
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
  // Bulk phase: the active version keeps serving and catching up.
  for (ShardId shard : log_->Shards()) {
    const Sequence before = fresh->Checkpoint(shard);
    ASSIGN_OR_RETURN(Sequence after, fresh->CatchUp(shard));
    report.records += after.value() - before.value();
    if (progress) progress(report.records);
  }
  // Final phase: no live catch-up runs while the last records are folded
  // into both versions and the active version switches.
  absl::MutexLock catch_up(&catch_up_mu_);
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
