//! The referral programme: a code per contact, attribution of a new contact who signs up
//! with one (refused for self-referrals, loops and existing customers), conversion when the
//! referee's first order is paid within the window — both sides rewarded and a
//! `referral.converted` event recorded for the referrer, in the ingest transaction — and
//! revocation when that order is refunded or cancelled inside the window.

use std::collections::{HashMap, HashSet};

use clientele_core::contact::{ContactFields, ContactInput};
use clientele_core::email::Email;
use clientele_core::event::ValidEvent;
use clientele_core::order::OrderState;
use clientele_core::time::{DAY, Micros, format_instant};
use clientele_core::{ContactId, FieldError, WorkspaceId};
use clientele_loyalty::coupon::{code_from_bits, normalise_code};
use clientele_loyalty::{Cause, EntryKind, ReferralReward, ReferralRules};
use clientele_store::{NewEvent, ReferralRow, Store, StoreResult, Workspace, WriteTx};
use serde_json::json;

use super::accounts::Books;
use super::coupons::{CouponSpec, issue_in};
use super::error::LoyaltyError;
pub use super::error::Refusal;
use super::error::live;
use super::{active_rules, expiry_of};
use crate::contacts::ContactError;

/// The longest chain of referrers followed when looking for a loop.
const MAX_CHAIN: usize = 1000;

/// A contact's referral code, issued on first request.
pub async fn code_of(
    store: &dyn Store,
    ws: WorkspaceId,
    contact: ContactId,
    now: Micros,
) -> Result<(String, bool), LoyaltyError> {
    let mut tx = store.begin_write(ws).await?;
    live(&mut *tx, contact).await?;
    let (code, issued) = code_in(&mut *tx, contact, now).await?;
    if issued {
        tx.commit().await?;
    }
    Ok((code, issued))
}

/// A contact's referral code inside a transaction, issued now if it has none (and whether
/// it was).
pub(crate) async fn code_in(
    tx: &mut dyn WriteTx,
    contact: ContactId,
    now: Micros,
) -> StoreResult<(String, bool)> {
    if let Some(code) = tx.referral_code_of(contact).await? {
        return Ok((code, false));
    }
    loop {
        let code = code_from_bits(rand::random::<u128>());
        if tx.insert_referral_code(contact, &code, now).await? {
            return Ok((code, true));
        }
    }
}

/// The referral link of `code`: the workspace's landing page with `ref=CODE`, or
/// Clientele's own page at `origin`.
pub fn link(rules: &ReferralRules, origin: &str, code: &str) -> String {
    match &rules.landing_url {
        Some(url) if url.contains('?') => format!("{url}&ref={code}"),
        Some(url) => format!("{url}?ref={code}"),
        None => format!("{}/r/{code}", origin.trim_end_matches('/')),
    }
}

/// Attribute an existing contact to the owner of `typed_code`.
pub async fn attribute(
    store: &dyn Store,
    ws: WorkspaceId,
    referee: ContactId,
    typed_code: &str,
    now: Micros,
) -> Result<ReferralRow, LoyaltyError> {
    let mut tx = store.begin_write(ws).await?;
    live(&mut *tx, referee).await?;
    let referrer = referrer_of_code(&mut *tx, typed_code)
        .await?
        .map_err(LoyaltyError::Invalid)?;
    let row = attribute_in(&mut *tx, referee, referrer, now).await??;
    tx.commit().await?;
    Ok(row)
}

/// Create a contact who arrived with a referral code and attribute it, in one transaction.
/// An unknown code creates nothing; a refused attribution still creates the contact.
pub async fn sign_up(
    store: &dyn Store,
    ws: &Workspace,
    input: ContactInput,
    typed_code: &str,
    now: Micros,
) -> Result<(ContactId, Result<ReferralRow, Refusal>), ContactError> {
    let mut tx = store.begin_write(ws.id).await?;
    let referrer = referrer_of_code(&mut *tx, typed_code)
        .await?
        .map_err(|e| FieldError::new("referral_code", e.reason))?;
    let id = crate::contacts::create_in(&mut *tx, ws, input, now).await?;
    let out = attribute_in(&mut *tx, id, referrer, now).await?;
    tx.commit().await?;
    Ok((id, out))
}

async fn referrer_of_code(
    tx: &mut dyn WriteTx,
    typed: &str,
) -> StoreResult<Result<ContactId, FieldError>> {
    let code = match normalise_code(typed) {
        Ok(c) => c,
        Err(r) => return Ok(Err(FieldError::new("code", r))),
    };
    Ok(tx
        .referrer_by_code(&code)
        .await?
        .ok_or_else(|| FieldError::new("code", "no contact has this referral code")))
}

