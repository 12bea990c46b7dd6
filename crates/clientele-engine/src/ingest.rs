//! Idempotent batch ingest: validate every event, drop duplicates, resolve or create the
//! contacts they name, append, and update the projections — all in one transaction.

use std::collections::{HashMap, HashSet};

use clientele_core::contact::{ContactFields, ContactKind, ContactRef, IdentityKey};
use clientele_core::event::EventKind;
use clientele_core::event::{ValidEvent, peek_id};
use clientele_core::order::{OrderState, ProjectionInput};
use clientele_core::{ContactId, FieldError};
use clientele_store::{NewEvent, Store, StoreResult, Workspace, WriteTx, now_micros};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::projection::Projection;
use crate::workspace::event_context;

/// Outcome of one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Appended now.
    Created,
    /// The same id with the same body was already in the log: nothing changed.
    Duplicate,
    /// The same id with a different body is in the log: refused.
    Conflict,
    /// Invalid: see `error`.
    Error,
}

/// Per-event result, in the batch's order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemResult {
    /// The event's client id, when it had a readable one.
    pub id: Option<String>,
    /// What happened.
    pub status: ItemStatus,
    /// Why, for conflicts and errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FieldError>,
}

impl ItemResult {
    fn new(id: Option<String>, status: ItemStatus, error: Option<FieldError>) -> Self {
        Self { id, status, error }
    }
}

