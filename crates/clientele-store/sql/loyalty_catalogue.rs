// Rewards, redemptions and ledger entries in SQL both back ends speak: included by the loyalty module of
// `clientele-store-sqlite` and `clientele-store-postgres` (not compiled here), each
// defining `Tx`, `Db` and `DbRow` first. Their `LoyaltyWrite`/`LoyaltyReader` impls call
// these functions.

use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{LoyaltyEntryRow, RedemptionRow, RewardRow, StoreResult};
use sqlx::Row;

use crate::other;

macro_rules! entry_columns {
    () => {
        "id, contact_id, kind, points, at, reason, ref_kind, ref_id, balance_after, debt_after"
    };
}
macro_rules! reward_columns {
    () => {
        "id, name, cost_points, stock, valid_from, valid_until, rung_required, active, coupon"
    };
}
macro_rules! redemption_columns {
    () => {
        "id, contact_id, idempotency_key, points, reward_id, balance_after, created_at, coupon_code"
    };
}

fn reward_row(r: &DbRow) -> Result<RewardRow, sqlx::Error> {
    Ok(RewardRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        cost_points: r.try_get(2)?,
        stock: r.try_get(3)?,
        valid_from: r.try_get(4)?,
        valid_until: r.try_get(5)?,
        rung_required: r.try_get(6)?,
        active: r.try_get(7)?,
        coupon: r.try_get(8)?,
    })
}

fn redemption_row(r: &DbRow) -> Result<RedemptionRow, sqlx::Error> {
    Ok(RedemptionRow {
        id: r.try_get(0)?,
        contact_id: ContactId(r.try_get(1)?),
        idempotency_key: r.try_get(2)?,
        points: r.try_get(3)?,
        reward_id: r.try_get(4)?,
        balance_after: r.try_get(5)?,
        created_at: r.try_get(6)?,
        coupon_code: r.try_get(7)?,
    })
}

pub(super) async fn loyalty_due(tx: &mut Tx, now: Micros, limit: i64) -> StoreResult<Vec<ContactId>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT contact_id FROM loyalty_accounts
         WHERE workspace_id = $1 AND next_expiry IS NOT NULL AND next_expiry <= $2
         ORDER BY next_expiry LIMIT $3",
    )
    .bind(tx.ws)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *tx.tx)
    .await
    .map_err(other)?;
    Ok(rows.into_iter().map(|(c,)| ContactId(c)).collect())
}


pub(super) async fn redemption_by_key(tx: &mut Tx, key: &str) -> StoreResult<Option<RedemptionRow>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        redemption_columns!(),
        " FROM loyalty_redemptions WHERE workspace_id = $1 AND idempotency_key = $2"
    ))
    .bind(tx.ws)
    .bind(key)
    .fetch_optional(&mut *tx.tx)
    .await
    .map_err(other)?;
    row.as_ref().map(redemption_row).transpose().map_err(other)
}


pub(super) async fn insert_redemption(tx: &mut Tx, r: &RedemptionRow) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO loyalty_redemptions (workspace_id, contact_id, idempotency_key, points, reward_id,
         balance_after, created_at, coupon_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(tx.ws)
    .bind(r.contact_id.0)
    .bind(&r.idempotency_key)
    .bind(r.points)
    .bind(r.reward_id)
    .bind(r.balance_after)
    .bind(r.created_at)
    .bind(&r.coupon_code)
    .fetch_one(&mut *tx.tx)
    .await
    .map_err(other)?;
    Ok(id)
}


pub(super) async fn reward(tx: &mut Tx, id: i64) -> StoreResult<Option<RewardRow>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        reward_columns!(),
        " FROM rewards WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(tx.ws)
    .bind(id)
    .fetch_optional(&mut *tx.tx)
    .await
    .map_err(other)?;
    row.as_ref().map(reward_row).transpose().map_err(other)
}


pub(super) async fn take_reward_stock(tx: &mut Tx, id: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE rewards SET stock = stock - 1
         WHERE workspace_id = $1 AND id = $2 AND (stock IS NULL OR stock > 0)",
    )
    .bind(tx.ws)
    .bind(id)
    .execute(&mut *tx.tx)
    .await
    .map_err(other)?;
    Ok(done.rows_affected() == 1)
}


pub(super) async fn insert_reward(tx: &mut Tx, r: &RewardRow) -> StoreResult<RewardRow> {
    let row = sqlx::query(concat!(
        "INSERT INTO rewards (workspace_id, name, cost_points, stock, valid_from, valid_until,
         rung_required, active, coupon) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
        reward_columns!()
    ))
    .bind(tx.ws)
    .bind(&r.name)
    .bind(r.cost_points)
    .bind(r.stock)
    .bind(r.valid_from)
    .bind(r.valid_until)
    .bind(&r.rung_required)
    .bind(r.active)
    .bind(&r.coupon)
    .fetch_one(&mut *tx.tx)
    .await
    .map_err(other)?;
    reward_row(&row).map_err(other)
}


pub(super) async fn rewards(db: &Db, ws: WorkspaceId) -> StoreResult<Vec<RewardRow>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        reward_columns!(),
        " FROM rewards WHERE workspace_id = $1 ORDER BY id"
    ))
    .bind(ws.0)
    .fetch_all(&db.pool)
    .await
    .map_err(other)?;
    rows.iter()
        .map(reward_row)
        .collect::<Result<_, _>>()
        .map_err(other)
}

fn entry_row(r: &DbRow) -> Result<LoyaltyEntryRow, sqlx::Error> {
    Ok(LoyaltyEntryRow {
        id: r.try_get(0)?,
        contact_id: ContactId(r.try_get(1)?),
        kind: r.try_get(2)?,
        points: r.try_get(3)?,
        at: r.try_get(4)?,
        reason: r.try_get(5)?,
        ref_kind: r.try_get(6)?,
        ref_id: r.try_get(7)?,
        balance_after: r.try_get(8)?,
        debt_after: r.try_get(9)?,
    })
}

pub(super) async fn loyalty_entries(
    db: &Db,
    ws: WorkspaceId,
    id: ContactId,
    before: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<LoyaltyEntryRow>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM loyalty_entries WHERE workspace_id = $1 AND contact_id = $2 AND id < $3
          ORDER BY id DESC LIMIT $4"
    ))
    .bind(ws.0)
    .bind(id.0)
    .bind(before.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(&db.pool)
    .await
    .map_err(other)?;
    rows.iter()
        .map(entry_row)
        .collect::<Result<_, _>>()
        .map_err(other)
}
