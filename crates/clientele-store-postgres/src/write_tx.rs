//! The PostgreSQL write transaction: batch primitives with `= ANY($n)` lookups and
//! `UNNEST` array inserts, so a batch of thousands of rows is one statement.

use std::collections::HashMap;

use async_trait::async_trait;
use clientele_core::contact::{ContactFields, ContactKind, IdentityKey, IdentityKind};
use clientele_core::event::EventKind;
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::{OrderState, ProjectionInput};
use clientele_core::time::Micros;
use clientele_core::{ContactId, WorkspaceId};
use clientele_store::{NewEvent, StoreError, StoreResult, WriteTx};
use sqlx::{Postgres, Row, Transaction};

use crate::other;
use crate::rows::{self, contact_columns, metrics_columns, order_columns};

pub struct PgWriteTx {
    pub(crate) tx: Transaction<'static, Postgres>,
    pub(crate) ws: i64,
}

impl PgWriteTx {
    pub fn new(tx: Transaction<'static, Postgres>, ws: WorkspaceId) -> Self {
        Self { tx, ws: ws.0 }
    }

    async fn insert_identities(&mut self, rows: &[(IdentityKey, ContactId)]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let kinds: Vec<&str> = rows.iter().map(|(k, _)| k.kind.as_str()).collect();
        let values: Vec<&str> = rows.iter().map(|(k, _)| k.value.as_str()).collect();
        let ids: Vec<i64> = rows.iter().map(|(_, c)| c.0).collect();
        sqlx::query(
            "INSERT INTO contact_identities (workspace_id, kind, value, contact_id)
             SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::bigint[])",
        )
        .bind(self.ws)
        .bind(&kinds)
        .bind(&values)
        .bind(&ids)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| match other(e) {
            StoreError::Conflict { .. } => StoreError::Conflict {
                constraint: "contact_identities".into(),
            },
            e => e,
        })?;
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

