// Design note: one record is applied to one lead in a fixed order (resolve
// identity and merge, profile, engagement, score, lifecycle, owner facts,
// hand-off) so that every derived value is a function of the records before
// it. Definitions are looked up per record from state ("d/f/<kind>"), and
// compiled once per distinct definition.
#include "projections/lead/lead_fold.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/changes.h"
#include "engine/limits.h"
#include "engine/outbox.h"
#include "engine/status_macros.h"
#include "engine/timers.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "projections/definitions/definition.h"
#include "projections/definitions/owner_routing.h"
#include "projections/flows/conditions.h"
#include "projections/flows/flow_engine.h"
#include "projections/lifecycle/lifecycle.h"
#include "projections/lifecycle/lifecycle_model.h"
#include "projections/lifecycle/merge.h"
#include "projections/revenue/revenue_engine.h"
#include "projections/scoring/merge.h"
#include "projections/scoring/scorer.h"

namespace leadlog {

std::string lead_internal::BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t lead_internal::FromBigEndian64(absl::string_view s) {
  uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

std::string lead_internal::BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

namespace {

using lead_internal::BigEndian64;
using lead_internal::FromBigEndian64;
using lead_internal::BigEndian32;

constexpr int kResolveHopsMax = 8;

template <typename Message>
absl::StatusOr<std::optional<Message>> GetMessage(ProjectionTxn& txn, absl::string_view key) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn.Get(key));
  if (!bytes.has_value()) return std::optional<Message>();
  Message message;
  if (!message.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("lead projection: undecodable value at key \"", key,
                                            "\""));
  }
  return std::optional<Message>(std::move(message));
}

bool CountsBefore(const v1::EngagementCount& a, const v1::EngagementCount& b) {
  if (a.count() != b.count()) return a.count() > b.count();
  return a.key() < b.key();
}

// Top-K counter list: increments `key`; a new key evicts the least counted
// entry (ties: the greatest key) when the list is full. Sorted by count
// descending, then key (keys are distinct). The list is sorted before the
// increment and only the counted entry moves, towards the front: one
// insertion step gives what sorting the whole list would (without a sort's
// buffer per record).
void Count(google::protobuf::RepeatedPtrField<v1::EngagementCount>* list, absl::string_view key,
           int64_t log_time_ms) {
  if (key.empty()) return;
  int index = -1;
  for (int i = 0; i < list->size(); ++i) {
    if (list->Get(i).key() == key) index = i;
  }
  if (index < 0) {
    if (list->size() >= kLeadEngagementKeysMax) list->RemoveLast();  // sorted: last is least
    list->Add()->set_key(std::string(key));
    index = list->size() - 1;
  }
  v1::EngagementCount* entry = list->Mutable(index);
  entry->set_count(entry->count() + 1);
  entry->set_last_log_time_ms(log_time_ms);
  for (; index > 0 && CountsBefore(list->Get(index), list->Get(index - 1)); --index) {
    list->SwapElements(index, index - 1);
  }
}

void MergeCounts(const google::protobuf::RepeatedPtrField<v1::EngagementCount>& from,
                 google::protobuf::RepeatedPtrField<v1::EngagementCount>* into) {
  for (const v1::EngagementCount& e : from) {
    bool found = false;
    for (v1::EngagementCount& mine : *into) {
      if (mine.key() != e.key()) continue;
      mine.set_count(mine.count() + e.count());
      mine.set_last_log_time_ms(std::max(mine.last_log_time_ms(), e.last_log_time_ms()));
      found = true;
    }
    if (!found) *into->Add() = e;
  }
  std::stable_sort(into->begin(), into->end(), CountsBefore);
  while (into->size() > kLeadEngagementKeysMax) into->RemoveLast();
}

std::string StringProperty(const v1::Event& event, absl::string_view name) {
  auto it = event.properties().fields().find(std::string(name));
  if (it == event.properties().fields().end() || !it->second.has_string_value()) return "";
  return it->second.string_value();
}

void UpdateEngagement(const v1::LogRecord& record, v1::EngagementSummary* summary) {
  const v1::Event& event = record.event();
  const int64_t t = record.log_time_ms();
  if (summary->events() == 0) summary->set_first_seen_ms(t);
  summary->set_events(summary->events() + 1);
  summary->set_last_activity_ms(t);
  if (event.type() == v1::CALL_TYPE_PAGE) Count(summary->mutable_pages(), event.context().page_path(), t);
  if (event.type() != v1::CALL_TYPE_TRACK) return;
  if (std::string id = StringProperty(event, "content_id"); !id.empty()) {
    Count(summary->mutable_content(), id, t);
  } else if (std::string webinar = StringProperty(event, "webinar_id"); !webinar.empty()) {
    Count(summary->mutable_content(), absl::StrCat("webinar:", webinar), t);
  }
  if (std::string campaign = StringProperty(event, "campaign_id"); !campaign.empty()) {
    Count(summary->mutable_emails(), campaign, t);
  } else if (std::string email = StringProperty(event, "email_id"); !email.empty()) {
    Count(summary->mutable_emails(), email, t);
  }
}

// Sets top-level traits (latest wins), sorted by name, bounded.
void SetTrait(v1::LeadState* lead, const std::string& name, const google::protobuf::Value& value,
              uint64_t sequence, int64_t log_time_ms) {
  auto* traits = lead->mutable_traits();
  auto it = std::lower_bound(traits->begin(), traits->end(), name,
                             [](const v1::ProfileTrait& t, const std::string& n) {
                               return t.name() < n;
                             });
  if (it != traits->end() && it->name() == name) {
    if (it->sequence() > sequence) return;  // a later record set it (merge)
  } else {
    if (traits->size() >= kLeadProfileTraitsMax) return;  // bounded: new names dropped
    v1::ProfileTrait fresh;
    fresh.set_name(name);
    const int index = static_cast<int>(it - traits->begin());
    traits->Add(std::move(fresh));
    for (int i = traits->size() - 1; i > index; --i) traits->SwapElements(i, i - 1);
    it = traits->begin() + index;
  }
  *it->mutable_value() = value;
  it->set_sequence(sequence);
  it->set_log_time_ms(log_time_ms);
}

google::protobuf::Struct TraitStruct(const v1::LeadState& lead) {
  google::protobuf::Struct traits;
  for (const v1::ProfileTrait& t : lead.traits()) (*traits.mutable_fields())[t.name()] = t.value();
  return traits;
}

