// Scorer: the lead-scoring fold. Applies log records of one lead to its
// v1::ScoreState under one validated v1::ScoringModel: behaviour points with
// per-rule rolling caps, a total cap and decay, and a fit grade A-F from the
// latest traits. Every number keeps its breakdown (rule, records, points,
// decay applied, cap hits).
//
// Pure and deterministic (DESIGN.md invariants 5-6): no wall clock, no I/O,
// no randomness, no unordered iteration. Time is the record's log_time_ms:
// that is what a replay reproduces (occurred_at_ms is producer-supplied, may
// go backwards and may be missing). Points are integer milli-points; decay is
// integer fixed-point arithmetic applied at epoch-aligned period boundaries,
// so the result does not depend on how time advances were split: applying
// the same records in the same order, live or in a rebuild, with any number
// of serialize/parse round trips of the state in between, gives
// bit-identical state. Persist and hash states with deterministic
// serialization (CodedOutputStream::SetSerializationDeterministic): trait
// values are google.protobuf.Value and may hold maps.
//
// Thread-safety: a Scorer is immutable after Create(); const methods may run
// concurrently on different states. A ScoreState must not be shared across
// threads while being updated. The Scorer keeps its own copy of the model.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<Scorer> scorer, Scorer::Create(model));
//   v1::ScoreState state;                      // or parsed from storage
//   for (const v1::LogRecord& r : records) scorer->Apply(r, &state);
//   int64_t points = state.score_milli() / 1000;  // state.grade().grade()
//
// Invariants (of a state after any Apply/AdvanceTime):
//   - state.rules() has one entry per model rule, in model order, same ids.
//   - score_milli == sum of rules[].points_milli;
//     rules[i].raw_points_milli - rules[i].decay_applied_milli ==
//     rules[i].points_milli.
//   - With a total cap, an award never lifts score_milli above the cap.
//   - Sum of |window[].points_milli| of a capped rule <= its cap.
//   - recent_sequences has at most kScoringBreakdownSequencesMax entries;
//     grade.traits is sorted by name and holds only traits fit rules read.
#ifndef LEADLOG_PROJECTIONS_SCORING_SCORER_H_
#define LEADLOG_PROJECTIONS_SCORING_SCORER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "leadlog/v1/record.pb.h"
#include "leadlog/v1/scoring.pb.h"
#include "projections/scoring/scoring_model.h"

namespace leadlog {

namespace scoring_internal {
struct Predicate;  // compiled ScoringPredicate (scorer.cc)
struct Rule;       // compiled BehaviorRule (scorer.cc)
}  // namespace scoring_internal

class Scorer {
 public:
  // Validates `model` (ValidateScoringModel) and compiles it.
  static absl::StatusOr<std::unique_ptr<Scorer>> Create(const v1::ScoringModel& model);

  ~Scorer();
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  // Folds one record into `state`: first AdvanceTime(record.log_time_ms()),
  // then, for an event, awards every matching behaviour rule (in model
  // order) and, for identify/group, updates the traits and the grade.
  // ClockTick records only advance time. A state written by another model id
  // or version is first re-laid out for this model: entries of rules with the
  // same id keep their points, entries of removed rules are dropped.
  void Apply(const v1::LogRecord& record, v1::ScoreState* state) const;

  // Applies decay for every period boundary crossed between
  // state->decayed_through_ms() and `log_time_ms`. A time not after
  // decayed_through_ms is a no-op (log time never decreases in a shard).
  void AdvanceTime(int64_t log_time_ms, v1::ScoreState* state) const;

  const v1::ScoringModel& model() const { return model_; }

  // Decay keep factor per period as the fraction num/den (1/1 without
  // decay). Exposed for tests and for `leads why`.
  uint64_t keep_numerator() const { return keep_num_; }
  uint64_t keep_denominator() const { return keep_den_; }

 private:
  explicit Scorer(const v1::ScoringModel& model);

  void Relayout(v1::ScoreState* state) const;
  void Award(size_t rule, const v1::LogRecord& record, v1::ScoreState* state) const;
  void UpdateTraits(const v1::LogRecord& record, v1::ScoreState* state) const;
  void Regrade(v1::ScoreState* state) const;
  int64_t DecayOnce(int64_t milli) const;

  v1::ScoringModel model_;
  std::vector<scoring_internal::Rule> rules_;
  std::vector<std::vector<scoring_internal::Predicate>> fit_rules_;
  std::vector<std::string> fit_traits_;  // sorted top-level trait names
  uint64_t keep_num_ = 1;
  uint64_t keep_den_ = 1;
};

// 2^(-num/den) in unsigned 32.32 fixed point (result <= 2^32), computed with
// integers only so that every platform gets the same bits. den > 0.
uint64_t ExpTwoNegQ32(uint64_t num, uint64_t den);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_SCORING_SCORER_H_