async fn attribute_in(
    tx: &mut dyn WriteTx,
    referee: ContactId,
    referrer: ContactId,
    now: Micros,
) -> StoreResult<Result<ReferralRow, Refusal>> {
    let (_, rules) = active_rules(tx, now).await?;
    if let Err(refusal) = check(tx, &rules.referrals, referee, referrer).await? {
        tracing::info!(%referee, %referrer, %refusal, "referral refused");
        return Ok(Err(refusal));
    }
    let row = ReferralRow {
        referee_id: referee,
        referrer_id: referrer,
        status: "pending".into(),
        attributed_at: now,
        window_until: now + i64::from(rules.referrals.window_days) * DAY,
        order_id: None,
        converted_at: None,
        referrer_points: 0,
        referee_points: 0,
        referrer_coupon: None,
        referee_coupon: None,
        revoked_at: None,
    };
    tx.save_referral(&row).await?;
    Ok(Ok(row))
}

/// The abuse checks, in the order a person would explain them.
async fn check(
    tx: &mut dyn WriteTx,
    rules: &ReferralRules,
    referee: ContactId,
    referrer: ContactId,
) -> StoreResult<Result<(), Refusal>> {
    if !rules.enabled {
        return Ok(Err(Refusal::Disabled));
    }
    if referee == referrer {
        return Ok(Err(Refusal::SelfReferral("the contact's own code")));
    }
    let (a, b) = (
        tx.contact_fields(referee).await?,
        tx.contact_fields(referrer).await?,
    );
    if let (Some(a), Some(b)) = (&a, &b)
        && let Some(how) = same_person(a, b)
    {
        return Ok(Err(Refusal::SelfReferral(how)));
    }
    if !tx.referrals_of(&[referee]).await?.is_empty() {
        return Ok(Err(Refusal::AlreadyReferred));
    }
    let paid = tx
        .load_metrics(&[referee])
        .await?
        .first()
        .is_some_and(|(_, m)| m.paid_orders > 0);
    if paid {
        return Ok(Err(Refusal::ExistingCustomer));
    }
    // Walk up the referrer's chain: meeting the referee would close a loop.
    let mut seen = HashSet::from([referrer]);
    let mut up = referrer;
    for _ in 0..MAX_CHAIN {
        let Some(r) = tx.referrals_of(&[up]).await?.into_iter().next() else {
            break;
        };
        if r.referrer_id == referee {
            return Ok(Err(Refusal::Loop));
        }
        if !seen.insert(r.referrer_id) {
            break;
        }
        up = r.referrer_id;
    }
    Ok(Ok(()))
}

/// How two contacts' identifiers show they are one person.
fn same_person(a: &ContactFields, b: &ContactFields) -> Option<&'static str> {
    let mailbox = |f: &ContactFields| f.email.as_deref().and_then(|e| Email::parse(e).ok());
    if let (Some(x), Some(y)) = (mailbox(a), mailbox(b))
        && x.mailbox() == y.mailbox()
    {
        return Some("the same mailbox");
    }
    if a.phone.is_some() && a.phone == b.phone {
        return Some("the same phone");
    }
    None
}

