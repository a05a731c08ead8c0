//! The alerts planner: turns outbox events and the passing of time into incidents and alerts.
//!
//! [`Planner::pass`] is one step (tests call it with a test clock): in one transaction it claims
//! the outbox events, in id order, once the outbox has been quiet for the grouping window, and the incidents whose next action
//! is due, plans (a pure function of what it read: [`plan`]), and writes the incidents, alerts
//! and deliveries while marking the events processed. A crash anywhere leaves either all of it
//! or none of it. [`run_alerts`] is the loop around the engine's pass and the delivery workers'.
//!
//! What the plan does with each transition of a channel:
//! - `expiring`: opens an `expiring` incident and warns at each threshold (14, 7, 3, 1 days by
//!   default) as the deadline approaches; the checker only marks channels expiring when relink
//!   cannot renew the token itself, so refreshable tokens make no noise.
//! - `needs_reauth`: closes `expiring`/`degraded` quietly, opens `needs_reauth` and says so, then
//!   reminds (after 1 day, then every 2) until resolved, escalating when nobody acknowledges in
//!   time. A new reason re-alerts. A post due within 24 hours makes it urgent: everyone at once,
//!   through any snooze.
//! - `degraded`: opens a quiet incident that speaks only if it lasts (`degraded_after`).
//! - `healthy`: resolves, with a "connected again" message when something was said.
//! - an `operator_problem` event: an incident for operators only, resolved when the channel no
//!   longer has the problem.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio_util::sync::CancellationToken;

use super::deliver::Deliverer;
use super::incident::{Incident, Problem};
use super::messages::{Catalog, DigestLine, ExpiryCause, catalog};
use super::model::{
    Alert, AlertChannel, AlertId, AlertKind, AtRisk, Destination, IncidentId, ReconnectAction, Severity,
};
use super::route::{Level, destinations, first_responder};
use super::{AlertsConfig, TeamSettings};
use crate::checker::decide::inactive_at;
use crate::clock::Clock;
use crate::domain::{Channel, ChannelId, Event, Health, MemberId, OperatorProblem, Provider, Reason, TeamId};
use crate::provider::policy;
use crate::store::{AlertPlan, AlertSnapshot, OutboxEvent, PassReport, PendingEvents, PlannedAlert, Result, Store};
use crate::supervise::Wake;

/// A needs-reconnecting incident is looked at least this often, to notice posts that come within
/// 24 hours (they make it urgent).
const RECHECK: Duration = Duration::hours(1);

/// Posts due this soon on a channel that needs reconnecting make its incident urgent.
const URGENT_WITHIN: Duration = Duration::hours(24);

/// The alerts planner (the "alerts engine" of the docs and metrics).
#[derive(Debug)]
pub struct Planner {
    store: Store,
    config: AlertsConfig,
    /// Rung by the checker when it wrote a transition (see `Checker::ringing_on_transitions`).
    wake: Wake,
}

impl Planner {
    pub fn new(store: Store, config: AlertsConfig) -> Self {
        Self { store, config, wake: Wake::default() }
    }

    /// Makes [`run_alerts`] look at once when `wake` rings instead of sleeping out its pause.
    pub fn woken_by(mut self, wake: Wake) -> Self {
        self.wake = wake;
        self
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// One step: processes the outbox events that are ready (see `events_ready_at`) and
    /// every due incident, a batch per transaction.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<PassReport> {
        let events_until = match self.store.unprocessed_events_span().await? {
            Some(pending) if pending.nothing_to_group && self.events_ready_at(pending) <= now => now,
            Some(pending) if self.events_ready_at(pending) <= now => {
                crate::time::add(now, -self.config.grouping_window)
            }
            _ => DateTime::<Utc>::MIN_UTC,
        };
        let mut total = PassReport::default();
        let batch = self.config.batch.max(1) as usize;
        // Each batch moves its incidents' next action past `now`, so this ends; the bound only
        // guards against a planning mistake turning into a busy loop.
        for _ in 0..1_000 {
            let report = self
                .store
                .alert_pass(now, events_until, batch as u32, |snapshot| plan(&self.config, snapshot, now))
                .await?;
            total.events += report.events;
            total.due += report.due;
            total.alerts += report.alerts;
            total.deliveries += report.deliveries;
            if report.events < batch && report.due < batch {
                break;
            }
        }
        Ok(total)
    }

    /// When pending events (the oldest and newest creation times) become alerts: once the outbox
    /// has been quiet for the grouping window, so a burst of transitions from one cause (spread
    /// over several check batches) is planned together; but never later than
    /// [`HOLD_AT_MOST`] grouping windows after the oldest, so a busy outbox still flows.
    ///
    /// Events with no disconnection that a check found by itself wait only [`PUSHED_QUIET`]:
    /// a push signal named every channel of its person or account at once, so they were checked
    /// together, and a reconnection or a warning has nothing to be grouped with.
    fn events_ready_at(&self, PendingEvents { oldest, newest, nothing_to_group }: PendingEvents) -> DateTime<Utc> {
        let window =
            if nothing_to_group { self.config.grouping_window.min(PUSHED_QUIET) } else { self.config.grouping_window };
        crate::time::add(newest, window)
            .min(crate::time::add(oldest, window.checked_mul(HOLD_AT_MOST).unwrap_or(Duration::MAX)))
    }

    /// When the engine has work next.
    pub async fn next_due_at(&self) -> Result<Option<DateTime<Utc>>> {
        let events = self.store.unprocessed_events_span().await?.map(|span| self.events_ready_at(span));
        let incidents = self.store.next_incident_action().await?;
        Ok(events.into_iter().chain(incidents).min())
    }
}

/// The most problems a digest lists by name (its title counts them all).
const DIGEST_LINES: usize = 100;

/// A non-urgent alert waits for the team's digest when it comes within this long.
const FOLD_WITHIN: Duration = Duration::hours(1);

/// A reminder may fall on the digest up to this long before it is due...
const NEAREST_DIGEST: Duration = Duration::hours(12);

