// CompiledPredicate: a v1::ScoringPredicate (proto/leadlog/v1/scoring.proto)
// compiled for evaluation, shared by every definition that filters on event
// fields or lead traits: scoring behaviour and fit rules (scorer.cc) and
// owner-routing territories (projections/definitions/owner_routing.h). The
// operator semantics live here and only here.
//
// Thread-safety: immutable after compilation; const methods may run
// concurrently. Pure: no I/O, no clock. A CompiledPredicate keeps its own
// copy of the operand; arguments are borrowed for the duration of a call.
//
//   ASSIGN_OR_RETURN(std::vector<CompiledPredicate> where,
//                    CompilePredicates(territory.where(), PredicateScope::kTraits,
//                                      "territories[1]"));
//   bool all = AllMatchTraits(where, traits);  // traits: name -> value
#ifndef LEADLOG_PROJECTIONS_SCORING_PREDICATE_H_
#define LEADLOG_PROJECTIONS_SCORING_PREDICATE_H_

#include <google/protobuf/repeated_ptr_field.h>
#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "leadlog/v1/event.pb.h"
#include "leadlog/v1/scoring.pb.h"
#include "projections/scoring/scoring_model.h"

namespace leadlog {

// Which fields a predicate may read.
enum class PredicateScope {
  kEvent,   // properties.*, traits.*, context.<name>, name, category (behaviour rules)
  kTraits,  // traits.* only (fit rules, routing territories)
};

using ScoringPredicates = google::protobuf::RepeatedPtrField<v1::ScoringPredicate>;

// Checks `where` exactly as ValidateScoringModel checks a rule's predicates
// (fields of `scope`, operators, operands, kScoringPredicatesPerRuleMax...).
// Error messages start with `path`, e.g. `territories[1].where[0].op:
// unknown operator "like"` for path "territories[1]".
absl::Status ValidatePredicates(const ScoringPredicates& where, PredicateScope scope,
                                absl::string_view path);

class CompiledPredicate {
 public:
  // Where the predicate reads its value.
  enum class Source { kProperties, kTraits, kContext, kName, kCategory };

  // Compiles a predicate that already passed validation (ValidatePredicates
  // or ValidateScoringModel); an invalid one is a bug of ours (CHECK).
  static CompiledPredicate CompileValid(const v1::ScoringPredicate& p);

  // The value the predicate reads in `event`; nullptr when absent (an empty
  // context, name or category string counts as absent). A string source is
  // copied into *scratch, which must outlive the returned pointer's use.
  const google::protobuf::Value* Resolve(const v1::Event& event,
                                         google::protobuf::Value* scratch) const;

  // Whether the operator holds for `value` (nullptr = the field is absent):
  // the field resolver is the caller's.
  bool HoldsFor(const google::protobuf::Value* value) const;

  // HoldsFor(Resolve(event)).
  bool Matches(const v1::Event& event, google::protobuf::Value* scratch) const;

  // Evaluates against a lead's traits (top-level trait name -> value):
  // "traits.a.b" reads traits["a"]["b"]; any other source is absent.
  bool MatchesTraits(const google::protobuf::Struct& traits) const;

  Source source() const { return source_; }
  // The struct path below properties/traits: "traits.a.b" -> {"a", "b"}.
  const std::vector<std::string>& keys() const { return keys_; }

 private:
  CompiledPredicate() = default;

  Source source_ = Source::kName;
  std::vector<std::string> keys_;
  const std::string& (v1::Context::*context_)() const = nullptr;
  ScoringOp op_ = ScoringOp::kExists;
  google::protobuf::Value operand_;  // strings pre-lowered when ignore_case_
  bool ignore_case_ = false;
};

// ValidatePredicates, then CompileValid for each, in order.
absl::StatusOr<std::vector<CompiledPredicate>> CompilePredicates(const ScoringPredicates& where,
                                                                 PredicateScope scope,
                                                                 absl::string_view path);

// True when every predicate MatchesTraits(traits) (true for none).
bool AllMatchTraits(const std::vector<CompiledPredicate>& where,
                    const google::protobuf::Struct& traits);

// Follows `keys[from..]` through nested structs from `root`; nullptr when a
// step is missing or not a struct. Exposed for callers with their own trait
// storage (the scorer's sorted trait list).
const google::protobuf::Value* WalkStruct(const google::protobuf::Struct& root,
                                          const std::vector<std::string>& keys, size_t from);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_SCORING_PREDICATE_H_
