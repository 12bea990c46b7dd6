//! A contact's ladder position through time: the state the live system keeps, one
//! evaluation step (at an event, or when the state falls due), and a from-scratch replay of
//! a whole history as of any moment.

use serde::Serialize;

use crate::classify::rung_by_rules;
use crate::facts::{DAY, Facts, Micros, metrics_at, status_at, time_changes};
use crate::metrics::Metrics;
use crate::rules::{Demotion, RuleSet};
use crate::rung::{Rung, Status};

/// What the live system stores per contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LadderState {
    /// The rung shown.
    pub rung: Rung,
    /// The status shown.
    pub status: Status,
    /// Since when the rules of `rung` and of every rung above have failed (a demotion
    /// waiting out its grace period).
    pub failing_since: Option<Micros>,
    /// The earliest moment the rung or status could change without a new event.
    pub due_at: Option<Micros>,
}

impl Default for LadderState {
    /// A contact nobody has evaluated yet: a suspect, active.
    fn default() -> Self {
        Self {
            rung: Rung::Suspect,
            status: Status::Active,
            failing_since: None,
            due_at: None,
        }
    }
}

/// Why something changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A higher rung's rule holds.
    Promoted,
    /// The rules failed and the policy demotes at once.
    Demoted,
    /// The rules failed for the whole grace period.
    DemotedAfterGrace,
    /// A year without a paid order.
    Lapsed,
    /// Quiet for longer than usual, or P(alive) below one half.
    AtRisk,
    /// Back to buying as usual.
    Reactivated,
}

/// What changed, on the rung or on the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Position {
    /// A rung.
    Rung(Rung),
    /// A status.
    Status(Status),
}

/// One recorded change, with the metrics that decided it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// When.
    pub at: Micros,
    /// Before.
    pub from: Position,
    /// After.
    pub to: Position,
    /// Why.
    pub reason: Reason,
    /// The metrics at that moment.
    pub metrics: Metrics,
}

/// Evaluate the contact at `t` from the facts known then; returns the new state and what
/// changed.
pub fn evaluate(
    state: &LadderState,
    facts: &Facts,
    rules: &RuleSet,
    t: Micros,
) -> (LadderState, Vec<Change>) {
    let metrics = metrics_at(facts, rules, t);
    let raw = rung_by_rules(rules, &metrics);
    let mut next = *state;
    let mut changes = Vec::new();
    let mut record = |from: Position, to: Position, reason: Reason| {
        changes.push(Change {
            at: t,
            from,
            to,
            reason,
            metrics: metrics.clone(),
        })
    };
    if raw >= state.rung {
        next.failing_since = None;
        if raw > state.rung {
            next.rung = raw;
            record(
                Position::Rung(state.rung),
                Position::Rung(raw),
                Reason::Promoted,
            );
        }
    } else {
        match rules.demotion {
            Demotion::Immediate => {
                next.rung = raw;
                record(
                    Position::Rung(state.rung),
                    Position::Rung(raw),
                    Reason::Demoted,
                );
            }
            Demotion::Never => next.failing_since = None,
            Demotion::Grace { days } => {
                let since = state.failing_since.unwrap_or(t);
                if t - since >= i64::from(days) * DAY {
                    next.rung = raw;
                    next.failing_since = None;
                    record(
                        Position::Rung(state.rung),
                        Position::Rung(raw),
                        Reason::DemotedAfterGrace,
                    );
                } else {
                    next.failing_since = Some(since);
                }
            }
        }
    }
    let status = status_at(facts, t);
    if status != state.status {
        let reason = match status {
            Status::Lapsed => Reason::Lapsed,
            Status::AtRisk => Reason::AtRisk,
            Status::Active => Reason::Reactivated,
        };
        record(
            Position::Status(state.status),
            Position::Status(status),
            reason,
        );
        next.status = status;
    }
    let grace_end = match (rules.demotion, next.failing_since) {
        (Demotion::Grace { days }, Some(since)) => Some(since + i64::from(days) * DAY),
        _ => None,
    };
    // Events dated after `t` (clock skew, scheduled imports) count once their time comes.
    let future_event = next_event_after(facts, t);
    next.due_at = time_changes(facts, rules, t)
        .first()
        .copied()
        .into_iter()
        .chain(grace_end)
        .chain(future_event)
        .min();
    (next, changes)
}

/// The first moment after `t` at which something happens to the contact (no sorting: this
/// runs at every evaluation).
fn next_event_after(facts: &Facts, t: Micros) -> Option<Micros> {
    facts
        .orders
        .iter()
        .flat_map(|o| std::iter::once(o.paid_at).chain(o.unpaid_at))
        .chain(facts.interactions.iter().map(|(at, _)| *at))
        .chain(facts.nps.iter().map(|(at, _)| *at))
        .chain(facts.referrals.iter().copied())
        .filter(|e| *e > t)
        .min()
}

/// Moments at which something happened to the contact (an order paid or un-paid, an
/// interaction, an answer, a referral), sorted and distinct.
pub fn event_times(facts: &Facts) -> Vec<Micros> {
    let mut out: Vec<Micros> = facts
        .orders
        .iter()
        .flat_map(|o| std::iter::once(o.paid_at).chain(o.unpaid_at))
        .chain(facts.interactions.iter().map(|(t, _)| *t))
        .chain(facts.nps.iter().map(|(t, _)| *t))
        .chain(facts.referrals.iter().copied())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// What the live system would show as of `as_of`, replayed from the whole history: every
/// event up to then is evaluated in time order, and so is every moment the state fell due
/// in between. Returns the state and the changes recorded on the way.
pub fn replay(facts: &Facts, rules: &RuleSet, as_of: Micros) -> (LadderState, Vec<Change>) {
    catch_up(&LadderState::default(), None, facts, rules, as_of)
}

/// Bring a stored state, last evaluated at `since`, up to `to`: evaluate every event after
/// `since` and every moment the state falls due, in time order, up to `to` inclusive.
pub fn catch_up(
    state: &LadderState,
    since: Option<Micros>,
    facts: &Facts,
    rules: &RuleSet,
    to: Micros,
) -> (LadderState, Vec<Change>) {
    let mut state = *state;
    let mut history = Vec::new();
    let events: Vec<Micros> = event_times(facts)
        .into_iter()
        .filter(|t| *t <= to && since.is_none_or(|s| *t > s))
        .collect();
    let mut next_event = 0;
    loop {
        let event = events.get(next_event).copied();
        let due = state.due_at.filter(|d| *d <= to);
        let t = match (event, due) {
            (Some(e), Some(d)) => e.min(d),
            (Some(e), None) => e,
            (None, Some(d)) => d,
            (None, None) => break,
        };
        if event == Some(t) {
            next_event += 1;
        }
        let (next, changes) = evaluate(&state, facts, rules, t);
        state = next;
        history.extend(changes);
    }
    (state, history)
}

/// [`catch_up`] to `now`, then evaluate at `now` itself: what the live system does when an
/// event arrives (it may be backdated: the state then reflects it from now on) or a
/// contact's flags or the rules change.
pub fn advance(
    state: &LadderState,
    since: Option<Micros>,
    facts: &Facts,
    rules: &RuleSet,
    now: Micros,
) -> (LadderState, Vec<Change>) {
    let (state, mut history) = catch_up(state, since, facts, rules, now);
    let (state, changes) = evaluate(&state, facts, rules, now);
    history.extend(changes);
    (state, history)
}