void AddIdentifier(v1::LeadState* lead, const std::string& identifier) {
  auto* ids = lead->mutable_identifiers();
  auto it = std::lower_bound(ids->begin(), ids->end(), identifier);
  if (it != ids->end() && *it == identifier) return;
  if (ids->size() >= kLeadIdentifiersMax) return;  // the index still resolves it
  const int index = static_cast<int>(it - ids->begin());
  ids->Add(std::string(identifier));
  for (int i = ids->size() - 1; i > index; --i) ids->SwapElements(i, i - 1);
}

}  // namespace

void lead_internal::SetOwner(v1::LeadState* lead, const std::string& owner, std::string cause,
                             const v1::LogRecord& record) {
  v1::OwnerChange* change = lead->add_owner_history();
  change->set_owner_id(owner);
  change->set_previous_owner_id(lead->owner_id());
  change->set_cause(std::move(cause));
  change->set_sequence(record.sequence());
  change->set_log_time_ms(record.log_time_ms());
  lead->set_owner_id(owner);
  while (lead->owner_history_size() > kLeadOwnerHistoryMax) {
    lead->mutable_owner_history()->DeleteSubrange(0, 1);
  }
}

void lead_internal::ApplyOpsStage(const Lifecycle& lifecycle, const v1::LogRecord& record,
                                  const std::string& stage, const std::string& reason,
                                  const std::string& rule, v1::LifecycleState* state) {
  if (state->current_stage() == stage) return;
  const v1::LifecycleModel& model = lifecycle.model();
  bool allowed = false;
  for (const v1::LifecycleTransition& t : model.transitions()) {
    allowed = allowed || (t.from_stage() == state->current_stage() && t.to_stage() == stage);
  }
  v1::TransitionCause cause;
  cause.set_rule_id(rule);
  cause.set_definition_id(model.id());
  cause.set_definition_version(model.version());
  cause.add_record_sequences(record.sequence());
  if (!allowed) {
    v1::RejectedTransition* r = state->add_rejected();
    r->set_from_stage(state->current_stage());
    r->set_attempted_to_stage(stage);
    r->set_log_time_ms(record.log_time_ms());
    *r->mutable_cause() = cause;
    r->set_actor(v1::ACTOR_OPS);
    r->set_reason(reason);
    r->set_why(absl::StrCat("transition \"", state->current_stage(), "\" -> \"", stage,
                            "\" not allowed"));
    while (state->rejected_size() > kLifecycleRejectedMax) {
      state->mutable_rejected()->DeleteSubrange(0, 1);
      state->set_rejected_dropped(state->rejected_dropped() + 1);
    }
    return;
  }
  v1::StageTransition* t = state->add_history();
  t->set_from_stage(state->current_stage());
  t->set_to_stage(stage);
  t->set_log_time_ms(record.log_time_ms());
  *t->mutable_cause() = cause;
  t->set_actor(v1::ACTOR_OPS);
  t->set_reason(reason);
  state->set_current_stage(stage);
  state->set_entered_at_ms(record.log_time_ms());
  while (state->history_size() > kLifecycleHistoryMax) {
    state->mutable_history()->DeleteSubrange(0, 1);
    state->set_history_dropped(state->history_dropped() + 1);
  }
}

namespace {

// The identifiers an event names, in the order a new lead picks its key.
std::vector<std::string> IdentifiersOf(const v1::Event& event) {
  std::vector<std::string> ids;
  if (!event.anonymous_id().empty()) ids.push_back(absl::StrCat("a:", event.anonymous_id()));
  if (!event.user_id().empty()) ids.push_back(absl::StrCat("u:", event.user_id()));
  return ids;
}

}  // namespace

std::string LeadStateKey(absl::string_view lead_key) { return absl::StrCat(kLeadStatePrefix, lead_key); }
std::string LeadRevenueKey(absl::string_view lead_key) {
  return absl::StrCat(kLeadRevenuePrefix, lead_key);
}
std::string IdentifierKey(absl::string_view identifier) { return absl::StrCat("i/", identifier); }
std::string DefinitionInForceKey(absl::string_view kind) { return absl::StrCat("d/f/", kind); }

std::string SerializeDeterministic(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    LEADLOG_CHECK(message.SerializeToCodedStream(&coded)) << "serialization failed";
  }
  return bytes;
}

LeadFold::LeadFold(LeadFoldOptions options)
    : options_(options), decoded_(options.decoded_cache_bytes) {
  absl::StatusOr<std::unique_ptr<Lifecycle>> lifecycle = Lifecycle::Create(DefaultLifecycleModel());
  LEADLOG_CHECK_OK(lifecycle.status());
  default_lifecycle_ = *std::move(lifecycle);
}

namespace {

// Bumped whenever any LeadFold drops a chunk's state (and when a fold is
// destroyed), so a memo naming a dropped chunk, or a new chunk at a reused
// address, never matches.
std::atomic<uint64_t> chunk_drops{0};

}  // namespace

LeadFold::~LeadFold() { chunk_drops.fetch_add(1, std::memory_order_acq_rel); }

absl::Status LeadFold::Apply(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) {
  BeginRecord(shard, txn, record);
  // Timers that log time has passed fire first, in due order, whatever the
  // record is (a ClockTick exists to make them fire on an idle shard).
  RETURN_IF_ERROR(FireDueTimers(shard, record, txn));
  if (!record.has_event()) return absl::OkStatus();  // ClockTick: score decay is lazy
  if (record.event().type() == v1::CALL_TYPE_DEFINITION) {
    Definitions(txn) = ChunkDefinitions{};
    absl::Status status = ApplyDefinition(shard, record, txn);
    Definitions(txn) = ChunkDefinitions{};
    return status;
  }
  if (record.event().type() == v1::CALL_TYPE_ERASURE) return ApplyErasure(record, txn);
  if (IdentifiersOf(record.event()).empty()) return absl::OkStatus();
  return ApplyEvent(shard, record, txn);
}

