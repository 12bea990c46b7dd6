//! Coupons: issued by staff, by rewards and by referrals; checked on demand; applied by the
//! order events that name them, each order counted once however often its events are
//! retried, and handed back when the order is cancelled.

use std::collections::{HashMap, HashSet};

use clientele_core::time::Micros;
use clientele_core::{ContactId, FieldError, WorkspaceId};
use clientele_loyalty::coupon::{Discount, Refusal, Template, Terms, code_from_bits};
use clientele_loyalty::coupon::{display_code, normalise_code};
use clientele_store::{CouponRow, CouponUseRow, NewEvent, Store, StoreResult, WriteTx};

use super::error::LoyaltyError;

/// The most coupons one request may issue.
pub const MAX_BATCH: usize = 1000;

/// What to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponSpec {
    /// What it takes off.
    pub discount: Discount,
    /// The smallest order total it applies to.
    pub min_order: i64,
    /// Uses allowed (`None` = unlimited).
    pub max_uses: Option<i64>,
    /// The only contact who may use it (`None` = anyone).
    pub contact_id: Option<ContactId>,
    /// Usable before.
    pub expires_at: Option<Micros>,
}

impl CouponSpec {
    /// The single-use coupon a template gives `contact` at `now`.
    pub fn from_template(t: &Template, contact: ContactId, now: Micros) -> Self {
        Self {
            discount: t.discount,
            min_order: t.min_order,
            max_uses: Some(1),
            contact_id: Some(contact),
            expires_at: Some(now + i64::from(t.valid_days) * clientele_core::time::DAY),
        }
    }
}

/// The terms of a stored coupon.
pub fn terms(c: &CouponRow) -> Terms {
    Terms {
        discount: Discount::new(&c.kind, c.value).unwrap_or(Discount::Fixed(c.value.max(1))),
        min_order: c.min_order,
        max_uses: c.max_uses,
        uses: c.uses,
        contact_id: c.contact_id.map(|c| c.0),
        expires_at: c.expires_at,
        active: c.active,
    }
}

/// Issue `count` coupons on `spec`; `source` and `source_ref` say who asked and why.
pub async fn issue(
    store: &dyn Store,
    ws: WorkspaceId,
    spec: &CouponSpec,
    count: usize,
    source_ref: &str,
    now: Micros,
) -> Result<Vec<CouponRow>, LoyaltyError> {
    if count == 0 || count > MAX_BATCH {
        return Err(LoyaltyError::Invalid(FieldError::new(
            "count",
            format!("1 to {MAX_BATCH} coupons per request"),
        )));
    }
    let mut tx = store.begin_write(ws).await?;
    if let Some(c) = spec.contact_id {
        super::error::live(&mut *tx, c).await?;
    }
    let rows = issue_in(&mut *tx, spec, count, "staff", source_ref, now).await?;
    tx.commit().await?;
    Ok(rows)
}

/// Issue coupons inside a transaction (rewards and referrals do it with their own writes).
pub(crate) async fn issue_in(
    tx: &mut dyn WriteTx,
    spec: &CouponSpec,
    count: usize,
    source: &str,
    source_ref: &str,
    now: Micros,
) -> StoreResult<Vec<CouponRow>> {
    let mut rows = Vec::with_capacity(count);
    while rows.len() < count {
        let code = code_from_bits(rand::random::<u128>());
        // 80 random bits: a collision is all but impossible, but never silently merged.
        if tx.coupon(&code).await?.is_some() {
            continue;
        }
        rows.push(CouponRow {
            code,
            kind: spec.discount.kind().to_owned(),
            value: spec.discount.value(),
            min_order: spec.min_order,
            max_uses: spec.max_uses,
            uses: 0,
            contact_id: spec.contact_id,
            expires_at: spec.expires_at,
            source: source.to_owned(),
            source_ref: source_ref.to_owned(),
            active: true,
            created_at: now,
        });
    }
    tx.insert_coupons(&rows).await?;
    Ok(rows)
}

/// The answer to "may this contact use this code on this order now?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// The code as people see it.
    pub code: String,
    /// Whether it applies.
    pub valid: bool,
    /// What it takes off the order (0 when not valid).
    pub discount: i64,
    /// Why not: `unknown`, `withdrawn`, `expired`, `used-up`, `not-yours`, `below-minimum`.
    pub reason: Option<&'static str>,
}

