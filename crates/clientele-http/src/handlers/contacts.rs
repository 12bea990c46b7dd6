//! Contacts: CRUD, search, merge, consent, company members, timeline and metrics.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use clientele_core::contact::{Consent, ConsentInput, Contact, ContactInput};
use clientele_core::email::Email;
use clientele_core::error::from_serde_path;
use clientele_core::metrics::MetricsView;
use clientele_core::phone::{Phone, Region};
use clientele_core::time::{format_instant, parse_instant};
use clientele_core::{ContactId, FieldError};
use clientele_engine::contacts;
use clientele_engine::loyalty::referrals;
use clientele_store::{ContactQuery, TimelinePage, Workspace, now_micros};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{contact_id, parse_cursor, parse_limit};
use crate::auth::Auth;
use crate::json::JsonBody;
use crate::{ApiError, AppState};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_contacts, create_contact))
        .routes(routes!(get_contact, update_contact, delete_contact))
        .routes(routes!(merge_contact))
        .routes(routes!(list_consents, create_consent))
        .routes(routes!(list_members, create_member))
        .routes(routes!(get_timeline))
        .routes(routes!(get_metrics))
}

/// A page of results.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T: utoipa::ToSchema> {
    /// Items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Search filters of `GET /contacts`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Exact external id.
    external_id: Option<String>,
    /// E-mail (normalised before matching).
    email: Option<String>,
    /// Phone (normalised to E.164 in the workspace's region).
    phone: Option<String>,
    /// Substring of name, e-mail, phone or external id.
    q: Option<String>,
    /// Tag.
    tag: Option<String>,
    /// Page size, 1–500 (default 50).
    limit: Option<String>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

fn region(ws: &Workspace) -> Region {
    clientele_engine::workspace::event_context(ws).region
}

/// Search contacts, ordered by id.
#[utoipa::path(get, path = "/api/v1/contacts", params(SearchParams),
    responses((status = 200, body = Page<Contact>), (status = 422, body = crate::error::Problem)), tag = "contacts")]
pub async fn list_contacts(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(p): Query<SearchParams>,
) -> Result<Json<Page<Contact>>, ApiError> {
    let limit = parse_limit(p.limit.as_deref())?;
    let query = ContactQuery {
        external_id: p.external_id,
        email: p
            .email
            .map(|e| Email::parse(&e).map(|e| e.as_str().to_owned()))
            .transpose()
            .map_err(|r| FieldError::new("email", r))?,
        phone: p
            .phone
            .map(|x| Phone::parse(&x, region(&ws)).map(|p| p.as_str().to_owned()))
            .transpose()
            .map_err(|r| FieldError::new("phone", r))?,
        text: p.q.filter(|q| !q.trim().is_empty()),
        tag: p.tag,
        after: parse_cursor(p.cursor.as_deref())?.map(ContactId),
        limit,
    };
    let items = state.store.search_contacts(ws.id, &query).await?;
    let next_cursor = (items.len() as i64 == limit)
        .then(|| items.last().map(|c| c.id.to_string()))
        .flatten();
    Ok(Json(Page { items, next_cursor }))
}

async fn load(state: &AppState, ws: &Workspace, id: ContactId) -> Result<Contact, ApiError> {
    state
        .store
        .contact(ws.id, id)
        .await?
        .ok_or(ApiError::NotFound("contact"))
}

/// A contact with what the latest lifetime-value fit predicts for them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ContactView {
    #[serde(flatten)]
    contact: Contact,
    /// Absent until the workspace's first fit, and for contacts without a purchase.
    clv: Option<ClvView>,
    /// Only in the answer to a sign-up with `referral_code`: `{"status": "pending",
    /// "referrer_id", "window_until"}`, or `{"status": "refused", "reason", "detail"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    referral: Option<serde_json::Value>,
}

/// One contact's lifetime-value prediction.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClvView {
    /// Probability they are still a customer.
    p_alive: f64,
    /// Expected purchases over the fit's horizon.
    expected_purchases: f64,
    /// Expected value of one purchase, minor units of `currency`.
    expected_value: i64,
    /// Discounted lifetime value over the horizon, minor units of `currency`.
    clv: i64,
    /// Base currency of the workspace.
    currency: String,
}