#[async_trait]
impl WriteTx for PgWriteTx {
    async fn existing_events(
        &mut self,
        client_ids: &[String],
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        let rows = sqlx::query("SELECT client_id, body_hash FROM events WHERE workspace_id = $1 AND client_id = ANY($2)")
            .bind(self.ws)
            .bind(client_ids)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("client_id").map_err(other)?,
                    r.try_get("body_hash").map_err(other)?,
                ))
            })
            .collect()
    }

    async fn resolve(
        &mut self,
        keys: &[IdentityKey],
    ) -> StoreResult<Vec<(IdentityKey, ContactId)>> {
        let kinds: Vec<&str> = keys.iter().map(|k| k.kind.as_str()).collect();
        let values: Vec<&str> = keys.iter().map(|k| k.value.as_str()).collect();
        let rows = sqlx::query(
            "SELECT i.kind, i.value, i.contact_id FROM contact_identities i
             JOIN UNNEST($2::text[], $3::text[]) AS k(kind, value) ON i.kind = k.kind AND i.value = k.value
             WHERE i.workspace_id = $1",
        )
        .bind(self.ws)
        .bind(&kinds)
        .bind(&values)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                let kind: &str = r.try_get("kind").map_err(other)?;
                let kind = IdentityKind::from_db(kind).ok_or_else(|| {
                    StoreError::Other(anyhow::anyhow!("bad identity kind {kind}"))
                })?;
                Ok((
                    IdentityKey {
                        kind,
                        value: r.try_get("value").map_err(other)?,
                    },
                    ContactId(r.try_get("contact_id").map_err(other)?),
                ))
            })
            .collect()
    }

    async fn live_ids(&mut self, ids: &[ContactId]) -> StoreResult<Vec<(ContactId, ContactId)>> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let rows = sqlx::query(
            "SELECT id, COALESCE(merged_into, id) AS live FROM contacts
             WHERE workspace_id = $1 AND id = ANY($2) AND deleted_at IS NULL",
        )
        .bind(self.ws)
        .bind(&raw)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter()
            .map(|r| {
                Ok((
                    ContactId(r.try_get("id").map_err(other)?),
                    ContactId(r.try_get("live").map_err(other)?),
                ))
            })
            .collect()
    }

    async fn insert_contacts(
        &mut self,
        contacts: &[ContactFields],
        now: Micros,
    ) -> StoreResult<Vec<ContactId>> {
        if contacts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT nextval('contacts_id_seq') FROM generate_series(1, $1)")
                .bind(contacts.len() as i64)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(other)?;
        let col =
            |f: fn(&ContactFields) -> Option<String>| contacts.iter().map(f).collect::<Vec<_>>();
        let kinds: Vec<&str> = contacts.iter().map(|f| f.kind.as_str()).collect();
        let tags: Vec<String> = contacts
            .iter()
            .map(|f| serde_json::to_string(&f.tags).unwrap_or_else(|_| "[]".into()))
            .collect();
        let custom: Vec<String> = contacts.iter().map(|f| f.custom.to_string()).collect();
        let contract: Vec<bool> = contacts.iter().map(|f| f.contract_active).collect();
        let ambassador: Vec<bool> = contacts.iter().map(|f| f.ambassador).collect();
        sqlx::query(
            "INSERT INTO contacts (workspace_id, id, kind, external_id, email, phone, name, locale, time_zone, tags, custom,
                                   contract_active, ambassador, created_at, updated_at, search_text)
             SELECT $1, id, kind, external_id, email, phone, name, locale, time_zone, tags::jsonb, custom::jsonb,
                    contract_active, ambassador, $13, $13, search_text
             FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                         $10::text[], $11::text[], $12::bool[], $14::bool[], $15::text[])
                  AS t(id, kind, external_id, email, phone, name, locale, time_zone, tags, custom, contract_active, ambassador,
                       search_text)",
        )
        .bind(self.ws)
        .bind(&ids)
        .bind(&kinds)
        .bind(col(|f| f.external_id.clone()))
        .bind(col(|f| f.email.clone()))
        .bind(col(|f| f.phone.clone()))
        .bind(col(|f| f.name.clone()))
        .bind(col(|f| f.locale.clone()))
        .bind(col(|f| f.time_zone.clone()))
        .bind(&tags)
        .bind(&custom)
        .bind(&contract)
        .bind(now)
        .bind(&ambassador)
        .bind(contacts.iter().map(ContactFields::search_text).collect::<Vec<_>>())
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        let ids: Vec<ContactId> = ids.into_iter().map(ContactId).collect();
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
             time_zone = $7, tags = $8::jsonb, custom = $9::jsonb, contract_active = $10, ambassador = $11, updated_at = $12,
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
        if events.is_empty() {
            return Ok(());
        }
        let client_ids: Vec<&str> = events.iter().map(|e| e.client_id.as_str()).collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        let occurred: Vec<i64> = events.iter().map(|e| e.occurred_at).collect();
        let received: Vec<i64> = events.iter().map(|e| e.received_at).collect();
        let contacts: Vec<i64> = events.iter().map(|e| e.contact_id.0).collect();
        let recipients: Vec<Option<i64>> =
            events.iter().map(|e| e.recipient_id.map(|c| c.0)).collect();
        let accounts: Vec<Option<i64>> = events.iter().map(|e| e.account_id.map(|c| c.0)).collect();
        let orders: Vec<Option<&str>> = events.iter().map(|e| e.order_id.as_deref()).collect();
        let amounts: Vec<Option<i64>> = events.iter().map(|e| e.amount).collect();
        let details: Vec<Option<&str>> = events.iter().map(|e| e.detail.as_deref()).collect();
        let data: Vec<&str> = events.iter().map(|e| e.data.as_str()).collect();
        let hashes: Vec<Vec<u8>> = events.iter().map(|e| e.body_hash.to_vec()).collect();
        // WITH ORDINALITY keeps the batch's order, so sequence numbers follow it.
        sqlx::query(
            "INSERT INTO events (workspace_id, client_id, kind, occurred_at, received_at, contact_id, recipient_id,
                                 account_id, order_id, amount, detail, data, body_hash)
             SELECT $1, client_id, kind, occurred_at, received_at, contact_id, recipient_id, account_id, order_id,
                    amount, detail, data::jsonb, body_hash
             FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[],
                         $9::text[], $10::bigint[], $11::text[], $12::text[], $13::bytea[]) WITH ORDINALITY
                  AS t(client_id, kind, occurred_at, received_at, contact_id, recipient_id, account_id, order_id,
                       amount, detail, data, body_hash, n)
             ORDER BY n",
        )
        .bind(self.ws)
        .bind(&client_ids)
        .bind(&kinds)
        .bind(&occurred)
        .bind(&received)
        .bind(&contacts)
        .bind(&recipients)
        .bind(&accounts)
        .bind(&orders)
        .bind(&amounts)
        .bind(&details)
        .bind(&data)
        .bind(&hashes)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn load_orders(&mut self, order_ids: &[String]) -> StoreResult<Vec<OrderState>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE workspace_id = $1 AND order_id = ANY($2)"
        ))
        .bind(self.ws)
        .bind(order_ids)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter().map(rows::order).collect()
    }

    async fn load_orders_of(&mut self, contacts: &[ContactId]) -> StoreResult<Vec<OrderState>> {
        let raw: Vec<i64> = contacts.iter().map(|c| c.0).collect();
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE workspace_id = $1 AND contact_id = ANY($2)"
        ))
        .bind(self.ws)
        .bind(&raw)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter().map(rows::order).collect()
    }

    async fn save_orders(&mut self, orders: &[OrderState]) -> StoreResult<()> {
        if orders.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = orders.iter().map(|o| o.order_id.as_str()).collect();
        let contacts: Vec<i64> = orders.iter().map(|o| o.contact_id.0).collect();
        let recipients: Vec<Option<i64>> =
            orders.iter().map(|o| o.recipient_id.map(|c| c.0)).collect();
        let accounts: Vec<Option<i64>> = orders.iter().map(|o| o.account_id.map(|c| c.0)).collect();
        let totals: Vec<i64> = orders.iter().map(|o| o.total).collect();
        let refunded: Vec<i64> = orders.iter().map(|o| o.refunded).collect();
        let full: Vec<bool> = orders.iter().map(|o| o.fully_refunded).collect();
        let placed: Vec<Option<i64>> = orders.iter().map(|o| o.placed_at).collect();
        let paid: Vec<Option<i64>> = orders.iter().map(|o| o.paid_at).collect();
        let cancelled: Vec<Option<i64>> = orders.iter().map(|o| o.cancelled_at).collect();
        sqlx::query(concat!(
            "INSERT INTO orders (workspace_id, ",
            order_columns!(),
            ") SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                                     $8::bool[], $9::bigint[], $10::bigint[], $11::bigint[])
             ON CONFLICT (workspace_id, order_id) DO UPDATE SET contact_id = excluded.contact_id,
                 recipient_id = excluded.recipient_id, account_id = excluded.account_id, total = excluded.total,
                 refunded = excluded.refunded, fully_refunded = excluded.fully_refunded, placed_at = excluded.placed_at,
                 paid_at = excluded.paid_at, cancelled_at = excluded.cancelled_at"
        ))
        .bind(self.ws)
        .bind(&ids)
        .bind(&contacts)
        .bind(&recipients)
        .bind(&accounts)
        .bind(&totals)
        .bind(&refunded)
        .bind(&full)
        .bind(&placed)
        .bind(&paid)
        .bind(&cancelled)
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
    }

    async fn load_metrics(
        &mut self,
        contacts: &[ContactId],
    ) -> StoreResult<Vec<(ContactId, StoredMetrics)>> {
        let raw: Vec<i64> = contacts.iter().map(|c| c.0).collect();
        let rows = sqlx::query(concat!(
            "SELECT ",
            metrics_columns!(),
            " FROM contact_metrics WHERE workspace_id = $1 AND contact_id = ANY($2)"
        ))
        .bind(self.ws)
        .bind(&raw)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        rows.iter().map(rows::metrics).collect()
    }

    async fn save_metrics(&mut self, rows: &[(ContactId, StoredMetrics)]) -> StoreResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let col = |f: fn(&StoredMetrics) -> i64| rows.iter().map(|(_, m)| f(m)).collect::<Vec<_>>();
        let opt = |f: fn(&StoredMetrics) -> Option<i64>| {
            rows.iter().map(|(_, m)| f(m)).collect::<Vec<_>>()
        };
        let contacts: Vec<i64> = rows.iter().map(|(c, _)| c.0).collect();
        sqlx::query(concat!(
            "INSERT INTO contact_metrics (workspace_id, ",
            metrics_columns!(),
            ") SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])
             ON CONFLICT (workspace_id, contact_id) DO UPDATE SET paid_orders = excluded.paid_orders,
                 revenue = excluded.revenue, first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at,
                 last_engaged_at = excluded.last_engaged_at, interactions = excluded.interactions"
        ))
        .bind(self.ws)
        .bind(&contacts)
        .bind(col(|m| m.paid_orders))
        .bind(col(|m| m.revenue))
        .bind(opt(|m| m.first_order_at))
        .bind(opt(|m| m.last_order_at))
        .bind(opt(|m| m.last_engaged_at))
        .bind(col(|m| m.interactions))
        .execute(&mut *self.tx)
        .await
        .map_err(other)?;
        Ok(())
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
            "INSERT INTO company_members (workspace_id, company_id, person_id, role)
             SELECT workspace_id, $1, person_id, role FROM company_members WHERE workspace_id = $2 AND company_id = $3
             ON CONFLICT DO NOTHING",
            "INSERT INTO company_members (workspace_id, company_id, person_id, role)
             SELECT workspace_id, company_id, $1, role FROM company_members WHERE workspace_id = $2 AND person_id = $3
             ON CONFLICT DO NOTHING",
            "DELETE FROM company_members WHERE workspace_id = $2 AND (company_id = $3 OR person_id = $3) AND $1::bigint IS NOT NULL",
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
        let rows = sqlx::query(
            "SELECT seq, kind, occurred_at, contact_id, recipient_id, account_id, order_id, amount, detail FROM events
             WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(self.ws)
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(other)?;
        let mut kinds: HashMap<String, EventKind> = HashMap::new();
        rows.iter()
            .map(|r| {
                let kind_text: &str = r.try_get("kind").map_err(other)?;
                let kind = match kinds.get(kind_text) {
                    Some(k) => *k,
                    None => {
                        let k = EventKind::parse(kind_text).ok_or_else(|| {
                            StoreError::Other(anyhow::anyhow!(
                                "unknown event kind {kind_text:?} in the log"
                            ))
                        })?;
                        kinds.insert(kind_text.to_owned(), k);
                        k
                    }
                };
                Ok((
                    r.try_get("seq").map_err(other)?,
                    ProjectionInput {
                        kind,
                        occurred_at: r.try_get("occurred_at").map_err(other)?,
                        contact_id: ContactId(r.try_get("contact_id").map_err(other)?),
                        recipient_id: r
                            .try_get::<Option<i64>, _>("recipient_id")
                            .map_err(other)?
                            .map(ContactId),
                        account_id: r
                            .try_get::<Option<i64>, _>("account_id")
                            .map_err(other)?
                            .map(ContactId),
                        order_id: r.try_get("order_id").map_err(other)?,
                        amount: r.try_get("amount").map_err(other)?,
                        detail: r.try_get("detail").map_err(other)?,
                    },
                ))
            })
            .collect()
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        self.tx.commit().await.map_err(other)
    }
}
