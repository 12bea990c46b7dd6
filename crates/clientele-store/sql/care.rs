// Care storage (tasks, tickets, date-trigger sweeps and the reads of date triggers and
// conditions) in SQL both back ends speak: included by `clientele-store-sqlite` and
// `clientele-store-postgres`, each defining first `Tx`, `Db`, `DbRow` and `birthday!()`:
// the expression reading the custom `birthday` field as text.

use async_trait::async_trait;
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{CareReader, CareWrite, StoreResult, TaskRow, TicketRow};
use sqlx::Row;

use crate::other;

fn task_row(r: &DbRow) -> Result<TaskRow, sqlx::Error> {
    Ok(TaskRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        contact_id: ContactId(r.try_get(2)?),
        title: r.try_get(3)?,
        assignee: r.try_get(4)?,
        due_at: r.try_get(5)?,
        status: r.try_get(6)?,
        source: r.try_get(7)?,
        created_at: r.try_get(8)?,
    })
}

fn ticket_row(r: &DbRow) -> Result<TicketRow, sqlx::Error> {
    Ok(TicketRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        contact_id: ContactId(r.try_get(2)?),
        kind: r.try_get(3)?,
        subject: r.try_get(4)?,
        status: r.try_get(5)?,
        source: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

#[async_trait]
impl CareWrite for Tx {
    async fn insert_task(&mut self, t: &TaskRow) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO tasks (workspace_id, key, contact_id, title, assignee, due_at, status,
                 source, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)
             ON CONFLICT (workspace_id, key) DO NOTHING",
        )
        .bind(self.ws)
        .bind(&t.key)
        .bind(t.contact_id.0)
        .bind(&t.title)
        .bind(&t.assignee)
        .bind(t.due_at)
        .bind(&t.source)
        .bind(t.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_task_status(&mut self, id: i64, status: &str) -> StoreResult<Option<TaskRow>> {
        let found = sqlx::query(
            "UPDATE tasks SET status = $3 WHERE workspace_id = $1 AND id = $2
             RETURNING id, key, contact_id, title, assignee, due_at, status, source, created_at",
        )
        .bind(self.ws)
        .bind(id)
        .bind(status)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        found.as_ref().map(task_row).transpose().map_err(other)
    }

    async fn insert_ticket(&mut self, t: &TicketRow) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO tickets (workspace_id, key, contact_id, kind, subject, status, source,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7)
             ON CONFLICT (workspace_id, key) DO NOTHING",
        )
        .bind(self.ws)
        .bind(&t.key)
        .bind(t.contact_id.0)
        .bind(&t.kind)
        .bind(&t.subject)
        .bind(&t.source)
        .bind(t.created_at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_sweep(&mut self, day: &str, at: Micros) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO automation_sweeps (workspace_id, day, swept_at) VALUES ($1, $2, $3)
             ON CONFLICT (workspace_id, day) DO NOTHING",
        )
        .bind(self.ws)
        .bind(day)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(done.rows_affected() == 1)
    }

    async fn granted_channels(&mut self, contact: ContactId) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT c.channel FROM consents c
             WHERE c.workspace_id = $1 AND c.contact_id = $2 AND c.granted
               AND c.id = (SELECT MAX(l.id) FROM consents l WHERE l.workspace_id = $1
                           AND l.contact_id = $2 AND l.channel = c.channel)
             ORDER BY c.channel",
        )
        .bind(self.ws)
        .bind(contact.0)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    async fn birthdays(&mut self) -> StoreResult<Vec<(ContactId, String)>> {
        let rows: Vec<(i64, String)> = sqlx::query_as(concat!(
            "SELECT id, ",
            birthday!(),
            " FROM contacts WHERE workspace_id = $1 AND merged_into IS NULL
               AND deleted_at IS NULL AND ",
            birthday!(),
            " IS NOT NULL ORDER BY id"
        ))
        .bind(self.ws)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows.into_iter().map(|(id, b)| (ContactId(id), b)).collect())
    }

    async fn first_orders(&mut self) -> StoreResult<Vec<(ContactId, Micros)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT m.contact_id, m.first_order_at FROM contact_metrics m
             JOIN contacts c ON c.workspace_id = m.workspace_id AND c.id = m.contact_id
             WHERE m.workspace_id = $1 AND m.first_order_at IS NOT NULL
               AND c.merged_into IS NULL AND c.deleted_at IS NULL
             ORDER BY m.contact_id",
        )
        .bind(self.ws)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(rows.into_iter().map(|(id, at)| (ContactId(id), at)).collect())
    }

    async fn last_order_at(&mut self, contact: ContactId) -> StoreResult<Option<Micros>> {
        let row: Option<(Option<i64>,)> = sqlx::query_as(
            "SELECT last_order_at FROM contact_metrics WHERE workspace_id = $1 AND contact_id = $2",
        )
        .bind(self.ws)
        .bind(contact.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.and_then(|(at,)| at))
    }
}

#[async_trait]
impl CareReader for Db {
    async fn tasks(
        &self,
        ws: WorkspaceId,
        contact: Option<ContactId>,
        open_only: bool,
        limit: i64,
    ) -> StoreResult<Vec<TaskRow>> {
        let found = sqlx::query(
            "SELECT id, key, contact_id, title, assignee, due_at, status, source, created_at
             FROM tasks WHERE workspace_id = $1 AND ($2 IS NULL OR contact_id = $2)
               AND (NOT $3 OR status = 'open')
             ORDER BY id DESC LIMIT $4",
        )
        .bind(ws.0)
        .bind(contact.map(|c| c.0))
        .bind(open_only)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(task_row).collect::<Result<_, _>>().map_err(other)
    }

    async fn tickets(
        &self,
        ws: WorkspaceId,
        contact: Option<ContactId>,
        limit: i64,
    ) -> StoreResult<Vec<TicketRow>> {
        let found = sqlx::query(
            "SELECT id, key, contact_id, kind, subject, status, source, created_at
             FROM tickets WHERE workspace_id = $1 AND ($2 IS NULL OR contact_id = $2)
             ORDER BY id DESC LIMIT $3",
        )
        .bind(ws.0)
        .bind(contact.map(|c| c.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(other)?;
        found.iter().map(ticket_row).collect::<Result<_, _>>().map_err(other)
    }
}