async fn load_view(
    state: &AppState,
    ws: &Workspace,
    id: ContactId,
) -> Result<ContactView, ApiError> {
    let contact = load(state, ws, id).await?;
    let clv = state.store.contact_clv(ws.id, id).await?.map(|c| ClvView {
        p_alive: c.p_alive,
        expected_purchases: c.expected_purchases,
        expected_value: c.expected_value,
        clv: c.clv,
        currency: ws.currency.clone(),
    });
    Ok(ContactView {
        contact,
        clv,
        referral: None,
    })
}

/// Create a contact. Identifiers already used by another contact answer 409. With
/// `referral_code`, the new contact is attributed to the code's owner in the same step; an
/// unknown code answers 422 and creates nothing, a refused attribution (self-referral,
/// loop…) still creates the contact and says why in `referral`.
#[utoipa::path(post, path = "/api/v1/contacts", request_body = ContactInput,
    responses((status = 201, body = ContactView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "contacts")]
pub async fn create_contact(
    State(state): State<AppState>,
    Auth(ws): Auth,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ContactView>), ApiError> {
    let mut body = body;
    let code = match body.as_object_mut().and_then(|o| o.remove("referral_code")) {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(c)) => Some(c),
        Some(_) => return Err(FieldError::new("referral_code", "a string is expected").into()),
    };
    let input = ContactInput::from_json(&body)?;
    let Some(code) = code else {
        let id = contacts::create(state.store.as_ref(), &ws, input).await?;
        return Ok((StatusCode::CREATED, Json(load_view(&state, &ws, id).await?)));
    };
    let (id, outcome) =
        referrals::sign_up(state.store.as_ref(), &ws, input, &code, now_micros()).await?;
    let mut view = load_view(&state, &ws, id).await?;
    view.referral = Some(match outcome {
        Ok(r) => serde_json::json!({
            "status": r.status,
            "referrer_id": r.referrer_id.0,
            "window_until": format_instant(r.window_until),
        }),
        Err(refusal) => serde_json::json!({
            "status": "refused",
            "reason": refusal.slug(),
            "detail": refusal.to_string(),
        }),
    });
    Ok((StatusCode::CREATED, Json(view)))
}

/// One contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)),
    responses((status = 200, body = ContactView), (status = 404, body = crate::error::Problem)), tag = "contacts")]
pub async fn get_contact(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<ContactView>, ApiError> {
    Ok(Json(load_view(&state, &ws, contact_id(&id)?).await?))
}

/// Change some fields; `null` clears one.
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)), request_body = ContactInput,
    responses((status = 200, body = ContactView), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
              (status = 422, body = crate::error::Problem)), tag = "contacts")]
pub async fn update_contact(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ContactView>, ApiError> {
    let id = contact_id(&id)?;
    let input = ContactInput::from_json(&body)?;
    contacts::update(state.store.as_ref(), &ws, id, input).await?;
    Ok(Json(load_view(&state, &ws, id).await?))
}

/// Erase a contact's personal data. Its events stay in the log without personal data.
#[utoipa::path(delete, path = "/api/v1/contacts/{id}", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem)), tag = "contacts")]
pub async fn delete_contact(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    contacts::delete(state.store.as_ref(), &ws, contact_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of a merge.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The contact folded into the one in the path.
    pub duplicate_id: i64,
}

/// Fold a duplicate into this contact: its events, orders, identifiers, consents and
/// memberships move here; the duplicate's id and identifiers resolve here from now on.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/merge", params(("id" = i64, Path)), request_body = MergeInput,
    responses((status = 200, body = ContactView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "contacts")]
pub async fn merge_contact(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<ContactView>, ApiError> {
    let survivor = contact_id(&id)?;
    let input: MergeInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    contacts::merge(
        state.store.as_ref(),
        &ws,
        survivor,
        ContactId(input.duplicate_id),
    )
    .await?;
    Ok(Json(load_view(&state, &ws, survivor).await?))
}

/// Consent history, oldest first; the last record per channel is the current state.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/consents", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Consent>), (status = 404, body = crate::error::Problem)), tag = "contacts")]
pub async fn list_consents(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<Consent>>, ApiError> {
    let id = contact_id(&id)?;
    load(&state, &ws, id).await?;
    Ok(Json(state.store.consents(ws.id, id).await?))
}

/// Record a consent given or withdrawn.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/consents", params(("id" = i64, Path)), request_body = ConsentInput,
    responses((status = 201, body = Vec<Consent>), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "contacts")]
pub async fn create_consent(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Vec<Consent>>), ApiError> {
    let id = contact_id(&id)?;
    let input: ConsentInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    contacts::add_consent(state.store.as_ref(), &ws, id, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.consents(ws.id, id).await?),
    ))
}

/// A person's membership of a company.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// The person.
    pub person_id: i64,
    /// Role in the company.
    pub role: Option<String>,
}

