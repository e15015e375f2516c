// MergeScoreStates: folds the ScoreState of a lead absorbed by an identity
// merge (identify/alias tying two leads of a shard together, DESIGN.md §5
// "Identity") into the ScoreState of the surviving lead, under the scoring
// model in force.
//
// Pure and deterministic (DESIGN.md invariant 5): the result depends only on
// the two states and the scorer's model, so a rebuild that merges the same
// states gives byte-identical bytes (serialize deterministically). Not
// commutative: ties (same trait sequence) go to the survivor.
// Thread-safety: as Scorer (const, states not shared while being updated).
// `absorbed` is only read; `survivor` is updated in place and must be
// non-null.
//
//   // survivor: the lead created first (lower first_sequence)
//   MergeScoreStates(*scorer, absorbed_lead.score(), survivor_lead.mutable_score());
//   scorer->Apply(identify_record, survivor_lead.mutable_score());
//
// The merge, in order (projections/README.md "Identity merge" is the
// reference):
//   1. Time: both states are decayed to T = the later decayed_through_ms of
//      the two (Scorer::AdvanceTime on a copy of `absorbed` and on
//      `survivor`).
//   2. Layout: the result has one entry per rule of the scorer's model, in
//      model order (as Scorer::Apply re-lays out a state written by another
//      model id or version): entries with the same rule id are kept and
//      summed, entries of removed rules are dropped.
//   3. Per rule: points, raw, decay applied, matches and cap hits add;
//      recent_sequences are the union, ascending, without duplicates, the
//      last kScoringBreakdownSequencesMax kept.
//   4. Rule caps: window awards that no longer count at T (log time <=
//      T - window_ms) are dropped without touching points; the rest are
//      merged by log time (ties by points). If their |points| sum exceeds
//      the cap, the newest awards are kept up to the cap: walking from the
//      newest, each award keeps min(|points|, room left) (so the oldest kept
//      one may be cut partially) and the older ones are dropped. What was
//      cut is taken back: raw_points -= cut, points -= the cut as decayed
//      from its award's log time to T (same per-period truncation as the
//      scorer, never moving points past zero), decay_applied takes the
//      difference, so raw - decay_applied == points still holds. The rule's
//      cap_hits counts the trim once.
//   5. Total cap: if the summed score exceeds the model's total cap, the
//      excess is taken off rules with positive points, from the last rule of
//      the model backwards, off points and raw (window untouched: those
//      awards happened and still count toward the rule cap); each rule cut
//      counts one cap hit, the merge one total_cap_hit.
//   6. Traits: per trait name the value with the higher sequence wins (the
//      survivor's on a tie); only traits the model's fit rules read are
//      kept, sorted by name; grade, fit_points and hits are recomputed by the
//      scorer itself from those values.
//   7. records_applied and total_cap_hits add; last_sequence is the max;
//      decayed_through_ms is T; model id and version are the scorer's.
// Every invariant listed in scorer.h holds for the result.
#ifndef LEADLOG_PROJECTIONS_SCORING_MERGE_H_
#define LEADLOG_PROJECTIONS_SCORING_MERGE_H_

#include "leadlog/v1/scoring.pb.h"
#include "projections/scoring/scorer.h"

namespace leadlog {

void MergeScoreStates(const Scorer& scorer, const v1::ScoreState& absorbed,
                      v1::ScoreState* survivor);

}  // namespace leadlog

#endif  // LEADLOG_PROJECTIONS_SCORING_MERGE_H_