/// Ingest one batch for `ws`. Returns one result per item; store failures abort the whole
/// batch (nothing of it is committed, so the client may retry it as is).
pub async fn ingest(
    store: &dyn Store,
    ws: &Workspace,
    items: &[Value],
) -> StoreResult<Vec<ItemResult>> {
    let ctx = event_context(ws);
    let mut results: Vec<Option<ItemResult>> = vec![None; items.len()];
    let mut valid: Vec<(usize, ValidEvent)> = Vec::with_capacity(items.len());
    let mut first_of: HashMap<String, usize> = HashMap::new();
    // Validation is pure and per event: spread it over the cores.
    let parsed: Vec<Result<ValidEvent, FieldError>> = items
        .par_iter()
        .map(|item| ValidEvent::parse(item, &ctx))
        .collect();
    for (i, (item, parsed)) in items.iter().zip(parsed).enumerate() {
        match parsed {
            Err(e) => {
                results[i] = Some(ItemResult::new(
                    peek_id(item).map(str::to_owned),
                    ItemStatus::Error,
                    Some(e),
                ))
            }
            Ok(ev) => match first_of.get(&ev.client_id) {
                // The same id twice in one batch: the second is a repeat of the first.
                Some(&j) => {
                    let same = valid
                        .iter()
                        .find(|(k, _)| *k == j)
                        .is_some_and(|(_, f)| f.body_hash == ev.body_hash);
                    results[i] = Some(repeat(ev.client_id, same));
                }
                None => {
                    first_of.insert(ev.client_id.clone(), i);
                    valid.push((i, ev));
                }
            },
        }
    }

    let mut tx = store.begin_write(ws.id).await?;
    let ids: Vec<String> = valid.iter().map(|(_, e)| e.client_id.clone()).collect();
    let known: HashMap<String, Vec<u8>> = tx.existing_events(&ids).await?.into_iter().collect();
    valid.retain(|(i, ev)| match known.get(&ev.client_id) {
        Some(hash) => {
            results[*i] = Some(repeat(
                ev.client_id.clone(),
                hash.as_slice() == ev.body_hash.as_slice(),
            ));
            false
        }
        None => true,
    });

    let resolved = resolve_contacts(&mut *tx, &valid).await?;
    let received_at = now_micros();
    let mut rows = Vec::with_capacity(valid.len());
    let mut inputs = Vec::with_capacity(valid.len());
    for (i, ev) in valid {
        let lookup = |r: &ContactRef, field: &str| {
            resolved
                .get(r)
                .copied()
                .ok_or_else(|| FieldError::new(field, "unknown contact"))
        };
        let contact = lookup(&ev.contact, "contact.id");
        // A referral names its referee where an order names its recipient.
        let second = if ev.kind == EventKind::ReferralConverted {
            "data.referee.id"
        } else {
            "data.recipient.id"
        };
        let recipient = ev.recipient.as_ref().map(|r| lookup(r, second)).transpose();
        let account = ev
            .account
            .as_ref()
            .map(|r| lookup(r, "data.account.id"))
            .transpose();
        let (contact_id, recipient_id, account_id) = match (contact, recipient, account) {
            (Ok(c), Ok(r), Ok(a)) => (c, r, a),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                results[i] = Some(ItemResult::new(
                    Some(ev.client_id.clone()),
                    ItemStatus::Error,
                    Some(e),
                ));
                continue;
            }
        };
        results[i] = Some(ItemResult::new(
            Some(ev.client_id.clone()),
            ItemStatus::Created,
            None,
        ));
        inputs.push(ProjectionInput {
            kind: ev.kind,
            occurred_at: ev.occurred_at,
            contact_id,
            recipient_id,
            account_id,
            order_id: ev.order_id.clone(),
            amount: ev.amount,
            detail: ev.detail.clone(),
        });
        rows.push(NewEvent {
            client_id: ev.client_id,
            kind: ev.kind.as_str(),
            occurred_at: ev.occurred_at,
            contact_id,
            recipient_id,
            account_id,
            order_id: ev.order_id,
            amount: ev.amount,
            detail: ev.detail,
            coupon: ev.coupon,
            data: ev.data,
            body_hash: ev.body_hash,
            received_at,
        });
    }

    tx.insert_events(&rows).await?;
    let (orders, new_orders) = project(&mut *tx, &inputs).await?;
    // Rung and status move in the same transaction as the events that move them.
    let mut touched: Vec<ContactId> = rows
        .iter()
        .flat_map(|r| std::iter::once(r.contact_id).chain(r.account_id))
        .collect();
    touched.sort_unstable();
    touched.dedup();
    crate::ladder::reclassify(&mut *tx, &touched, received_at).await?;
    // Points too: earned on payment, taken back on refund, in the same transaction; so are
    // coupon uses and referral conversions.
    crate::loyalty::on_events(&mut *tx, ws, &rows, &orders, &new_orders, received_at).await?;
    crate::loyalty::coupons::on_events(&mut *tx, &rows).await?;
    let converted =
        crate::loyalty::referrals::on_events(&mut *tx, ws, &rows, &orders, received_at).await?;
    if !converted.is_empty() {
        // The referrers' own events: appended, projected and placed on the ladder like
        // any other, so `referrals_converted` counts them.
        tx.insert_events(&converted).await?;
        let inputs: Vec<ProjectionInput> = converted.iter().map(projection_input).collect();
        project(&mut *tx, &inputs).await?;
        let referrers: Vec<ContactId> = converted.iter().map(|e| e.contact_id).collect();
        crate::ladder::reclassify(&mut *tx, &referrers, received_at).await?;
    }
    // Rules on events (and on days without an order) start in the events' transaction.
    crate::automation::on_events(&mut *tx, &rows, received_at).await?;
    crate::automation::on_events(&mut *tx, &converted, received_at).await?;
    tx.commit().await?;
    Ok(results
        .into_iter()
        .map(|r| r.expect("every item gets a result"))
        .collect())
}

fn projection_input(e: &NewEvent) -> ProjectionInput {
    ProjectionInput {
        kind: EventKind::parse(e.kind).expect("appended events have known kinds"),
        occurred_at: e.occurred_at,
        contact_id: e.contact_id,
        recipient_id: e.recipient_id,
        account_id: e.account_id,
        order_id: e.order_id.clone(),
        amount: e.amount,
        detail: e.detail.clone(),
    }
}

