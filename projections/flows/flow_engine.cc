// Design note: one call (OnRecord, OnTimer, Migrate) builds a Run, which
// holds the call's context and moves the enrollment forward step by step.
// Every change of the enrollment goes through a handful of Run methods
// (Enter, Schedule, CancelTimer, End, Journey, Stat), so the timer and
// journey invariants of flow_engine.h are kept in one place. Steps return an
// Outcome (go on at `next`, pause, ended); Go() is the only loop.
#include "projections/flows/flow_engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/limits.h"
#include "engine/status_macros.h"

namespace leadlog {

struct FlowEngine::Compiled {
  v1::NurtureFlow flow;
  std::map<std::string, int> steps;    // step id -> index
  std::map<std::string, int> streams;  // stream id -> index
  // trait_matched triggers as conditions (empty for other kinds), by index.
  std::vector<v1::LeadCondition> trait_conditions;
};

namespace {

using Enrollment = v1::FlowEnrollment;

std::string FormatMs(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

std::string DescribeEvent(const v1::EventMatch& match) {
  if (match.event().empty()) return absl::StrCat(match.call(), " (any)");
  return absl::StrCat(match.call(), " \"", match.event(), "\"");
}

bool HasStage(const v1::LifecycleModel& model, absl::string_view stage) {
  return std::any_of(model.stages().begin(), model.stages().end(),
                     [&](const v1::LifecycleStage& s) { return s.id() == stage; });
}

bool IsWait(const v1::FlowStep& step) { return step.kind_case() == v1::FlowStep::kWait; }

bool ReEnrollmentAllows(const v1::ReEnrollment& policy, const std::optional<Enrollment>& previous,
                        int64_t now_ms) {
  if (!previous.has_value()) return true;
  if (previous->status() == Enrollment::ACTIVE) return false;
  switch (policy.policy()) {
    case v1::ReEnrollment::AFTER_EXIT:
      return true;
    case v1::ReEnrollment::AFTER_INTERVAL:
      return now_ms >= previous->enrolled_ms() + policy.interval_ms();
    default:  // NEVER, UNSPECIFIED
      return false;
  }
}

}  // namespace

uint32_t SplitBucket(absl::string_view lead_key, absl::string_view flow_id,
                     absl::string_view step_id, uint32_t enrollment_number) {
  const std::string key = absl::StrCat(lead_key, "|", flow_id, "|", step_id, "|", enrollment_number);
  return static_cast<uint32_t>(StableHash64(key) % 100);
}

// One call's progress through the flow for one lead.
class FlowEngine::Run {
 public:
  Run(const FlowEngine::Compiled& compiled, const FlowContext& ctx, v1::LeadState* lead,
      Enrollment* enrollment, FlowEffects* effects, std::string timer_id)
      : c_(compiled), flow_(compiled.flow), ctx_(ctx), lead_(lead), enr_(enrollment),
        fx_(effects), timer_id_(std::move(timer_id)) {}

  void Journey(const std::string& step_id, std::string what) {
    v1::JourneyEntry* entry = enr_->add_journey();
    entry->set_sequence(ctx_.record != nullptr ? ctx_.record->sequence() : 0);
    entry->set_log_time_ms(ctx_.now_ms);
    entry->set_step_id(step_id);
    entry->set_what(std::move(what));
    const int excess = enr_->journey_size() - kFlowJourneyMax;
    if (excess > 0) {
      enr_->mutable_journey()->DeleteSubrange(0, excess);
      enr_->set_journey_dropped(enr_->journey_dropped() + excess);
    }
  }

  void Stat(const std::string& key) { fx_->stats[key] += 1; }

  // Runs from `next` (entering it) until a step pauses or the flow ends.
  void Go(std::string next) {
    while (true) {
      if (next.empty()) {
        End(Enrollment::COMPLETED, "", "", "completed: ran past the last step");
        return;
      }
      Enter(next);
      if (steps_run_ >= kFlowStepsPerRunMax && !IsWait(Step())) {
        Park();
        return;
      }
      Outcome outcome = Execute();
      if (outcome.kind != Outcome::kNext) return;
      next = std::move(outcome.next);
    }
  }

  // Executes the current step again (a timer on a non-wait step), then goes on.
  void Resume() {
    Outcome outcome = Execute();
    if (outcome.kind == Outcome::kNext) Go(std::move(outcome.next));
  }

