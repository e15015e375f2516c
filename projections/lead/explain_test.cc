#include "projections/lead/explain.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace leadlog {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kT0 = 1'767'225'600'000;  // 2026-01-01T00:00:00.000Z

v1::LogRecord Record(uint64_t seq, int64_t t, v1::CallType type, const std::string& name) {
  v1::LogRecord r;
  r.set_sequence(seq);
  r.set_log_time_ms(t);
  r.mutable_event()->set_type(type);
  r.mutable_event()->set_name(name);
  return r;
}

// A log of a few records; sequence 9 is missing (erased).
RecordLookup Log() {
  auto records = std::make_shared<std::map<uint64_t, v1::LogRecord>>();
  (*records)[1] = Record(1, kT0 + 1000, v1::CALL_TYPE_PAGE, "Pricing");
  (*records)[2] = Record(2, kT0 + 2000, v1::CALL_TYPE_IDENTIFY, "");
  (*records)[3] = Record(3, kT0 + 3000, v1::CALL_TYPE_TRACK, "Demo Requested");
  (*records)[4] = Record(4, kT0 + 4000, v1::CALL_TYPE_TRACK, "Lead Accepted");
  (*records)[5] = Record(5, kT0 + 5000, v1::CALL_TYPE_TRACK, "Opportunity Won");
  (*records)[6] = Record(6, kT0 + 6000, v1::CALL_TYPE_IDENTIFY, "");
  v1::LogRecord tick;
  tick.set_sequence(7);
  tick.set_log_time_ms(kT0 + 7000);
  tick.mutable_clock_tick();
  (*records)[7] = tick;
  return [records](uint64_t seq) -> std::optional<v1::LogRecord> {
    auto it = records->find(seq);
    if (it == records->end()) return std::nullopt;
    return it->second;
  };
}

v1::TransitionCause Cause(const std::string& rule, std::initializer_list<uint64_t> seqs) {
  v1::TransitionCause c;
  c.set_rule_id(rule);
  c.set_definition_id("demand_waterfall");
  c.set_definition_version(2);
  for (uint64_t s : seqs) c.add_record_sequences(s);
  return c;
}

