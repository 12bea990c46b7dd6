//! Starting runs: a ladder change that a rule's trigger names writes the run's first step
//! into the outbox, in the transaction that records the change — so a change is never
//! recorded without its runs, and a retried event (no new change) starts none.

use clientele_core::time::{DAY, Micros};
use clientele_store::{LadderChangeRow, OutboxRow, StoreResult, WriteTx};

use super::{active_rules, step_key};

/// Changes older than this start nothing: importing years of history must not greet every
/// past customer, and a rebuild's corrections are not news to the contact.
const FRESH: Micros = 2 * DAY;

/// Enqueue the first step of every enabled rule that `changes` trigger.
pub(crate) async fn on_ladder_changes(
    tx: &mut dyn WriteTx,
    changes: &[LadderChangeRow],
    now: Micros,
) -> StoreResult<()> {
    let fresh: Vec<&LadderChangeRow> = changes.iter().filter(|c| now - c.at <= FRESH).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let (version, set) = active_rules(tx, now).await?;
    let mut steps = Vec::new();
    for c in fresh {
        for rule in set.rules.iter().filter(|r| r.enabled) {
            if !rule.trigger.fires_on(&c.kind, &c.from, &c.to) {
                continue;
            }
            if !rule.conditions.is_empty() {
                let tags = tx
                    .contact_fields(c.contact_id)
                    .await?
                    .map(|f| f.tags)
                    .unwrap_or_default();
                if !rule.conditions.iter().all(|k| k.holds(&tags)) {
                    continue;
                }
            }
            let occurrence = format!("{}:{}@{}", c.kind, c.to, c.at);
            steps.push(OutboxRow {
                id: 0,
                key: step_key(&rule.name, version, c.contact_id.0, &occurrence, 0),
                contact_id: c.contact_id,
                rule: rule.name.clone(),
                rule_version: version,
                step: 0,
                occurrence,
                context: "{}".into(),
                due_at: now,
                status: "pending".into(),
                attempts: 0,
                last_error: None,
                created_at: now,
                finished_at: None,
            });
        }
    }
    tx.enqueue(&steps).await
}
