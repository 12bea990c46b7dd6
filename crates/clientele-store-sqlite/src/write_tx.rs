//! The SQLite write transaction: batch primitives with multi-row statements, chunked to stay
//! well inside SQLite's limit of bound parameters per statement.

use std::collections::HashMap;

use async_trait::async_trait;
use clientele_core::contact::{ContactFields, ContactKind, IdentityKey, IdentityKind};
use clientele_core::event::EventKind;
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::{OrderState, ProjectionInput};
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{NewEvent, StoreError, StoreResult, WriteTx};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, Transaction};

use crate::other;
use crate::rows::{self, contact_columns, metrics_columns, order_columns};

/// Rows per multi-row `INSERT` (at most 16 columns each: 16 000 parameters, under 32 766).
const ROW_CHUNK: usize = 1000;

/// Run `sql`, which selects one `json_group_array` over rows whose key is in the JSON array
/// `$2` (`$1` being the workspace), and decode the packed rows. Handing SQLite the keys as
/// one JSON value and getting the rows back as one avoids a round trip between threads per
/// row.
pub(crate) async fn packed<'e, K, R>(
    exec: impl sqlx::Executor<'e, Database = Sqlite>,
    ws: i64,
    sql: &'static str,
    keys: &[K],
) -> StoreResult<Vec<R>>
where
    K: serde::Serialize + Sync,
    R: serde::de::DeserializeOwned,
{
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::to_string(keys).map_err(rows::json)?;
    let (packed,): (String,) = sqlx::query_as(sql)
        .bind(ws)
        .bind(json)
        .fetch_one(exec)
        .await
        .map_err(other)?;
    serde_json::from_str(&packed).map_err(rows::json)
}

pub struct SqliteWriteTx {
    pub(crate) tx: Transaction<'static, Sqlite>,
    pub(crate) ws: i64,
    /// This process's writer turn, released when the transaction is gone (fields drop in
    /// order).
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl SqliteWriteTx {
    pub fn new(
        tx: Transaction<'static, Sqlite>,
        ws: WorkspaceId,
        turn: tokio::sync::OwnedMutexGuard<()>,
    ) -> Self {
        Self {
            tx,
            ws: ws.0,
            _turn: turn,
        }
    }

    /// Insert `rows` as bound multi-row `VALUES`, `ROW_CHUNK` rows a statement, in their
    /// order: `head` names the table and columns (the workspace id first, bound here), `tail`
    /// may add an `ON CONFLICT` clause, and `bind` pushes the rest of one row.
    pub(crate) async fn insert_rows<T>(
        &mut self,
        head: &'static str,
        rows: &[T],
        tail: &'static str,
        mut bind: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
    ) -> StoreResult<()> {
        for chunk in rows.chunks(ROW_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(head);
            q.push_values(chunk, |mut b, row| {
                b.push_bind(self.ws);
                bind(&mut b, row);
            });
            q.push(tail);
            q.build().execute(&mut *self.tx).await.map_err(other)?;
        }
        Ok(())
    }

    /// [`packed`] inside this transaction.
    pub(crate) async fn packed<K: serde::Serialize + Sync, R: serde::de::DeserializeOwned>(
        &mut self,
        sql: &'static str,
        keys: &[K],
    ) -> StoreResult<Vec<R>> {
        packed(&mut *self.tx, self.ws, sql, keys).await
    }

    async fn insert_identities(&mut self, rows: &[(IdentityKey, ContactId)]) -> StoreResult<()> {
        for chunk in rows.chunks(ROW_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO contact_identities (workspace_id, kind, value, contact_id) ",
            );
            q.push_values(chunk, |mut b, (key, id)| {
                b.push_bind(self.ws)
                    .push_bind(key.kind.as_str())
                    .push_bind(key.value.clone())
                    .push_bind(id.0);
            });
            q.build()
                .execute(&mut *self.tx)
                .await
                .map_err(identity_conflict)?;
        }
        Ok(())
    }

    async fn delete_identities(&mut self, keys: &[IdentityKey]) -> StoreResult<()> {
        for key in keys {
            sqlx::query("DELETE FROM contact_identities WHERE workspace_id = $1 AND kind = $2 AND value = $3")
                .bind(self.ws)
                .bind(key.kind.as_str())
                .bind(&key.value)
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
        }
        Ok(())
    }
}

