//! Starting runs: a ladder change, an accepted event or a score crossing that a rule's
//! trigger names writes the run's first step into the outbox, in the transaction that
//! records it — so nothing is recorded without its runs, and a retried event (nothing new
//! recorded) starts none. Rules that start later (N days without an order) are written now,
//! due then, and check at their start that nothing has overtaken them.

use std::sync::Arc;

use clientele_automation::{Rule, RuleSet, Trigger};
use clientele_core::ContactId;
use clientele_core::event::EventKind;
use clientele_core::time::{DAY, Micros};
use clientele_ladder::{Facts, Metric, metrics_at};
use clientele_store::{LadderChangeRow, NewEvent, OutboxRow, StoreResult, WriteTx};
use serde_json::{Value, json};

use super::subject::conditions_hold;
use super::{active_rules_cached, step_key};

/// Changes older than this start nothing: importing years of history must not greet every
/// past customer, and a rebuild's corrections are not news to the contact.
pub(super) const FRESH: Micros = 2 * DAY;

/// The first step of `rule`'s run for `contact`, due at `due_at`.
pub(super) fn first_step(
    rule: &Rule,
    version: i64,
    contact: ContactId,
    occurrence: String,
    context: Value,
    due_at: Micros,
    now: Micros,
) -> OutboxRow {
    OutboxRow {
        id: 0,
        key: step_key(&rule.name, version, contact.0, &occurrence, 0),
        contact_id: contact,
        rule: rule.name.clone(),
        rule_version: version,
        step: 0,
        occurrence,
        context: context.to_string(),
        due_at,
        status: "pending".into(),
        attempts: 0,
        last_error: None,
        created_at: now,
        finished_at: None,
    }
}

/// Enqueue the first step of every enabled rule of `(version, set)` (the active rules) that
/// `changes` trigger.
pub(crate) async fn on_ladder_changes(
    tx: &mut dyn WriteTx,
    changes: &[LadderChangeRow],
    (version, set): &(i64, Arc<RuleSet>),
    now: Micros,
) -> StoreResult<()> {
    let fresh: Vec<&LadderChangeRow> = changes.iter().filter(|c| now - c.at <= FRESH).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let version = *version;
    let mut steps = Vec::new();
    for c in fresh {
        for rule in set.rules.iter().filter(|r| r.enabled) {
            if !rule.trigger.fires_on(&c.kind, &c.from, &c.to)
                || !conditions_hold(tx, &rule.conditions, c.contact_id, now).await?
            {
                continue;
            }
            let occurrence = format!("{}:{}@{}", c.kind, c.to, c.at);
            steps.push(first_step(
                rule,
                version,
                c.contact_id,
                occurrence,
                json!({}),
                now,
                now,
            ));
        }
    }
    tx.enqueue(&steps).await
}

/// Enqueue the runs accepted events start: rules on the event's kind at once; rules on N
/// days without an order, due N days after each paid order.
pub(crate) async fn on_events(
    tx: &mut dyn WriteTx,
    events: &[NewEvent],
    now: Micros,
) -> StoreResult<()> {
    let fresh: Vec<&NewEvent> = events
        .iter()
        .filter(|e| now - e.occurred_at <= FRESH)
        .collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let (version, set) = active_rules_cached(tx, now).await?;
    let mut steps = Vec::new();
    for e in fresh {
        for rule in set.rules.iter().filter(|r| r.enabled) {
            match rule.trigger {
                Trigger::EventReceived(kind) if kind.as_str() == e.kind => {
                    if !conditions_hold(tx, &rule.conditions, e.contact_id, now).await? {
                        continue;
                    }
                    let occurrence = format!("event:{}", e.client_id);
                    let context = json!({"event": {"kind": e.kind, "id": e.client_id,
                        "amount": e.amount, "detail": e.detail}});
                    steps.push(first_step(
                        rule,
                        version,
                        e.contact_id,
                        occurrence,
                        context,
                        now,
                        now,
                    ));
                }
                Trigger::NoOrderFor { days } if e.kind == EventKind::OrderPaid.as_str() => {
                    // Conditions are checked when the run starts, N days on.
                    let occurrence = format!("no_order:{days}d@{}", e.occurred_at);
                    let context = json!({"since_order_at": e.occurred_at});
                    let due = e.occurred_at + days * DAY;
                    steps.push(first_step(
                        rule,
                        version,
                        e.contact_id,
                        occurrence,
                        context,
                        due.max(now),
                        now,
                    ));
                }
                _ => {}
            }
        }
    }
    tx.enqueue(&steps).await
}

