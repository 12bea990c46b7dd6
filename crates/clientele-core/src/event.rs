//! The event envelope: parsing and validating what clients send to the append-only log.
//!
//! An event is validated completely before anything is stored, so a rejected event never
//! leaves a trace and an accepted one is known to project cleanly.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::contact::ContactRef;
use crate::error::{FieldError, from_serde_path};
use crate::money::Currency;
use crate::phone::Region;
use crate::time::{self, Micros};

/// Largest batch accepted by one `POST /events`.
pub const MAX_BATCH: usize = 10_000;

/// Longest client-supplied event id.
pub const MAX_EVENT_ID: usize = 200;

/// Every kind of event the log accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An order was placed (not yet a purchase).
    OrderPlaced,
    /// An order was paid: from now on it is a purchase.
    OrderPaid,
    /// Money was returned, partly (`amount`) or in full.
    OrderRefunded,
    /// The order was cancelled; it no longer counts.
    OrderCancelled,
    /// A non-purchase touch point (page view, e-mail click, call…).
    Interaction,
    /// A survey answer: `detail` is the survey (`nps`), `amount` the score.
    SurveyAnswered,
    /// Someone the contact referred went on to pay: `recipient` is the referee.
    ReferralConverted,
}

impl EventKind {
    /// The wire and stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::OrderPlaced => "order.placed",
            Self::OrderPaid => "order.paid",
            Self::OrderRefunded => "order.refunded",
            Self::OrderCancelled => "order.cancelled",
            Self::Interaction => "interaction",
            Self::SurveyAnswered => "survey.answered",
            Self::ReferralConverted => "referral.converted",
        }
    }

    /// Parse the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "order.placed" => Self::OrderPlaced,
            "order.paid" => Self::OrderPaid,
            "order.refunded" => Self::OrderRefunded,
            "order.cancelled" => Self::OrderCancelled,
            "interaction" => Self::Interaction,
            "survey.answered" => Self::SurveyAnswered,
            "referral.converted" => Self::ReferralConverted,
            _ => return None,
        })
    }

    /// Whether the event is about an order.
    pub fn is_order(&self) -> bool {
        matches!(
            self,
            Self::OrderPlaced | Self::OrderPaid | Self::OrderRefunded | Self::OrderCancelled
        )
    }
}

/// Kinds of interaction, each a touch point that shows interest.
pub const INTERACTION_KINDS: [&str; 10] = [
    "page_view",
    "email_open",
    "email_click",
    "form_submit",
    "demo_request",
    "reply",
    "call",
    "meeting",
    "chat",
    "review",
];

/// What validation needs to know about the workspace.
#[derive(Debug, Clone, Copy)]
pub struct EventContext {
    /// Base currency: orders in any other currency are refused until exchange rates exist.
    pub currency: Currency,
    /// Region for phone numbers written without a country code.
    pub region: Region,
}

