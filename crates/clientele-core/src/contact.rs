//! Contacts (people and companies), the references events use to name them, and the
//! validated input for creating and patching them.

use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::error::{FieldError, from_serde_path};
use crate::phone::{Phone, Region};
use crate::time::Micros;
use crate::{ContactId, time};

/// Person (B2C buyer or consumer) or company (B2B account).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ContactKind {
    /// A person.
    #[default]
    Person,
    /// A company.
    Company,
}

impl ContactKind {
    /// Stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Company => "company",
        }
    }

    /// Read the stored spelling.
    pub fn from_db(s: &str) -> Self {
        if s == "company" {
            Self::Company
        } else {
            Self::Person
        }
    }
}

/// Which identifier an [`IdentityKey`] holds, in resolution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    /// The business's own id for the contact.
    ExternalId,
    /// A normalised e-mail address.
    Email,
    /// An E.164 phone number.
    Phone,
}

impl IdentityKind {
    /// Stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::ExternalId => "external_id",
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }

    /// Read the stored spelling.
    pub fn from_db(s: &str) -> Option<Self> {
        match s {
            "external_id" => Some(Self::ExternalId),
            "email" => Some(Self::Email),
            "phone" => Some(Self::Phone),
            _ => None,
        }
    }
}

/// A normalised identifier that resolves to at most one live contact in a workspace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdentityKey {
    /// Kind of identifier.
    pub kind: IdentityKind,
    /// Normalised value.
    pub value: String,
}

/// How an event or request names a contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContactRef {
    /// By identifier; an unknown one creates the contact.
    Identity(IdentityKey),
    /// By Clientele's id; an unknown one is an error.
    Id(ContactId),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContactRef {
    external_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    id: Option<i64>,
}

/// Longest external id accepted.
pub const MAX_EXTERNAL_ID: usize = 200;

impl ContactRef {
    /// Parse `{"external_id": …} | {"email": …} | {"phone": …} | {"id": …}`; exactly one key.
    pub fn from_json(value: &serde_json::Value, region: Region) -> Result<Self, FieldError> {
        let raw: RawContactRef =
            serde_path_to_error::deserialize(value).map_err(from_serde_path)?;
        let given = [
            raw.external_id.is_some(),
            raw.email.is_some(),
            raw.phone.is_some(),
            raw.id.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(FieldError::new(
                "",
                "give exactly one of external_id, email, phone, id",
            ));
        }
        if let Some(x) = raw.external_id {
            return Ok(Self::Identity(IdentityKey {
                kind: IdentityKind::ExternalId,
                value: parse_external_id(&x).map_err(|r| FieldError::new("external_id", r))?,
            }));
        }
        if let Some(e) = raw.email {
            let email = Email::parse(&e).map_err(|r| FieldError::new("email", r))?;
            return Ok(Self::Identity(IdentityKey {
                kind: IdentityKind::Email,
                value: email.as_str().to_owned(),
            }));
        }
        if let Some(p) = raw.phone {
            let phone = Phone::parse(&p, region).map_err(|r| FieldError::new("phone", r))?;
            return Ok(Self::Identity(IdentityKey {
                kind: IdentityKind::Phone,
                value: phone.as_str().to_owned(),
            }));
        }
        Ok(Self::Id(ContactId(raw.id.unwrap_or_default())))
    }
}

/// Validate an external id: non-empty, bounded, kept exactly as written (leading zeros too).
pub fn parse_external_id(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Err("is empty".into());
    }
    if raw.len() > MAX_EXTERNAL_ID {
        return Err(format!("is longer than {MAX_EXTERNAL_ID} bytes"));
    }
    if raw.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(raw.to_owned())
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    /// Clientele's id.
    #[schema(value_type = i64)]
    pub id: ContactId,
    /// Person or company.
    pub kind: ContactKind,
    /// The business's own id.
    pub external_id: Option<String>,
    /// Normalised e-mail.
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Preferred language (BCP 47, e.g. `vi`).
    pub locale: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// Free tags.
    pub tags: Vec<String>,
    /// Custom fields.
    #[schema(value_type = Object)]
    pub custom: serde_json::Value,
    /// Whether the contact is contractually bound (feeds the ladder's client rung).
    pub contract_active: bool,
    /// Whether the contact is an ambassador (feeds the raving-fan rung).
    pub ambassador: bool,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

/// Validated fields of a contact, as written on create and after a patch is applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFields {
    /// Person or company.
    pub kind: ContactKind,
    /// External id.
    pub external_id: Option<String>,
    /// Normalised e-mail.
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Locale.
    pub locale: Option<String>,
    /// Time zone.
    pub time_zone: Option<String>,
    /// Tags, de-duplicated and sorted.
    pub tags: Vec<String>,
    /// Custom fields, a JSON object.
    pub custom: serde_json::Value,
    /// Contract flag.
    pub contract_active: bool,
    /// Ambassador flag.
    pub ambassador: bool,
}

