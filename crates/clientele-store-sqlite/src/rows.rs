//! Decoding rows into domain records.

use clientele_core::ContactId;
use clientele_core::contact::{Contact, ContactFields, ContactKind, instant_field};
use clientele_core::metrics::StoredMetrics;
use clientele_core::order::OrderState;
use clientele_store::{StoreError, StoreResult};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::other;

/// Columns of `contacts` that [`contact`] and [`fields`] read.
macro_rules! contact_columns {
    () => {
        "id, kind, external_id, email, phone, name, locale, time_zone, tags, custom, contract_active, ambassador, created_at, updated_at"
    };
}
pub(crate) use contact_columns;

pub fn fields(row: &SqliteRow) -> StoreResult<ContactFields> {
    let tags: String = row.try_get("tags").map_err(other)?;
    let custom: String = row.try_get("custom").map_err(other)?;
    Ok(ContactFields {
        kind: ContactKind::from_db(row.try_get::<&str, _>("kind").map_err(other)?),
        external_id: row.try_get("external_id").map_err(other)?,
        email: row.try_get("email").map_err(other)?,
        phone: row.try_get("phone").map_err(other)?,
        name: row.try_get("name").map_err(other)?,
        locale: row.try_get("locale").map_err(other)?,
        time_zone: row.try_get("time_zone").map_err(other)?,
        tags: serde_json::from_str(&tags).map_err(json)?,
        custom: serde_json::from_str(&custom).map_err(json)?,
        contract_active: row.try_get("contract_active").map_err(other)?,
        ambassador: row.try_get("ambassador").map_err(other)?,
    })
}

pub fn contact(row: &SqliteRow) -> StoreResult<Contact> {
    let f = fields(row)?;
    Ok(Contact {
        id: ContactId(row.try_get("id").map_err(other)?),
        kind: f.kind,
        external_id: f.external_id,
        email: f.email,
        phone: f.phone,
        name: f.name,
        locale: f.locale,
        time_zone: f.time_zone,
        tags: f.tags,
        custom: f.custom,
        contract_active: f.contract_active,
        ambassador: f.ambassador,
        created_at: instant_field(row.try_get("created_at").map_err(other)?),
        updated_at: instant_field(row.try_get("updated_at").map_err(other)?),
    })
}

/// Columns of `orders` that [`order`] reads.
macro_rules! order_columns {
    () => {
        "order_id, contact_id, recipient_id, account_id, total, refunded, fully_refunded, placed_at, paid_at, cancelled_at"
    };
}
pub(crate) use order_columns;

pub fn order(row: &SqliteRow) -> StoreResult<OrderState> {
    Ok(OrderState {
        order_id: row.try_get("order_id").map_err(other)?,
        contact_id: ContactId(row.try_get("contact_id").map_err(other)?),
        recipient_id: row
            .try_get::<Option<i64>, _>("recipient_id")
            .map_err(other)?
            .map(ContactId),
        account_id: row
            .try_get::<Option<i64>, _>("account_id")
            .map_err(other)?
            .map(ContactId),
        total: row.try_get("total").map_err(other)?,
        refunded: row.try_get("refunded").map_err(other)?,
        fully_refunded: row.try_get("fully_refunded").map_err(other)?,
        placed_at: row.try_get("placed_at").map_err(other)?,
        paid_at: row.try_get("paid_at").map_err(other)?,
        cancelled_at: row.try_get("cancelled_at").map_err(other)?,
    })
}

/// Columns of `contact_metrics` that [`metrics`] reads.
macro_rules! metrics_columns {
    () => {
        "contact_id, paid_orders, revenue, first_order_at, last_order_at, last_engaged_at, interactions"
    };
}
pub(crate) use metrics_columns;

pub fn metrics(row: &SqliteRow) -> StoreResult<(ContactId, StoredMetrics)> {
    Ok((
        ContactId(row.try_get("contact_id").map_err(other)?),
        StoredMetrics {
            paid_orders: row.try_get("paid_orders").map_err(other)?,
            revenue: row.try_get("revenue").map_err(other)?,
            first_order_at: row.try_get("first_order_at").map_err(other)?,
            last_order_at: row.try_get("last_order_at").map_err(other)?,
            last_engaged_at: row.try_get("last_engaged_at").map_err(other)?,
            interactions: row.try_get("interactions").map_err(other)?,
        },
    ))
}

pub fn json(e: serde_json::Error) -> StoreError {
    StoreError::Other(anyhow::anyhow!("corrupt JSON column: {e}"))
}