/// Convert and revoke referrals moved by `events` (just appended; `projected` the orders
/// they touched). Returns the `referral.converted` events to append.
pub(crate) async fn on_events(
    tx: &mut dyn WriteTx,
    ws: &Workspace,
    events: &[NewEvent],
    projected: &[OrderState],
    now: Micros,
) -> StoreResult<Vec<NewEvent>> {
    let moved: HashSet<&str> = events
        .iter()
        .filter(|e| matches!(e.kind, "order.paid" | "order.refunded" | "order.cancelled"))
        .filter_map(|e| e.order_id.as_deref())
        .collect();
    let orders: Vec<&OrderState> = projected
        .iter()
        .filter(|o| moved.contains(o.order_id.as_str()))
        .collect();
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let buyers: Vec<ContactId> = orders
        .iter()
        .map(|o| o.contact_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut referrals: HashMap<ContactId, ReferralRow> = tx
        .referrals_of(&buyers)
        .await?
        .into_iter()
        .filter(|r| matches!(r.status.as_str(), "pending" | "converted"))
        .map(|r| (r.referee_id, r))
        .collect();
    if referrals.is_empty() {
        return Ok(Vec::new());
    }
    let (_, rules) = active_rules(tx, now).await?;
    let mut ids: Vec<ContactId> = referrals
        .values()
        .flat_map(|r| [r.referee_id, r.referrer_id])
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut books = Books::load(tx, &ids).await?;
    let mut converted = Vec::new();
    let mut changed = Vec::new();

    for order in orders {
        let Some(r) = referrals.get_mut(&order.contact_id) else {
            continue;
        };
        let tag = format!("referral:{}", r.referee_id);
        match r.status.as_str() {
            "pending" if order.counts() => {
                let paid_at = order.paid_at.unwrap_or(now);
                if paid_at >= r.window_until || !rules.referrals.enabled {
                    if paid_at >= r.window_until {
                        r.status = "expired".into();
                        changed.push(r.clone());
                    }
                    continue;
                }
                let expires = expiry_of(paid_at, rules.expiry_months, &ws.time_zone);
                for (who, what, is_referrer) in [
                    (r.referrer_id, rules.referrals.referrer, true),
                    (r.referee_id, rules.referrals.referee, false),
                ] {
                    let (points, coupon) = match what {
                        ReferralReward::Points(p) => {
                            let cause =
                                Cause::new("referral", "referral", r.referee_id.to_string());
                            if let Some(e) = books.account(who).earn(
                                EntryKind::Earn,
                                p,
                                paid_at,
                                expires,
                                cause,
                                Some(tag.clone()),
                            ) {
                                books.record(who, e);
                            }
                            (p.max(0), None)
                        }
                        ReferralReward::Coupon(t) => {
                            let spec = CouponSpec::from_template(&t, who, now);
                            let c = issue_in(tx, &spec, 1, "referral", &tag, now).await?;
                            (0, c.into_iter().next().map(|c| c.code))
                        }
                    };
                    if is_referrer {
                        r.referrer_points = points;
                        r.referrer_coupon = coupon;
                    } else {
                        r.referee_points = points;
                        r.referee_coupon = coupon;
                    }
                }
                r.status = "converted".into();
                r.order_id = Some(order.order_id.clone());
                r.converted_at = Some(paid_at);
                converted.push(converted_event(ws, r, paid_at, now)?);
                changed.push(r.clone());
            }
            "converted" if r.order_id.as_deref() == Some(order.order_id.as_str()) => {
                let refunded = order.refunded > 0 || !order.counts();
                let at = now;
                if !refunded || at >= r.window_until {
                    continue;
                }
                let reason = if order.cancelled_at.is_some() {
                    "qualifying order cancelled"
                } else {
                    "qualifying order refunded"
                };
                for (who, points, coupon) in [
                    (r.referrer_id, r.referrer_points, r.referrer_coupon.clone()),
                    (r.referee_id, r.referee_points, r.referee_coupon.clone()),
                ] {
                    let cause = Cause::new(reason, "referral", r.referee_id.to_string());
                    if let Some(e) = books.account(who).reverse(points, at, cause, &tag) {
                        books.record(who, e);
                    }
                    if let Some(code) = coupon {
                        tx.set_coupon_active(&code, false).await?;
                    }
                }
                r.status = "revoked".into();
                r.revoked_at = Some(at);
                changed.push(r.clone());
            }
            _ => {}
        }
    }
    books.save(tx).await?;
    for r in &changed {
        tx.save_referral(r).await?;
    }
    Ok(converted)
}

/// The `referral.converted` event for the referrer, validated like any other event.
fn converted_event(
    ws: &Workspace,
    r: &ReferralRow,
    at: Micros,
    received_at: Micros,
) -> StoreResult<NewEvent> {
    let envelope = json!({
        "id": format!("referral-converted-{}", r.referee_id),
        "kind": "referral.converted",
        "occurred_at": format_instant(at),
        "contact": {"id": r.referrer_id.0},
        "data": {"referee": {"id": r.referee_id.0}},
    });
    let ev = ValidEvent::parse(&envelope, &crate::workspace::event_context(ws))
        .map_err(|e| clientele_store::StoreError::Other(anyhow::anyhow!("{e}")))?;
    Ok(NewEvent {
        client_id: ev.client_id,
        kind: ev.kind.as_str(),
        occurred_at: ev.occurred_at,
        contact_id: r.referrer_id,
        recipient_id: Some(r.referee_id),
        account_id: None,
        order_id: None,
        amount: ev.amount,
        detail: ev.detail,
        coupon: None,
        data: ev.data,
        body_hash: ev.body_hash,
        received_at,
    })
}