impl ContactFields {
    /// The identifiers this contact claims, in resolution order.
    pub fn identities(&self) -> Vec<IdentityKey> {
        let mut keys = Vec::new();
        let pairs = [
            (IdentityKind::ExternalId, &self.external_id),
            (IdentityKind::Email, &self.email),
            (IdentityKind::Phone, &self.phone),
        ];
        for (kind, value) in pairs {
            if let Some(v) = value {
                keys.push(IdentityKey {
                    kind,
                    value: v.clone(),
                });
            }
        }
        keys
    }

    /// The searchable fields folded to lower case (Unicode-aware), as stored for `q=` search.
    pub fn search_text(&self) -> String {
        [&self.name, &self.email, &self.phone, &self.external_id]
            .iter()
            .map(|v| v.as_deref().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    /// Fields of a contact created implicitly by an event naming an unknown identifier.
    pub fn from_identity(key: &IdentityKey, kind: ContactKind) -> Self {
        let mut f = Self {
            kind,
            custom: serde_json::json!({}),
            ..Self::default()
        };
        let slot = match key.kind {
            IdentityKind::ExternalId => &mut f.external_id,
            IdentityKind::Email => &mut f.email,
            IdentityKind::Phone => &mut f.phone,
        };
        *slot = Some(key.value.clone());
        f
    }
}

/// Input of `POST /contacts` and `PATCH /contacts/{id}`: every field optional; on a patch an
/// explicit `null` clears the field.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// Person (default) or company.
    pub kind: Option<ContactKind>,
    /// External id.
    #[serde(default, deserialize_with = "nullable")]
    pub external_id: Option<Option<String>>,
    /// E-mail address.
    #[serde(default, deserialize_with = "nullable")]
    pub email: Option<Option<String>>,
    /// Phone number; national numbers are read in the workspace's region.
    #[serde(default, deserialize_with = "nullable")]
    pub phone: Option<Option<String>>,
    /// Name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<Option<String>>,
    /// Locale such as `vi` or `en-US`.
    #[serde(default, deserialize_with = "nullable")]
    pub locale: Option<Option<String>>,
    /// IANA time zone such as `Asia/Ho_Chi_Minh`.
    #[serde(default, deserialize_with = "nullable")]
    pub time_zone: Option<Option<String>>,
    /// Tags (replaces the set).
    pub tags: Option<Vec<String>>,
    /// Custom fields (a JSON object; replaces the object).
    #[schema(value_type = Option<Object>)]
    pub custom: Option<serde_json::Value>,
    /// Contract flag.
    pub contract_active: Option<bool>,
    /// Ambassador flag.
    pub ambassador: Option<bool>,
}

fn nullable<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

impl ContactInput {
    /// Parse a JSON body, naming the field of any type error.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, FieldError> {
        serde_path_to_error::deserialize(value).map_err(from_serde_path)
    }

    /// Apply this input on top of `base` (defaults for a create), validating every field.
    pub fn apply(
        self,
        mut base: ContactFields,
        region: Region,
    ) -> Result<ContactFields, FieldError> {
        if let Some(kind) = self.kind {
            base.kind = kind;
        }
        if let Some(v) = self.external_id {
            base.external_id = v
                .map(|x| parse_external_id(&x))
                .transpose()
                .map_err(|r| FieldError::new("external_id", r))?;
        }
        if let Some(v) = self.email {
            base.email = v
                .map(|x| Email::parse(&x).map(|e| e.as_str().to_owned()))
                .transpose()
                .map_err(|r| FieldError::new("email", r))?;
        }
        if let Some(v) = self.phone {
            base.phone = v
                .map(|x| Phone::parse(&x, region).map(|p| p.as_str().to_owned()))
                .transpose()
                .map_err(|r| FieldError::new("phone", r))?;
        }
        if let Some(v) = self.name {
            base.name = v
                .map(|x| bounded_text(&x, 200))
                .transpose()
                .map_err(|r| FieldError::new("name", r))?;
        }
        if let Some(v) = self.locale {
            base.locale = v
                .map(|x| parse_locale(&x))
                .transpose()
                .map_err(|r| FieldError::new("locale", r))?;
        }
        if let Some(v) = self.time_zone {
            base.time_zone = v
                .map(|x| time::parse_time_zone(&x).map(|_| x))
                .transpose()
                .map_err(|r| FieldError::new("time_zone", r))?;
        }
        if let Some(tags) = self.tags {
            let mut clean = Vec::with_capacity(tags.len());
            for (i, t) in tags.iter().enumerate() {
                clean.push(
                    bounded_text(t, 64).map_err(|r| FieldError::new(format!("tags[{i}]"), r))?,
                );
            }
            clean.sort();
            clean.dedup();
            base.tags = clean;
        }
        if let Some(custom) = self.custom {
            if !custom.is_object() {
                return Err(FieldError::new("custom", "must be a JSON object"));
            }
            base.custom = custom;
        }
        if let Some(b) = self.contract_active {
            base.contract_active = b;
        }
        if let Some(b) = self.ambassador {
            base.ambassador = b;
        }
        if !base.custom.is_object() {
            base.custom = serde_json::json!({});
        }
        Ok(base)
    }
}

