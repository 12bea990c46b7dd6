//! Reads: contacts, search, timelines, metrics, consents, memberships.

use async_trait::async_trait;
use clientele_core::contact::{Consent, Contact, instant_field};
use clientele_core::metrics::StoredMetrics;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{
    ContactQuery, ContactReader, Membership, StoreResult, StoredEvent, TimelinePage, like_pattern,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use crate::rows::{self, contact_columns, metrics_columns, order_columns};
use crate::{SqliteStore, other};

#[async_trait]
impl ContactReader for SqliteStore {
    async fn contact(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Option<Contact>> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = "
        ));
        q.push_bind(ws.0)
            .push(" AND id = ")
            .push_bind(id.0)
            .push(" AND merged_into IS NULL AND deleted_at IS NULL");
        let row = q.build().fetch_optional(&self.pool).await.map_err(other)?;
        row.as_ref().map(rows::contact).transpose()
    }

    async fn search_contacts(
        &self,
        ws: WorkspaceId,
        query: &ContactQuery,
    ) -> StoreResult<Vec<Contact>> {
        let mut q = QueryBuilder::<Sqlite>::new(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = "
        ));
        q.push_bind(ws.0)
            .push(" AND merged_into IS NULL AND deleted_at IS NULL");
        if let Some(v) = &query.external_id {
            q.push(" AND external_id = ").push_bind(v.clone());
        }
        if let Some(v) = &query.email {
            q.push(" AND email = ").push_bind(v.clone());
        }
        if let Some(v) = &query.phone {
            q.push(" AND phone = ").push_bind(v.clone());
        }
        if let Some(v) = &query.tag {
            q.push(" AND EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE value = ")
                .push_bind(v.clone())
                .push(")");
        }
        if let Some(text) = &query.text {
            q.push(" AND search_text LIKE ")
                .push_bind(like_pattern(text))
                .push(" ESCAPE '\\'");
        }
        if let Some(after) = query.after {
            q.push(" AND id > ").push_bind(after.0);
        }
        q.push(" ORDER BY id LIMIT ").push_bind(query.limit);
        let rows = q.build().fetch_all(&self.pool).await.map_err(other)?;
        rows.iter().map(rows::contact).collect()
    }

    async fn timeline(
        &self,
        ws: WorkspaceId,
        id: ContactId,
        page: &TimelinePage,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, client_id, kind, occurred_at, received_at, data FROM events
             WHERE workspace_id = $1 AND (contact_id = $2 OR recipient_id = $2 OR account_id = $2) AND seq < $3
             ORDER BY seq DESC LIMIT $4",
        )
        .bind(ws.0)
        .bind(id.0)
        .bind(page.before_seq.unwrap_or(i64::MAX))
        .bind(page.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get("data").map_err(other)?;
                Ok(StoredEvent {
                    seq: r.try_get("seq").map_err(other)?,
                    client_id: r.try_get("client_id").map_err(other)?,
                    kind: r.try_get("kind").map_err(other)?,
                    occurred_at: r.try_get("occurred_at").map_err(other)?,
                    received_at: r.try_get("received_at").map_err(other)?,
                    data: serde_json::from_str(&data).map_err(rows::json)?,
                })
            })
            .collect()
    }

    async fn metrics(
        &self,
        ws: WorkspaceId,
        id: ContactId,
    ) -> StoreResult<(StoredMetrics, Vec<Micros>)> {
        let row = sqlx::query(concat!(
            "SELECT ",
            metrics_columns!(),
            " FROM contact_metrics WHERE workspace_id = $1 AND contact_id = $2"
        ))
        .bind(ws.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(other)?;
        let stored = row
            .as_ref()
            .map(rows::metrics)
            .transpose()?
            .map(|(_, m)| m)
            .unwrap_or_default();
        let orders = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE workspace_id = $1 AND contact_id = $2"
        ))
        .bind(ws.0)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let mut times = Vec::new();
        for r in &orders {
            let o = rows::order(r)?;
            if o.counts() {
                times.extend(o.paid_at);
            }
        }
        times.sort_unstable();
        Ok((stored, times))
    }

    async fn consents(&self, ws: WorkspaceId, id: ContactId) -> StoreResult<Vec<Consent>> {
        let rows = sqlx::query(
            "SELECT channel, granted, source, recorded_at FROM consents WHERE workspace_id = $1 AND contact_id = $2 ORDER BY id",
        )
        .bind(ws.0)
        .bind(id.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    channel: r.try_get("channel").map_err(other)?,
                    granted: r.try_get("granted").map_err(other)?,
                    source: r.try_get("source").map_err(other)?,
                    recorded_at: instant_field(r.try_get("recorded_at").map_err(other)?),
                })
            })
            .collect()
    }

    async fn members(&self, ws: WorkspaceId, company: ContactId) -> StoreResult<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT person_id, role FROM company_members WHERE workspace_id = $1 AND company_id = $2 ORDER BY person_id",
        )
        .bind(ws.0)
        .bind(company.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok(Membership {
                    person_id: ContactId(r.try_get("person_id").map_err(other)?),
                    role: r.try_get("role").map_err(other)?,
                })
            })
            .collect()
    }

    async fn event_count(&self, ws: WorkspaceId) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM events WHERE workspace_id = $1")
            .bind(ws.0)
            .fetch_one(&self.pool)
            .await
            .map_err(other)?;
        Ok(n)
    }

    async fn projection_dump(&self, ws: WorkspaceId) -> StoreResult<String> {
        let orders = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE workspace_id = $1 ORDER BY order_id"
        ))
        .bind(ws.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let metrics = sqlx::query(concat!(
            "SELECT ",
            metrics_columns!(),
            " FROM contact_metrics WHERE workspace_id = $1 ORDER BY contact_id"
        ))
        .bind(ws.0)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        let orders = orders
            .iter()
            .map(rows::order)
            .collect::<StoreResult<Vec<_>>>()?;
        let metrics = metrics
            .iter()
            .map(rows::metrics)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(clientele_store::dump_projections(&orders, &metrics))
    }
}
