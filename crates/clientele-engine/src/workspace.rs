//! Workspace settings as the engine needs them.

use clientele_core::event::EventContext;
use clientele_core::money::Currency;
use clientele_core::phone::Region;
use clientele_store::{NewWorkspace, Workspace};

/// Validate workspace settings, naming the bad one.
pub fn validate(
    name: &str,
    currency: &str,
    time_zone: &str,
    region: &str,
) -> Result<NewWorkspace, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err("name: must be 1 to 100 printable characters".into());
    }
    let currency = Currency::parse(currency).map_err(|e| format!("currency: {e}"))?;
    clientele_core::time::parse_time_zone(time_zone).map_err(|e| format!("timezone: {e}"))?;
    let region = Region::parse(region).map_err(|e| format!("phone region: {e}"))?;
    Ok(NewWorkspace {
        name: name.to_owned(),
        currency: currency.code().to_owned(),
        time_zone: time_zone.to_owned(),
        phone_region: region.code(),
    })
}

/// The validation context of a stored workspace. Stored settings were validated on the
/// way in; should one be corrupt, fall back to USD/US rather than refuse every event.
pub fn event_context(ws: &Workspace) -> EventContext {
    EventContext {
        currency: Currency::parse(&ws.currency)
            .unwrap_or_else(|_| Currency::parse("USD").expect("USD is ISO 4217")),
        region: Region::parse(&ws.phone_region)
            .unwrap_or_else(|_| Region::parse("US").expect("US is a region")),
    }
}

/// The workspace's time zone.
pub fn time_zone(ws: &Workspace) -> jiff::tz::TimeZone {
    clientele_core::time::parse_time_zone(&ws.time_zone).unwrap_or(jiff::tz::TimeZone::UTC)
}
