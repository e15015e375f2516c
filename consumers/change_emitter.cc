#include "consumers/change_emitter.h"

#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "consumers/kafka_util.h"
#include "engine/changes.h"
#include "engine/limits.h"
#include "engine/proto_json.h"
#include "engine/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace leadlog {

namespace {

absl::StatusOr<std::string> RenderLead(const v1::LeadState& lead, ChangeFormat format) {
  std::string out;
  if (format == ChangeFormat::kProtobuf) {
    bool serialized = false;
    {  // the streams trim `out` when they go
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      serialized = lead.SerializeToCodedStream(&coded);
    }
    if (!serialized) {
      return absl::InternalError(absl::StrCat("lead ", lead.lead_key(), ": serialize failed"));
    }
    return out;
  }
  auto status = AppendProtoJson(lead, ProtoJsonOptions{}, &out);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("lead ", lead.lead_key(), ": JSON: ", status.ToString()));
  }
  return out;
}

}  // namespace

absl::StatusOr<ChangeFormat> ParseChangeFormat(absl::string_view text) {
  if (text == "json") return ChangeFormat::kJson;
  if (text == "protobuf") return ChangeFormat::kProtobuf;
  return absl::InvalidArgumentError(
      absl::StrCat("changes format: \"", absl::CEscape(text), "\", expected json or protobuf"));
}

bool ChangeEncoder::ParseKey(absl::string_view key, Sequence* sequence) const {
  std::string lead;
  return ParseChangeKey(key, sequence, &lead);
}

void ChangeEncoder::BeginRound() const { cache_.clear(); }

absl::StatusOr<const ChangeEncoder::Rendered*> ChangeEncoder::Render(
    ShardId shard, const std::string& lead_key) const {
  if (shard != cached_shard_) {
    cache_.clear();
    cached_shard_ = shard;
  }
  if (auto it = cache_.find(lead_key); it != cache_.end()) return &it->second;
  ASSIGN_OR_RETURN(LeadRead read, reader_->Read(shard, lead_key));
  Rendered rendered;
  rendered.position = read.position;
  if (read.state.has_value()) {
    ASSIGN_OR_RETURN(rendered.value, RenderLead(*read.state, format_));
  } else {
    rendered.merged_into = std::move(read.merged_into);
  }
  return &cache_.emplace(lead_key, std::move(rendered)).first->second;
}

absl::Status ChangeEncoder::Encode(ShardId shard, const ProjectionEntry& entry,
                                   EmitterMessage* message) const {
  Sequence sequence;
  std::string lead_key;
  if (!ParseChangeKey(entry.key, &sequence, &lead_key) || !entry.value.empty()) {
    return absl::DataLossError(absl::StrCat("changes of shard ", shard.value(), ": malformed entry ",
                                            absl::BytesToHexString(entry.key), " (",
                                            entry.value.size(), "-byte value)"));
  }
  ASSIGN_OR_RETURN(const Rendered* rendered, Render(shard, lead_key));
  message->key = lead_key;
  message->value = rendered->value;
  message->headers = {{kChangeSequenceHeader, std::to_string(sequence.value())},
                      {kChangePositionHeader, std::to_string(rendered->position.value())}};
  if (!rendered->value.has_value()) {
    message->headers.emplace_back(kChangeMergedIntoHeader, rendered->merged_into);
  } else {
    message->headers.emplace_back("content-type", format_ == ChangeFormat::kJson
                                                      ? "application/json"
                                                      : "application/x-protobuf");
  }
  return absl::OkStatus();
}

OutboxEmitterOptions ChangeStreamOptions(std::string brokers, const ChangeEncoder* encoder) {
  OutboxEmitterOptions options;
  options.brokers = std::move(brokers);
  options.topic = kLeadsTopic;
  options.encoder = encoder;
  options.cursor_name = kChangesCursorName;
  options.position_header = kChangeKeyHeader;
  options.prune_entries_min = kChangesPruneEntriesMin;
  return options;
}

}  // namespace leadlog
