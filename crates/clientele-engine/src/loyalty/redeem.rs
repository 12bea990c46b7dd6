//! Spending points (redemptions, with an idempotency key and optionally a reward of the
//! catalogue) and operators' adjustments: each one write transaction that checks, decides
//! and writes, so a balance is never spent twice.

use clientele_core::time::Micros;
use clientele_core::{ContactId, FieldError, WorkspaceId};
use clientele_ladder::Rung;
use clientele_loyalty::coupon::Template;
use clientele_loyalty::{Cause, EntryKind};
use clientele_store::{RedemptionRow, RewardRow, Store, StoreResult, WriteTx};

use super::accounts::Books;
use super::coupons::{CouponSpec, issue_in};
use super::error::LoyaltyError;
use super::error::live;
use super::{active_rules, expiry_of};

/// A redemption's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// Its id.
    pub id: i64,
    /// The balance right after it.
    pub balance: i64,
    /// The first answer to an earlier request with the same key.
    pub replayed: bool,
    /// The coupon code the reward handed out (canonical form).
    pub coupon: Option<String>,
}

/// An adjustment's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjusted {
    /// Balance after.
    pub balance: i64,
    /// Debt after.
    pub debt: i64,
}

/// The longest idempotency key accepted.
const MAX_KEY: usize = 200;

/// Spend `points` of `contact`'s balance, for `reward_id` when given. The same `key` again
/// answers the first result and spends nothing.
pub async fn redeem(
    store: &dyn Store,
    ws: WorkspaceId,
    contact: ContactId,
    points: i64,
    key: &str,
    reward_id: Option<i64>,
    now: Micros,
) -> Result<Redeemed, LoyaltyError> {
    let invalid = |f: &str, r: &str| LoyaltyError::Invalid(FieldError::new(f, r));
    if key.trim().is_empty() || key.len() > MAX_KEY {
        return Err(invalid(
            "idempotency_key",
            "1 to 200 characters are required",
        ));
    }
    if points <= 0 {
        return Err(invalid(
            "points",
            "a positive whole number of points is required",
        ));
    }
    let mut tx = store.begin_write(ws).await?;
    if let Some(first) = tx.redemption_by_key(key).await? {
        let same =
            first.contact_id == contact && first.points == points && first.reward_id == reward_id;
        return if same {
            Ok(Redeemed {
                id: first.id,
                balance: first.balance_after,
                replayed: true,
                coupon: first.coupon_code,
            })
        } else {
            Err(LoyaltyError::KeyReused)
        };
    }
    live(&mut *tx, contact).await?;
    let mut coupon_template = None;
    if let Some(id) = reward_id {
        let reward = tx
            .reward(id)
            .await?
            .ok_or_else(|| invalid("reward_id", "no such reward"))?;
        check_reward(&mut *tx, &reward, contact, points, now).await?;
        coupon_template = reward.coupon.as_deref().and_then(|t| {
            let json = serde_json::from_str(t).ok()?;
            Template::from_json(&json).ok()
        });
    }
    let mut books = Books::load(&mut *tx, &[contact]).await?;
    for e in books.account(contact).expire(now) {
        books.record(contact, e);
    }
    let reason = if reward_id.is_some() {
        "reward"
    } else {
        "redemption"
    };
    let entry = books.account(contact).spend(
        EntryKind::Redeem,
        points,
        now,
        Cause::new(reason, "redemption", key),
    )?;
    books.record(contact, entry);
    if let Some(id) = reward_id
        && !tx.take_reward_stock(id).await?
    {
        return Err(LoyaltyError::OutOfStock);
    }
    let balance = books.account(contact).balance;
    books.save(&mut *tx).await?;
    // A coupon reward is issued in the same transaction: points and coupon, or neither.
    let coupon = match coupon_template {
        Some(t) => {
            let spec = CouponSpec::from_template(&t, contact, now);
            let rows = issue_in(&mut *tx, &spec, 1, "reward", key, now).await?;
            rows.into_iter().next().map(|c| c.code)
        }
        None => None,
    };
    let id = tx
        .insert_redemption(&RedemptionRow {
            id: 0,
            contact_id: contact,
            idempotency_key: key.to_owned(),
            points,
            reward_id,
            balance_after: balance,
            created_at: now,
            coupon_code: coupon.clone(),
        })
        .await?;
    tx.commit().await?;
    Ok(Redeemed {
        id,
        balance,
        replayed: false,
        coupon,
    })
}

async fn check_reward(
    tx: &mut dyn WriteTx,
    reward: &RewardRow,
    contact: ContactId,
    points: i64,
    now: Micros,
) -> Result<(), LoyaltyError> {
    if points != reward.cost_points {
        return Err(LoyaltyError::Invalid(FieldError::new(
            "points",
            format!("the reward costs {} points", reward.cost_points),
        )));
    }
    let open = reward.active
        && reward.valid_from.is_none_or(|f| f <= now)
        && reward.valid_until.is_none_or(|u| now < u);
    if !open {
        return Err(LoyaltyError::Unavailable(
            "the reward is not offered at this time".into(),
        ));
    }
    if let Some(needed) = reward.rung_required.as_deref().and_then(Rung::parse) {
        let rung = tx
            .ladder_rows(&[contact])
            .await?
            .first()
            .and_then(|r| Rung::parse(&r.rung))
            .unwrap_or(Rung::Suspect);
        if rung < needed {
            return Err(LoyaltyError::Unavailable(format!(
                "the reward needs the {needed} rung; the contact stands on {rung}"
            )));
        }
    }
    Ok(())
}

/// Add (positive) or remove (negative) points by hand, with a reason and the user who did
/// it. Added points form a lot that expires like earned ones; removing more than the
/// balance is refused.
pub async fn adjust(
    store: &dyn Store,
    ws: &clientele_store::Workspace,
    contact: ContactId,
    points: i64,
    reason: &str,
    user: &str,
    now: Micros,
) -> Result<Adjusted, LoyaltyError> {
    if points == 0 {
        return Err(LoyaltyError::Invalid(FieldError::new(
            "points",
            "a non-zero whole number of points is required",
        )));
    }
    if reason.trim().is_empty() {
        return Err(LoyaltyError::Invalid(FieldError::new(
            "reason",
            "say why the points change",
        )));
    }
    let mut tx = store.begin_write(ws.id).await?;
    live(&mut *tx, contact).await?;
    let (_, rules) = active_rules(&mut *tx, now).await?;
    let mut books = Books::load(&mut *tx, &[contact]).await?;
    for e in books.account(contact).expire(now) {
        books.record(contact, e);
    }
    let cause = Cause::new(reason, "user", user);
    let a = books.account(contact);
    let entry = if points > 0 {
        let expires = expiry_of(now, rules.expiry_months, &ws.time_zone);
        a.earn(EntryKind::Adjust, points, now, expires, cause, None)
    } else {
        Some(a.spend(EntryKind::Adjust, -points, now, cause)?)
    };
    if let Some(e) = entry {
        books.record(contact, e);
    }
    let a = books.account(contact);
    let out = Adjusted {
        balance: a.balance,
        debt: a.debt,
    };
    books.save(&mut *tx).await?;
    tx.commit().await?;
    Ok(out)
}

/// Add a reward to the catalogue.
pub async fn add_reward(
    store: &dyn Store,
    ws: WorkspaceId,
    reward: &RewardRow,
) -> StoreResult<RewardRow> {
    let mut tx = store.begin_write(ws).await?;
    let row = tx.insert_reward(reward).await?;
    tx.commit().await?;
    Ok(row)
}