absl::Status LeadFold::ApplyDefinition(ShardId shard, const v1::LogRecord& record,
                                       ProjectionTxn& txn) {
  const v1::Definition& definition = record.event().definition();
  v1::DefinitionRecord entry;
  *entry.mutable_definition() = definition;
  entry.set_sequence(record.sequence());
  entry.set_log_time_ms(record.log_time_ms());
  absl::Status valid = ValidateDefinition(definition);
  const std::string kind = DefinitionKind(definition);
  // Flows: one in force per flow id; other kinds: one per kind.
  const std::string in_force_key =
      kind == "nurture_flow" ? absl::StrCat(DefinitionInForceKey(kind), "/", DefinitionId(definition))
                             : DefinitionInForceKey(kind);
  std::optional<v1::DefinitionRecord> in_force;
  if (!valid.ok()) {
    entry.set_why(std::string(valid.message()));
  } else {
    ASSIGN_OR_RETURN(in_force, GetMessage<v1::DefinitionRecord>(txn, in_force_key));
    const uint32_t version = DefinitionVersion(definition);
    if (in_force.has_value() && DefinitionId(in_force->definition()) == DefinitionId(definition) &&
        DefinitionVersion(in_force->definition()) >= version) {
      entry.set_why(absl::StrCat("version ", version, " is not above version ",
                                 DefinitionVersion(in_force->definition()), " in force"));
    } else if (kind == "revenue_rules") {
      // Stage ids are checked against the lifecycle model in force now.
      ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
      absl::Status matches =
          CheckRevenueRulesAgainstLifecycle(definition.revenue_rules(), lifecycle->model());
      if (matches.ok()) {
        entry.set_accepted(true);
      } else {
        entry.set_why(absl::StrCat("revenue_rules: ", matches.message()));
      }
    } else {
      entry.set_accepted(true);
    }
  }
  if (kind.empty()) return absl::OkStatus();  // nothing to file it under (validation said why)
  const std::string history_key =
      absl::StrCat(kDefinitionHistoryPrefix, kind, "/", DefinitionId(definition), "/",
                   BigEndian32(DefinitionVersion(definition)));
  ASSIGN_OR_RETURN(std::optional<std::string> seen, txn.Get(history_key));
  if (seen.has_value() && entry.accepted()) {
    // Same id and version again: already filed (accepted or not).
    return absl::OkStatus();
  }
  const std::string bytes = SerializeDeterministic(entry);
  txn.Put(history_key, bytes);
  if (!entry.accepted()) return absl::OkStatus();
  txn.Put(in_force_key, bytes);
  if (kind == "nurture_flow") {
    return OnFlowPublished(shard, record, definition.nurture_flow(), in_force, txn);
  }
  return absl::OkStatus();
}

template <typename T, typename Compile>
absl::StatusOr<const T*> LeadFold::CompiledInForce(
    ProjectionTxn& txn, absl::string_view kind, std::optional<const T*>& slot,
    absl::flat_hash_map<std::string, std::unique_ptr<T>>& compiled,
    std::type_identity_t<const T*> none, Compile compile) {
  return MemoInChunk(slot, [&]() -> absl::StatusOr<const T*> {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn.Get(DefinitionInForceKey(kind)));
    if (!bytes.has_value()) return none;
    absl::MutexLock lock(&mu_);
    auto it = compiled.find(*bytes);
    if (it != compiled.end()) return it->second.get();
    v1::DefinitionRecord record;
    if (!record.ParseFromString(*bytes)) {
      return absl::DataLossError(absl::StrCat("lead projection: ", DefinitionInForceKey(kind)));
    }
    ASSIGN_OR_RETURN(std::unique_ptr<T> object, compile(record.definition()));
    return compiled.emplace(*bytes, std::move(object)).first->second.get();
  });
}

absl::StatusOr<const Scorer*> LeadFold::ScorerInForce(ProjectionTxn& txn) {
  return CompiledInForce(txn, "scoring_model", Definitions(txn).scorer, scorers_, nullptr,
                         [](const v1::Definition& d) { return Scorer::Create(d.scoring_model()); });
}

absl::StatusOr<const Lifecycle*> LeadFold::LifecycleInForce(ProjectionTxn& txn) {
  return CompiledInForce(txn, "lifecycle_model", Definitions(txn).lifecycle, lifecycles_,
                         default_lifecycle_.get(), [](const v1::Definition& d) {
                           return Lifecycle::Create(d.lifecycle_model());
                         });
}

absl::StatusOr<const OwnerRouter*> LeadFold::RouterInForce(ProjectionTxn& txn) {
  return CompiledInForce(txn, "owner_routing", Definitions(txn).router, routers_, nullptr,
                         [](const v1::Definition& d) {
                           return OwnerRouter::Create(d.owner_routing());
                         });
}

// The lead key `identifier` resolves to, following merges (an absorbed
// lead's key is itself an identifier pointing at its survivor).
absl::StatusOr<std::optional<std::string>> LeadFold::Resolve(ProjectionTxn& txn,
                                                             std::string identifier,
                                                             std::optional<std::string>* direct) {
  std::optional<std::string> key;
  for (int hop = 0; hop < kResolveHopsMax; ++hop) {
    ASSIGN_OR_RETURN(std::optional<std::string> next, txn.Get(IdentifierKey(identifier)));
    if (hop == 0 && direct != nullptr) *direct = next;
    if (!next.has_value()) return key;
    key = *next;
    ASSIGN_OR_RETURN(v1::LeadState * state, LoadLead(txn, *key));
    if (state != nullptr) return key;
    identifier = *key;
  }
  return absl::DataLossError(absl::StrCat("lead projection: identifier \"", identifier,
                                          "\" does not resolve within ", kResolveHopsMax, " hops"));
}