  void Enroll(int trigger, const std::string& what) {
    Journey("", trigger < 0 ? absl::StrCat("enrolled by ", what)
                            : absl::StrCat("enrolled by trigger[", trigger, "] (", what, ")"));
    Stat("enrolled");
    Go(flow_.steps(0).id());
  }

  void OnActiveRecord() {
    if (std::optional<std::string> reason =
            SuppressionReason(flow_.suppression(), *lead_, ctx_.lifecycle)) {
      End(Enrollment::EXITED, absl::StrCat("suppressed: ", *reason), "", "");
      return;
    }
    std::string why;
    if (flow_.has_goal() && EvaluateCondition(flow_.goal(), *lead_, ctx_.now_ms, &why)) {
      End(Enrollment::CONVERTED, "goal", "", absl::StrCat("converted: goal holds (", why, ")"));
      return;
    }
    for (int i = 0; i < flow_.exit_criteria_size(); ++i) {
      why.clear();
      if (!EvaluateCondition(flow_.exit_criteria(i), *lead_, ctx_.now_ms, &why)) continue;
      const std::string reason = absl::StrCat("exit_criteria[", i, "]");
      End(Enrollment::EXITED, reason, "", absl::StrCat("exited: ", reason, " holds (", why, ")"));
      return;
    }
    const v1::FlowStep& step = Step();
    if (IsWait(step) && step.wait().has_event() &&
        MatchesEvent(step.wait().event(), *ctx_.record)) {
      CancelTimer();
      Journey(step.id(), absl::StrCat("event arrived: ", DescribeEvent(step.wait().event())));
      Go(step.next());
      return;
    }
    if (step.kind_case() == v1::FlowStep::kStream && enr_->exhausted() && StreamCanResume(step)) {
      Resume();
    }
  }

  void OnTimer() {
    const v1::FlowStep& step = Step();
    if (!IsWait(step)) {
      Resume();
      return;
    }
    if (step.wait().has_event()) {
      Journey(step.id(), absl::StrCat("timed out waiting for ", DescribeEvent(step.wait().event()),
                                      ": to ", step.wait().timeout_next()));
      Go(step.wait().timeout_next());
      return;
    }
    Journey(step.id(), "wait over");
    Go(step.next());
  }

  void Migrate(const v1::NurtureFlow& old_flow) {
    const std::string from = enr_->current_step();
    const auto& step_map = flow_.migration().step_map();
    std::string to;
    if (auto it = step_map.find(from); it != step_map.end()) {
      to = it->second;
    } else if (c_.steps.count(from) != 0) {
      to = from;
    }
    if (to.empty()) {
      End(Enrollment::EXITED, "migration", from,
          absl::StrCat("exited: migration (step ", from, " of v", old_flow.version(),
                       " has no counterpart in v", flow_.version(), ")"));
      return;
    }
    const std::string old_stream = OldStreamId(old_flow, from);
    enr_->set_flow_version(flow_.version());
    Journey(to, absl::StrCat("migrated from v", old_flow.version(), " step ", from, " to ", to));
    enr_->set_current_step(to);
    const v1::FlowStep& step = Step();
    const bool timer = !enr_->timer_id().empty();
    if (IsWait(step) && timer) return;  // the pending wait goes on
    if (step.kind_case() == v1::FlowStep::kStream && (timer || enr_->exhausted())) {
      if (step.stream().stream_id() != old_stream) {
        enr_->set_stream_position(0);
      }
      if (timer) return;  // the cadence (or deferred send) goes on
      if (StreamCanResume(step)) Resume();
      return;
    }
    CancelTimer();
    Go(to);
  }

 private:
  struct Outcome {
    enum Kind { kNext, kPause, kEnded } kind;
    std::string next;
  };
  enum class SendResult { kSent, kSkipped, kDeferred, kSuppressed };

  const v1::FlowStep& Step() const {
    auto it = c_.steps.find(enr_->current_step());
    LEADLOG_CHECK(it != c_.steps.end()) << "unknown step " << enr_->current_step();
    return flow_.steps(it->second);
  }

  static std::string OldStreamId(const v1::NurtureFlow& old_flow, const std::string& step_id) {
    for (const v1::FlowStep& s : old_flow.steps()) {
      if (s.id() == step_id && s.kind_case() == v1::FlowStep::kStream) return s.stream().stream_id();
    }
    return "";
  }

