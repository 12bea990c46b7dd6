//! The loyalty program's reads and writes on SQLite.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    LotRow, LoyaltyAccountRow, LoyaltyEntryRow, LoyaltyOrderRow, LoyaltyReader, LoyaltyWrite,
    RedemptionRow, RewardRow, RulesRow, StoreResult,
};

use crate::write_tx::SqliteWriteTx;
use crate::{SqliteStore, other};

/// Rewards, redemptions and ledger entries: SQL shared with the other back end.
mod catalogue {
    type Tx = crate::write_tx::SqliteWriteTx;
    type Db = crate::SqliteStore;
    type DbRow = sqlx::sqlite::SqliteRow;

    include!("../../clientele-store/sql/loyalty_catalogue.rs");
}

type PackedLot = (i64, i64, i64, i64, Micros, Micros, Option<String>);

#[async_trait]
impl LoyaltyWrite for SqliteWriteTx {
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
        let mut accounts: Vec<LoyaltyAccountRow> = self
            .packed(
                "SELECT json_group_array(json_object('contact_id', contact_id, 'balance', balance, 'debt', debt,
                        'next_lot', next_lot, 'next_expiry', next_expiry))
                 FROM loyalty_accounts WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))",
                &raw,
            )
            .await?;
        if !with_lots {
            return Ok(accounts);
        }
        // Spent-out lots never change again; expired ones only while a refund may forgive them.
        let lots: Vec<(i64, PackedLot)> = self
            .packed(
                "SELECT json_group_array(json_array(contact_id, json_array(lot_no, points, remaining, expired,
                        earned_at, expires_at, order_id)))
                 FROM loyalty_lots WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))
                 AND (remaining > 0 OR (expired > 0 AND order_id IS NOT NULL))",
                &raw,
            )
            .await?;
        let mut by_contact: std::collections::HashMap<i64, Vec<LotRow>> = Default::default();
        for (c, l) in lots {
            by_contact.entry(c).or_default().push(lot_row(l));
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
        // Bound multi-row VALUES: `json_each` over the same rows re-parses each row's array
        // once per column, which took three times as long (BENCHMARKS.md, loyalty).
        self.insert_rows(
            "INSERT INTO loyalty_accounts (workspace_id, contact_id, balance, debt, next_lot, next_expiry) ",
            accounts,
            " ON CONFLICT (workspace_id, contact_id) DO UPDATE SET balance = excluded.balance,
             debt = excluded.debt, next_lot = excluded.next_lot, next_expiry = excluded.next_expiry",
            |b, a| {
                b.push_bind(a.contact_id.0)
                    .push_bind(a.balance)
                    .push_bind(a.debt)
                    .push_bind(a.next_lot)
                    .push_bind(a.next_expiry);
            },
        )
        .await?;
        let lots: Vec<(ContactId, &LotRow)> = accounts
            .iter()
            .flat_map(|a| a.lots.iter().map(move |l| (a.contact_id, l)))
            .collect();
        self.insert_rows(
            "INSERT INTO loyalty_lots (workspace_id, contact_id, lot_no, points, remaining, expired,
             earned_at, expires_at, order_id) ",
            &lots,
            " ON CONFLICT (workspace_id, contact_id, lot_no) DO UPDATE SET remaining = excluded.remaining,
             expired = excluded.expired",
            |b, (c, l)| {
                b.push_bind(c.0)
                    .push_bind(l.lot_no)
                    .push_bind(l.points)
                    .push_bind(l.remaining)
                    .push_bind(l.expired)
                    .push_bind(l.earned_at)
                    .push_bind(l.expires_at)
                    .push_bind(l.order_id.as_deref());
            },
        )
        .await?;
        // Entries keep their input order: ids ascend in commit order.
        self.insert_rows(
            "INSERT INTO loyalty_entries (workspace_id, contact_id, kind, points, at, reason, ref_kind,
             ref_id, balance_after, debt_after) ",
            entries,
            "",
            |b, e| {
                b.push_bind(e.contact_id.0)
                    .push_bind(e.kind.as_str())
                    .push_bind(e.points)
                    .push_bind(e.at)
                    .push_bind(e.reason.as_str())
                    .push_bind(e.ref_kind.as_str())
                    .push_bind(e.ref_id.as_str())
                    .push_bind(e.balance_after)
                    .push_bind(e.debt_after);
            },
        )
        .await
    }

    async fn loyalty_orders(&mut self, ids: &[String]) -> StoreResult<Vec<LoyaltyOrderRow>> {
        self.packed(
            "SELECT json_group_array(json_object('order_id', order_id, 'contact_id', contact_id, 'earned', earned,
                    'paid_total', paid_total, 'kept', kept))
             FROM loyalty_orders WHERE workspace_id = $1 AND order_id IN (SELECT value FROM json_each($2))",
            ids,
        )
        .await
    }

    async fn save_loyalty_orders(&mut self, rows: &[LoyaltyOrderRow]) -> StoreResult<()> {
        self.insert_rows(
            "INSERT INTO loyalty_orders (workspace_id, order_id, contact_id, earned, paid_total, kept) ",
            rows,
            " ON CONFLICT (workspace_id, order_id) DO UPDATE SET kept = excluded.kept",
            |b, o| {
                b.push_bind(o.order_id.as_str())
                    .push_bind(o.contact_id.0)
                    .push_bind(o.earned)
                    .push_bind(o.paid_total)
                    .push_bind(o.kept);
            },
        )
        .await
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
        let json = serde_json::to_string(&raw).map_err(crate::rows::json)?;
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT contact_id, SUM(points) FROM loyalty_entries
             WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))
             AND kind = 'earn' AND at >= $3 AND at < $4 GROUP BY contact_id",
        )
        .bind(self.ws)
        .bind(json)
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
impl LoyaltyReader for SqliteStore {
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