absl::StatusOr<v1::LeadState*> LeadFold::ResolveLead(const v1::LogRecord& record,
                                                     ProjectionTxn& txn) {
  const v1::Event& event = record.event();
  std::vector<std::string> identifiers = IdentifiersOf(event);
  if (event.type() == v1::CALL_TYPE_ALIAS && !event.previous_id().empty()) {
    for (std::string candidate : {absl::StrCat("u:", event.previous_id()),
                                  absl::StrCat("a:", event.previous_id())}) {
      ASSIGN_OR_RETURN(std::optional<std::string> known, Resolve(txn, candidate));
      if (known.has_value()) {
        identifiers.push_back(candidate);
        break;
      }
    }
  }
  // Distinct leads the identifiers resolve to, in identifier order; and
  // each identifier's "i/" value as read (IndexIdentifier below).
  std::vector<std::pair<std::string, std::string>> found;  // (lead key, via identifier)
  std::vector<std::optional<std::string>> indexed(identifiers.size());
  for (size_t i = 0; i < identifiers.size(); ++i) {
    const std::string& identifier = identifiers[i];
    ASSIGN_OR_RETURN(std::optional<std::string> key, Resolve(txn, identifier, &indexed[i]));
    if (!key.has_value()) continue;
    bool seen = false;
    for (const auto& f : found) seen = seen || f.first == *key;
    if (!seen) found.emplace_back(*key, identifier);
  }
  v1::LeadState* lead = nullptr;
  if (found.empty()) {
    lead = NewLead(txn, identifiers.front());
    lead->set_first_sequence(record.sequence());
    lead->set_created_ms(record.log_time_ms());
  } else {
    // The survivor is the lead created first (ties: smaller key).
    std::vector<v1::LeadState*> states;
    for (const auto& [key, via] : found) {
      ASSIGN_OR_RETURN(v1::LeadState * state, LoadLead(txn, key));
      if (state == nullptr) {
        return absl::DataLossError(absl::StrCat("lead projection: lead \"", key, "\" is indexed but has no state"));
      }
      states.push_back(state);
    }
    size_t survivor = 0;
    for (size_t i = 1; i < states.size(); ++i) {
      const v1::LeadState& a = *states[i];
      const v1::LeadState& b = *states[survivor];
      if (a.first_sequence() < b.first_sequence() ||
          (a.first_sequence() == b.first_sequence() && a.lead_key() < b.lead_key())) {
        survivor = i;
      }
    }
    lead = states[survivor];
    for (size_t i = 0; i < states.size(); ++i) {
      if (i == survivor) continue;
      // `via`: the identifier of this record that named the survivor.
      const v1::LeadState absorbed = *states[i];
      DeleteLead(txn, absorbed.lead_key());
      RETURN_IF_ERROR(Merge(record, found[survivor].second, absorbed, txn, lead));
    }
  }
  // A merge above may have re-pointed an identifier read before it: those
  // are read again (IndexIdentifier without `known`).
  const bool merged = found.size() > 1;
  for (size_t i = 0; i < identifiers.size(); ++i) {
    AddIdentifier(lead, identifiers[i]);
    RETURN_IF_ERROR(
        IndexIdentifier(txn, identifiers[i], lead->lead_key(), merged ? nullptr : &indexed[i]));
  }
  AddIdentifier(lead, lead->lead_key());
  // "i/<lead key>" of an existing lead always holds its own key: written
  // when the lead was created (its key is the first identifier of the
  // record that created it, indexed just above), and re-pointed only when
  // the lead is absorbed, which deletes it. A new lead's key was indexed
  // in the loop.
  LEADLOG_CHECK(!found.empty() || lead->lead_key() == identifiers.front())
      << "new lead " << lead->lead_key() << " not keyed by its first identifier";
  return lead;
}

absl::Status LeadFold::IndexIdentifier(ProjectionTxn& txn, const std::string& identifier,
                                       const std::string& lead_key,
                                       const std::optional<std::string>* known) {
  std::string key = IdentifierKey(identifier);
  std::optional<std::string> read;
  if (known == nullptr) {
    ASSIGN_OR_RETURN(read, txn.Get(key));
    known = &read;
  }
  if (!known->has_value() || **known != lead_key) txn.Put(key, lead_key);
  return absl::OkStatus();
}

absl::Status LeadFold::Merge(const v1::LogRecord& record, const std::string& via,
                             const v1::LeadState& absorbed, ProjectionTxn& txn,
                             v1::LeadState* lead) {
  ASSIGN_OR_RETURN(const Scorer* scorer, ScorerInForce(txn));
  if (scorer != nullptr) MergeScoreStates(*scorer, absorbed.score(), lead->mutable_score());
  ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
  if (!absorbed.lifecycle().current_stage().empty()) {
    if (lead->lifecycle().current_stage().empty()) {
      *lead->mutable_lifecycle() = absorbed.lifecycle();
    } else {
      MergeLifecycleStates(*lifecycle, absorbed.lifecycle(), lead->mutable_lifecycle(),
                           record.sequence(), record.log_time_ms());
    }
  }
  for (const v1::ProfileTrait& t : absorbed.traits()) {
    SetTrait(lead, t.name(), t.value(), t.sequence(), t.log_time_ms());
  }
  v1::EngagementSummary* mine = lead->mutable_engagement();
  const v1::EngagementSummary& theirs = absorbed.engagement();
  MergeCounts(theirs.pages(), mine->mutable_pages());
  MergeCounts(theirs.content(), mine->mutable_content());
  MergeCounts(theirs.emails(), mine->mutable_emails());
  mine->set_events(mine->events() + theirs.events());
  mine->set_first_seen_ms(std::min(mine->first_seen_ms(), theirs.first_seen_ms()));
  mine->set_last_activity_ms(std::max(mine->last_activity_ms(), theirs.last_activity_ms()));
  if (lead->owner_id().empty() && !absorbed.owner_id().empty()) {
    lead_internal::SetOwner(lead, absorbed.owner_id(), absl::StrCat("identity_merge:", absorbed.lead_key()),
                   record);
  }
  if (lead->user_id().empty()) lead->set_user_id(absorbed.user_id());
  lead->set_handoffs(lead->handoffs() + absorbed.handoffs());
  for (const std::string& identifier : absorbed.identifiers()) {
    AddIdentifier(lead, identifier);
    txn.Put(IdentifierKey(identifier), lead->lead_key());
  }
  AddIdentifier(lead, absorbed.lead_key());
  txn.Put(IdentifierKey(absorbed.lead_key()), lead->lead_key());
  for (const v1::IdentityMerge& m : absorbed.merges()) *lead->add_merges() = m;
  v1::IdentityMerge* merge = lead->add_merges();
  merge->set_absorbed_lead_key(absorbed.lead_key());
  merge->set_via_identifier(via);
  merge->set_sequence(record.sequence());
  merge->set_log_time_ms(record.log_time_ms());
  while (lead->merges_size() > kLeadMergesMax) lead->mutable_merges()->DeleteSubrange(0, 1);
  // The survivor keeps its revenue state; the absorbed lead's clocks end.
  RETURN_IF_ERROR(CancelRevenueTimers(txn, absorbed.lead_key()));
  return MergeEnrollments(ShardId(0), record, absorbed, txn, lead);
}