  // The lead as conditions see it: with this call's stage, owner and score
  // changes applied (the caller applies them to the real lead afterwards).
  const v1::LeadState& View() {
    if (!stage_.has_value() && !owner_.has_value() && score_delta_milli_ == 0) return *lead_;
    view_ = *lead_;
    view_.set_score_adjustment_milli(view_.score_adjustment_milli() + score_delta_milli_);
    if (owner_.has_value()) view_.set_owner_id(*owner_);
    if (stage_.has_value()) view_.mutable_lifecycle()->set_current_stage(*stage_);
    return view_;
  }

  void Enter(const std::string& step_id) {
    enr_->set_current_step(step_id);
    enr_->set_step_entered_ms(ctx_.now_ms);
    enr_->set_stream_position(0);
    enr_->set_exhausted(false);
    Stat(absl::StrCat("step:", step_id));
  }

  void Schedule(int64_t due_ms) {
    enr_->set_timer_id(timer_id_);
    enr_->set_timer_due_ms(due_ms);
    fx_->schedule_timer_ms = due_ms;
    fx_->cancel_timer = false;
  }

  void CancelTimer() {
    if (enr_->timer_id().empty()) return;
    enr_->clear_timer_id();
    enr_->set_timer_due_ms(0);
    fx_->schedule_timer_ms.reset();
    fx_->cancel_timer = true;
  }

  // Ends the enrollment. `what` defaults to "exited: <reason>".
  void End(Enrollment::Status status, const std::string& reason, const std::string& step_id,
           std::string what) {
    CancelTimer();
    enr_->set_status(status);
    enr_->set_ended_ms(ctx_.now_ms);
    enr_->set_exit_reason(reason);
    if (status == Enrollment::COMPLETED) Stat("completed");
    if (status == Enrollment::CONVERTED) Stat("converted");
    if (status == Enrollment::EXITED) Stat(absl::StrCat("exited:", reason));
    Journey(step_id, what.empty() ? absl::StrCat("exited: ", reason) : std::move(what));
  }

  void Park() {
    const int64_t due = ctx_.now_ms + kFlowParkDelayMs;
    Schedule(due);
    Stat("parked");
    Journey(enr_->current_step(), absl::StrCat("parked: ", kFlowStepsPerRunMax,
                                               " steps ran in one call; resumes at ", FormatMs(due)));
  }

  Outcome Execute();
  Outcome ExecuteWait(const v1::FlowStep& step);
  Outcome ExecuteBranch(const v1::FlowStep& step);
  Outcome ExecuteSplit(const v1::FlowStep& step);
  Outcome ExecuteLeadChange(const v1::FlowStep& step);
  Outcome ExecuteStream(const v1::FlowStep& step);
  SendResult Send(const v1::FlowStep& step, const std::string& content_id,
                  const std::string& channel, const std::string& stream_id);
  bool StreamCanResume(const v1::FlowStep& step);
  std::string WaitZone() const;
  v1::FlowOrigin Origin(const std::string& step_id) const;
  v1::Action NewAction(const char* type) const;