/// An `orders` row as packed by `json_array(order_columns!())`.
type PackedOrder = (
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

fn unpack_order(r: PackedOrder) -> OrderState {
    let (
        order_id,
        contact_id,
        recipient_id,
        account_id,
        total,
        refunded,
        fully_refunded,
        placed_at,
        paid_at,
        cancelled_at,
    ) = r;
    OrderState {
        order_id,
        contact_id: ContactId(contact_id),
        recipient_id: recipient_id.map(ContactId),
        account_id: account_id.map(ContactId),
        total,
        refunded,
        fully_refunded: fully_refunded != 0,
        placed_at,
        paid_at,
        cancelled_at,
    }
}

fn identity_conflict(e: sqlx::Error) -> StoreError {
    match other(e) {
        StoreError::Conflict { .. } => StoreError::Conflict {
            constraint: "contact_identities".into(),
        },
        e => e,
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn existing_events(
        &mut self,
        client_ids: &[String],
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let rows: Vec<(String, String)> = self
            .packed(
                "SELECT json_group_array(json_array(client_id, hex(body_hash))) FROM events
                 WHERE workspace_id = $1 AND client_id IN (SELECT value FROM json_each($2))",
                client_ids,
            )
            .await?;
        rows.into_iter()
            .map(|(id, hash)| {
                Ok((
                    id,
                    hex::decode(hash).map_err(|e| StoreError::Other(e.into()))?,
                ))
            })
            .collect()
    }

    async fn resolve(
        &mut self,
        keys: &[IdentityKey],
    ) -> StoreResult<Vec<(IdentityKey, ContactId)>> {
        let mut out = Vec::new();
        for kind in [
            IdentityKind::ExternalId,
            IdentityKind::Email,
            IdentityKind::Phone,
        ] {
            let values: Vec<&str> = keys
                .iter()
                .filter(|k| k.kind == kind)
                .map(|k| k.value.as_str())
                .collect();
            if values.is_empty() {
                continue;
            }
            let json = serde_json::to_string(&values).map_err(rows::json)?;
            let (packed,): (String,) = sqlx::query_as(
                "SELECT json_group_array(json_array(value, contact_id)) FROM contact_identities
                 WHERE workspace_id = $1 AND kind = $2 AND value IN (SELECT value FROM json_each($3))",
            )
            .bind(self.ws)
            .bind(kind.as_str())
            .bind(json)
            .fetch_one(&mut *self.tx)
            .await
            .map_err(other)?;
            let rows: Vec<(String, i64)> = serde_json::from_str(&packed).map_err(rows::json)?;
            out.extend(
                rows.into_iter()
                    .map(|(value, id)| (IdentityKey { kind, value }, ContactId(id))),
            );
        }
        Ok(out)
    }

    async fn live_ids(&mut self, ids: &[ContactId]) -> StoreResult<Vec<(ContactId, ContactId)>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let rows: Vec<(i64, i64)> = self
            .packed(
                "SELECT json_group_array(json_array(id, COALESCE(merged_into, id))) FROM contacts
                 WHERE workspace_id = $1 AND deleted_at IS NULL AND id IN (SELECT value FROM json_each($2))",
                &raw,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, live)| (ContactId(id), ContactId(live)))
            .collect())
    }

    async fn insert_contacts(
        &mut self,
        contacts: &[ContactFields],
        now: Micros,
    ) -> StoreResult<Vec<ContactId>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        // BEGIN IMMEDIATE holds the database's only write lock: nobody else allocates ids.
        let (max,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM contacts")
            .fetch_one(&mut *self.tx)
            .await
            .map_err(other)?;
        let ids: Vec<ContactId> = (1..=contacts.len() as i64)
            .map(|i| ContactId(max + i))
            .collect();
        let pairs: Vec<(&ContactId, &ContactFields)> = ids.iter().zip(contacts).collect();
        for chunk in pairs.chunks(ROW_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO contacts (id, workspace_id, kind, external_id, email, phone, name, locale, time_zone, tags, custom, contract_active, ambassador, created_at, updated_at, search_text) ",
            );
            q.push_values(chunk, |mut b, (id, f)| {
                b.push_bind(id.0)
                    .push_bind(self.ws)
                    .push_bind(f.kind.as_str())
                    .push_bind(f.external_id.clone())
                    .push_bind(f.email.clone())
                    .push_bind(f.phone.clone())
                    .push_bind(f.name.clone())
                    .push_bind(f.locale.clone())
                    .push_bind(f.time_zone.clone())
                    .push_bind(serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()))
                    .push_bind(f.custom.to_string())
                    .push_bind(f.contract_active)
                    .push_bind(f.ambassador)
                    .push_bind(now)
                    .push_bind(now)
                    .push_bind(f.search_text());
            });
            q.build().execute(&mut *self.tx).await.map_err(other)?;
        }
        let identities: Vec<(IdentityKey, ContactId)> = ids
            .iter()
            .zip(contacts)
            .flat_map(|(id, f)| f.identities().into_iter().map(move |k| (k, *id)))
            .collect();
        self.insert_identities(&identities).await?;
        Ok(ids)
    }

    async fn contact_fields(&mut self, id: ContactId) -> StoreResult<Option<ContactFields>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            contact_columns!(),
            " FROM contacts WHERE workspace_id = $1 AND id = $2 AND merged_into IS NULL AND deleted_at IS NULL"
        ))
        .bind(self.ws)
        .bind(id.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        row.as_ref().map(rows::fields).transpose()
    }

    async fn update_contact(
        &mut self,
        id: ContactId,
        fields: &ContactFields,
        now: Micros,
    ) -> StoreResult<()> {
        let old = self.contact_fields(id).await?.ok_or(StoreError::NotFound)?;
        let (old_keys, new_keys) = (old.identities(), fields.identities());
        let gone: Vec<IdentityKey> = old_keys
            .iter()
            .filter(|k| !new_keys.contains(k))
            .cloned()
            .collect();
        let added: Vec<(IdentityKey, ContactId)> = new_keys
            .iter()
            .filter(|k| !old_keys.contains(k))
            .map(|k| (k.clone(), id))
            .collect();
        self.delete_identities(&gone).await?;
        self.insert_identities(&added).await?;
        sqlx::query(
            "UPDATE contacts SET kind = $1, external_id = $2, email = $3, phone = $4, name = $5, locale = $6,
             time_zone = $7, tags = $8, custom = $9, contract_active = $10, ambassador = $11, updated_at = $12,
             search_text = $15 WHERE workspace_id = $13 AND id = $14",
        )
        .bind(fields.kind.as_str())
        .bind(&fields.external_id)
        .bind(&fields.email)
        .bind(&fields.phone)
        .bind(&fields.name)
        .bind(&fields.locale)
        .bind(&fields.time_zone)
        .bind(serde_json::to_string(&fields.tags).unwrap_or_else(|_| "[]".into()))
        .bind(fields.custom.to_string())
        .bind(fields.contract_active)
        .bind(fields.ambassador)
        .bind(now)
        .bind(self.ws)
        .bind(id.0)
        .bind(fields.search_text())
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn delete_contact(&mut self, id: ContactId, now: Micros) -> StoreResult<()> {
        sqlx::query("DELETE FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2")
            .bind(self.ws)
            .bind(id.0)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        sqlx::query(
            "UPDATE contacts SET external_id = NULL, email = NULL, phone = NULL, name = NULL, locale = NULL,
             time_zone = NULL, tags = '[]', custom = '{}', search_text = '', deleted_at = $1, updated_at = $1
             WHERE workspace_id = $2 AND id = $3",
        )
        .bind(now)
        .bind(self.ws)
        .bind(id.0)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn insert_events(&mut self, events: &[NewEvent]) -> StoreResult<()> {
        self.insert_rows(
            "INSERT INTO events (workspace_id, client_id, kind, occurred_at, received_at, contact_id, recipient_id, account_id, order_id, amount, detail, data, body_hash) ",
            events,
            "",
            |b, e| {
                b.push_bind(e.client_id.clone())
                    .push_bind(e.kind)
                    .push_bind(e.occurred_at)
                    .push_bind(e.received_at)
                    .push_bind(e.contact_id.0)
                    .push_bind(e.recipient_id.map(|c| c.0))
                    .push_bind(e.account_id.map(|c| c.0))
                    .push_bind(e.order_id.clone())
                    .push_bind(e.amount)
                    .push_bind(e.detail.clone())
                    .push_bind(e.data.clone())
                    .push_bind(e.body_hash.to_vec());
            },
        )
        .await
    }

    async fn load_orders(&mut self, order_ids: &[String]) -> StoreResult<Vec<OrderState>> {
        let rows: Vec<PackedOrder> = self
            .packed(
                concat!(
                    "SELECT json_group_array(json_array(",
                    order_columns!(),
                    ")) FROM orders WHERE workspace_id = $1 AND order_id IN (SELECT value FROM json_each($2))"
                ),
                order_ids,
            )
            .await?;
        Ok(rows.into_iter().map(unpack_order).collect())
    }

    async fn load_orders_of(&mut self, contacts: &[ContactId]) -> StoreResult<Vec<OrderState>> {
        let raw: Vec<i64> = contacts.iter().map(|c| c.0).collect();
        let rows: Vec<PackedOrder> = self
            .packed(
                concat!(
                    "SELECT json_group_array(json_array(",
                    order_columns!(),
                    ")) FROM orders WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))"
                ),
                &raw,
            )
            .await?;
        Ok(rows.into_iter().map(unpack_order).collect())
    }

    async fn save_orders(&mut self, orders: &[OrderState]) -> StoreResult<()> {
        self.insert_rows(
            concat!("INSERT INTO orders (workspace_id, ", order_columns!(), ") "),
            orders,
            " ON CONFLICT (workspace_id, order_id) DO UPDATE SET contact_id = excluded.contact_id,
             recipient_id = excluded.recipient_id, account_id = excluded.account_id, total = excluded.total,
             refunded = excluded.refunded, fully_refunded = excluded.fully_refunded, placed_at = excluded.placed_at,
             paid_at = excluded.paid_at, cancelled_at = excluded.cancelled_at",
            |b, o| {
                b.push_bind(o.order_id.clone())
                    .push_bind(o.contact_id.0)
                    .push_bind(o.recipient_id.map(|c| c.0))
                    .push_bind(o.account_id.map(|c| c.0))
                    .push_bind(o.total)
                    .push_bind(o.refunded)
                    .push_bind(o.fully_refunded)
                    .push_bind(o.placed_at)
                    .push_bind(o.paid_at)
                    .push_bind(o.cancelled_at);
            },
        )
        .await
    }

    async fn load_metrics(
        &mut self,
        contacts: &[ContactId],
    ) -> StoreResult<Vec<(ContactId, StoredMetrics)>> {
        let raw: Vec<i64> = contacts.iter().map(|c| c.0).collect();
        type Packed = (i64, i64, i64, Option<i64>, Option<i64>, Option<i64>, i64);
        let rows: Vec<Packed> = self
            .packed(
                concat!(
                    "SELECT json_group_array(json_array(",
                    metrics_columns!(),
                    ")) FROM contact_metrics WHERE workspace_id = $1 AND contact_id IN (SELECT value FROM json_each($2))"
                ),
                &raw,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    c,
                    paid_orders,
                    revenue,
                    first_order_at,
                    last_order_at,
                    last_engaged_at,
                    interactions,
                )| {
                    let m = StoredMetrics {
                        paid_orders,
                        revenue,
                        first_order_at,
                        last_order_at,
                        last_engaged_at,
                        interactions,
                    };
                    (ContactId(c), m)
                },
            )
            .collect())
    }

    async fn save_metrics(&mut self, rows: &[(ContactId, StoredMetrics)]) -> StoreResult<()> {
        self.insert_rows(
            concat!("INSERT INTO contact_metrics (workspace_id, ", metrics_columns!(), ") "),
            rows,
            " ON CONFLICT (workspace_id, contact_id) DO UPDATE SET paid_orders = excluded.paid_orders,
             revenue = excluded.revenue, first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
             last_engaged_at = excluded.last_engaged_at, interactions = excluded.interactions",
            |b, (c, m)| {
                b.push_bind(c.0)
                    .push_bind(m.paid_orders)
                    .push_bind(m.revenue)
                    .push_bind(m.first_order_at)
                    .push_bind(m.last_order_at)
                    .push_bind(m.last_engaged_at)
                    .push_bind(m.interactions);
            },
        )
        .await
    }

    async fn delete_metrics(&mut self, contact: ContactId) -> StoreResult<()> {
        sqlx::query("DELETE FROM contact_metrics WHERE workspace_id = $1 AND contact_id = $2")
            .bind(self.ws)
            .bind(contact.0)
            .execute(&mut *self.tx)
            .await
            .map_err(other)?;
        Ok(())
    }

    async fn fold_contact(
        &mut self,
        from: ContactId,
        to: ContactId,
        now: Micros,
    ) -> StoreResult<()> {
        let statements = [
            "UPDATE events SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3",
            "UPDATE events SET recipient_id = $1 WHERE workspace_id = $2 AND recipient_id = $3",
            "UPDATE events SET account_id = $1 WHERE workspace_id = $2 AND account_id = $3",
            "UPDATE orders SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3",
            "UPDATE orders SET recipient_id = $1 WHERE workspace_id = $2 AND recipient_id = $3",
            "UPDATE orders SET account_id = $1 WHERE workspace_id = $2 AND account_id = $3",
            "UPDATE contact_identities SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3",
            "UPDATE consents SET contact_id = $1 WHERE workspace_id = $2 AND contact_id = $3",
            "INSERT OR IGNORE INTO company_members (workspace_id, company_id, person_id, role)
             SELECT workspace_id, $1, person_id, role FROM company_members WHERE workspace_id = $2 AND company_id = $3",
            "INSERT OR IGNORE INTO company_members (workspace_id, company_id, person_id, role)
             SELECT workspace_id, company_id, $1, role FROM company_members WHERE workspace_id = $2 AND person_id = $3",
            "DELETE FROM company_members WHERE workspace_id = $2 AND (company_id = $3 OR person_id = $3) AND $1 IS NOT NULL",
            "UPDATE contacts SET merged_into = $1 WHERE workspace_id = $2 AND (id = $3 OR merged_into = $3)",
        ];
        for sql in statements {
            sqlx::query(sql)
                .bind(to.0)
                .bind(self.ws)
                .bind(from.0)
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
        }
        sqlx::query(
            "UPDATE contacts SET updated_at = $1 WHERE workspace_id = $2 AND id IN ($3, $4)",
        )
        .bind(now)
        .bind(self.ws)
        .bind(from.0)
        .bind(to.0)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn add_consent(
        &mut self,
        contact: ContactId,
        channel: &str,
        granted: bool,
        source: &str,
        now: Micros,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO consents (workspace_id, contact_id, channel, granted, source, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(self.ws)
        .bind(contact.0)
        .bind(channel)
        .bind(granted)
        .bind(source)
        .bind(now)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn add_member(
        &mut self,
        company: ContactId,
        person: ContactId,
        role: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO company_members (workspace_id, company_id, person_id, role) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id, company_id, person_id) DO UPDATE SET role = excluded.role",
        )
        .bind(self.ws)
        .bind(company.0)
        .bind(person.0)
        .bind(role)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn contact_kind(&mut self, id: ContactId) -> StoreResult<Option<ContactKind>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT kind FROM contacts WHERE workspace_id = $1 AND id = $2 AND merged_into IS NULL AND deleted_at IS NULL",
        )
        .bind(self.ws)
        .bind(id.0)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(row.map(|(k,)| ContactKind::from_db(&k)))
    }

    async fn clear_projections(&mut self) -> StoreResult<()> {
        for sql in [
            "DELETE FROM orders WHERE workspace_id = $1",
            "DELETE FROM contact_metrics WHERE workspace_id = $1",
        ] {
            sqlx::query(sql)
                .bind(self.ws)
                .execute(&mut *self.tx)
                .await
                .map_err(other)?;
        }
        Ok(())
    }

    async fn events_after(
        &mut self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<(i64, ProjectionInput)>> {
        // One row per page: SQLite packs the page into a JSON array, which costs far less
        // than handing tens of thousands of rows one by one to the async side.
        let (packed,): (String,) = sqlx::query_as(
            "SELECT json_group_array(json_array(seq, kind, occurred_at, contact_id, recipient_id, account_id,
                                                order_id, amount, detail))
             FROM (SELECT * FROM events WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3)",
        )
        .bind(self.ws)
        .bind(after)
        .bind(limit)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(other)?;
        type Packed = (
            i64,
            String,
            i64,
            i64,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<Packed> = serde_json::from_str(&packed).map_err(rows::json)?;
        let mut kinds: HashMap<String, EventKind> = HashMap::new();
        rows.into_iter()
            .map(
                |(
                    seq,
                    kind_text,
                    occurred_at,
                    contact_id,
                    recipient_id,
                    account_id,
                    order_id,
                    amount,
                    detail,
                )| {
                    let kind = match kinds.get(&kind_text) {
                        Some(k) => *k,
                        None => {
                            let k = EventKind::parse(&kind_text).ok_or_else(|| {
                                StoreError::Other(anyhow::anyhow!(
                                    "unknown event kind {kind_text:?} in the log"
                                ))
                            })?;
                            kinds.insert(kind_text, k);
                            k
                        }
                    };
                    let input = ProjectionInput {
                        kind,
                        occurred_at,
                        contact_id: ContactId(contact_id),
                        recipient_id: recipient_id.map(ContactId),
                        account_id: account_id.map(ContactId),
                        order_id,
                        amount,
                        detail,
                    };
                    Ok((seq, input))
                },
            )
            .collect()
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(other)
    }
}