/// ...but never on a digest this soon after the team last heard of the incident.
const LEAST_GAP: Duration = Duration::hours(6);

/// How long transitions caused by push signals wait for company (see `Planner::events_ready_at`).
pub const PUSHED_QUIET: Duration = Duration::seconds(3);

/// A busy outbox is held at most this many grouping windows.
const HOLD_AT_MOST: i32 = 5;

/// One alert to be, before grouping.
#[derive(Debug, Clone)]
struct Candidate {
    kind: AlertKind,
    /// Index into the planner's incidents.
    incident: usize,
    level: Level,
    urgent: bool,
    /// Days left, for warnings.
    days: Option<i64>,
    edits: Option<AlertId>,
}

/// The planner's working state.
struct PlanState<'a> {
    config: &'a AlertsConfig,
    snapshot: &'a AlertSnapshot,
    now: DateTime<Utc>,
    incidents: Vec<Incident>,
    touched: Vec<bool>,
    candidates: Vec<Candidate>,
    /// Teams with an incident looked at in this pass: their daily digest may be due.
    digest_teams: Vec<TeamId>,
    /// Incidents resolved in this pass: the day's digests that list them are edited.
    resolved_now: Vec<IncidentId>,
}

/// Plans a pass: what changes in the incidents, and which alerts go where. A pure function of
/// the snapshot and the time.
pub fn plan(config: &AlertsConfig, snapshot: &AlertSnapshot, now: DateTime<Utc>) -> AlertPlan {
    let mut planner = PlanState {
        config,
        snapshot,
        now,
        incidents: snapshot.incidents.clone(),
        touched: vec![false; snapshot.incidents.len()],
        candidates: Vec::new(),
        digest_teams: Vec::new(),
        resolved_now: Vec::new(),
    };
    for event in &snapshot.events {
        planner.on_event(event);
    }
    for id in &snapshot.due {
        let Some(index) = planner.incidents.iter().position(|i| i.id == Some(*id)) else { continue };
        if planner.incidents[index].is_open() {
            planner.tick(index);
        }
    }
    planner.finish()
}

fn days(n: u32) -> Duration {
    Duration::days(i64::from(n))
}