  const FlowEngine::Compiled& c_;
  const v1::NurtureFlow& flow_;
  const FlowContext& ctx_;
  v1::LeadState* lead_;
  Enrollment* enr_;
  FlowEffects* fx_;
  const std::string timer_id_;
  int steps_run_ = 0;
  std::optional<std::string> stage_;
  std::optional<std::string> owner_;
  int64_t score_delta_milli_ = 0;
  v1::LeadState view_;
};

v1::FlowOrigin FlowEngine::Run::Origin(const std::string& step_id) const {
  v1::FlowOrigin origin;
  origin.set_flow_id(flow_.id());
  origin.set_flow_version(flow_.version());
  origin.set_step_id(step_id);
  origin.set_enrollment_number(enr_->enrollment_number());
  return origin;
}

v1::Action FlowEngine::Run::NewAction(const char* type) const {
  v1::Action action;
  action.set_type(type);
  action.set_lead_key(lead_->lead_key());
  return action;
}

FlowEngine::Run::Outcome FlowEngine::Run::Execute() {
  ++steps_run_;
  const v1::FlowStep& step = Step();
  switch (step.kind_case()) {
    case v1::FlowStep::kSend:
      switch (Send(step, step.send().content_id(), step.send().channel(), "")) {
        case SendResult::kSuppressed:
          return {Outcome::kEnded, ""};
        case SendResult::kDeferred:
          return {Outcome::kPause, ""};
        default:
          return {Outcome::kNext, step.next()};
      }
    case v1::FlowStep::kWait:
      return ExecuteWait(step);
    case v1::FlowStep::kBranch:
      return ExecuteBranch(step);
    case v1::FlowStep::kSplit:
      return ExecuteSplit(step);
    case v1::FlowStep::kGoTo:
      Journey(step.id(), absl::StrCat("go to ", step.go_to().target()));
      return {Outcome::kNext, step.go_to().target()};
    case v1::FlowStep::kExit: {
      const std::string reason =
          step.exit().reason().empty() ? absl::StrCat("exit step ", step.id()) : step.exit().reason();
      End(Enrollment::EXITED, reason, step.id(), "");
      return {Outcome::kEnded, ""};
    }
    case v1::FlowStep::kStream:
      return ExecuteStream(step);
    default:
      return ExecuteLeadChange(step);
  }
}

FlowEngine::Run::SendResult FlowEngine::Run::Send(const v1::FlowStep& step,
                                                  const std::string& content_id,
                                                  const std::string& channel,
                                                  const std::string& stream_id) {
  if (std::optional<std::string> reason =
          SuppressionReason(flow_.suppression(), View(), ctx_.lifecycle)) {
    End(Enrollment::EXITED, absl::StrCat("suppressed: ", *reason), step.id(), "");
    return SendResult::kSuppressed;
  }
  if (WasSent(lead_->nurture(), content_id)) {
    Stat("skipped_sent");
    Journey(step.id(), absl::StrCat("skipped: content ", content_id, " already sent"));
    return SendResult::kSkipped;
  }
  if (ctx_.gate != nullptr) {
    SendDecision decision =
        ctx_.gate->Check(lead_->nurture(), channel, ctx_.now_ms, lead_->time_zone());
    if (!decision.allowed) {
      // A retry time not after now would fire at once and defer again.
      const int64_t retry = std::max(decision.retry_at_ms, ctx_.now_ms + 1);
      Schedule(retry);
      Stat("deferred");
      Journey(step.id(), absl::StrCat("deferred send: ", decision.why, "; content ", content_id,
                                      " retried at ", FormatMs(retry)));
      return SendResult::kDeferred;
    }
  }
  v1::Action action = NewAction("send_content");
  v1::SendContentAction* body = action.mutable_send_content();
  *body->mutable_origin() = Origin(step.id());
  body->set_content_id(content_id);
  body->set_channel(channel);
  body->set_stream_id(stream_id);
  fx_->actions.push_back(std::move(action));
  RecordSentContent(lead_->mutable_nurture(), content_id);
  if (ctx_.gate != nullptr) ctx_.gate->Record(lead_->mutable_nurture(), channel, ctx_.now_ms);
  Stat("sent");
  Journey(step.id(), absl::StrCat("sent content ", content_id, " by ", channel));
  return SendResult::kSent;
}

std::string FlowEngine::Run::WaitZone() const {
  if (!lead_->time_zone().empty()) return lead_->time_zone();
  if (ctx_.gate != nullptr && !ctx_.gate->governance().quiet_hours().default_time_zone().empty()) {
    return ctx_.gate->governance().quiet_hours().default_time_zone();
  }
  return "UTC";
}

FlowEngine::Run::Outcome FlowEngine::Run::ExecuteWait(const v1::FlowStep& step) {
  const v1::WaitStep& wait = step.wait();
  int64_t due = 0;
  std::string what;
  if (wait.duration_ms() != 0) {
    due = ctx_.now_ms + wait.duration_ms();
    what = absl::StrCat("waiting ", wait.duration_ms(), " ms until ", FormatMs(due));
  } else if (!wait.time().empty()) {
    absl::StatusOr<int> minute = ParseTimeOfDay(wait.time());
    absl::StatusOr<int> weekday = ParseWeekday(wait.weekday());
    LEADLOG_CHECK(minute.ok() && weekday.ok()) << "validated wait " << step.id();
    std::string zone = WaitZone();
    absl::StatusOr<int64_t> next = NextLocalTime(ctx_.now_ms, *weekday, *minute, zone);
    if (!next.ok()) {  // the lead's zone is external data: fall back, say so
      what = absl::StrCat("unknown time zone \"", zone, "\", using UTC; ");
      zone = "UTC";
      next = NextLocalTime(ctx_.now_ms, *weekday, *minute, zone);
    }
    if (!next.ok()) {  // log time outside the computed range: never expected
      absl::StrAppend(&what, "no local time (", next.status().message(), "); ");
      next = ctx_.now_ms + kFlowWaitMsMin;
    }
    due = *next;
    absl::StrAppend(&what, "waiting until ", FormatMs(due), " (",
                    wait.weekday().empty() ? "" : absl::StrCat(wait.weekday(), " "), wait.time(),
                    " ", zone, ")");
  } else {
    due = ctx_.now_ms + wait.timeout_ms();
    what = absl::StrCat("waiting for ", DescribeEvent(wait.event()), " until ", FormatMs(due),
                        ", then ", wait.timeout_next());
  }
  Schedule(due);
  Journey(step.id(), std::move(what));
  return {Outcome::kPause, ""};
}

FlowEngine::Run::Outcome FlowEngine::Run::ExecuteBranch(const v1::FlowStep& step) {
  const v1::BranchStep& branch = step.branch();
  std::vector<std::string> failed;
  for (int i = 0; i < branch.cases_size(); ++i) {
    std::string why;
    if (EvaluateCondition(branch.cases(i).when(), View(), ctx_.now_ms, &why)) {
      Journey(step.id(), absl::StrCat("branch: cases[", i, "] holds (", why, "): to ",
                                      branch.cases(i).next()));
      return {Outcome::kNext, branch.cases(i).next()};
    }
    failed.push_back(absl::StrCat("cases[", i, "]: ", why));
  }
  const std::string target =
      branch.default_next().empty() ? "the end" : branch.default_next();
  Journey(step.id(), absl::StrCat("branch: no case holds (", absl::StrJoin(failed, "; "),
                                  "): default, to ", target));
  return {Outcome::kNext, branch.default_next()};
}

FlowEngine::Run::Outcome FlowEngine::Run::ExecuteSplit(const v1::FlowStep& step) {
  const uint32_t bucket =
      SplitBucket(lead_->lead_key(), flow_.id(), step.id(), enr_->enrollment_number());
  uint32_t upper = 0;
  const v1::SplitStep& split = step.split();
  for (int i = 0; i < split.paths_size(); ++i) {
    upper += split.paths(i).percent();
    if (bucket < upper || i + 1 == split.paths_size()) {
      Journey(step.id(), absl::StrCat("split: paths[", i, "] (bucket ", bucket, " < ", upper,
                                      "): to ", split.paths(i).next()));
      return {Outcome::kNext, split.paths(i).next()};
    }
  }
  LEADLOG_CHECK(false) << "validated split " << step.id() << " has no paths";
  return {Outcome::kEnded, ""};
}

// set_stage, add_score, set_owner, notify_owner, webhook.
FlowEngine::Run::Outcome FlowEngine::Run::ExecuteLeadChange(const v1::FlowStep& step) {
  switch (step.kind_case()) {
    case v1::FlowStep::kSetStage: {
      const v1::SetStageStep& s = step.set_stage();
      if (ctx_.lifecycle != nullptr && !HasStage(*ctx_.lifecycle, s.stage())) {
        Journey(step.id(), absl::StrCat("skipped: stage ", s.stage(), " is not in lifecycle model ",
                                        ctx_.lifecycle->id(), " v", ctx_.lifecycle->version()));
        break;
      }
      fx_->set_stage = std::make_pair(s.stage(), s.reason());
      fx_->set_stage_rule = absl::StrCat("flow:", flow_.id(), "/", step.id());
      stage_ = s.stage();
      Journey(step.id(), absl::StrCat("set stage ", s.stage(),
                                      s.reason().empty() ? "" : absl::StrCat(" (reason ", s.reason(), ")")));
      break;
    }
    case v1::FlowStep::kAddScore:
      fx_->add_score_milli += step.add_score().points() * 1000;
      score_delta_milli_ += step.add_score().points() * 1000;
      Journey(step.id(), absl::StrCat("added ", step.add_score().points(), " points"));
      break;
    case v1::FlowStep::kSetOwner:
      fx_->set_owner = step.set_owner().owner_id();
      owner_ = step.set_owner().owner_id();
      Journey(step.id(), absl::StrCat("set owner ", step.set_owner().owner_id()));
      break;
    case v1::FlowStep::kNotifyOwner: {
      const std::string owner = View().owner_id();
      if (owner.empty()) {
        Journey(step.id(), "skipped: the lead has no owner to notify");
        break;
      }
      v1::Action action = NewAction("notify_owner");
      *action.mutable_notify_owner()->mutable_origin() = Origin(step.id());
      action.mutable_notify_owner()->set_owner_id(owner);
      action.mutable_notify_owner()->set_template_id(step.notify_owner().template_id());
      fx_->actions.push_back(std::move(action));
      Journey(step.id(), absl::StrCat("notified owner ", owner, " (template ",
                                      step.notify_owner().template_id(), ")"));
      break;
    }
    case v1::FlowStep::kWebhook: {
      v1::Action action = NewAction("webhook");
      *action.mutable_webhook()->mutable_origin() = Origin(step.id());
      action.mutable_webhook()->set_webhook_id(step.webhook().webhook_id());
      fx_->actions.push_back(std::move(action));
      Journey(step.id(), absl::StrCat("called webhook ", step.webhook().webhook_id()));
      break;
    }
    default:
      LEADLOG_CHECK(false) << "unhandled step kind " << step.kind_case();
  }
  return {Outcome::kNext, step.next()};
}

bool FlowEngine::Run::StreamCanResume(const v1::FlowStep& step) {
  const v1::ContentStream& stream = flow_.streams(c_.streams.at(step.stream().stream_id()));
  for (const v1::StreamTransition& t : stream.transitions()) {
    if (EvaluateCondition(t.when(), View(), ctx_.now_ms, nullptr)) return true;
  }
  return NextStreamContent(stream, lead_->nurture(), 0).content.has_value();
}

FlowEngine::Run::Outcome FlowEngine::Run::ExecuteStream(const v1::FlowStep& step) {
  const v1::ContentStream& stream = flow_.streams(c_.streams.at(step.stream().stream_id()));
  for (int i = 0; i < stream.transitions_size(); ++i) {
    std::string why;
    const v1::StreamTransition& t = stream.transitions(i);
    if (EvaluateCondition(t.when(), View(), ctx_.now_ms, &why)) {
      Journey(step.id(), absl::StrCat("stream ", stream.id(), ": transitions[", i, "] holds (", why,
                                      "): to ", t.to_step()));
      return {Outcome::kNext, t.to_step()};
    }
  }
  // An exhausted lead looks at the whole stream again: new pieces may have
  // been added anywhere in it.
  uint32_t position = enr_->exhausted() ? 0 : enr_->stream_position();
  for (int tries = 0; tries <= stream.content_size(); ++tries) {
    StreamPick pick = NextStreamContent(stream, lead_->nurture(), position);
    if (!pick.content.has_value()) break;
    enr_->set_exhausted(false);
    switch (Send(step, pick.content->content_id(), pick.content->channel(), stream.id())) {
      case SendResult::kSuppressed:
        return {Outcome::kEnded, ""};
      case SendResult::kDeferred:
        enr_->set_stream_position(pick.index);
        return {Outcome::kPause, ""};
      case SendResult::kSkipped:
        position = pick.index + 1;
        continue;
      case SendResult::kSent: {
        enr_->set_stream_position(pick.index + 1);
        const int64_t due = ctx_.now_ms + stream.cadence_ms();
        Schedule(due);
        Journey(step.id(), absl::StrCat("stream ", stream.id(), ": next piece at ", FormatMs(due)));
        return {Outcome::kPause, ""};
      }
    }
  }
  if (!enr_->exhausted()) {
    enr_->set_exhausted(true);
    enr_->set_stream_position(static_cast<uint32_t>(stream.content_size()));
    Stat("exhausted");
    Journey(step.id(), absl::StrCat("exhausted: every piece of stream ", stream.id(),
                                    " was sent; waiting for new content"));
  }
  return {Outcome::kPause, ""};
}

// ---------------------------------------------------------------- FlowEngine

FlowEngine::FlowEngine(std::unique_ptr<Compiled> compiled) : compiled_(std::move(compiled)) {}
FlowEngine::~FlowEngine() = default;

absl::StatusOr<std::unique_ptr<FlowEngine>> FlowEngine::Create(const v1::NurtureFlow& flow) {
  RETURN_IF_ERROR(ValidateNurtureFlow(flow));
  auto compiled = std::make_unique<Compiled>();
  compiled->flow = flow;
  for (int i = 0; i < flow.steps_size(); ++i) compiled->steps.emplace(flow.steps(i).id(), i);
  for (int i = 0; i < flow.streams_size(); ++i) compiled->streams.emplace(flow.streams(i).id(), i);
  compiled->trait_conditions.resize(flow.triggers_size());
  for (int i = 0; i < flow.triggers_size(); ++i) {
    if (!flow.triggers(i).has_trait_matched()) continue;
    *compiled->trait_conditions[i].mutable_traits() = flow.triggers(i).trait_matched().where();
  }
  return std::unique_ptr<FlowEngine>(new FlowEngine(std::move(compiled)));
}

const v1::NurtureFlow& FlowEngine::flow() const { return compiled_->flow; }

std::string FlowEngine::TimerId(const std::string& lead_key) const {
  return absl::StrCat("flow/", compiled_->flow.id(), "/", lead_key);
}

namespace {

// An enrollment handed to the engine of another flow or version is the
// caller's bug; it is reported, not run, so the fold can say which.
absl::Status CheckEnrollment(const v1::NurtureFlow& flow, const std::map<std::string, int>& steps,
                             const Enrollment& e) {
  if (e.flow_id() != flow.id() || e.flow_version() != flow.version()) {
    return absl::InvalidArgumentError(
        absl::StrCat("enrollment of flow ", e.flow_id(), " v", e.flow_version(),
                     " given to the engine of flow ", flow.id(), " v", flow.version()));
  }
  if (steps.count(e.current_step()) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("enrollment of flow ", flow.id(), " v",
                                                   flow.version(), ": unknown current step \"",
                                                   e.current_step(), "\""));
  }
  return absl::OkStatus();
}

}  // namespace

int FlowEngine::FiringTrigger(const FlowContext& ctx, const v1::LeadState& before,
                              const v1::LeadState& lead, std::string* what) const {
  const v1::NurtureFlow& flow = compiled_->flow;
  for (int i = 0; i < flow.triggers_size(); ++i) {
    const v1::FlowTrigger& t = flow.triggers(i);
    switch (t.kind_case()) {
      case v1::FlowTrigger::kEvent:
        if (!MatchesEvent(t.event(), *ctx.record)) continue;
        *what = absl::StrCat("event ", DescribeEvent(t.event()));
        return i;
      case v1::FlowTrigger::kStageEntered: {
        const std::string& stage = t.stage_entered().stage();
        if (lead.lifecycle().current_stage() != stage ||
            before.lifecycle().current_stage() == stage) {
          continue;
        }
        *what = absl::StrCat("entered stage ", stage);
        return i;
      }
      case v1::FlowTrigger::kScoreCrossed: {
        const double b = EffectiveScore(before), a = EffectiveScore(lead);
        const double th = t.score_crossed().threshold();
        const bool down = t.score_crossed().downward();
        if (down ? !(a < th && th <= b) : !(b < th && th <= a)) continue;
        *what = absl::StrCat("score crossed ", th, down ? " downward (" : " upward (", b, " -> ",
                             a, ")");
        return i;
      }
      case v1::FlowTrigger::kGradeReached: {
        const int min = GradeRank(t.grade_reached().grade_min());
        const int rb = GradeRank(before.score().grade().grade());
        const int ra = GradeRank(lead.score().grade().grade());
        if (!(ra >= 0 && ra <= min) || (rb >= 0 && rb <= min)) continue;
        *what = absl::StrCat("grade reached ", t.grade_reached().grade_min(), " (",
                             before.score().grade().grade().empty() ? "none"
                                                                    : before.score().grade().grade(),
                             " -> ", lead.score().grade().grade(), ")");
        return i;
      }
      case v1::FlowTrigger::kTraitMatched: {
        const v1::LeadCondition& cond = compiled_->trait_conditions[i];
        std::string why;
        if (!EvaluateCondition(cond, lead, ctx.now_ms, &why) ||
            EvaluateCondition(cond, before, ctx.now_ms, nullptr)) {
          continue;
        }
        *what = absl::StrCat("traits matched: ", why);
        return i;
      }
      case v1::FlowTrigger::KIND_NOT_SET:
        break;
    }
  }
  return -1;
}

absl::Status FlowEngine::StartEnrollment(const FlowContext& ctx, int trigger,
                                         const std::string& what, v1::LeadState* lead,
                                         std::optional<v1::FlowEnrollment>* enrollment,
                                         FlowEffects* effects) const {
  const v1::NurtureFlow& flow = compiled_->flow;
  if (SuppressionReason(flow.suppression(), *lead, ctx.lifecycle).has_value()) {
    effects->stats["not_enrolled:suppressed"] += 1;
    return absl::OkStatus();
  }
  if (!ReEnrollmentAllows(flow.reenrollment(), *enrollment, ctx.now_ms)) {
    effects->stats["not_enrolled:reenrollment"] += 1;
    return absl::OkStatus();
  }
  v1::FlowEnrollment fresh;
  fresh.set_flow_id(flow.id());
  fresh.set_flow_version(flow.version());
  fresh.set_status(v1::FlowEnrollment::ACTIVE);
  fresh.set_enrollment_number(enrollment->has_value() ? (*enrollment)->enrollment_number() + 1 : 1);
  fresh.set_enrolled_ms(ctx.now_ms);
  *enrollment = std::move(fresh);
  Run run(*compiled_, ctx, lead, &**enrollment, effects, TimerId(lead->lead_key()));
  run.Enroll(trigger, what);
  return absl::OkStatus();
}

absl::Status FlowEngine::MaybeEnroll(const FlowContext& ctx, const v1::LeadState& before,
                                     v1::LeadState* lead,
                                     std::optional<v1::FlowEnrollment>* enrollment,
                                     FlowEffects* effects) const {
  std::string what;
  const int trigger = FiringTrigger(ctx, before, *lead, &what);
  if (trigger < 0) return absl::OkStatus();
  const v1::NurtureFlow& flow = compiled_->flow;
  if (!EvaluateCondition(flow.entry_filter(), *lead, ctx.now_ms, nullptr)) {
    effects->stats["not_enrolled:filter"] += 1;
    return absl::OkStatus();
  }
  return StartEnrollment(ctx, trigger, what, lead, enrollment, effects);
}

absl::Status FlowEngine::Enroll(const FlowContext& ctx, absl::string_view why, v1::LeadState* lead,
                                std::optional<v1::FlowEnrollment>* enrollment,
                                FlowEffects* effects) const {
  if (enrollment->has_value() && (*enrollment)->status() == v1::FlowEnrollment::ACTIVE) {
    return absl::OkStatus();  // already in the flow
  }
  return StartEnrollment(ctx, -1, std::string(why), lead, enrollment, effects);
}

absl::Status FlowEngine::OnRecord(const FlowContext& ctx, const v1::LeadState& before,
                                  v1::LeadState* lead,
                                  std::optional<v1::FlowEnrollment>* enrollment,
                                  FlowEffects* effects) const {
  if (ctx.record == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("flow ", compiled_->flow.id(), ": OnRecord without a record"));
  }
  if (!enrollment->has_value() || (*enrollment)->status() != v1::FlowEnrollment::ACTIVE) {
    return MaybeEnroll(ctx, before, lead, enrollment, effects);
  }
  RETURN_IF_ERROR(CheckEnrollment(compiled_->flow, compiled_->steps, **enrollment));
  Run run(*compiled_, ctx, lead, &**enrollment, effects, TimerId(lead->lead_key()));
  run.OnActiveRecord();
  return absl::OkStatus();
}

