//! The loyalty program's reads and writes on PostgreSQL.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    LotRow, LoyaltyAccountRow, LoyaltyEntryRow, LoyaltyOrderRow, LoyaltyReader, LoyaltyWrite,
    RedemptionRow, RewardRow, RulesRow, StoreResult,
};

use crate::write_tx::PgWriteTx;
use crate::{PgStore, other};
use clientele_store::StoreError;

/// Rewards, redemptions and ledger entries: SQL shared with the other back end.
mod catalogue {
    type Tx = crate::write_tx::PgWriteTx;
    type Db = crate::PgStore;
    type DbRow = sqlx::postgres::PgRow;

    include!("../../clientele-store/sql/loyalty_catalogue.rs");
}

type PackedLot = (i64, i64, i64, i64, Micros, Micros, Option<String>);

#[async_trait]
impl LoyaltyWrite for PgWriteTx {
    async fn loyalty_rules(&mut self) -> StoreResult<Option<RulesRow>> {
        let row: Option<(i64, String, Micros)> = sqlx::query_as(
            "SELECT version, body, created_at FROM loyalty_rules WHERE workspace_id = $1
             ORDER BY version DESC LIMIT 1",
        )
        .bind(self.ws)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(|(version, body, created_at)| RulesRow {
            version,
            body,
            created_at,
        }))
    }

    async fn insert_loyalty_rules(&mut self, body: &str, at: Micros) -> StoreResult<i64> {
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO loyalty_rules (workspace_id, version, body, created_at)
             SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM loyalty_rules WHERE workspace_id = $1
             RETURNING version",
        )
        .bind(self.ws)
        .bind(body)
        .bind(at)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(version)
    }

    async fn loyalty_accounts(
        &mut self,
        ids: &[ContactId],
        with_lots: bool,
    ) -> StoreResult<Vec<LoyaltyAccountRow>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let rows: Vec<(i64, i64, i64, i64, Option<Micros>)> = sqlx::query_as(
            "SELECT contact_id, balance, debt, next_lot, next_expiry FROM loyalty_accounts
             WHERE workspace_id = $1 AND contact_id = ANY($2)",
        )
        .bind(self.ws)
        .bind(&raw)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        let mut accounts: Vec<LoyaltyAccountRow> = rows
            .into_iter()
            .map(
                |(c, balance, debt, next_lot, next_expiry)| LoyaltyAccountRow {
                    contact_id: ContactId(c),
                    balance,
                    debt,
                    next_lot,
                    next_expiry,
                    lots: Vec::new(),
                    stored: true,
                },
            )
            .collect();
        if !with_lots {
            return Ok(accounts);
        }
        // Spent-out lots never change again; expired ones only while a refund may forgive them.
        let lots: Vec<(i64, i64, i64, i64, i64, Micros, Micros, Option<String>)> = sqlx::query_as(
            "SELECT contact_id, lot_no, points, remaining, expired, earned_at, expires_at, order_id
             FROM loyalty_lots WHERE workspace_id = $1 AND contact_id = ANY($2)
             AND (remaining > 0 OR (expired > 0 AND order_id IS NOT NULL))",
        )
        .bind(self.ws)
        .bind(&raw)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        let mut by_contact: std::collections::HashMap<i64, Vec<LotRow>> = Default::default();
        for (c, a, b, d, e, f, g, h) in lots {
            by_contact
                .entry(c)
                .or_default()
                .push(lot_row((a, b, d, e, f, g, h)));
        }
        for a in &mut accounts {
            a.lots = by_contact.remove(&a.contact_id.0).unwrap_or_default();
        }
        Ok(accounts)
    }

    async fn save_loyalty(
        &mut self,
        accounts: &[LoyaltyAccountRow],
        entries: &[LoyaltyEntryRow],
    ) -> StoreResult<()> {
        // One array per column (`UNNEST`): a statement per table whatever the batch, and
        // far fewer parameters to parse than a multi-row `VALUES`. New rows are inserted
        // plainly and stored ones updated: an upsert costs twice an insert here, and a
        // wrongly new row fails on its key rather than overwriting. Updates also filter the
        // table by `= ANY` of their keys: joined to `UNNEST` alone, the planner hashes every
        // row of the workspace.
        let (stored, new): (Vec<&LoyaltyAccountRow>, Vec<_>) =
            accounts.iter().partition(|a| a.stored);
        for (rows, sql) in [
            (
                new,
                "INSERT INTO loyalty_accounts (workspace_id, contact_id, balance, debt, next_lot, next_expiry)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
            ),
            (
                stored,
                "UPDATE loyalty_accounts a SET balance = u.b, debt = u.d, next_lot = u.n, next_expiry = u.e
                 FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u(c, b, d, n, e)
                 WHERE a.workspace_id = $1 AND a.contact_id = ANY($2) AND a.contact_id = u.c",
            ),
        ] {
            if rows.is_empty() {
                continue;
            }
            let col = |f: fn(&LoyaltyAccountRow) -> i64| rows.iter().map(|a| f(a)).collect::<Vec<_>>();
            let done = sqlx::query(sql)
                .bind(self.ws)
                .bind(col(|a| a.contact_id.0))
                .bind(col(|a| a.balance))
                .bind(col(|a| a.debt))
                .bind(col(|a| a.next_lot))
                .bind(rows.iter().map(|a| a.next_expiry).collect::<Vec<_>>())
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
            all_written(done, rows.len(), "loyalty account")?;
        }
        let (stored, new): (Vec<(ContactId, &LotRow)>, Vec<_>) = accounts
            .iter()
            .flat_map(|a| a.lots.iter().map(move |l| (a.contact_id, l)))
            .partition(|(_, l)| l.stored);
        if !new.is_empty() {
            let col = |f: fn(&(ContactId, &LotRow)) -> i64| new.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO loyalty_lots (workspace_id, contact_id, lot_no, points, remaining, expired,
                     earned_at, expires_at, order_id)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])",
            )
            .bind(self.ws)
            .bind(col(|(c, _)| c.0))
            .bind(col(|(_, l)| l.lot_no))
            .bind(col(|(_, l)| l.points))
            .bind(col(|(_, l)| l.remaining))
            .bind(col(|(_, l)| l.expired))
            .bind(col(|(_, l)| l.earned_at))
            .bind(col(|(_, l)| l.expires_at))
            .bind(new.iter().map(|(_, l)| l.order_id.clone()).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        }
        if !stored.is_empty() {
            let col =
                |f: fn(&(ContactId, &LotRow)) -> i64| stored.iter().map(f).collect::<Vec<_>>();
            let done = sqlx::query(
                "UPDATE loyalty_lots l SET remaining = u.r, expired = u.x
                 FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(c, n, r, x)
                 WHERE l.workspace_id = $1 AND l.contact_id = ANY($2) AND l.contact_id = u.c
                     AND l.lot_no = u.n",
            )
                        .bind(self.ws)
            .bind(col(|(c, _)| c.0))
            .bind(col(|(_, l)| l.lot_no))
            .bind(col(|(_, l)| l.remaining))
            .bind(col(|(_, l)| l.expired))
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
            all_written(done, stored.len(), "loyalty lot")?;
        }
        if !entries.is_empty() {
            let col = |f: fn(&LoyaltyEntryRow) -> i64| entries.iter().map(f).collect::<Vec<_>>();
            let text = |f: fn(&LoyaltyEntryRow) -> &str| entries.iter().map(f).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason, ref_kind,
                     ref_id, balance_after, debt_after)
                 SELECT $1, c, k, p, a, r, rk, ri, b, d FROM UNNEST($2::bigint[], $3::text[],
                     $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::bigint[],
                     $10::bigint[]) WITH ORDINALITY AS e(c, k, p, a, r, rk, ri, b, d, n)
                 ORDER BY n",
            )
            .bind(self.ws)
            .bind(col(|e| e.contact_id.0))
            .bind(text(|e| &e.kind))
            .bind(col(|e| e.points))
            .bind(col(|e| e.at))
            .bind(text(|e| &e.reason))
            .bind(text(|e| &e.ref_kind))
            .bind(text(|e| &e.ref_id))
            .bind(col(|e| e.balance_after))
            .bind(col(|e| e.debt_after))
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        }
        Ok(())
    }

    async fn loyalty_orders(&mut self, ids: &[String]) -> StoreResult<Vec<LoyaltyOrderRow>> {
        let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
            "SELECT order_id, contact_id, earned, paid_total, kept FROM loyalty_orders
             WHERE workspace_id = $1 AND order_id = ANY($2)",
        )
        .bind(self.ws)
        .bind(ids)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows
            .into_iter()
            .map(|(order_id, c, earned, paid_total, kept)| LoyaltyOrderRow {
                order_id,
                contact_id: ContactId(c),
                earned,
                paid_total,
                kept,
                stored: true,
            })
            .collect())
    }

    async fn save_loyalty_orders(&mut self, rows: &[LoyaltyOrderRow]) -> StoreResult<()> {
        let (stored, new): (Vec<&LoyaltyOrderRow>, Vec<_>) = rows.iter().partition(|o| o.stored);
        if !new.is_empty() {
            let col = |f: fn(&LoyaltyOrderRow) -> i64| new.iter().map(|o| f(o)).collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO loyalty_orders (workspace_id, order_id, contact_id, earned, paid_total, kept)
                 SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])",
            )
            .bind(self.ws)
            .bind(new.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>())
            .bind(col(|o| o.contact_id.0))
            .bind(col(|o| o.earned))
            .bind(col(|o| o.paid_total))
            .bind(col(|o| o.kept))
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        }
        if !stored.is_empty() {
            let done = sqlx::query(
                "UPDATE loyalty_orders o SET kept = u.k FROM UNNEST($2::text[], $3::bigint[]) AS u(id, k)
                 WHERE o.workspace_id = $1 AND o.order_id = ANY($2) AND o.order_id = u.id",
            )
                        .bind(self.ws)
            .bind(stored.iter().map(|o| o.order_id.as_str()).collect::<Vec<_>>())
            .bind(stored.iter().map(|o| o.kept).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
            all_written(done, stored.len(), "loyalty order")?;
        }
        Ok(())
    }

    async fn earned_between(
        &mut self,
        ids: &[ContactId],
        from: Micros,
        until: Micros,
    ) -> StoreResult<Vec<(ContactId, i64)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT contact_id, SUM(points)::BIGINT FROM loyalty_entries
             WHERE workspace_id = $1 AND contact_id = ANY($2)
             AND kind = 'earn' AND at >= $3 AND at < $4 GROUP BY contact_id",
        )
        .bind(self.ws)
        .bind(&raw)
        .bind(from)
        .bind(until)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows.into_iter().map(|(c, p)| (ContactId(c), p)).collect())
    }

    async fn loyalty_due(&mut self, now: Micros, limit: i64) -> StoreResult<Vec<ContactId>> {
        catalogue::loyalty_due(self, now, limit).await
    }

    async fn redemption_by_key(&mut self, key: &str) -> StoreResult<Option<RedemptionRow>> {
        catalogue::redemption_by_key(self, key).await
    }

    async fn insert_redemption(&mut self, r: &RedemptionRow) -> StoreResult<i64> {
        catalogue::insert_redemption(self, r).await
    }

    async fn reward(&mut self, id: i64) -> StoreResult<Option<RewardRow>> {
        catalogue::reward(self, id).await
    }

    async fn take_reward_stock(&mut self, id: i64) -> StoreResult<bool> {
        catalogue::take_reward_stock(self, id).await
    }

    async fn insert_reward(&mut self, r: &RewardRow) -> StoreResult<RewardRow> {
        catalogue::insert_reward(self, r).await
    }
}

