//! Contact lifecycle: create, patch, delete, merge, consent and company membership — each
//! one write transaction that checks identities under the workspace's write lock.

use clientele_core::contact::{
    ConsentInput, ContactFields, ContactInput, ContactKind, IdentityKind,
};
use clientele_core::phone::Region;
use clientele_core::time::Micros;
use clientele_core::{ContactId, FieldError};
use clientele_store::{Store, StoreError, Workspace, WriteTx, now_micros};

/// Why a contact operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// No such live contact in this workspace.
    #[error("contact not found")]
    NotFound,
    /// Another contact already has this identifier.
    #[error("{field} already belongs to contact {existing}")]
    Taken {
        /// The identifier's field.
        field: &'static str,
        /// Its owner.
        existing: ContactId,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn region(ws: &Workspace) -> Region {
    crate::workspace::event_context(ws).region
}

/// Refuse identities of `fields` owned by a contact other than `me`.
async fn check_identities(
    tx: &mut dyn WriteTx,
    fields: &ContactFields,
    me: Option<ContactId>,
) -> Result<(), ContactError> {
    let keys = fields.identities();
    for (key, owner) in tx.resolve(&keys).await? {
        if Some(owner) != me {
            let field = match key.kind {
                IdentityKind::ExternalId => "external_id",
                IdentityKind::Email => "email",
                IdentityKind::Phone => "phone",
            };
            return Err(ContactError::Taken {
                field,
                existing: owner,
            });
        }
    }
    Ok(())
}

/// Create a contact from API input.
pub async fn create(
    store: &dyn Store,
    ws: &Workspace,
    input: ContactInput,
) -> Result<ContactId, ContactError> {
    let mut tx = store.begin_write(ws.id).await?;
    let id = create_in(&mut *tx, ws, input, now_micros()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Create a contact inside a transaction that may do more (a referral sign-up).
pub(crate) async fn create_in(
    tx: &mut dyn WriteTx,
    ws: &Workspace,
    input: ContactInput,
    now: Micros,
) -> Result<ContactId, ContactError> {
    let fields = input.apply(
        ContactFields {
            custom: serde_json::json!({}),
            ..Default::default()
        },
        region(ws),
    )?;
    check_identities(tx, &fields, None).await?;
    Ok(tx
        .insert_contacts(std::slice::from_ref(&fields), now)
        .await?[0])
}

/// Apply a patch to a live contact.
pub async fn update(
    store: &dyn Store,
    ws: &Workspace,
    id: ContactId,
    input: ContactInput,
) -> Result<(), ContactError> {
    let mut tx = store.begin_write(ws.id).await?;
    let current = tx.contact_fields(id).await?.ok_or(ContactError::NotFound)?;
    let fields = input.apply(current, region(ws))?;
    check_identities(&mut *tx, &fields, Some(id)).await?;
    let now = now_micros();
    tx.update_contact(id, &fields, now).await?;
    // The contract and ambassador flags place contacts on the ladder.
    crate::ladder::reclassify(&mut *tx, &[id], now).await?;
    tx.commit().await?;
    Ok(())
}

/// Erase a contact's personal data; its events stay in the log, pseudonymous.
pub async fn delete(store: &dyn Store, ws: &Workspace, id: ContactId) -> Result<(), ContactError> {
    let mut tx = store.begin_write(ws.id).await?;
    tx.contact_kind(id).await?.ok_or(ContactError::NotFound)?;
    tx.delete_contact(id, now_micros()).await?;
    tx.commit().await?;
    Ok(())
}

/// Fold `duplicate` into `survivor`: every event, order, identifier, consent and
/// membership moves to the survivor, whose metrics are recomputed. The duplicate's id
/// keeps resolving to the survivor.
pub async fn merge(
    store: &dyn Store,
    ws: &Workspace,
    survivor: ContactId,
    duplicate: ContactId,
) -> Result<(), ContactError> {
    if survivor == duplicate {
        return Err(
            FieldError::new("duplicate_id", "a contact cannot be merged into itself").into(),
        );
    }
    let mut tx = store.begin_write(ws.id).await?;
    tx.contact_kind(survivor)
        .await?
        .ok_or(ContactError::NotFound)?;
    tx.contact_kind(duplicate)
        .await?
        .ok_or_else(|| FieldError::new("duplicate_id", "no such contact in this workspace"))?;
    let metrics = tx.load_metrics(&[survivor, duplicate]).await?;
    tx.fold_contact(duplicate, survivor, now_micros()).await?;
    let mut merged = clientele_core::metrics::StoredMetrics::default();
    for (_, m) in &metrics {
        merged.absorb_interactions(m);
    }
    let orders = tx.load_orders_of(&[survivor]).await?;
    merged.refresh_orders(&orders);
    tx.delete_metrics(duplicate).await?;
    tx.save_metrics(&[(survivor, merged)]).await?;
    // The survivor now owns the duplicate's history: its position may move.
    crate::ladder::reclassify(&mut *tx, &[survivor], now_micros()).await?;
    tx.commit().await?;
    Ok(())
}

/// Append a consent record.
pub async fn add_consent(
    store: &dyn Store,
    ws: &Workspace,
    id: ContactId,
    input: &ConsentInput,
) -> Result<(), ContactError> {
    let source = input.source.trim();
    if source.is_empty() || source.len() > 200 {
        return Err(FieldError::new("source", "must be 1 to 200 bytes").into());
    }
    let mut tx = store.begin_write(ws.id).await?;
    tx.contact_kind(id).await?.ok_or(ContactError::NotFound)?;
    tx.add_consent(
        id,
        input.channel.as_str(),
        input.granted,
        source,
        now_micros(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Add a person to a company.
pub async fn add_member(
    store: &dyn Store,
    ws: &Workspace,
    company: ContactId,
    person: ContactId,
    role: Option<&str>,
) -> Result<(), ContactError> {
    let mut tx = store.begin_write(ws.id).await?;
    match tx.contact_kind(company).await? {
        None => return Err(ContactError::NotFound),
        Some(ContactKind::Person) => {
            return Err(FieldError::new("company", "is a person, not a company").into());
        }
        Some(ContactKind::Company) => {}
    }
    match tx.contact_kind(person).await? {
        None => {
            return Err(FieldError::new("person_id", "no such contact in this workspace").into());
        }
        Some(ContactKind::Company) => {
            return Err(FieldError::new("person_id", "is a company, not a person").into());
        }
        Some(ContactKind::Person) => {}
    }
    tx.add_member(company, person, role).await?;
    tx.commit().await?;
    Ok(())
}
