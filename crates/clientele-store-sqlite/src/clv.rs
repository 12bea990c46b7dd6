//! Lifetime-value input (purchases) and results (the latest fit and per-contact values).

use async_trait::async_trait;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{ClvFitRecord, ClvStore, ContactClv, Purchase, StoreResult};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::{SqliteStore, other};

/// Rows per INSERT: 6 binds each stays under SQLite's 32 766 variables.
const CHUNK: usize = 5_000;

fn contact_clv(row: &sqlx::sqlite::SqliteRow) -> Result<ContactClv, sqlx::Error> {
    Ok(ContactClv {
        contact_id: ContactId(row.try_get(0)?),
        p_alive: row.try_get(1)?,
        expected_purchases: row.try_get(2)?,
        expected_value: row.try_get(3)?,
        clv: row.try_get(4)?,
    })
}

#[async_trait]
impl ClvStore for SqliteStore {
    async fn purchases(&self, ws: WorkspaceId) -> StoreResult<Vec<Purchase>> {
        // The same test as `OrderState::counts`, from the core.
        let rows = sqlx::query(concat!(
            "SELECT o.contact_id, c.external_id, o.paid_at, ",
            clientele_core::net_revenue_sql!(),
            " FROM orders o JOIN contacts c ON c.workspace_id = o.workspace_id AND c.id = o.contact_id
             WHERE o.workspace_id = $1 AND ",
            clientele_core::counting_order_sql!(),
            " ORDER BY o.contact_id, o.paid_at"
        ))
        .bind(ws.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok(Purchase {
                    contact_id: ContactId(r.try_get(0)?),
                    external_id: r.try_get(1)?,
                    paid_at: r.try_get(2)?,
                    amount: r.try_get(3)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(other)
    }

    async fn replace_clv(
        &self,
        ws: WorkspaceId,
        fit: &ClvFitRecord,
        rows: &[ContactClv],
    ) -> StoreResult<()> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(other)?;
        sqlx::query("DELETE FROM contact_clv WHERE workspace_id = ?")
            .bind(ws.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        sqlx::query(
            "INSERT INTO clv_fits (workspace_id, fitted_at, report) VALUES (?, ?, ?)
             ON CONFLICT (workspace_id) DO UPDATE
             SET fitted_at = excluded.fitted_at, report = excluded.report",
        )
        .bind(ws.0)
        .bind(fit.fitted_at)
        .bind(&fit.report)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO contact_clv (workspace_id, contact_id, p_alive, expected_purchases, expected_value, clv) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(ws.0)
                    .push_bind(r.contact_id.0)
                    .push_bind(r.p_alive)
                    .push_bind(r.expected_purchases)
                    .push_bind(r.expected_value)
                    .push_bind(r.clv);
            });
            q.build().execute(&mut *tx).await.map_err(other)?;
        }
        tx.commit().await.map_err(other)
    }

    async fn clv_fit(&self, ws: WorkspaceId) -> StoreResult<Option<ClvFitRecord>> {
        let row = sqlx::query("SELECT fitted_at, report FROM clv_fits WHERE workspace_id = ?")
            .bind(ws.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(other)?;
        row.map(|r| {
            Ok(ClvFitRecord {
                fitted_at: r.try_get(0)?,
                report: r.try_get(1)?,
            })
        })
        .transpose()
        .map_err(other)
    }

    async fn contact_clv(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<ContactClv>> {
        let row = sqlx::query(
            "SELECT contact_id, p_alive, expected_purchases, expected_value, clv
             FROM contact_clv WHERE workspace_id = ? AND contact_id = ?",
        )
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(contact_clv).transpose().map_err(other)
    }
}