fn repeat(id: String, same_body: bool) -> ItemResult {
    if same_body {
        ItemResult::new(Some(id), ItemStatus::Duplicate, None)
    } else {
        let e = FieldError::new(
            "id",
            "an event with this id and a different body is already in the log",
        );
        ItemResult::new(Some(id), ItemStatus::Conflict, Some(e))
    }
}

/// Map every contact reference of the batch to a live contact, creating contacts for
/// unknown identifiers (accounts as companies). Unknown ids stay unmapped.
async fn resolve_contacts(
    tx: &mut dyn WriteTx,
    events: &[(usize, ValidEvent)],
) -> StoreResult<HashMap<ContactRef, ContactId>> {
    let mut keys: Vec<IdentityKey> = Vec::new();
    let mut company_keys: HashSet<IdentityKey> = HashSet::new();
    let mut ids: Vec<ContactId> = Vec::new();
    let mut seen: HashSet<&ContactRef> = HashSet::new();
    for (_, ev) in events {
        let refs = [
            (Some(&ev.contact), false),
            (ev.recipient.as_ref(), false),
            (ev.account.as_ref(), true),
        ];
        for (r, is_account) in refs {
            let Some(r) = r else { continue };
            if let ContactRef::Identity(k) = r
                && is_account
            {
                company_keys.insert(k.clone());
            }
            if !seen.insert(r) {
                continue;
            }
            match r {
                ContactRef::Identity(k) => keys.push(k.clone()),
                ContactRef::Id(id) => ids.push(*id),
            }
        }
    }
    let mut map: HashMap<ContactRef, ContactId> = HashMap::new();
    for (key, id) in tx.resolve(&keys).await? {
        map.insert(ContactRef::Identity(key), id);
    }
    let missing: Vec<IdentityKey> = keys
        .into_iter()
        .filter(|k| !map.contains_key(&ContactRef::Identity(k.clone())))
        .collect();
    let fields: Vec<ContactFields> = missing
        .iter()
        .map(|k| {
            let kind = if company_keys.contains(k) {
                ContactKind::Company
            } else {
                ContactKind::Person
            };
            ContactFields::from_identity(k, kind)
        })
        .collect();
    let created = tx.insert_contacts(&fields, now_micros()).await?;
    for (key, id) in missing.into_iter().zip(created) {
        map.insert(ContactRef::Identity(key), id);
    }
    for (asked, live) in tx.live_ids(&ids).await? {
        map.insert(ContactRef::Id(asked), live);
    }
    Ok(map)
}

/// Fold appended events into orders and metrics, loading only the rows they touch; returns
/// the orders the events touched, as saved.
pub async fn project(
    tx: &mut dyn WriteTx,
    inputs: &[ProjectionInput],
) -> StoreResult<(Vec<OrderState>, HashSet<String>)> {
    if inputs.is_empty() {
        return Ok((Vec::new(), HashSet::new()));
    }
    let order_ids: Vec<String> = inputs
        .iter()
        .filter_map(|i| i.order_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let existing = tx.load_orders(&order_ids).await?;
    let mut new_orders: HashSet<String> = order_ids.into_iter().collect();
    for o in &existing {
        new_orders.remove(&o.order_id);
    }
    let mut candidates: HashSet<ContactId> = inputs.iter().map(|i| i.contact_id).collect();
    candidates.extend(existing.iter().map(|o| o.contact_id));
    let candidates: Vec<ContactId> = candidates.into_iter().collect();
    let metrics = tx.load_metrics(&candidates).await?;
    let mut projection = Projection::default();
    projection.seed(existing, metrics);
    for input in inputs {
        projection.apply(input);
    }
    let needs_history = projection.needs_history();
    if !needs_history.is_empty() {
        projection.add_history(tx.load_orders_of(&needs_history).await?);
    }
    let (orders, metrics) = projection.finish();
    tx.save_orders(&orders).await?;
    tx.save_metrics(&metrics).await?;
    Ok((orders, new_orders))
}