absl::Status LeadFold::ApplyEvent(ShardId shard, const v1::LogRecord& record, ProjectionTxn& txn) {
  const v1::Event& event = record.event();
  ASSIGN_OR_RETURN(v1::LeadState * lead_ptr, ResolveLead(record, txn));
  v1::LeadState& lead = *lead_ptr;
  // The lead as it was before this record (flow triggers compare them);
  // copied only when flows are in force.
  ASSIGN_OR_RETURN(std::vector<std::string> flows, FlowsInForce(txn));
  // Only what flow triggers compare (stage, score, grade, traits): a full
  // copy of the state per record was a fifth of the fold's time.
  std::optional<v1::LeadState> before;
  if (!flows.empty()) {
    before.emplace();
    before->set_lead_key(lead.lead_key());
    before->mutable_lifecycle()->set_current_stage(lead.lifecycle().current_stage());
    before->mutable_score()->set_score_milli(lead.score().score_milli());
    before->mutable_score()->mutable_grade()->set_grade(lead.score().grade().grade());
    before->set_score_adjustment_milli(lead.score_adjustment_milli());
    *before->mutable_traits() = lead.traits();
  }
  lead.set_last_sequence(record.sequence());
  lead.set_updated_ms(record.log_time_ms());
  if (!event.user_id().empty()) lead.set_user_id(event.user_id());
  if (!event.context().timezone().empty()) lead.set_time_zone(event.context().timezone());

  if (event.type() == v1::CALL_TYPE_IDENTIFY) {
    for (const auto& [name, value] : event.traits().fields()) {
      // Map iteration order is unspecified; SetTrait keeps the list sorted,
      // so the result does not depend on it.
      SetTrait(&lead, name, value, record.sequence(), record.log_time_ms());
    }
    auto tz = event.traits().fields().find("timezone");
    if (tz != event.traits().fields().end() && tz->second.has_string_value() &&
        !tz->second.string_value().empty()) {
      lead.set_time_zone(tz->second.string_value());
    }
  }
  RecordRecentEvent(record, lead.mutable_nurture());
  UpdateEngagement(record, lead.mutable_engagement());

  ASSIGN_OR_RETURN(const Scorer* scorer, ScorerInForce(txn));
  if (scorer != nullptr) scorer->Apply(record, lead.mutable_score());

  ASSIGN_OR_RETURN(const Lifecycle* lifecycle, LifecycleInForce(txn));
  RETURN_IF_ERROR(MigrateStage(*lifecycle, record, lead.mutable_lifecycle()));
  LeadSignals signals;
  signals.score = EffectiveScore(lead);
  signals.grade = lead.score().grade().grade();
  for (const v1::RuleScore& rule : lead.score().rules()) {
    for (uint64_t s : rule.recent_sequences()) signals.evidence_sequences.push_back(s);
  }
  std::sort(signals.evidence_sequences.begin(), signals.evidence_sequences.end());
  signals.evidence_sequences.erase(
      std::unique(signals.evidence_sequences.begin(), signals.evidence_sequences.end()),
      signals.evidence_sequences.end());
  ASSIGN_OR_RETURN(LifecycleOutcome outcome, lifecycle->Apply(record, signals, lead.mutable_lifecycle()));

  if (event.sales().kind() == v1::SALES_FACT_KIND_OWNER_ASSIGNED &&
      event.sales().owner_id() != lead.owner_id()) {
    lead_internal::SetOwner(&lead, event.sales().owner_id(), "sales_fact", record);
  }
  if (outcome.handoff_due) RETURN_IF_ERROR(HandOff(shard, record, outcome.handoff_cause, txn, &lead));
  if (before.has_value()) RETURN_IF_ERROR(RunFlows(shard, record, txn, *before, &lead));
  RETURN_IF_ERROR(RunRevenue(shard, record, txn, &lead));
  MarkDirty(txn, lead.lead_key());
  return absl::OkStatus();
}

absl::Status LeadFold::MigrateStage(const Lifecycle& lifecycle, const v1::LogRecord& record,
                                    v1::LifecycleState* state) {
  if (state->current_stage().empty()) return absl::OkStatus();
  for (const v1::LifecycleStage& stage : lifecycle.model().stages()) {
    if (stage.id() == state->current_stage()) return absl::OkStatus();
  }
  // The model in force dropped the lead's stage: the lead restarts in the
  // initial stage, recorded as an ops transition.
  v1::StageTransition* t = state->add_history();
  t->set_from_stage(state->current_stage());
  t->set_to_stage(lifecycle.model().initial_stage());
  t->set_log_time_ms(record.log_time_ms());
  t->set_actor(v1::ACTOR_OPS);
  t->mutable_cause()->set_rule_id("model_migration");
  t->mutable_cause()->set_definition_id(lifecycle.model().id());
  t->mutable_cause()->set_definition_version(lifecycle.model().version());
  t->mutable_cause()->add_record_sequences(record.sequence());
  state->set_current_stage(lifecycle.model().initial_stage());
  state->set_entered_at_ms(record.log_time_ms());
  while (state->history_size() > kLifecycleHistoryMax) {
    state->mutable_history()->DeleteSubrange(0, 1);
    state->set_history_dropped(state->history_dropped() + 1);
  }
  return absl::OkStatus();
}