/// Check a code for an order of `total` by `contact` at `now` without using it.
pub async fn validate(
    store: &dyn Store,
    ws: WorkspaceId,
    typed: &str,
    contact: Option<ContactId>,
    total: i64,
    now: Micros,
) -> Result<Validation, LoyaltyError> {
    let code =
        normalise_code(typed).map_err(|r| LoyaltyError::Invalid(FieldError::new("code", r)))?;
    if total < 0 {
        return Err(LoyaltyError::Invalid(FieldError::new(
            "order_total",
            "an amount in minor units, 0 or more",
        )));
    }
    let shown = display_code(&code);
    let Some(row) = clientele_store::CouponReader::coupon(store, ws, &code).await? else {
        return Ok(Validation {
            code: shown,
            valid: false,
            discount: 0,
            reason: Some("unknown"),
        });
    };
    Ok(match terms(&row).check(contact.map(|c| c.0), total, now) {
        Ok(discount) => Validation {
            code: shown,
            valid: true,
            discount,
            reason: None,
        },
        Err(r) => Validation {
            code: shown,
            valid: false,
            discount: 0,
            reason: Some(r.slug()),
        },
    })
}

/// Apply the coupons named by order events and restore those of cancelled orders.
pub(crate) async fn on_events(tx: &mut dyn WriteTx, events: &[NewEvent]) -> StoreResult<()> {
    let named: Vec<&NewEvent> = events
        .iter()
        .filter(|e| e.coupon.is_some() && e.order_id.is_some())
        .collect();
    let cancelled: HashSet<&str> = events
        .iter()
        .filter(|e| e.kind == "order.cancelled")
        .filter_map(|e| e.order_id.as_deref())
        .collect();
    if named.is_empty() && cancelled.is_empty() {
        return Ok(());
    }
    let mut order_ids: Vec<String> = named.iter().filter_map(|e| e.order_id.clone()).collect();
    order_ids.extend(cancelled.iter().map(|s| (*s).to_owned()));
    order_ids.sort_unstable();
    order_ids.dedup();
    let mut uses: HashMap<(String, String), CouponUseRow> = tx
        .coupon_uses_of(&order_ids)
        .await?
        .into_iter()
        .map(|u| ((u.code.clone(), u.order_id.clone()), u))
        .collect();
    let mut coupons: HashMap<String, Option<CouponRow>> = HashMap::new();

    for e in named {
        let (Some(typed), Some(order_id)) = (e.coupon.as_deref(), e.order_id.as_deref()) else {
            continue;
        };
        let code = normalise_code(typed).unwrap_or_else(|_| typed.trim().to_uppercase());
        let key = (code.clone(), order_id.to_owned());
        // Placed, then paid, then retried: the order uses the coupon once.
        if uses.contains_key(&key) || cancelled.contains(order_id) {
            continue;
        }
        if !coupons.contains_key(&code) {
            let row = tx.coupon(&code).await?;
            coupons.insert(code.clone(), row);
        }
        let total = e.amount.unwrap_or(0);
        let outcome = match coupons.get_mut(&code).and_then(Option::as_mut) {
            None => Err("no such coupon".to_owned()),
            Some(c) => match terms(c).check(Some(e.contact_id.0), total, e.occurred_at) {
                Ok(discount) => {
                    c.uses += 1;
                    tx.add_coupon_uses(&code, 1).await?;
                    Ok(discount)
                }
                Err(r) => Err(refusal_text(r)),
            },
        };
        let (status, discount, reason) = match outcome {
            Ok(d) => ("applied", d, None),
            Err(r) => ("refused", 0, Some(r)),
        };
        let row = CouponUseRow {
            code,
            order_id: order_id.to_owned(),
            contact_id: e.contact_id,
            order_total: total,
            discount,
            status: status.to_owned(),
            reason,
            used_at: e.occurred_at,
        };
        tx.save_coupon_use(&row).await?;
        uses.insert(key, row);
    }

    for u in uses.values_mut() {
        if cancelled.contains(u.order_id.as_str()) && u.status == "applied" {
            u.status = "restored".to_owned();
            tx.add_coupon_uses(&u.code, -1).await?;
            tx.save_coupon_use(u).await?;
        }
    }
    Ok(())
}

fn refusal_text(r: Refusal) -> String {
    format!("{} ({r})", r.slug())
}