/// People of a company.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/members", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<MemberInput>), (status = 404, body = crate::error::Problem)), tag = "contacts")]
pub async fn list_members(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<MemberInput>>, ApiError> {
    let id = contact_id(&id)?;
    load(&state, &ws, id).await?;
    Ok(Json(members_of(&state, &ws, id).await?))
}

/// The people of a company, as the API shows them.
async fn members_of(
    state: &AppState,
    ws: &Workspace,
    company: ContactId,
) -> Result<Vec<MemberInput>, ApiError> {
    let members = state.store.members(ws.id, company).await?;
    Ok(members
        .into_iter()
        .map(|m| MemberInput {
            person_id: m.person_id.0,
            role: m.role,
        })
        .collect())
}

/// Add a person to a company (the contact in the path).
#[utoipa::path(post, path = "/api/v1/contacts/{id}/members", params(("id" = i64, Path)), request_body = MemberInput,
    responses((status = 201, body = Vec<MemberInput>), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "contacts")]
pub async fn create_member(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Vec<MemberInput>>), ApiError> {
    let company = contact_id(&id)?;
    let input: MemberInput = serde_path_to_error::deserialize(&body).map_err(from_serde_path)?;
    if let Some(role) = &input.role
        && (role.trim().is_empty() || role.len() > 100)
    {
        return Err(FieldError::new("role", "must be 1 to 100 bytes").into());
    }
    contacts::add_member(
        state.store.as_ref(),
        &ws,
        company,
        ContactId(input.person_id),
        input.role.as_deref(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(members_of(&state, &ws, company).await?),
    ))
}

/// One event of a timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    /// Position in the log.
    pub seq: i64,
    /// Client-supplied id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// When it happened.
    pub occurred_at: String,
    /// When it was received.
    pub received_at: String,
    /// Its data.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// Paging of a timeline.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Page size, 1–500 (default 50).
    limit: Option<String>,
    /// Cursor from the previous page.
    cursor: Option<String>,
}

/// Every event of the contact (as buyer, recipient or account), newest first.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/timeline", params(("id" = i64, Path), TimelineParams),
    responses((status = 200, body = Page<TimelineEntry>), (status = 404, body = crate::error::Problem)), tag = "contacts")]
pub async fn get_timeline(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<TimelineParams>,
) -> Result<Json<Page<TimelineEntry>>, ApiError> {
    let id = contact_id(&id)?;
    load(&state, &ws, id).await?;
    let limit = parse_limit(p.limit.as_deref())?;
    let page = TimelinePage {
        before_seq: parse_cursor(p.cursor.as_deref())?,
        limit,
    };
    let events = state.store.timeline(ws.id, id, &page).await?;
    let next_cursor = (events.len() as i64 == limit)
        .then(|| events.last().map(|e| e.seq.to_string()))
        .flatten();
    let items = events
        .into_iter()
        .map(|e| TimelineEntry {
            seq: e.seq,
            id: e.client_id,
            kind: e.kind,
            occurred_at: format_instant(e.occurred_at),
            received_at: format_instant(e.received_at),
            data: e.data,
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// The moment metrics are computed for.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    /// RFC 3339 instant (default: now).
    as_of: Option<String>,
}

/// The contact's metrics (DESIGN §2) as of now or `as_of`.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/metrics", params(("id" = i64, Path), MetricsParams),
    responses((status = 200, body = MetricsView), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)),
    tag = "contacts")]
pub async fn get_metrics(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
    Query(p): Query<MetricsParams>,
) -> Result<Json<MetricsView>, ApiError> {
    let id = contact_id(&id)?;
    load(&state, &ws, id).await?;
    let now = p
        .as_of
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(|r| FieldError::new("as_of", r))?
        .unwrap_or_else(now_micros);
    let (stored, times) = state.store.metrics(ws.id, id).await?;
    Ok(Json(MetricsView::new(&stored, &times, now, &ws.currency)))
}