absl::Status LeadFold::HandOff(ShardId shard, const v1::LogRecord& record,
                               const v1::TransitionCause& cause, ProjectionTxn& txn,
                               v1::LeadState* lead) {
  ASSIGN_OR_RETURN(const OwnerRouter* router, RouterInForce(txn));
  std::string routing_cause = "no owner routing in force";
  if (router != nullptr) {
    const v1::OwnerRouting& routing = router->routing();
    // The counter of each queue: route once with 0 to learn the queue, then
    // with the queue's counter.
    RouteResult probe = router->Route(TraitStruct(*lead), 0);
    const std::string counter_key = absl::StrCat("q/", routing.id(), "/", probe.queue_id);
    ASSIGN_OR_RETURN(std::optional<std::string> counter_bytes, txn.Get(counter_key));
    const uint64_t counter = counter_bytes.has_value() ? FromBigEndian64(*counter_bytes) : 0;
    RouteResult route = router->Route(TraitStruct(*lead), counter);
    txn.Put(counter_key, BigEndian64(counter + 1));
    routing_cause = absl::StrCat("routing:", routing.id(), "/v", routing.version(), "/",
                                 route.territory_id.empty() ? "default" : route.territory_id, "/",
                                 route.queue_id);
    if (route.owner_id != lead->owner_id()) lead_internal::SetOwner(lead, route.owner_id, routing_cause, record);
  }
  v1::Action action;
  action.set_sequence(record.sequence());
  action.set_index(0);
  action.set_log_time_ms(record.log_time_ms());
  action.set_lead_key(lead->lead_key());
  action.set_type("handoff");
  v1::HandoffAction* handoff = action.mutable_handoff();
  handoff->set_owner_id(lead->owner_id());
  handoff->set_routing_cause(routing_cause);
  handoff->set_stage(lead->lifecycle().current_stage());
  *handoff->mutable_cause() = cause;
  handoff->set_score_milli(lead->score().score_milli());
  handoff->set_grade(lead->score().grade().grade());
  for (const v1::RuleScore& rule : lead->score().rules()) {
    if (rule.points_milli() != 0) *handoff->add_score_breakdown() = rule;
  }
  *handoff->mutable_traits() = lead->traits();
  *handoff->mutable_engagement() = lead->engagement();
  lead->set_handoffs(lead->handoffs() + 1);
  return Emit(txn, shard, std::move(action));
}

// --- the chunk cache: leads decoded once per chunk, written at its end.

struct LeadFold::ChunkLeads {
  // Revenue entries (and leads, with the decoded cache off) live on the
  // chunk's arena: a tick that touches 50 k leads frees them all at once
  // instead of message by message (bench/tick_bench). With the cache on,
  // leads are heap messages: the chunk takes them from and gives them back
  // to the fold's DecodedLeads, across chunks.
  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions options;
    options.start_block_size = 64 << 10;
    options.max_block_size = 1 << 20;
    return options;
  }
  static constexpr uint64_t kNone = UINT64_MAX;
  // The lead fields the "r/" entry copies (v1::LeadRevenueEntry).
  struct RevenueFacts {
    std::string owner_id;
    std::string stage;
    int64_t stage_entered_ms = 0;
    bool operator==(const RevenueFacts&) const = default;
  };
  static RevenueFacts FactsOf(const v1::LeadState& lead) {
    return {lead.owner_id(), lead.lifecycle().current_stage(), lead.lifecycle().entered_at_ms()};
  }
  static RevenueFacts FactsOf(const v1::LeadRevenueEntry& entry) {
    return {entry.owner_id(), entry.stage(), entry.stage_entered_ms()};
  }
  struct Entry {
    v1::LeadState* state = nullptr;  // in `owned` or on `arena`; null: absent or deleted
    // The decoded lead when the decoded cache is on (kept when DeleteLead
    // nulls `state`: pointers to it stay valid for the chunk).
    std::unique_ptr<v1::LeadState> owned;
    bool loaded = false;             // `state` was read, created or deleted
    bool dirty = false;
    // The record whose change entry was written last (kNone: none yet).
    uint64_t changed_by = kNone;
    // The "r/" entry, read on first use (LoadRevenue).
    v1::LeadRevenueEntry* revenue = nullptr;  // on `arena`; null: absent or deleted
    bool revenue_loaded = false;
    bool revenue_dirty = false;
    // The committed "r/" bytes as read (nullopt: absent or not read): Flush
    // writes a dirty entry only when its bytes differ.
    std::optional<std::string> revenue_stored;
    // The lead's facts when it was read: EndChunk refreshes the "r/" copy of
    // a written lead whose facts changed even if its entry was not read.
    RevenueFacts facts_at_load;
  };
  // Reads the "r/" entry of `key` into `entry` (once).
  absl::Status ReadRevenue(ProjectionTxn& txn, const std::string& key, Entry& entry) {
    if (entry.revenue_loaded) return absl::OkStatus();
    const std::string revenue_key = LeadRevenueKey(key);
    ASSIGN_OR_RETURN(entry.revenue_stored, txn.Get(revenue_key));
    entry.revenue_loaded = true;
    if (!entry.revenue_stored.has_value()) return absl::OkStatus();
    entry.revenue = google::protobuf::Arena::CreateMessage<v1::LeadRevenueEntry>(&arena);
    if (!entry.revenue->ParseFromString(*entry.revenue_stored)) {
      return absl::DataLossError(absl::StrCat("lead projection: undecodable value at key \"",
                                              revenue_key, "\""));
    }
    return absl::OkStatus();
  }
  // Writes what changed of lead `key` (EndChunk) and gives a written lead
  // back to `decoded`.
  absl::Status Flush(ProjectionTxn& txn, const std::string& key, Entry& entry,
                     DecodedLeads& decoded);
  ShardId shard{0};  // of the chunk (BeginRecord)
  google::protobuf::Arena arena{Options()};
  // Pointers to states stay valid for the chunk (the arena owns them).
  absl::flat_hash_map<std::string, Entry> leads;
  // Next outbox index per record of the chunk (WriteAction's hint).
  OutboxIndexes outbox;
  uint64_t record = 0;  // the record being applied
  ChunkDefinitions definitions;
  std::optional<int64_t> timers_due_bound;
  absl::node_hash_map<std::string, ChunkEnrollment> enrollments;  // by state key
  ChunkRevenueReports revenue_reports;
};

absl::Status LeadFold::Emit(ProjectionTxn& txn, ShardId shard, v1::Action action) {
  return WriteAction(txn, shard, std::move(action), &Chunk(txn).outbox);
}

LeadFold::ChunkLeads& LeadFold::Chunk(ProjectionTxn& txn) {
  // Chunk() runs several times per record. A per-thread memo of the last
  // chunk keeps the fold threads of different shards off chunks_mu_ (it was
  // ≈ 5 % of a 2-thread rebuild's CPU, mostly futex wake-ups). A chunk is
  // only dropped by the thread folding it, so the memo cannot go stale
  // between the check and the return.
  struct Memo {
    const LeadFold* fold = nullptr;
    const ProjectionTxn* txn = nullptr;
    uint64_t drops = 0;
    ChunkLeads* chunk = nullptr;
  };
  static thread_local Memo memo;
  const uint64_t drops = chunk_drops.load(std::memory_order_acquire);
  if (memo.fold == this && memo.txn == &txn && memo.drops == drops) return *memo.chunk;
  absl::MutexLock lock(&chunks_mu_);
  std::unique_ptr<ChunkLeads>& chunk = chunks_[&txn];
  if (chunk == nullptr) chunk = std::make_unique<ChunkLeads>();
  memo = Memo{this, &txn, drops, chunk.get()};
  return *chunk;
}