fn bounded_text(raw: &str, max_chars: usize) -> Result<String, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err("is empty".into());
    }
    if t.chars().count() > max_chars {
        return Err(format!("is longer than {max_chars} characters"));
    }
    if t.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(t.to_owned())
}

/// A loose BCP 47 check: letters, digits and hyphens, starting with a 2–3 letter language.
fn parse_locale(raw: &str) -> Result<String, String> {
    let t = raw.trim();
    let mut parts = t.split(['-', '_']);
    let lang = parts.next().unwrap_or_default();
    let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_alphabetic());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if !lang_ok || !rest_ok {
        return Err(format!("{raw:?} is not a language tag such as vi or en-US"));
    }
    Ok(t.replace('_', "-"))
}

/// Which channel a consent record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text messages.
    Sms,
    /// Phone calls.
    Phone,
    /// Push or in-app messages.
    Push,
}

impl Channel {
    /// Stored spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::Phone => "phone",
            Self::Push => "push",
        }
    }
}

/// Input of `POST /contacts/{id}/consents`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// Channel.
    pub channel: Channel,
    /// Granted (true) or withdrawn (false).
    pub granted: bool,
    /// Where the consent was given (form, import, unsubscribe link…).
    pub source: String,
}

/// One append-only consent record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Consent {
    /// Channel.
    pub channel: String,
    /// Granted or withdrawn.
    pub granted: bool,
    /// Source.
    pub source: String,
    /// When it was recorded, RFC 3339.
    pub recorded_at: String,
}

/// Render a stored instant for the API.
pub fn instant_field(us: Micros) -> String {
    time::format_instant(us)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vn() -> Region {
        Region::parse("VN").unwrap()
    }

    #[test]
    fn a_reference_names_exactly_one_identifier() {
        let r = ContactRef::from_json(&json!({"external_id": "00042"}), vn()).unwrap();
        assert_eq!(
            r,
            ContactRef::Identity(IdentityKey {
                kind: IdentityKind::ExternalId,
                value: "00042".into()
            })
        );
        let e = ContactRef::from_json(&json!({"external_id": "1", "email": "a@b.co"}), vn())
            .unwrap_err();
        assert!(e.reason.contains("exactly one"));
        let e = ContactRef::from_json(&json!({"mail": "a@b.co"}), vn()).unwrap_err();
        assert!(e.reason.contains("unknown field"), "{e}");
    }

    #[test]
    fn reference_values_are_normalised() {
        let r = ContactRef::from_json(&json!({"phone": "0912345678"}), vn()).unwrap();
        assert_eq!(
            r,
            ContactRef::Identity(IdentityKey {
                kind: IdentityKind::Phone,
                value: "+84912345678".into()
            })
        );
        let e = ContactRef::from_json(&json!({"email": "nope"}), vn()).unwrap_err();
        assert_eq!(e.field, "email");
    }

    #[test]
    fn contact_input_validates_each_field_by_name() {
        let input = ContactInput::from_json(&json!({"time_zone": "Mars/Base"})).unwrap();
        assert_eq!(
            input
                .apply(ContactFields::default(), vn())
                .unwrap_err()
                .field,
            "time_zone"
        );
        let input = ContactInput::from_json(&json!({"tags": ["vip", ""]})).unwrap();
        assert_eq!(
            input
                .apply(ContactFields::default(), vn())
                .unwrap_err()
                .field,
            "tags[1]"
        );
        let err = ContactInput::from_json(&json!({"name": 5})).unwrap_err();
        assert_eq!(err.field, "name");
    }

    #[test]
    fn a_patch_with_null_clears_a_field() {
        let base = ContactFields {
            name: Some("Lan".into()),
            email: Some("lan@example.vn".into()),
            ..Default::default()
        };
        let patched = ContactInput::from_json(&json!({"name": null}))
            .unwrap()
            .apply(base, vn())
            .unwrap();
        assert_eq!(patched.name, None);
        assert_eq!(patched.email.as_deref(), Some("lan@example.vn"));
    }

    #[test]
    fn tags_are_sorted_and_deduplicated() {
        let f = ContactInput::from_json(&json!({"tags": ["vip", "b2b", "vip"], "locale": "vi_VN"}))
            .unwrap()
            .apply(ContactFields::default(), vn())
            .unwrap();
        assert_eq!(f.tags, vec!["b2b", "vip"]);
        assert_eq!(f.locale.as_deref(), Some("vi-VN"));
    }
}