/// A fully validated event, ready to append.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    /// Client-supplied id, unique per workspace.
    pub client_id: String,
    /// Kind.
    pub kind: EventKind,
    /// When it happened.
    pub occurred_at: Micros,
    /// The buyer or the person interacting.
    pub contact: ContactRef,
    /// The gift's recipient (consumer), for orders.
    pub recipient: Option<ContactRef>,
    /// The company account the order was placed on.
    pub account: Option<ContactRef>,
    /// Order id, for order events.
    pub order_id: Option<String>,
    /// Total (placed, paid) or refunded amount (refunded; `None` = in full), minor units.
    pub amount: Option<i64>,
    /// Interaction type, for interactions.
    pub detail: Option<String>,
    /// The coupon code an order names, as typed.
    pub coupon: Option<String>,
    /// The `data` object as received, as JSON text.
    pub data: String,
    /// SHA-256 of the canonical JSON of the whole envelope: the idempotency fingerprint.
    pub body_hash: [u8; 32],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderData {
    order_id: String,
    total: i64,
    currency: String,
    #[serde(default)]
    lines: Vec<OrderLine>,
    recipient: Option<Value>,
    account: Option<Value>,
    coupon: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderLine {
    sku: String,
    name: String,
    quantity: i64,
    unit_price: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundData {
    order_id: String,
    amount: Option<i64>,
    currency: Option<String>,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SurveyData {
    survey: String,
    score: i64,
    comment: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralData {
    referee: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelData {
    order_id: String,
    reason: Option<String>,
}

/// Read the client id of an envelope even when the rest is invalid, so that a per-item
/// error can still be matched to the item.
pub fn peek_id(value: &Value) -> Option<&str> {
    value.get("id").and_then(Value::as_str)
}

impl ValidEvent {
    /// Validate one envelope. Fields are read by reference: nothing of the input is copied
    /// but the `data` text that will be stored.
    pub fn parse(value: &Value, ctx: &EventContext) -> Result<Self, FieldError> {
        let obj = value
            .as_object()
            .ok_or_else(|| FieldError::new("", "an event must be a JSON object"))?;
        if let Some(unknown) = obj.keys().find(|k| !ENVELOPE_FIELDS.contains(&k.as_str())) {
            return Err(FieldError::new(
                unknown.as_str(),
                format!(
                    "unknown field (expected one of {})",
                    ENVELOPE_FIELDS.join(", ")
                ),
            ));
        }
        let text = |name: &'static str| -> Result<&str, FieldError> {
            match obj.get(name) {
                Some(Value::String(s)) => Ok(s),
                Some(other) => Err(FieldError::new(
                    name,
                    format!("must be a string, not {}", json_type(other)),
                )),
                None => Err(FieldError::new(name, "is required")),
            }
        };
        let id = text("id")?;
        if id.trim().is_empty() || id.len() > MAX_EVENT_ID {
            return Err(FieldError::new(
                "id",
                format!("must be 1 to {MAX_EVENT_ID} bytes"),
            ));
        }
        let kind_text = text("kind")?;
        let kind = EventKind::parse(kind_text).ok_or_else(|| {
            FieldError::new("kind", format!("unknown event kind {kind_text:?} (known: order.placed, order.paid, order.refunded, order.cancelled, interaction, survey.answered, referral.converted)"))
        })?;
        let occurred_at = time::parse_instant(text("occurred_at")?)
            .map_err(|r| FieldError::new("occurred_at", r))?;
        let contact = obj
            .get("contact")
            .ok_or_else(|| FieldError::new("contact", "is required"))?;
        let contact =
            ContactRef::from_json(contact, ctx.region).map_err(|e| e.within("contact"))?;
        let data = obj.get("data").unwrap_or(&Value::Null);
        let mut event = ValidEvent {
            client_id: id.to_owned(),
            kind,
            occurred_at,
            contact,
            recipient: None,
            account: None,
            order_id: None,
            amount: None,
            detail: None,
            coupon: None,
            data: String::new(),
            body_hash: fingerprint(value),
        };
        parse_data(&mut event, data, ctx).map_err(|e| e.within("data"))?;
        event.data = data.to_string();
        Ok(event)
    }
}

/// The longest coupon code an order may name.
const MAX_COUPON: usize = 64;

/// The keys an envelope may have.
const ENVELOPE_FIELDS: [&str; 5] = ["id", "kind", "occurred_at", "contact", "data"];

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_data(event: &mut ValidEvent, data: &Value, ctx: &EventContext) -> Result<(), FieldError> {
    match event.kind {
        EventKind::OrderPlaced | EventKind::OrderPaid => {
            let d: OrderData = serde_path_to_error::deserialize(data).map_err(from_serde_path)?;
            check_order_id(&d.order_id)?;
            check_amount("total", d.total)?;
            check_currency(&d.currency, ctx)?;
            for (i, line) in d.lines.iter().enumerate() {
                check_line(line).map_err(|e| e.within(&format!("lines[{i}]")))?;
            }
            if let Some(r) = &d.recipient {
                event.recipient =
                    Some(ContactRef::from_json(r, ctx.region).map_err(|e| e.within("recipient"))?);
            }
            if let Some(a) = &d.account {
                event.account =
                    Some(ContactRef::from_json(a, ctx.region).map_err(|e| e.within("account"))?);
            }
            if let Some(code) = &d.coupon
                && (code.trim().is_empty() || code.len() > MAX_COUPON)
            {
                return Err(FieldError::new(
                    "coupon",
                    format!("a coupon code of 1 to {MAX_COUPON} characters is expected"),
                ));
            }
            event.order_id = Some(d.order_id);
            event.amount = Some(d.total);
            event.coupon = d.coupon;
        }
        EventKind::OrderRefunded => {
            let d: RefundData = serde_path_to_error::deserialize(data).map_err(from_serde_path)?;
            check_order_id(&d.order_id)?;
            if let Some(amount) = d.amount {
                check_amount("amount", amount)?;
                if amount == 0 {
                    return Err(FieldError::new(
                        "amount",
                        "must be positive (omit it for a full refund)",
                    ));
                }
                let currency = d
                    .currency
                    .as_deref()
                    .ok_or_else(|| FieldError::new("currency", "is required with amount"))?;
                check_currency(currency, ctx)?;
            } else if let Some(c) = &d.currency {
                check_currency(c, ctx)?;
            }
            check_reason(d.reason.as_deref())?;
            event.order_id = Some(d.order_id);
            event.amount = d.amount;
        }
        EventKind::OrderCancelled => {
            let d: CancelData = serde_path_to_error::deserialize(data).map_err(from_serde_path)?;
            check_order_id(&d.order_id)?;
            check_reason(d.reason.as_deref())?;
            event.order_id = Some(d.order_id);
        }
        EventKind::Interaction => {
            let obj = data
                .as_object()
                .ok_or_else(|| FieldError::new("", "must be an object with a type"))?;
            let ty = obj.get("type").and_then(Value::as_str).ok_or_else(|| {
                FieldError::new(
                    "type",
                    format!("is required, one of {}", INTERACTION_KINDS.join(", ")),
                )
            })?;
            if !INTERACTION_KINDS.contains(&ty) {
                return Err(FieldError::new(
                    "type",
                    format!(
                        "unknown interaction {ty:?} (known: {})",
                        INTERACTION_KINDS.join(", ")
                    ),
                ));
            }
            event.detail = Some(ty.to_owned());
        }
        EventKind::SurveyAnswered => {
            let d: SurveyData = serde_path_to_error::deserialize(data).map_err(from_serde_path)?;
            if d.survey != "nps" {
                return Err(FieldError::new(
                    "survey",
                    format!("unknown survey {:?} (known: nps)", d.survey),
                ));
            }
            if !(0..=10).contains(&d.score) {
                return Err(FieldError::new(
                    "score",
                    "an NPS score is a whole number from 0 to 10",
                ));
            }
            if d.comment.as_ref().is_some_and(|c| c.len() > 10_000) {
                return Err(FieldError::new("comment", "must be at most 10 000 bytes"));
            }
            event.detail = Some(d.survey);
            event.amount = Some(d.score);
        }
        EventKind::ReferralConverted => {
            let d: ReferralData =
                serde_path_to_error::deserialize(data).map_err(from_serde_path)?;
            event.recipient = Some(
                ContactRef::from_json(&d.referee, ctx.region).map_err(|e| e.within("referee"))?,
            );
        }
    }
    Ok(())
}

fn check_order_id(id: &str) -> Result<(), FieldError> {
    if id.trim().is_empty() || id.len() > MAX_EVENT_ID {
        return Err(FieldError::new(
            "order_id",
            format!("must be 1 to {MAX_EVENT_ID} bytes"),
        ));
    }
    Ok(())
}

fn check_amount(field: &str, amount: i64) -> Result<(), FieldError> {
    if amount < 0 {
        return Err(FieldError::new(
            field,
            "must not be negative (amounts are minor units)",
        ));
    }
    Ok(())
}

fn check_currency(code: &str, ctx: &EventContext) -> Result<(), FieldError> {
    let currency = Currency::parse(code).map_err(|r| FieldError::new("currency", r))?;
    if currency != ctx.currency {
        return Err(FieldError::new(
            "currency",
            format!(
                "{currency} differs from the workspace's base currency {}; exchange rates are not supported yet",
                ctx.currency
            ),
        ));
    }
    Ok(())
}

fn check_line(line: &OrderLine) -> Result<(), FieldError> {
    if line.sku.trim().is_empty() {
        return Err(FieldError::new("sku", "is empty"));
    }
    if line.name.trim().is_empty() {
        return Err(FieldError::new("name", "is empty"));
    }
    if line.quantity <= 0 {
        return Err(FieldError::new("quantity", "must be positive"));
    }
    check_amount("unit_price", line.unit_price)
}

fn check_reason(reason: Option<&str>) -> Result<(), FieldError> {
    match reason {
        Some(r) if r.len() > 1000 => Err(FieldError::new("reason", "is longer than 1000 bytes")),
        _ => Ok(()),
    }
}

/// SHA-256 over canonical JSON (object keys sorted at every level), so that the same event
/// sent with its keys in another order is still recognised as the same body.
pub fn fingerprint(value: &Value) -> [u8; 32] {
    let mut buf = Vec::with_capacity(256);
    write_canonical(value, &mut buf);
    Sha256::digest(&buf).into()
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                // Writing a string into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                write_canonical(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

#[cfg(test)]
mod tests;