/// Whether a run of `rule` may start now: for a rule on N days without an order, no order
/// was paid since the one that set the clock, and the conditions hold now. Other runs were
/// checked when they were written.
pub(super) async fn may_start(
    tx: &mut dyn WriteTx,
    rule: &Rule,
    step: &OutboxRow,
    now: Micros,
) -> StoreResult<Result<(), String>> {
    if step.step != 0 || !matches!(rule.trigger, Trigger::NoOrderFor { .. }) {
        return Ok(Ok(()));
    }
    let context: Value = serde_json::from_str(&step.context).unwrap_or_default();
    let since = context["since_order_at"].as_i64().unwrap_or(i64::MIN);
    if tx
        .last_order_at(step.contact_id)
        .await?
        .is_some_and(|last| last > since)
    {
        return Ok(Err("the contact has ordered since".into()));
    }
    if !conditions_hold(tx, &rule.conditions, step.contact_id, now).await? {
        return Ok(Err("the rule's conditions no longer hold".into()));
    }
    Ok(Ok(()))
}

/// Score thresholds watched while contacts are re-evaluated: a crossing is a metric at
/// least the threshold now that was below it (or undefined) both as it stood at the last
/// evaluation, from the events known then, and [`FRESH`] ago by the events' own dates — so
/// a late event still counts once, and imported history crosses nothing.
pub(crate) struct ScoreWatch {
    version: i64,
    set: Arc<RuleSet>,
    crossed: Vec<(usize, ContactId, f64)>,
}

impl ScoreWatch {
    /// A watch when the active rules `(version, set)` have an enabled score trigger.
    pub(crate) fn new((version, set): &(i64, Arc<RuleSet>)) -> Option<Self> {
        let watched = set
            .rules
            .iter()
            .any(|r| r.enabled && matches!(r.trigger, Trigger::ScoreCrossed { .. }));
        watched.then(|| Self {
            version: *version,
            set: set.clone(),
            crossed: Vec::new(),
        })
    }

    /// Note the crossings of one contact re-evaluated now, last evaluated at `since`.
    pub(crate) fn observe(
        &mut self,
        contact: ContactId,
        known_before: &Facts,
        facts: &Facts,
        ladder: &clientele_ladder::RuleSet,
        since: Option<Micros>,
        now: Micros,
    ) {
        let before_at = since.unwrap_or(i64::MIN).max(now - FRESH);
        let (before, dated_before, after) = (
            metrics_at(known_before, ladder, before_at),
            // By the events' own dates: history imported now crossed long ago.
            metrics_at(facts, ladder, now - FRESH),
            metrics_at(facts, ladder, now),
        );
        let number = |m: &clientele_ladder::Metrics, metric: Metric| match m.value(metric) {
            clientele_ladder::metrics::Value::Number(x) => Some(x),
            _ => None,
        };
        for (i, rule) in self.set.rules.iter().enumerate() {
            if let (true, Trigger::ScoreCrossed { metric, at_least }) = (rule.enabled, rule.trigger)
                && let Some(now_value) = number(&after, metric)
                && now_value >= at_least
                && number(&before, metric).is_none_or(|b| b < at_least)
                && number(&dated_before, metric).is_none_or(|b| b < at_least)
            {
                self.crossed.push((i, contact, now_value));
            }
        }
    }

    /// Enqueue the runs the crossings start (their conditions checked now).
    pub(crate) async fn enqueue(self, tx: &mut dyn WriteTx, now: Micros) -> StoreResult<()> {
        let mut steps = Vec::new();
        for (i, contact, value) in self.crossed {
            let rule = &self.set.rules[i];
            if !conditions_hold(tx, &rule.conditions, contact, now).await? {
                continue;
            }
            let occurrence = format!("score@{now}");
            let context = json!({ "score": value });
            steps.push(first_step(
                rule,
                self.version,
                contact,
                occurrence,
                context,
                now,
                now,
            ));
        }
        tx.enqueue(&steps).await
    }
}