LeadFold::ChunkDefinitions& LeadFold::Definitions(ProjectionTxn& txn) {
  return Chunk(txn).definitions;
}

absl::node_hash_map<std::string, LeadFold::ChunkEnrollment>& LeadFold::Enrollments(
    ProjectionTxn& txn) {
  return Chunk(txn).enrollments;
}

LeadFold::ChunkRevenueReports& LeadFold::RevenueReports(ProjectionTxn& txn) {
  return Chunk(txn).revenue_reports;
}

std::optional<int64_t>& LeadFold::TimersDueBound(ProjectionTxn& txn) {
  return Chunk(txn).timers_due_bound;
}

absl::Status LeadFold::ScheduleTimer(ProjectionTxn& txn, TimerIndex& timers, int64_t due_ms,
                                     absl::string_view id, std::string payload) {
  RETURN_IF_ERROR(timers.Schedule(due_ms, id, std::move(payload)));
  std::optional<int64_t>& bound = TimersDueBound(txn);
  if (bound.has_value()) bound = std::min(*bound, due_ms);
  return absl::OkStatus();
}

namespace {

// Writes the change entry (record, key) once per record and lead; `lead` is
// the chunk's entry of `key` (engine/changes.h).
template <typename Entry>
void NoteChange(ProjectionTxn& txn, uint64_t record, Entry& lead, const std::string& key) {
  if (lead.changed_by == record) return;
  lead.changed_by = record;
  WriteChange(txn, Sequence(record), key);
}

}  // namespace

absl::StatusOr<v1::LeadState*> LeadFold::LoadLead(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  if (!entry.loaded) {
    const std::string state_key = LeadStateKey(key);
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn.Get(state_key));
    if (bytes.has_value()) {
      // With the decoded cache on, the decoded lead of exactly these bytes
      // when an earlier chunk kept it, else parsed onto the heap (to be kept
      // at the chunk's end); off, parsed onto the chunk's arena.
      v1::LeadState* state = nullptr;
      bool taken = false;
      if (options_.decoded_cache_bytes > 0) {
        entry.owned = decoded_.Take(chunk.shard, key, *bytes);
        taken = entry.owned != nullptr;
        if (!taken) entry.owned = std::make_unique<v1::LeadState>();
        state = entry.owned.get();
      } else {
        state = google::protobuf::Arena::CreateMessage<v1::LeadState>(&chunk.arena);
      }
      if (!taken && !state->ParseFromString(*bytes)) {
        return absl::DataLossError(absl::StrCat("lead projection: undecodable value at key \"",
                                                state_key, "\""));
      }
      // Paired with the check in ChunkLeads::Flush. No data of the layout
      // before "r/" was deployed, so there is no migration: a rebuild
      // (`leadlog rebuild`) folds such a log into the current layout.
      if (state->has_revenue()) {
        return absl::DataLossError(absl::StrCat(
            "lead projection: key \"", state_key,
            "\": revenue state inside the lead (written before it moved to \"",
            kLeadRevenuePrefix, "\"; rebuild the projection)"));
      }
      entry.state = state;
      entry.facts_at_load = ChunkLeads::FactsOf(*state);
    }
    entry.loaded = true;
  }
  return entry.state;
}

absl::StatusOr<v1::LeadRevenueEntry*> LeadFold::LoadRevenue(ProjectionTxn& txn,
                                                             const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  RETURN_IF_ERROR(chunk.ReadRevenue(txn, key, entry));
  return entry.revenue;
}

absl::StatusOr<v1::RevenueLeadState*> LeadFold::RevenueStateOf(ProjectionTxn& txn,
                                                               const v1::LeadState& lead) {
  ASSIGN_OR_RETURN(v1::LeadRevenueEntry * revenue, LoadRevenue(txn, lead.lead_key()));
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[lead.lead_key()];
  if (revenue == nullptr) {
    revenue = google::protobuf::Arena::CreateMessage<v1::LeadRevenueEntry>(&chunk.arena);
    entry.revenue = revenue;
  }
  entry.revenue_dirty = true;
  return revenue->mutable_state();
}

bool LeadFold::LeadLoaded(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  auto it = chunk.leads.find(key);
  return it != chunk.leads.end() && it->second.loaded;
}

void LeadFold::MarkRevenueDirty(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  entry.revenue_dirty = true;
  NoteChange(txn, chunk.record, entry, key);
}

v1::LeadState* LeadFold::NewLead(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  if (options_.decoded_cache_bytes > 0) {
    entry.owned = std::make_unique<v1::LeadState>();
    entry.state = entry.owned.get();
  } else {
    entry.state = google::protobuf::Arena::CreateMessage<v1::LeadState>(&chunk.arena);
  }
  entry.state->set_lead_key(key);
  entry.loaded = true;
  entry.dirty = true;
  // A new lead has no "r/" entry: lead keys are never reused (an absorbed
  // lead's key resolves to its survivor for good, and deleting a lead
  // deletes its "r/" entry).
  entry.revenue_loaded = true;
  NoteChange(txn, chunk.record, entry, key);
  return entry.state;
}

void LeadFold::MarkDirty(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  entry.dirty = true;
  NoteChange(txn, chunk.record, entry, key);
}

void LeadFold::DeleteLead(ProjectionTxn& txn, const std::string& key) {
  ChunkLeads& chunk = Chunk(txn);
  ChunkLeads::Entry& entry = chunk.leads[key];
  entry.state = nullptr;  // `owned` or the arena frees it with the chunk
  entry.loaded = true;
  entry.dirty = true;
  NoteChange(txn, chunk.record, entry, key);
}

void LeadFold::BeginRecord(ShardId shard, ProjectionTxn& txn, const v1::LogRecord& record) {
  ChunkLeads& chunk = Chunk(txn);
  chunk.record = record.sequence();
  chunk.shard = shard;
}