/// An update that missed a row it was told exists would lose a change: fail instead.
fn all_written(done: sqlx::postgres::PgQueryResult, rows: usize, what: &str) -> StoreResult<()> {
    if done.rows_affected() == rows as u64 {
        return Ok(());
    }
    Err(StoreError::Other(anyhow::anyhow!(
        "{what}: {} of {rows} stored rows updated",
        done.rows_affected()
    )))
}

fn lot_row(
    (lot_no, points, remaining, expired, earned_at, expires_at, order_id): PackedLot,
) -> LotRow {
    LotRow {
        lot_no,
        points,
        remaining,
        expired,
        earned_at,
        expires_at,
        order_id,
        stored: true,
    }
}

#[async_trait]
impl LoyaltyReader for PgStore {
    async fn loyalty_account(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<Option<LoyaltyAccountRow>> {
        let row: Option<(i64, i64, i64, Option<Micros>)> = sqlx::query_as(
            "SELECT balance, debt, next_lot, next_expiry FROM loyalty_accounts
             WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        Ok(
            row.map(|(balance, debt, next_lot, next_expiry)| LoyaltyAccountRow {
                contact_id: id,
                balance,
                debt,
                next_lot,
                next_expiry,
                lots: Vec::new(),
                stored: true,
            }),
        )
    }

    async fn loyalty_entries(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        before: Option<i64>,
        limit: i64,
    ) -> StoreResult<Vec<LoyaltyEntryRow>> {
        catalogue::loyalty_entries(self, ws, id, before, limit).await
    }

    async fn rewards(&self, ws: WorkspaceId) -> StoreResult<Vec<RewardRow>> {
        catalogue::rewards(self, ws).await
    }
}