absl::Status FlowEngine::OnTimer(const FlowContext& ctx, v1::LeadState* lead,
                                 v1::FlowEnrollment* enrollment, FlowEffects* effects) const {
  if (enrollment->status() != v1::FlowEnrollment::ACTIVE || enrollment->timer_id().empty() ||
      ctx.now_ms < enrollment->timer_due_ms()) {
    return absl::OkStatus();  // stale or early: nothing is due
  }
  RETURN_IF_ERROR(CheckEnrollment(compiled_->flow, compiled_->steps, *enrollment));
  // The timer fired: it is gone (the caller removed it) unless rescheduled.
  enrollment->clear_timer_id();
  enrollment->set_timer_due_ms(0);
  Run run(*compiled_, ctx, lead, enrollment, effects, TimerId(lead->lead_key()));
  run.OnTimer();
  return absl::OkStatus();
}

absl::Status FlowEngine::Migrate(const FlowContext& ctx, const v1::NurtureFlow& old_flow,
                                 v1::LeadState* lead, v1::FlowEnrollment* enrollment,
                                 FlowEffects* effects) const {
  const v1::NurtureFlow& flow = compiled_->flow;
  if (enrollment->status() != v1::FlowEnrollment::ACTIVE) return absl::OkStatus();
  if (old_flow.id() != flow.id() || enrollment->flow_id() != flow.id() ||
      enrollment->flow_version() != old_flow.version() || old_flow.version() >= flow.version()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "migrate: enrollment of flow ", enrollment->flow_id(), " v", enrollment->flow_version(),
        " from flow ", old_flow.id(), " v", old_flow.version(), " to flow ", flow.id(), " v",
        flow.version()));
  }
  if (flow.migration().mode() != v1::VersionMigration::MAP_STEPS) return absl::OkStatus();
  Run run(*compiled_, ctx, lead, enrollment, effects, TimerId(lead->lead_key()));
  run.Migrate(old_flow);
  return absl::OkStatus();
}

}  // namespace leadlog
