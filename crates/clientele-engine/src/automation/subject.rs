//! What a rule's conditions read of a contact, loaded inside the transaction that decides
//! — only as much as the conditions need.

use clientele_automation::{Condition, Subject};
use clientele_core::ContactId;
use clientele_core::time::Micros;
use clientele_ladder::{Rung, Status};
use clientele_store::{StoreResult, WriteTx};
use serde_json::{Map, json};

/// Whether `contact` passes every condition now.
pub(crate) async fn conditions_hold(
    tx: &mut dyn WriteTx,
    conditions: &[Condition],
    contact: ContactId,
    now: Micros,
) -> StoreResult<bool> {
    if conditions.is_empty() {
        return Ok(true);
    }
    let subject = if conditions.iter().any(Condition::needs_more_than_tags) {
        let metrics = conditions.iter().any(Condition::reads_metrics);
        subject(tx, contact, now, metrics).await?
    } else {
        let tags = tx
            .contact_fields(contact)
            .await?
            .map(|f| f.tags)
            .unwrap_or_default();
        Subject {
            tags,
            ..Subject::default()
        }
    };
    Ok(conditions.iter().all(|c| c.holds(&subject)))
}

/// Everything conditions may read of `contact`, as of now; its ladder metrics (read from
/// its whole history) only `with_metrics`.
pub(crate) async fn subject(
    tx: &mut dyn WriteTx,
    contact: ContactId,
    now: Micros,
    with_metrics: bool,
) -> StoreResult<Subject> {
    let Some(f) = tx.contact_fields(contact).await? else {
        return Ok(Subject::default());
    };
    let mut fields = Map::new();
    for (name, value) in [
        ("name", &f.name),
        ("email", &f.email),
        ("phone", &f.phone),
        ("locale", &f.locale),
        ("time_zone", &f.time_zone),
        ("external_id", &f.external_id),
    ] {
        fields.insert(name.into(), json!(value));
    }
    fields.insert("kind".into(), json!(f.kind.as_str()));
    fields.insert("custom".into(), f.custom.clone());
    let row = tx.ladder_rows(&[contact]).await?.into_iter().next();
    let rung = row.as_ref().and_then(|r| Rung::parse(&r.rung));
    let status = row.and_then(|r| Status::ALL.into_iter().find(|s| s.name() == r.status));
    let metrics = if with_metrics {
        crate::ladder::metrics_now(tx, contact, now)
            .await?
            .unwrap_or_default()
    } else {
        clientele_ladder::Metrics::default()
    };
    Ok(Subject {
        tags: f.tags,
        fields,
        metrics,
        rung,
        status,
        consents: tx.granted_channels(contact).await?,
    })
}
