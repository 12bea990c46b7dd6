//! Lifetime-value input (purchases) and results (the latest fit and per-contact values).

use async_trait::async_trait;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{ClvFitRecord, ClvStore, ContactClv, Purchase, StoreResult};
use sqlx::Row;

use crate::{PgStore, other};

fn contact_clv(row: &sqlx::postgres::PgRow) -> Result<ContactClv, sqlx::Error> {
    Ok(ContactClv {
        contact_id: ContactId(row.try_get(0)?),
        p_alive: row.try_get(1)?,
        expected_purchases: row.try_get(2)?,
        expected_value: row.try_get(3)?,
        clv: row.try_get(4)?,
    })
}

#[async_trait]
impl ClvStore for PgStore {
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
        // Refits (and ingest) of one workspace must not interleave with this replacement.
        let mut tx = self.lock_workspace(ws).await?;
        sqlx::query("DELETE FROM contact_clv WHERE workspace_id = $1")
            .bind(ws.0)
            .execute(&mut *tx)
            .await
            .map_err(other)?;
        sqlx::query(
            "INSERT INTO clv_fits (workspace_id, fitted_at, report) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id) DO UPDATE
             SET fitted_at = excluded.fitted_at, report = excluded.report",
        )
        .bind(ws.0)
        .bind(fit.fitted_at)
        .bind(&fit.report)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        let ids: Vec<i64> = rows.iter().map(|r| r.contact_id.0).collect();
        let alive: Vec<f64> = rows.iter().map(|r| r.p_alive).collect();
        let purchases: Vec<f64> = rows.iter().map(|r| r.expected_purchases).collect();
        let values: Vec<i64> = rows.iter().map(|r| r.expected_value).collect();
        let clvs: Vec<i64> = rows.iter().map(|r| r.clv).collect();
        sqlx::query(
            "INSERT INTO contact_clv (workspace_id, contact_id, p_alive, expected_purchases, expected_value, clv)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::float8[], $4::float8[], $5::bigint[], $6::bigint[])",
        )
        .bind(ws.0)
        .bind(&ids)
        .bind(&alive)
        .bind(&purchases)
        .bind(&values)
        .bind(&clvs)
        .execute(&mut *tx)
        .await
        .map_err(other)?;
        tx.commit().await.map_err(other)
    }

    async fn clv_fit(&self, ws: WorkspaceId) -> StoreResult<Option<ClvFitRecord>> {
        let row = sqlx::query("SELECT fitted_at, report FROM clv_fits WHERE workspace_id = $1")
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
             FROM contact_clv WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        row.as_ref().map(contact_clv).transpose().map_err(other)
    }
}