impl PlanState<'_> {
    /// The team's time zone, for its messages' dates; `None` for UTC.
    fn zone(&self, team: TeamId) -> Option<String> {
        let calendar = self.settings(team).calendar;
        (!calendar.zone.is_utc()).then(|| calendar.zone.name().to_owned())
    }

    fn settings(&self, team: TeamId) -> TeamSettings {
        match self.snapshot.settings.get(&team) {
            Some(own) => self.config.defaults.with(own),
            None => self.config.defaults.clone(),
        }
    }

    fn channel(&self, index: usize) -> Option<&Channel> {
        self.snapshot.channels.get(&self.incidents[index].channel_id)
    }

    fn open_incident(&self, channel: ChannelId, problem: Problem) -> Option<usize> {
        self.incidents.iter().position(|i| i.channel_id == channel && i.problem == problem && i.is_open())
    }

    fn add(&mut self, incident: Incident) -> usize {
        self.incidents.push(incident);
        self.touched.push(true);
        self.incidents.len() - 1
    }

    fn touch(&mut self, index: usize) -> &mut Incident {
        self.touched[index] = true;
        &mut self.incidents[index]
    }

    fn say(&mut self, kind: AlertKind, index: usize, level: Level) {
        let urgent = self.incidents[index].urgent && self.incidents[index].problem == Problem::NeedsReauth;
        self.say_with(Candidate { kind, incident: index, level, urgent, days: None, edits: None });
    }

    fn say_with(&mut self, candidate: Candidate) {
        let now = self.now;
        let incident = &self.incidents[candidate.incident];
        let holdable = !candidate.urgent
            && matches!(candidate.kind, AlertKind::Disconnected | AlertKind::Escalated | AlertKind::Expiring)
            && matches!(incident.problem, Problem::NeedsReauth | Problem::Expiring);
        if holdable && let Some(digest) = self.digest_soon(incident.team_id) {
            self.hold(candidate.incident, digest);
            return;
        }
        self.touch(candidate.incident).last_alert_at = Some(now);
        self.candidates.push(candidate);
    }

    /// When a non-urgent alert of the team waits for its digest instead of going out now: in
    /// quiet hours (until they end, which is the digest's time), or when the digest comes within
    /// [`FOLD_WITHIN`].
    fn digest_soon(&self, team: TeamId) -> Option<DateTime<Utc>> {
        let calendar = self.settings(team).calendar;
        if calendar.is_quiet(self.now) {
            return Some(calendar.awake_at(self.now));
        }
        let next = calendar.digest_at_or_after(self.now);
        (next - self.now <= FOLD_WITHIN).then_some(next)
    }

    /// Puts the incident in the team's digest at `digest` instead of saying it now.
    fn hold(&mut self, index: usize, digest: DateTime<Utc>) {
        let incident = self.touch(index);
        incident.next_reminder_at = Some(incident.next_reminder_at.map_or(digest, |at| at.min(digest)));
        let next = incident.next_action_at.map_or(digest, |at| at.min(digest));
        incident.next_action_at = Some(next);
    }

    /// The digest at which the incident is next mentioned: the first digest time at or after its
    /// reminder, or the one nearest to it (up to [`NEAREST_DIGEST`] early) when the team last
    /// heard of it at least [`LEAST_GAP`] before. So every reminder falls on the team's daily
    /// digest, and nobody is reminded of what they were told an hour ago.
    fn digest_slot(&self, index: usize) -> Option<DateTime<Utc>> {
        let incident = &self.incidents[index];
        let reminder = incident.next_reminder_at?;
        let calendar = self.settings(incident.team_id).calendar;
        let strict = calendar.digest_at_or_after(reminder);
        let early = crate::time::add(reminder, -NEAREST_DIGEST);
        let nearest = match incident.last_alert_at {
            Some(told) => early.max(crate::time::add(told, LEAST_GAP)),
            None => early,
        };
        let slot = strict.min(calendar.digest_at_or_after(nearest));
        // A snoozed incident is mentioned again at the first digest after the snooze.
        Some(match incident.snoozed_until {
            Some(end) if slot < end => calendar.digest_at_or_after(end),
            _ => slot,
        })
    }

    /// Whether the incident belongs in a digest sent now.
    fn digest_due(&self, index: usize) -> bool {
        let incident = &self.incidents[index];
        incident.is_open()
            && matches!(incident.problem, Problem::NeedsReauth | Problem::Expiring)
            && !incident.is_snoozed(self.now)
            && self.digest_slot(index).is_some_and(|slot| slot <= self.now)
    }

    /// Whether a pending post of the incident's channel is due within 24 hours.
    fn post_within_a_day(&self, channel: ChannelId) -> bool {
        self.snapshot.posts.get(&channel).into_iter().flatten().any(|due| *due <= self.now + URGENT_WITHIN)
    }

    fn has_first_responder(&self, channel: &Channel) -> bool {
        let members = self.snapshot.members.get(&channel.team_id).map_or(&[][..], Vec::as_slice);
        first_responder(members, channel.authorized_by).is_some()
    }

    fn on_event(&mut self, event: &OutboxEvent) {
        let Some(channel) = event.channel_id.and_then(|id| self.snapshot.channels.get(&id)) else { return };
        match &event.event {
            Event::HealthChanged(change) => self.on_health(channel, change.to.clone(), event.created_at),
            Event::OperatorProblem(OperatorProblem { problem }) => {
                self.on_operator_problem(channel, problem, event.created_at)
            }
            // The health change written in the same transaction resolves the incident and says
            // "connected again"; this event is the audit record of who reconnected.
            Event::Reconnected(_) => {}
            // The channel is untouched and the person saw the refusal on the page.
            Event::AccountMismatch(_) => {
                tracing::info!(event = event.id, channel = %channel.id, "a reconnect brought back another account; refused on the page")
            }
        }
    }

    fn on_health(&mut self, channel: &Channel, health: Health, at: DateTime<Utc>) {
        match health {
            Health::Healthy | Health::Unknown => {
                self.resolve(channel.id, &[Problem::Expiring, Problem::NeedsReauth, Problem::Degraded], true);
            }
            Health::Expiring => {
                self.resolve(channel.id, &[Problem::NeedsReauth, Problem::Degraded], true);
                self.open_expiring(channel, at);
            }
            Health::NeedsReauth(reason) => {
                self.resolve(channel.id, &[Problem::Expiring, Problem::Degraded], false);
                self.open_needs_reauth(channel, reason, at);
            }
            Health::Degraded => {
                if self.open_incident(channel.id, Problem::Degraded).is_none() {
                    let mut incident = Incident::open(channel.team_id, channel.id, Problem::Degraded, at);
                    incident.next_action_at = Some(crate::time::add(at, self.config.degraded_after));
                    self.add(incident);
                }
            }
        }
    }

    fn open_expiring(&mut self, channel: &Channel, at: DateTime<Utc>) {
        if self.open_incident(channel.id, Problem::Expiring).is_some() {
            return;
        }
        let (deadline, cause) = access_ends(channel, at);
        let mut incident = Incident::open(channel.team_id, channel.id, Problem::Expiring, at);
        incident.deadline = deadline;
        incident.reason = Some(match cause {
            ExpiryCause::Token => Reason::Expired,
            ExpiryCause::Inactivity => Reason::Inactivity,
        });
        incident.escalate_at = Some(crate::time::add(at, self.settings(channel.team_id).escalate_after));
        let index = self.add(incident);
        self.step_expiring(index);
    }

    /// Warns when a threshold has been reached, and schedules the next one.
    fn step_expiring(&mut self, index: usize) {
        let now = self.now;
        let incident = &self.incidents[index];
        let thresholds = self.settings(incident.team_id).warning_days;
        let (channel, warned, snoozed) = (incident.channel_id, incident.warned_days, incident.is_snoozed(now));
        let Some(deadline) = incident.deadline else {
            // No known end: one warning, then wait for the checker's next transition.
            if incident.last_alert_at.is_none() {
                let level = self.expiring_level(index);
                self.say(AlertKind::Expiring, index, level);
            }
            self.touch(index).next_action_at = None;
            return;
        };
        let remaining = deadline - now;
        let not_yet_warned = |warned: Option<u32>, d: u32| warned.is_none_or(|w| d < w);
        let reached = thresholds.iter().copied().filter(|d| not_yet_warned(warned, *d) && remaining <= days(*d)).min();
        let mut warned = warned;
        let mut held = None;
        if let Some(threshold) = reached
            && remaining > Duration::zero()
        {
            let repeated = warned.is_some();
            warned = Some(threshold);
            self.touch(index).warned_days = warned;
            let posts_at_risk_soon = self
                .snapshot
                .posts
                .get(&channel)
                .into_iter()
                .flatten()
                .any(|due| *due >= deadline && *due <= now + URGENT_WITHIN);
            // The first warning is news; a later one repeats it, and waits for the team's
            // digest unless that comes too close to the end or posts are due before it.
            let digest = self.settings(self.incidents[index].team_id).calendar.digest_at_or_after(now);
            if repeated && !posts_at_risk_soon && digest <= crate::time::add(deadline, -NEAREST_DIGEST) {
                held = Some(digest);
            } else if !snoozed || posts_at_risk_soon {
                let level = self.expiring_level(index);
                let days_left = (remaining.num_seconds() + 86_399) / 86_400;
                let candidate = Candidate {
                    kind: AlertKind::Expiring,
                    incident: index,
                    level,
                    urgent: posts_at_risk_soon,
                    days: Some(days_left),
                    edits: None,
                };
                self.say_with(candidate);
            }
        }
        let next = thresholds.iter().copied().filter(|d| not_yet_warned(warned, *d)).max().map(|d| deadline - days(d));
        let next = next.map(|at| at.max(now + Duration::seconds(1)));
        let reminder = self.incidents[index].next_reminder_at.and_then(|_| self.digest_slot(index));
        self.touch(index).next_action_at = [next, reminder].into_iter().flatten().min();
        if let Some(digest) = held {
            self.hold(index, digest);
        }
    }

    /// Warnings go to the authoriser until the escalation time, then to everyone, unless someone
    /// acknowledged the incident.
    fn expiring_level(&self, index: usize) -> Level {
        let incident = &self.incidents[index];
        let escalated = incident.acknowledged_at.is_none() && incident.escalate_at.is_some_and(|at| at <= self.now);
        if escalated { Level::Everyone } else { Level::Authoriser }
    }

    fn needs_reauth_level(&self, index: usize) -> Level {
        if self.incidents[index].escalated_at.is_some() { Level::Everyone } else { Level::Authoriser }
    }

    fn open_needs_reauth(&mut self, channel: &Channel, reason: Reason, at: DateTime<Utc>) {
        let detail = reason.detail().map(str::to_owned);
        if let Some(index) = self.open_incident(channel.id, Problem::NeedsReauth) {
            if self.incidents[index].reason.as_ref() != Some(&reason) {
                // A new cause is news, snoozed or not.
                let incident = self.touch(index);
                incident.reason = Some(reason);
                incident.detail = detail;
                let level = self.needs_reauth_level(index);
                self.say(AlertKind::Disconnected, index, level);
            }
            return;
        }
        let settings = self.settings(channel.team_id);
        let mut incident = Incident::open(channel.team_id, channel.id, Problem::NeedsReauth, at);
        incident.reason = Some(reason);
        incident.detail = detail;
        incident.next_reminder_at = Some(crate::time::add(at, settings.first_reminder));
        incident.escalate_at = Some(crate::time::add(at, settings.escalate_after));
        incident.urgent = self.post_within_a_day(channel.id);
        if incident.urgent {
            incident.urgent_told_at = Some(self.now);
        }
        if incident.urgent || !self.has_first_responder(channel) {
            incident.escalated_at = Some(self.now);
        }
        let index = self.add(incident);
        let level = self.needs_reauth_level(index);
        self.say(AlertKind::Disconnected, index, level);
        self.schedule_needs_reauth(index);
    }

    fn on_operator_problem(&mut self, channel: &Channel, problem: &str, at: DateTime<Utc>) {
        let index = match self.open_incident(channel.id, Problem::OperatorProblem) {
            Some(index) if self.incidents[index].detail.as_deref() == Some(problem) => return,
            Some(index) => index,
            None => self.add(Incident::open(channel.team_id, channel.id, Problem::OperatorProblem, at)),
        };
        let now = self.now;
        let incident = self.touch(index);
        incident.detail = Some(problem.to_owned());
        incident.next_action_at = Some(now + RECHECK);
        self.say(AlertKind::OperatorProblem, index, Level::Operators);
    }

    /// Resolves the channel's open incidents of these problems; says so when something was said
    /// about them and `announce`. An incident opened and resolved in the same pass says nothing.
    fn resolve(&mut self, channel: ChannelId, problems: &[Problem], announce: bool) {
        let now = self.now;
        for problem in problems {
            let Some(index) = self.open_incident(channel, *problem) else { continue };
            let level = match problem {
                Problem::OperatorProblem => Level::Operators,
                Problem::NeedsReauth => self.needs_reauth_level(index),
                Problem::Expiring => self.expiring_level(index),
                Problem::Degraded => Level::Authoriser,
            };
            let incident = self.touch(index);
            incident.resolved_at = Some(now);
            incident.next_action_at = None;
            // Fixed, not replaced by a worse problem: the day's digest says so.
            if let Some(id) = incident.id.filter(|_| announce) {
                self.resolved_now.push(id);
            }
            let incident = &self.incidents[index];
            if incident.id.is_none() {
                self.candidates.retain(|c| c.incident != index);
                continue;
            }
            if announce && incident.last_alert_at.is_some() {
                let edits = incident.first_alert_id.filter(|_| !incident.first_alert_shared);
                let candidate =
                    Candidate { kind: AlertKind::Resolved, incident: index, level, urgent: false, days: None, edits };
                self.say_with(candidate);
            }
        }
    }

    fn tick(&mut self, index: usize) {
        let team = self.incidents[index].team_id;
        if !self.digest_teams.contains(&team) {
            self.digest_teams.push(team);
        }
        match self.incidents[index].problem {
            Problem::Expiring => self.step_expiring(index),
            Problem::NeedsReauth => self.tick_needs_reauth(index),
            Problem::Degraded => {
                let now = self.now;
                let incident = self.touch(index);
                if incident.is_snoozed(now) {
                    incident.next_action_at = incident.snoozed_until;
                } else {
                    incident.next_action_at = None;
                    let calendar = self.settings(team).calendar;
                    if calendar.is_quiet(now) {
                        // Nothing urgent about it: it speaks when the team's day begins.
                        self.touch(index).next_action_at = Some(calendar.awake_at(now));
                    } else if self.incidents[index].last_alert_at.is_none() {
                        self.say(AlertKind::Degraded, index, Level::Authoriser);
                    }
                }
            }
            Problem::OperatorProblem => {
                let channel = self.incidents[index].channel_id;
                if self.snapshot.operator_problems.contains_key(&channel) {
                    let now = self.now;
                    self.touch(index).next_action_at = Some(now + RECHECK);
                } else {
                    self.resolve(channel, &[Problem::OperatorProblem], true);
                }
            }
        }
    }

    /// Escalates, or raises the urgency of, a channel that still needs reconnecting; its
    /// reminders are the team's daily digest's (see `PlanState::digests`).
    fn tick_needs_reauth(&mut self, index: usize) {
        let now = self.now;
        let Some(channel) = self.channel(index).map(|c| c.id) else { return };
        let post_soon = self.post_within_a_day(channel);
        let incident = self.touch(index);
        let newly_urgent = post_soon && !incident.urgent;
        incident.urgent = post_soon;
        if newly_urgent && incident.urgent_told_at.is_none() {
            // News once: everyone hears that a post is now at stake, unless everyone was told of
            // the channel, with this post among those at risk, within the last day (then the
            // digest marks it urgent), or the digest comes within the hour.
            let known = self
                .snapshot
                .posts_scheduled_at
                .get(&channel)
                .into_iter()
                .flatten()
                .filter(|(due, _)| *due <= now + URGENT_WITHIN)
                .map(|(_, scheduled)| *scheduled)
                .max();
            let incident = &self.incidents[index];
            let told_everyone = incident.escalated_at.is_some()
                && incident
                    .last_alert_at
                    .is_some_and(|at| now - at < Duration::days(1) && known.is_some_and(|k| k <= at));
            let incident = self.touch(index);
            incident.urgent_told_at = Some(now);
            incident.escalated_at.get_or_insert(now);
            let team = incident.team_id;
            match self.digest_soon(team).filter(|at| *at - now <= FOLD_WITHIN) {
                _ if told_everyone => {}
                Some(digest) => self.hold(index, digest),
                None => self.say(AlertKind::Disconnected, index, Level::Everyone),
            }
        } else if !incident.is_snoozed(now) {
            let escalate = incident.escalated_at.is_none()
                && incident.acknowledged_at.is_none()
                && incident.escalate_at.is_some_and(|at| at <= now);
            if escalate {
                incident.escalated_at = Some(now);
                self.say(AlertKind::Escalated, index, Level::Everyone);
            }
        }
        self.schedule_needs_reauth(index);
    }

    fn schedule_needs_reauth(&mut self, index: usize) {
        let now = self.now;
        let incident = &self.incidents[index];
        let snooze_end = incident.snoozed_until.filter(|until| *until > now);
        let escalation =
            incident.escalate_at.filter(|_| incident.escalated_at.is_none() && incident.acknowledged_at.is_none());
        let escalation = escalation.map(|at| if at <= now { snooze_end.unwrap_or(now + RECHECK) } else { at });
        let digest = self.digest_slot(index).map(|at| at.max(now + Duration::seconds(1)));
        let next = [escalation, digest].into_iter().flatten().chain([now + RECHECK]).min();
        self.touch(index).next_action_at = next;
    }

    /// Groups the candidates into alerts, adds the day's digests (and folds into them what they
    /// already say) and the edits of earlier digests, and returns what to write.
    fn finish(mut self) -> AlertPlan {
        let digests = self.digests();
        let mut alerts = Vec::new();
        for group in self.groups() {
            // One message per cause: as wide and as loud as its widest and loudest channel, and
            // everyone who hears it has heard of every channel in it.
            let level = group.iter().map(|c| c.level).max().unwrap_or(Level::Authoriser);
            if level == Level::Everyone {
                let now = self.now;
                for candidate in &group {
                    if self.incidents[candidate.incident].problem == Problem::NeedsReauth {
                        self.touch(candidate.incident).escalated_at.get_or_insert(now);
                    }
                }
            }
            if let Some(alert) = self.alert(&group, level) {
                alerts.push(alert);
            }
        }
        fold_into_digests(&mut alerts, &digests);
        alerts.extend(digests);
        alerts.extend(self.digest_edits());
        let incidents = self
            .incidents
            .into_iter()
            .enumerate()
            .zip(self.touched)
            .filter_map(|(incident, touched)| touched.then_some(incident))
            .collect::<Vec<_>>();
        // Alerts name incidents by index among the touched ones: rebuild the indices.
        remap(incidents, alerts)
    }

    /// The candidates in groups: alerts of one team and kind about channels authorised by the
    /// same member for the same reason share one message, whatever their urgency (one password
    /// change, one alert).
    fn groups(&self) -> Vec<Vec<Candidate>> {
        type Key = (TeamId, AlertKind, Option<String>, Option<Provider>, Option<i64>, Option<MemberId>);
        let mut groups: Vec<(Option<Key>, Vec<Candidate>)> = Vec::new();
        for candidate in &self.candidates {
            let incident = &self.incidents[candidate.incident];
            let authorised_by = self.snapshot.channels.get(&incident.channel_id).and_then(|c| c.authorized_by);
            let groupable =
                authorised_by.is_some() && candidate.kind != AlertKind::OperatorProblem && candidate.edits.is_none();
            // A network with its own words for the reason (a Telegram bot removed) gets its own alert.
            let own_words = self.snapshot.channels.get(&incident.channel_id).and_then(|c| {
                let english = catalog(crate::domain::Language::En);
                incident
                    .reason
                    .as_ref()
                    .filter(|r| english.reason_on(c.provider, r) != english.reason(r))
                    .map(|_| c.provider)
            });
            let key = groupable.then(|| {
                (
                    incident.team_id,
                    candidate.kind,
                    incident.reason.as_ref().map(ToString::to_string),
                    own_words,
                    candidate.days,
                    authorised_by,
                )
            });
            match groups.iter_mut().find(|(k, _)| key.is_some() && *k == key) {
                Some((_, members)) => members.push(candidate.clone()),
                None => groups.push((key, vec![candidate.clone()])),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }

    /// Who hears about an incident now: its authoriser until it is escalated, then everyone.
    fn audience(&self, index: usize) -> Vec<Destination> {
        let incident = &self.incidents[index];
        let level = match incident.problem {
            Problem::NeedsReauth => self.needs_reauth_level(index),
            Problem::Expiring => self.expiring_level(index),
            Problem::Degraded => Level::Authoriser,
            Problem::OperatorProblem => Level::Operators,
        };
        let team = incident.team_id;
        let members = self.snapshot.members.get(&team).map_or(&[][..], Vec::as_slice);
        let bindings = self.snapshot.bindings.get(&team).map_or(&[][..], Vec::as_slice);
        let authorised_by = self.channel(index).and_then(|c| c.authorized_by);
        destinations(level, members, bindings, authorised_by, self.config.operators)
    }

    /// The daily reminder digests of the teams looked at in this pass: each person and chat
    /// that hears about at least one problem due a mention gets one message listing every open
    /// problem they hear about, most urgent first. Every problem listed as due is then mentioned:
    /// its next reminder moves a day on (an acknowledged one's, by the team's reminder interval).
    fn digests(&mut self) -> Vec<PlannedAlert> {
        let now = self.now;
        let mut planned = Vec::new();
        for team in self.digest_teams.clone() {
            let open: Vec<usize> = (0..self.incidents.len())
                .filter(|i| {
                    let incident = &self.incidents[*i];
                    incident.team_id == team
                        && incident.is_open()
                        && matches!(incident.problem, Problem::NeedsReauth | Problem::Expiring)
                        && !incident.is_snoozed(now)
                        && self.channel(*i).is_some()
                })
                .collect();
            let due: Vec<usize> = open.iter().copied().filter(|i| self.digest_due(*i)).collect();
            if due.is_empty() {
                continue;
            }
            let mut items = open;
            items.sort_by_key(|i| self.digest_order(*i));
            // What each destination hears about, and which of it is due.
            let mut lists: Vec<(Destination, Vec<usize>)> = Vec::new();
            for index in &items {
                for to in self.audience(*index) {
                    match lists.iter_mut().find(|(d, _)| *d == to) {
                        Some((_, list)) => list.push(*index),
                        None => lists.push((to, vec![*index])),
                    }
                }
            }
            lists.retain(|(_, list)| list.iter().any(|i| due.contains(i)));
            // Destinations that hear the same list share one alert.
            let mut shared: Vec<(Vec<usize>, Vec<Destination>)> = Vec::new();
            for (to, list) in lists {
                match shared.iter_mut().find(|(l, _)| *l == list) {
                    Some((_, destinations)) => destinations.push(to),
                    None => shared.push((list, vec![to])),
                }
            }
            for (list, destinations) in shared {
                if let Some(alert) = self.digest_alert(team, &list, destinations) {
                    planned.push(alert);
                }
            }
            for index in due {
                let settings = self.settings(team);
                let incident = self.touch(index);
                incident.last_alert_at = Some(now);
                if incident.problem == Problem::NeedsReauth {
                    incident.reminders = incident.reminders.saturating_add(1);
                    let every = if incident.acknowledged_at.is_some() {
                        settings.reminder_every
                    } else {
                        settings.reminder_every.min(Duration::days(1))
                    };
                    incident.next_reminder_at = Some(crate::time::add(now, every));
                    self.schedule_needs_reauth(index);
                } else {
                    incident.next_reminder_at = None;
                    self.step_expiring(index);
                }
            }
        }
        planned
    }

    /// Most urgent first: a post due within a day, then channels that cannot publish, then the
    /// first post at risk, then the oldest problem.
    fn digest_order(&self, index: usize) -> (bool, bool, bool, Option<DateTime<Utc>>, DateTime<Utc>) {
        let incident = &self.incidents[index];
        let first_due = self.at_risk(index).first_due;
        (
            !(incident.urgent && incident.problem == Problem::NeedsReauth),
            incident.problem != Problem::NeedsReauth,
            first_due.is_none(),
            first_due,
            incident.opened_at,
        )
    }

    /// The posts of an incident's channel that fail unless someone acts.
    fn at_risk(&self, index: usize) -> AtRisk {
        let incident = &self.incidents[index];
        let due = self.snapshot.posts.get(&incident.channel_id).map_or(&[][..], Vec::as_slice);
        let from = match incident.problem {
            Problem::Expiring => incident.deadline.unwrap_or(self.now),
            _ => self.now,
        };
        AtRisk::of(due, from)
    }

    /// One digest, localized, listing these incidents (most urgent first) for `destinations`.
    fn digest_alert(&self, team: TeamId, list: &[usize], destinations: Vec<Destination>) -> Option<PlannedAlert> {
        let team = self.snapshot.teams.get(&team)?;
        let words = catalog(team.language);
        let zone = self.zone(team.id);
        let members = self.snapshot.members.get(&team.id).map_or(&[][..], Vec::as_slice);
        // The title counts them all; the lines are the most urgent that a message can hold.
        let mut channels = Vec::with_capacity(list.len().min(DIGEST_LINES));
        for index in list.iter().take(DIGEST_LINES) {
            let incident = &self.incidents[*index];
            let channel = self.channel(*index)?;
            let line = match (&incident.problem, &incident.reason) {
                (Problem::NeedsReauth, Some(reason)) => DigestLine::NeedsReauth { reason, since: incident.opened_at },
                (Problem::NeedsReauth, None) => {
                    DigestLine::NeedsReauth { reason: &Reason::Expired, since: incident.opened_at }
                }
                _ => DigestLine::Expiring { deadline: incident.deadline },
            };
            let mut entry = AlertChannel::new(channel.id, channel.display_name.to_string(), channel.provider);
            entry.at_risk = self.at_risk(*index);
            entry.urgent = incident.urgent && incident.problem == Problem::NeedsReauth;
            entry.status = Some(words.digest_status(channel.provider, line, zone.as_deref()));
            entry.authorised_by =
                members.iter().find(|m| Some(m.id) == channel.authorized_by).map(|m| m.name.to_string());
            channels.push(entry);
        }
        let (title, texts) = words.digest(list.len());
        let severity = if channels.iter().any(|c| c.urgent) {
            Severity::Urgent
        } else if list.iter().any(|i| self.incidents[*i].problem == Problem::NeedsReauth) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let alert = Alert {
            id: AlertId::UNSAVED,
            kind: AlertKind::Reminder,
            severity,
            language: team.language,
            team_id: team.id,
            team: team.name.to_string(),
            at_risk: channels.iter().fold(AtRisk::default(), |total, c| total.plus(c.at_risk)),
            reconnect: Some(ReconnectAction { team_id: team.id, channel_ids: channels.iter().map(|c| c.id).collect() }),
            channels,
            incidents: Vec::new(),
            reason: None,
            detail: None,
            title,
            explanation: texts.explanation.to_owned(),
            remedy: texts.remedy.to_owned(),
            authorised_by: None,
            deadline: None,
            edits: None,
            unlisted: u32::try_from(list.len().saturating_sub(DIGEST_LINES)).unwrap_or(u32::MAX),
            zone,
            created_at: self.now,
        };
        Some(PlannedAlert { alert, incidents: list.to_vec(), known: Vec::new(), destinations, send_at: None })
    }

    /// The day's digests that list a problem resolved in this pass, brought up to date: the
    /// channel is struck through where the platform can edit the message (nowhere else: a digest
    /// is never sent twice).
    fn digest_edits(&self) -> Vec<PlannedAlert> {
        let mut edits = Vec::new();
        for sent in &self.snapshot.digests {
            let digest = &sent.alert;
            if !digest.incidents.iter().any(|i| self.resolved_now.contains(i)) || sent.destinations.is_empty() {
                continue;
            }
            let mut alert = digest.clone();
            for (line, incident) in alert.channels.iter_mut().zip(&digest.incidents) {
                if self.resolved_now.contains(incident) || sent.resolved.contains(incident) {
                    line.resolved = true;
                }
            }
            if let Some(action) = alert.reconnect.as_mut() {
                let open: Vec<ChannelId> = alert.channels.iter().filter(|c| !c.resolved).map(|c| c.id).collect();
                action.channel_ids = open;
            }
            alert.edits = Some(digest.edits.unwrap_or(digest.id));
            alert.id = AlertId::UNSAVED;
            alert.created_at = self.now;
            let known = std::mem::take(&mut alert.incidents);
            edits.push(PlannedAlert {
                alert,
                incidents: Vec::new(),
                known,
                destinations: sent.destinations.clone(),
                send_at: None,
            });
        }
        edits
    }

    /// Builds one alert, localized, with its destinations, for a group of candidates.
    fn alert(&self, group: &[Candidate], level: Level) -> Option<PlannedAlert> {
        let first = group.first()?;
        let lead = &self.incidents[first.incident];
        let team = self.snapshot.teams.get(&lead.team_id)?;
        let words = catalog(team.language);
        let channels: Vec<&Channel> =
            group.iter().filter_map(|c| self.snapshot.channels.get(&self.incidents[c.incident].channel_id)).collect();
        let lead_channel = channels.first()?;
        let kind = first.kind;
        let reason = lead.reason.clone().unwrap_or(Reason::Other(String::new()));
        let texts = match kind {
            AlertKind::Expiring => {
                words.expiring(if reason == Reason::Inactivity { ExpiryCause::Inactivity } else { ExpiryCause::Token })
            }
            AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated => {
                words.reason_on(lead_channel.provider, &reason)
            }
            other => words.kind(other)?,
        };
        let names: Vec<(&str, &str)> =
            channels.iter().map(|c| (c.display_name.as_str(), words.network(c.provider))).collect();
        let at_risk = group.iter().fold(AtRisk::default(), |total, candidate| match kind {
            AlertKind::Resolved => total,
            _ => total.plus(self.at_risk(candidate.incident)),
        });
        let severity = match kind {
            _ if group.iter().any(|c| c.urgent) => Severity::Urgent,
            AlertKind::Resolved => Severity::Info,
            AlertKind::Degraded => Severity::Warning,
            AlertKind::Expiring if first.days.is_some_and(|d| d > 3) => Severity::Warning,
            _ => Severity::Critical,
        };
        let members = self.snapshot.members.get(&team.id).map_or(&[][..], Vec::as_slice);
        let bindings = self.snapshot.bindings.get(&team.id).map_or(&[][..], Vec::as_slice);
        let authorised_by = lead_channel.authorized_by;
        let detail = match kind {
            AlertKind::OperatorProblem => lead.detail.clone(),
            // Only the network's own words for a reason relink does not recognise; relink's
            // internal descriptions are English and stay in the history.
            AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated
                if !Catalog::explains(lead_channel.provider, &reason) =>
            {
                reason.detail().map(str::to_owned)
            }
            _ => None,
        };
        let reconnect =
            matches!(kind, AlertKind::Expiring | AlertKind::Disconnected | AlertKind::Reminder | AlertKind::Escalated)
                .then(|| ReconnectAction { team_id: team.id, channel_ids: channels.iter().map(|c| c.id).collect() });
        let alert = Alert {
            id: AlertId::UNSAVED,
            kind,
            severity,
            language: team.language,
            team_id: team.id,
            team: team.name.to_string(),
            channels: group
                .iter()
                .zip(&channels)
                .map(|(candidate, c)| {
                    let mut entry = AlertChannel::new(c.id, c.display_name.to_string(), c.provider);
                    if kind != AlertKind::Resolved {
                        entry.at_risk = self.at_risk(candidate.incident);
                    }
                    entry.urgent = candidate.urgent;
                    entry
                })
                .collect(),
            incidents: Vec::new(),
            reason: lead.reason.as_ref().map(|r| r.as_str().to_owned()),
            detail,
            title: words.title(kind, &names, first.days),
            explanation: texts.explanation.to_owned(),
            remedy: texts.remedy.to_owned(),
            authorised_by: members.iter().find(|m| Some(m.id) == authorised_by).map(|m| m.name.to_string()),
            at_risk,
            deadline: group
                .iter()
                .filter_map(|c| self.incidents[c.incident].deadline)
                .min()
                .filter(|_| kind == AlertKind::Expiring),
            reconnect,
            edits: first.edits,
            unlisted: 0,
            zone: self.zone(team.id),
            created_at: self.now,
        };
        let mut to = destinations(level, members, bindings, authorised_by, self.config.operators);
        if kind == AlertKind::Escalated {
            // Only people not told yet: the authoriser has it in their digest.
            let told = destinations(Level::Authoriser, members, bindings, authorised_by, self.config.operators);
            to.retain(|d| !told.contains(d) && *d != Destination::Log);
            if to.is_empty() {
                return None;
            }
        }
        let calendar = self.settings(team.id).calendar;
        // Good news waits for the morning too; only a problem with a post at stake wakes people.
        let send_at = (kind == AlertKind::Resolved && calendar.is_quiet(self.now)).then(|| calendar.awake_at(self.now));
        Some(PlannedAlert {
            alert,
            incidents: group.iter().map(|c| c.incident).collect(),
            known: Vec::new(),
            destinations: to,
            send_at,
        })
    }
}

/// When an expiring channel's access ends, and why: the network's inactivity rule if it comes
/// first (or the token renews itself), else the token's expiry. A token relink renews is not
/// a deadline, unless its renewal time has passed at `at` and it is still not renewed (a
/// rotating refresh token that a lost answer may have spent is never sent again). Alerts, chat
/// commands and pages all date an expiring channel with this, so a team hears one deadline.
pub fn access_ends(channel: &Channel, at: DateTime<Utc>) -> (Option<DateTime<Utc>>, ExpiryCause) {
    let policy = policy(channel.provider);
    let inactive = inactive_at(policy, channel);
    let renewing = |expiry: DateTime<Utc>| {
        policy.renews_itself() && expiry - at > crate::time::delta(crate::checker::schedule::renew_ahead(policy))
    };
    match (inactive, channel.token_expires_at) {
        (Some(inactive), Some(expiry)) if inactive <= expiry || renewing(expiry) => {
            (Some(inactive), ExpiryCause::Inactivity)
        }
        (Some(inactive), None) => (Some(inactive), ExpiryCause::Inactivity),
        (_, expiry) => (expiry, ExpiryCause::Token),
    }
}

/// Takes out of each non-urgent alert the destinations that get, in the same pass, a digest
/// listing all of its channels' problems: they read it there, once.
fn fold_into_digests(alerts: &mut Vec<PlannedAlert>, digests: &[PlannedAlert]) {
    for planned in alerts.iter_mut() {
        let foldable = planned.alert.severity != Severity::Urgent
            && matches!(planned.alert.kind, AlertKind::Disconnected | AlertKind::Escalated | AlertKind::Expiring);
        if !foldable {
            continue;
        }
        planned.destinations.retain(|to| {
            !digests.iter().any(|digest| {
                digest.destinations.contains(to) && planned.incidents.iter().all(|i| digest.incidents.contains(i))
            })
        });
    }
    alerts.retain(|planned| !planned.destinations.is_empty());
}

/// Turns alerts' incident indices (into all the planner's incidents) into indices among the
/// touched incidents that the plan carries.
fn remap(incidents: Vec<(usize, Incident)>, alerts: Vec<PlannedAlert>) -> AlertPlan {
    let position: HashMap<usize, usize> = incidents.iter().enumerate().map(|(pos, (index, _))| (*index, pos)).collect();
    let alerts = alerts
        .into_iter()
        .map(|mut planned| {
            planned.incidents = planned.incidents.iter().filter_map(|i| position.get(i).copied()).collect();
            planned
        })
        .collect();
    AlertPlan { incidents: incidents.into_iter().map(|(_, incident)| incident).collect(), alerts }
}

/// Runs the engine's pass and the delivery workers' until `shutdown`, sleeping until either has
/// work. A database error is logged and retried with backoff; it never stops the loop.
pub async fn run_alerts(
    engine: Arc<Planner>,
    deliverer: Arc<Deliverer>,
    clock: impl Clock,
    shutdown: CancellationToken,
) {
    let idle = deliverer.idle();
    let mut backoff = StdDuration::from_secs(1);
    loop {
        let step = async {
            let report = engine.pass(clock.now()).await?;
            if report.alerts > 0 {
                tracing::info!(alerts = report.alerts, deliveries = report.deliveries, "alerts written");
            }
            let delivered = deliverer.deliver_due(clock.now()).await?;
            if delivered.claimed > 0 {
                tracing::debug!(?delivered, "delivery pass");
            }
            let next = [engine.next_due_at().await?, deliverer.next_due_at().await?].into_iter().flatten().min();
            Ok::<_, crate::store::StoreError>(next)
        };
        let pause = match step.await {
            Ok(next) => {
                backoff = StdDuration::from_secs(1);
                next.map_or(idle, |at| (at - clock.now()).to_std().unwrap_or(StdDuration::ZERO).min(idle))
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "alerts: pass failed; retrying");
                backoff = (backoff * 2).min(idle.max(StdDuration::from_secs(1)));
                backoff
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(pause.max(StdDuration::from_millis(50))) => {}
            () = engine.wake.rung() => {}
        }
    }
    tracing::info!("alerts stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{DisplayName, ExternalAccountId, Provider, Scopes};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    /// A Pinterest channel created on 20 February: its inactivity rule ends it around 22 March.
    fn pinterest(expires: &str) -> Channel {
        Channel {
            id: ChannelId(1),
            team_id: TeamId(1),
            provider: Provider::Pinterest,
            external_account_id: ExternalAccountId::parse("1").expect("an id"),
            display_name: DisplayName::parse("Acme").expect("a name"),
            authorized_by: None,
            token_expires_at: Some(at(expires)),
            scopes: Scopes::default(),
            last_activity_at: None,
            health: Health::Expiring,
            next_check_at: at("2026-03-01T00:00:00Z"),
            last_checked_at: None,
            created_at: at("2026-02-20T00:00:00Z"),
        }
    }

    #[test]
    fn a_renewing_token_past_its_renewal_time_is_the_deadline_not_the_later_inactivity() {
        let now = at("2026-03-10T00:00:00Z");
        let inactive = at("2026-03-22T00:00:00Z");
        // (token expiry, expected deadline, expected cause): Pinterest renews three days early.
        let table = [
            ("2026-03-11T00:00:00Z", at("2026-03-11T00:00:00Z"), ExpiryCause::Token),
            ("2026-03-20T00:00:00Z", inactive, ExpiryCause::Inactivity),
            ("2026-03-30T00:00:00Z", inactive, ExpiryCause::Inactivity),
        ];
        for (expires, deadline, cause) in table {
            assert_eq!(access_ends(&pinterest(expires), now), (Some(deadline), cause), "{expires}");
        }
    }
}