std::vector<std::string> LeadFold::transient_prefixes() const {
  return {std::string(kChangePrefix)};
}

absl::Status LeadFold::EndChunk(ShardId, ProjectionTxn& txn) {
  FlushEnrollments(txn);
  std::unique_ptr<ChunkLeads> chunk;
  {
    absl::MutexLock lock(&chunks_mu_);
    auto it = chunks_.find(&txn);
    if (it == chunks_.end()) return absl::OkStatus();
    chunk = std::move(it->second);
    chunks_.erase(it);
    chunk_drops.fetch_add(1, std::memory_order_acq_rel);
  }
  // Puts land in the txn's ordered buffer: the map's order does not matter.
  for (auto& [key, entry] : chunk->leads) RETURN_IF_ERROR(chunk->Flush(txn, key, entry, decoded_));
  return FlushRevenueReports(txn, chunk->revenue_reports);
}

absl::Status LeadFold::ChunkLeads::Flush(ProjectionTxn& txn, const std::string& key,
                                         Entry& entry, DecodedLeads& decoded) {
  if (entry.dirty && entry.state == nullptr) {  // deleted (merged away), with its revenue state
    txn.Delete(LeadStateKey(key));
    txn.Delete(LeadRevenueKey(key));
    return absl::OkStatus();
  }
  if (entry.dirty) {
    // The revenue state lives in "r/" only (LeadFold::RevenueStateOf).
    LEADLOG_CHECK(!entry.state->has_revenue()) << "lead " << key << ": revenue inside LeadState";
    std::string bytes = SerializeDeterministic(*entry.state);
    if (entry.owned == nullptr) {  // on the arena: the decoded cache is off
      txn.Put(LeadStateKey(key), std::move(bytes));
    } else {
      txn.Put(LeadStateKey(key), bytes);
    }
    // Keep the "r/" copy of the lead's facts equal to the lead's.
    const RevenueFacts facts = FactsOf(*entry.state);
    if (entry.revenue_loaded || !(facts == entry.facts_at_load)) {
      RETURN_IF_ERROR(ReadRevenue(txn, key, entry));
      if (entry.revenue != nullptr && !(FactsOf(*entry.revenue) == facts)) {
        entry.revenue->set_owner_id(facts.owner_id);
        entry.revenue->set_stage(facts.stage);
        entry.revenue->set_stage_entered_ms(facts.stage_entered_ms);
        entry.revenue_dirty = true;
      }
    }
    // Nothing changes the lead after this: the next chunk of the shard may
    // take it instead of parsing `bytes` (if they are what it reads).
    if (entry.owned != nullptr) {
      decoded.Keep(shard, key, std::move(bytes), std::move(entry.owned));
      entry.state = nullptr;
    }
  }
  if (!entry.revenue_dirty) return absl::OkStatus();
  if (entry.revenue != nullptr) {
    std::string bytes = SerializeDeterministic(*entry.revenue);
    // Revenue rules run on every event of a lead; most leave its entry as it
    // was, and a Put of the same bytes is still a memtable insert.
    if (entry.revenue_stored != bytes) txn.Put(LeadRevenueKey(key), std::move(bytes));
  } else if (entry.revenue_stored.has_value() || !entry.revenue_loaded) {
    txn.Delete(LeadRevenueKey(key));
  }
  return absl::OkStatus();
}

absl::Status MergeStoredRevenue(const ProjectionRunner& runner, ShardId shard,
                                v1::LeadState* lead) {
  const std::string key = LeadRevenueKey(lead->lead_key());
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, runner.Get(shard, key));
  lead->clear_revenue();
  if (!bytes.has_value()) return absl::OkStatus();
  v1::LeadRevenueEntry entry;
  if (!entry.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat("lead projection: undecodable value at key \"", key,
                                            "\" in shard ", shard.value()));
  }
  lead->mutable_revenue()->Swap(entry.mutable_state());
  return absl::OkStatus();
}

void LeadFold::AbortChunk(ShardId, ProjectionTxn& txn) {
  absl::MutexLock lock(&chunks_mu_);
  chunks_.erase(&txn);
  chunk_drops.fetch_add(1, std::memory_order_acq_rel);
}

absl::StatusOr<std::optional<FoundLead>> FindLead(const ProjectionRunner& runner,
                                                  const std::vector<ShardId>& shards,
                                                  absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("id: empty");
  std::vector<std::string> candidates;
  if (absl::StartsWith(id, "a:") || absl::StartsWith(id, "u:")) candidates.emplace_back(id);
  candidates.push_back(absl::StrCat("u:", id));
  candidates.push_back(absl::StrCat("a:", id));
  for (ShardId shard : shards) {
    for (const std::string& candidate : candidates) {
      std::string identifier = candidate;
      for (int hop = 0; hop < kResolveHopsMax; ++hop) {
        ASSIGN_OR_RETURN(std::optional<std::string> key, runner.Get(shard, IdentifierKey(identifier)));
        if (!key.has_value()) break;
        ASSIGN_OR_RETURN(std::optional<std::string> bytes, runner.Get(shard, LeadStateKey(*key)));
        if (bytes.has_value()) {
          FoundLead found{shard, {}};
          if (!found.state.ParseFromString(*bytes)) {
            return absl::DataLossError(absl::StrCat("lead projection: undecodable lead \"", *key, "\""));
          }
          RETURN_IF_ERROR(MergeStoredRevenue(runner, shard, &found.state));
          return std::optional<FoundLead>(std::move(found));
        }
        identifier = *key;
      }
    }
  }
  return std::optional<FoundLead>();
}

absl::StatusOr<std::vector<v1::DefinitionRecord>> ListDefinitions(const ProjectionRunner& runner,
                                                                  ShardId shard) {
  std::vector<v1::DefinitionRecord> out;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<ProjectionEntry> page,
                     runner.Scan(shard, kDefinitionHistoryPrefix, after, 256));
    for (ProjectionEntry& e : page) {
      v1::DefinitionRecord record;
      if (!record.ParseFromString(e.value)) {
        return absl::DataLossError(absl::StrCat("lead projection: undecodable definition at \"", e.key, "\""));
      }
      out.push_back(std::move(record));
    }
    if (page.size() < 256) return out;
    after = page.back().key;
  }
}

}  // namespace leadlog
