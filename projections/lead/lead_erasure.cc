// The lead fold's side of an erasure (engine/FORMAT.md "Erasure"): the
// engine rewrote the lead's earlier records redacted in the batch that
// appended the erasure record; here the fold redacts what it derived from
// them (traits, fit-rule trait values, hand-off actions in the outbox) with
// the same function, so the live state equals a rebuild of the rewritten log
// (invariant 5), and records the erasure on the lead.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/limits.h"
#include "engine/outbox.h"
#include "engine/redaction.h"
#include "engine/status_macros.h"
#include "projections/lead/lead_fold.h"

namespace leadlog {
namespace {

constexpr size_t kOutboxScanPage = 1024;

// A value at a dotted trait path ("address.city"): the personal key nearest
// the root decides (masked email or removed), else nested fields are redacted.
std::optional<google::protobuf::Value> RedactPath(absl::string_view path,
                                                  const google::protobuf::Value& value) {
  const std::vector<absl::string_view> keys = absl::StrSplit(path, '.');
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    if (IsPersonalField(keys[i])) return std::nullopt;  // inside a removed field
  }
  return RedactField(keys.back(), value, nullptr);
}

template <typename Trait>
void RedactTraits(google::protobuf::RepeatedPtrField<Trait>* traits) {
  google::protobuf::RepeatedPtrField<Trait> kept;
  for (Trait& t : *traits) {
    std::optional<google::protobuf::Value> v = RedactPath(t.name(), t.value());
    if (!v.has_value()) continue;
    *t.mutable_value() = *std::move(v);
    *kept.Add() = std::move(t);
  }
  traits->Swap(&kept);  // order kept: still sorted by name
}

// The hand-off actions of `lead` in the outbox, redacted in place.
absl::Status RedactOutbox(const v1::LeadState& lead, ProjectionTxn& txn) {
  std::set<std::string> keys(lead.identifiers().begin(), lead.identifiers().end());
  keys.insert(lead.lead_key());
  std::string after;
  for (;;) {
    ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page,
                     txn.Scan(kOutboxPrefix, after, kOutboxScanPage));
    for (ProjectionEntry& entry : page) {
      v1::Action action;
      if (!action.ParseFromString(entry.value)) {
        return absl::DataLossError(absl::StrCat("lead projection: undecodable outbox action at ",
                                                entry.key.size(), "-byte key"));
      }
      if (!action.has_handoff() || !keys.contains(action.lead_key())) continue;
      const int before = action.handoff().traits_size();
      const std::string old_bytes = SerializeDeterministic(action);
      RedactTraits(action.mutable_handoff()->mutable_traits());
      std::string new_bytes = SerializeDeterministic(action);
      if (new_bytes != old_bytes || before != action.handoff().traits_size()) {
        txn.Put(entry.key, std::move(new_bytes));
      }
    }
    if (page.size() < kOutboxScanPage) return absl::OkStatus();
    after = page.back().key;
  }
}

}  // namespace

void RedactLeadState(v1::LeadState* lead) {
  RedactTraits(lead->mutable_traits());
  RedactTraits(lead->mutable_score()->mutable_grade()->mutable_traits());
}

absl::Status LeadFold::ApplyErasure(const v1::LogRecord& record, ProjectionTxn& txn) {
  const v1::Erasure& erasure = record.event().erasure();
  std::set<std::string> leads;  // distinct, in key order: deterministic
  for (const std::string& key : erasure.lead_keys()) {
    ASSIGN_OR_RETURN(std::optional<std::string> lead, Resolve(txn, key));
    if (lead.has_value()) leads.insert(*lead);
  }
  for (const std::string& key : leads) {
    ASSIGN_OR_RETURN(v1::LeadState * lead, LoadLead(txn, key));
    if (lead == nullptr) continue;
    RedactLeadState(lead);
    v1::LeadErasure* e = lead->add_erasures();
    e->set_sequence(record.sequence());
    e->set_log_time_ms(record.log_time_ms());
    e->set_request_id(erasure.request_id());
    e->set_reason(erasure.reason());
    while (lead->erasures_size() > kLeadErasuresMax) lead->mutable_erasures()->DeleteSubrange(0, 1);
    MarkDirty(txn, key);
    RETURN_IF_ERROR(RedactOutbox(*lead, txn));
  }
  txn.Put(kLastErasureKey, lead_internal::BigEndian64(record.sequence()));
  return absl::OkStatus();
}

}  // namespace leadlog
