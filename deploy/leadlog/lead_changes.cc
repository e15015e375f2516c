#include "deploy/leadlog/lead_changes.h"

#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/changes.h"
#include "engine/cursors.h"
#include "engine/status_macros.h"
#include "engine/thread_priority.h"

namespace leadlog {

std::vector<ShardId> LeadChangeSource::Shards() const { return projection_->log()->Shards(); }

absl::StatusOr<std::vector<ProjectionEntry>> LeadChangeSource::Read(ShardId shard,
                                                                    absl::string_view after_key,
                                                                    size_t limit) const {
  return projection_->runner()->Scan(shard, kChangePrefix, after_key, limit);
}

absl::Status LeadChangeSource::Prune(ShardId shard, absl::string_view through_key) const {
  return projection_->PruneChanges(shard, through_key);
}

absl::StatusOr<LeadRead> LeadChangeReader::Read(ShardId shard, absl::string_view lead_key) const {
  ASSIGN_OR_RETURN(LeadProjection::CurrentLead lead, projection_->ReadLead(shard, lead_key));
  LeadRead read;
  read.position = lead.position;
  read.state = std::move(lead.state);
  read.merged_into = std::move(lead.merged_into);
  return read;
}

ChangeStream::ChangeStream(LeadProjection* projection, ChangeFormat format)
    : source_(projection), reader_(projection), encoder_(&reader_, format) {}

absl::StatusOr<std::unique_ptr<ChangeStream>> ChangeStream::Start(EventLog* log,
                                                                   LeadProjection* projection,
                                                                   Options options) {
  std::unique_ptr<ChangeStream> stream(new ChangeStream(projection, options.format));
  OutboxEmitterOptions emitter_options = ChangeStreamOptions(options.brokers, &stream->encoder_);
  emitter_options.topic = options.topic;
  emitter_options.properties = options.properties;
  ASSIGN_OR_RETURN(stream->emitter_,
                   OutboxEmitter::Create(log, &stream->source_, std::move(emitter_options)));
  ChangeStream* raw = stream.get();
  stream->thread_ = std::thread([raw] {
    NameThisThread("ll-changes");
    LowerThreadToBackground().IgnoreError();  // throughput work: --background-nice
    raw->run_status_ = raw->emitter_->Run(raw->stop_);
    if (!raw->run_status_.ok()) {
      std::cerr << "leadlog: change stream stopped: " << raw->run_status_ << "\n";
    }
  });
  return stream;
}

ChangeStream::~ChangeStream() { Stop().IgnoreError(); }

void ChangeStream::Notify() { emitter_->Notify(); }

absl::Status ChangeStream::Stop() {
  if (stopped_ || emitter_ == nullptr) return absl::OkStatus();
  stopped_ = true;
  stop_.store(true);
  emitter_->Notify();
  thread_.join();
  RETURN_IF_ERROR(run_status_);
  return emitter_->EmitOnce().status();
}

absl::StatusOr<std::vector<ChangeBacklog>> ChangeBacklogs(const EventLog* log,
                                                          const LeadProjection& projection,
                                                          size_t limit) {
  std::vector<ChangeBacklog> out;
  std::shared_ptr<const ProjectionRunner> runner = projection.runner();
  for (ShardId shard : log->Shards()) {
    ChangeBacklog b;
    b.shard = shard;
    b.checkpoint = runner->Checkpoint(shard);
    ASSIGN_OR_RETURN(std::optional<std::string> cursor, LoadCursor(log, kChangesCursorName, shard));
    std::string lead;
    if (cursor.has_value() && !cursor->empty()) {
      if (!ParseChangeKey(*cursor, &b.delivered_through, &lead)) {
        return absl::DataLossError(absl::StrCat("cursor ", kChangesCursorName, " of shard ",
                                                shard.value(), ": not a change key (",
                                                absl::BytesToHexString(*cursor), ")"));
      }
      b.has_cursor = true;
    }
    // Counted a page at a time (entries are small, the backlog may not be).
    std::string after = cursor.value_or("");
    while (b.pending < limit) {
      const size_t page_max = std::min<size_t>(4096, limit - b.pending);
      ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page,
                       runner->Scan(shard, kChangePrefix, after, page_max));
      b.pending += page.size();
      if (page.size() < page_max) break;
      after = page.back().key;
    }
    out.push_back(b);
  }
  return out;
}

}  // namespace leadlog