v1::LeadState Lead() {
  v1::LeadState lead;
  lead.set_lead_key("a:anon-1");
  lead.add_identifiers("a:anon-1");
  lead.add_identifiers("u:42");
  lead.set_user_id("42");
  lead.set_first_sequence(1);
  lead.set_created_ms(kT0 + 1000);
  lead.set_last_sequence(6);
  lead.set_updated_ms(kT0 + 6000);

  v1::LifecycleState* lc = lead.mutable_lifecycle();
  lc->set_model_id("demand_waterfall");
  lc->set_model_version(2);
  lc->set_current_stage("sal");
  lc->set_entered_at_ms(kT0 + 4000);
  auto add = [lc](const std::string& from, const std::string& to, int64_t t, v1::Actor actor,
                  v1::TransitionCause cause, const std::string& reason) {
    v1::StageTransition* tr = lc->add_history();
    tr->set_from_stage(from);
    tr->set_to_stage(to);
    tr->set_log_time_ms(t);
    tr->set_actor(actor);
    *tr->mutable_cause() = std::move(cause);
    tr->set_reason(reason);
  };
  add("anonymous", "known", kT0 + 2000, v1::ACTOR_ENGINE, Cause("identified", {2}), "");
  add("known", "mql", kT0 + 3000, v1::ACTOR_ENGINE, Cause("sales_ready", {1, 3}), "");
  add("mql", "sal", kT0 + 4000, v1::ACTOR_SALES, Cause("lead_accepted", {4}), "fast_track");
  lc->set_history_dropped(3);
  v1::RejectedTransition* r = lc->add_rejected();
  r->set_from_stage("sal");
  r->set_attempted_to_stage("customer");
  r->set_log_time_ms(kT0 + 5000);
  *r->mutable_cause() = Cause("opportunity_won", {5});
  r->set_actor(v1::ACTOR_SALES);
  r->set_why("transition \"sal\" -> \"customer\" not allowed");
  r->set_fact_kind(v1::SALES_FACT_KIND_OPPORTUNITY_WON);

  v1::ScoreState* s = lead.mutable_score();
  s->set_model_id("default_b2b");
  s->set_model_version(3);
  s->set_records_applied(6);
  s->set_decayed_through_ms(kT0 + 6000);
  s->set_score_milli(57'250);
  s->set_total_cap_hits(1);
  v1::RuleScore* pricing = s->add_rules();
  pricing->set_rule_id("pricing_page");
  pricing->set_points_milli(7'250);
  pricing->set_raw_points_milli(10'000);
  pricing->set_decay_applied_milli(2'750);
  pricing->set_matches(2);
  pricing->set_cap_hits(1);
  pricing->add_recent_sequences(1);
  pricing->add_recent_sequences(9);
  v1::RuleScore* demo = s->add_rules();
  demo->set_rule_id("demo_request");
  demo->set_points_milli(50'000);
  demo->set_raw_points_milli(50'000);
  demo->set_matches(1);
  demo->add_recent_sequences(3);
  s->add_rules()->set_rule_id("webinar");
  s->add_rules()->set_rule_id("unsubscribed");
  v1::GradeState* g = s->mutable_grade();
  g->set_grade("B");
  g->set_fit_points(35);
  v1::FitRuleHit* hit = g->add_hits();
  hit->set_rule_id("vp");
  hit->set_points(30);
  hit = g->add_hits();
  hit->set_rule_id("us");
  hit->set_points(5);
  v1::TraitValue* t = g->add_traits();
  t->set_name("country");
  t->mutable_value()->set_string_value("US");
  t->set_sequence(6);
  t->set_log_time_ms(kT0 + 6000);
  t = g->add_traits();
  t->set_name("employees");
  t->mutable_value()->set_number_value(250);
  t->set_sequence(2);
  t->set_log_time_ms(kT0 + 2000);

  lead.set_owner_id("rep-7");
  v1::OwnerChange* oc = lead.add_owner_history();
  oc->set_owner_id("rep-3");
  oc->set_cause("routing:default/v1/emea");
  oc->set_sequence(3);
  oc->set_log_time_ms(kT0 + 3000);
  oc = lead.add_owner_history();
  oc->set_owner_id("rep-7");
  oc->set_previous_owner_id("rep-3");
  oc->set_cause("sales_fact");
  oc->set_sequence(4);
  oc->set_log_time_ms(kT0 + 4000);

  v1::IdentityMerge* m = lead.add_merges();
  m->set_absorbed_lead_key("u:42");
  m->set_via_identifier("u:42");
  m->set_sequence(2);
  m->set_log_time_ms(kT0 + 2000);
  return lead;
}

TEST(FormatPointsMilli, TrimsTrailingZerosAndKeepsTheSign) {
  EXPECT_EQ(FormatPointsMilli(0), "0");
  EXPECT_EQ(FormatPointsMilli(7000), "7");
  EXPECT_EQ(FormatPointsMilli(42'500), "42.5");
  EXPECT_EQ(FormatPointsMilli(1), "0.001");
  EXPECT_EQ(FormatPointsMilli(1'020), "1.02");
  EXPECT_EQ(FormatPointsMilli(-1), "-0.001");
  EXPECT_EQ(FormatPointsMilli(-12'345), "-12.345");
  EXPECT_EQ(FormatPointsMilli(INT64_MIN), "-9223372036854775.808");
}

TEST(FormatLogTimeMs, IsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(FormatLogTimeMs(kT0), "2026-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatLogTimeMs(kT0 + 3'723'004), "2026-01-01T01:02:03.004Z");
  EXPECT_EQ(FormatLogTimeMs(0), "1970-01-01T00:00:00.000Z");
}

TEST(ExplainLead, StageAndTransitionsNewestFirstWithTheirRecords) {
  const std::string text = ExplainLead(Lead(), Log());
  EXPECT_THAT(text, HasSubstr("lead a:anon-1\n  identifiers: a:anon-1, u:42\n  user id: 42\n"));
  EXPECT_THAT(
      text,
      HasSubstr("stage: sal since 2026-01-01T00:00:04.000Z (lifecycle demand_waterfall v2)\n"
                "  how it got there (newest first):\n"
                "    mql -> sal at 2026-01-01T00:00:04.000Z by sales, rule lead_accepted "
                "(demand_waterfall v2)\n"
                "      reason: fast_track\n"
                "      #4 2026-01-01T00:00:04.000Z track Lead Accepted\n"
                "    known -> mql at 2026-01-01T00:00:03.000Z by engine, rule sales_ready "
                "(demand_waterfall v2)\n"
                "      #1 2026-01-01T00:00:01.000Z page Pricing\n"
                "      #3 2026-01-01T00:00:03.000Z track Demo Requested\n"
                "    anonymous -> known at 2026-01-01T00:00:02.000Z by engine, rule identified "
                "(demand_waterfall v2)\n"
                "      #2 2026-01-01T00:00:02.000Z identify\n"
                "    (3 older transitions not kept)\n"));
}

TEST(ExplainLead, RejectedTransitionsSayWhy) {
  const std::string text = ExplainLead(Lead(), Log());
  EXPECT_THAT(
      text,
      HasSubstr("  rejected transitions (newest first):\n"
                "    sal -> customer at 2026-01-01T00:00:05.000Z by sales, rule opportunity_won "
                "(demand_waterfall v2), fact SALES_FACT_KIND_OPPORTUNITY_WON\n"
                "      why: transition \"sal\" -> \"customer\" not allowed\n"
                "      #5 2026-01-01T00:00:05.000Z track Opportunity Won\n"));
}

TEST(ExplainLead, ScoreBreakdownPerRuleWithRecentRecordsNewestFirst) {
  const std::string text = ExplainLead(Lead(), Log());
  EXPECT_THAT(
      text,
      HasSubstr("score: 57.25 points (model default_b2b v3, 6 records, decayed through "
                "2026-01-01T00:00:06.000Z)\n"
                "  rule pricing_page: 7.25 points, 2 matches, raw 10, decay applied 2.75, "
                "cap hits 1\n"
                "    #9 (record not available)\n"
                "    #1 2026-01-01T00:00:01.000Z page Pricing\n"
                "  rule demo_request: 50 points, 1 matches, raw 50, decay applied 0, cap hits 0\n"
                "    #3 2026-01-01T00:00:03.000Z track Demo Requested\n"
                "  (2 rules without matches)\n"
                "  total-cap hits: 1\n"));
}

TEST(ExplainLead, GradeListsHitsAndTraitsAndWithTheModelWhatEachRuleReads) {
  v1::LeadState lead = Lead();
  const std::string text = ExplainLead(lead, Log());
  EXPECT_THAT(text, HasSubstr("grade: B (fit points 35)\n"
                              "  fit rule vp holds: +30\n"
                              "  fit rule us holds: +5\n"
                              "  traits the fit rules read:\n"
                              "    country = \"US\" (#6 2026-01-01T00:00:06.000Z)\n"
                              "    employees = 250 (#2 2026-01-01T00:00:02.000Z)\n"));
  v1::ScoringModel model;
  model.set_id("default_b2b");
  model.set_version(3);
  v1::FitRule* vp = model.mutable_grade()->add_rules();
  vp->set_id("vp");
  vp->add_where()->set_field("traits.title");
  vp->add_where()->set_field("traits.company.size");
  EXPECT_THAT(
      ExplainLead(lead, Log(), &model),
      HasSubstr("  fit rule vp holds: +30 (reads company, title)\n  fit rule us holds: +5\n"));
  model.set_version(4);  // another version: no claim about what rules read
  EXPECT_THAT(ExplainLead(lead, Log(), &model), Not(HasSubstr("reads")));
}

TEST(ExplainLead, OwnerAndHowItWasChosen) {
  const std::string text = ExplainLead(Lead(), Log());
  EXPECT_THAT(text, HasSubstr("owner: rep-7 (chosen by sales_fact at #4 2026-01-01T00:00:04.000Z)\n"
                              "  owner changes (newest first):\n"
                              "    rep-3 -> rep-7: sales_fact at #4 2026-01-01T00:00:04.000Z\n"
                              "    (unassigned) -> rep-3: routing:default/v1/emea at #3 "
                              "2026-01-01T00:00:03.000Z\n"));
}

TEST(ExplainLead, IdentityMergesWithTheirRecord) {
  const std::string text = ExplainLead(Lead(), Log());
  EXPECT_THAT(text, HasSubstr("identity merges (newest first):\n"
                              "  absorbed u:42 via u:42 at #2 2026-01-01T00:00:02.000Z\n"
                              "    #2 2026-01-01T00:00:02.000Z identify\n"));
}

TEST(ExplainLead, FreshLeadWithoutStageScoreGradeOrOwner) {
  v1::LeadState lead;
  lead.set_lead_key("a:x");
  const std::string text = ExplainLead(lead, nullptr);
  EXPECT_THAT(text, HasSubstr("stage: (none yet)\n"));
  EXPECT_THAT(text, HasSubstr("score: 0 points"));
  EXPECT_THAT(text, HasSubstr("grade: (model has no grade)\n"));
  EXPECT_THAT(text, HasSubstr("owner: (unassigned)\n"));
  EXPECT_THAT(text, HasSubstr("identity merges: none\n"));
  EXPECT_THAT(text, Not(HasSubstr("rejected")));
}

TEST(ExplainLead, StructTraitsRenderWithSortedKeysAndOutputIsDeterministic) {
  v1::LeadState lead = Lead();
  v1::TraitValue* t = lead.mutable_score()->mutable_grade()->add_traits();
  t->set_name("zz_company");
  auto& fields = *t->mutable_value()->mutable_struct_value()->mutable_fields();
  for (const char* k : {"zeta", "alpha", "mid", "beta"}) fields[k].set_bool_value(true);
  fields["list"].mutable_list_value()->add_values()->set_number_value(1.5);
  const std::string text = ExplainLead(lead, Log());
  EXPECT_THAT(text, HasSubstr("zz_company = {\"alpha\": true, \"beta\": true, \"list\": [1.5], "
                              "\"mid\": true, \"zeta\": true}"));
  v1::LeadState copy;
  ASSERT_TRUE(copy.ParseFromString(lead.SerializeAsString()));
  EXPECT_EQ(ExplainLead(copy, Log()), text);
}

TEST(ExplainLead, ClockTickRecordsAreNamed) {
  v1::LeadState lead = Lead();
  lead.mutable_score()->mutable_rules(2)->set_matches(1);
  lead.mutable_score()->mutable_rules(2)->add_recent_sequences(7);
  EXPECT_THAT(ExplainLead(lead, Log()), HasSubstr("    #7 2026-01-01T00:00:07.000Z clock_tick\n"));
}

}  // namespace
}  // namespace leadlog
