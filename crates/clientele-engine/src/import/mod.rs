//! File import: shop exports turned into events and fed through the same idempotent ingest
//! as the API. Every event id is derived from the file's content and position, so importing
//! the same file again changes nothing.

mod cdnow;
mod shopify;

use clientele_store::{Store, StoreResult, Workspace};
use serde_json::Value;

use crate::ingest::{ItemStatus, ingest};

/// Supported file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CDNOW purchase history (whitespace-separated; 4 columns with a header, or the
    /// sample's 5 columns without).
    Cdnow,
    /// A Shopify-style orders export (CSV, one row per line item).
    Shopify,
}

/// A rejected line of the input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// 1-based line number.
    pub line: u64,
    /// Column (or field) at fault.
    pub column: String,
    /// Why.
    pub reason: String,
    /// The line as it was in the file.
    pub raw: String,
}

/// Events parsed from a file, each with the line it came from, and the lines refused.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `(line, raw text, event envelope as JSON text)`. Text rather than `Value` keeps a
    /// large file's pending events an order of magnitude smaller in memory; each batch is
    /// parsed just before it is ingested.
    pub events: Vec<(u64, String, String)>,
    /// Lines that did not parse.
    pub rejects: Vec<Reject>,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Events appended.
    pub imported: u64,
    /// Events already in the log.
    pub duplicates: u64,
    /// Rejected lines (parse errors and refused events), in line order.
    pub rejects: Vec<Reject>,
}

/// Events per ingest transaction.
pub const BATCH: usize = 10_000;

/// Parse a file's bytes.
pub fn parse(bytes: &[u8], format: Format, ws: &Workspace) -> Parsed {
    match format {
        Format::Cdnow => cdnow::parse(bytes, ws),
        Format::Shopify => shopify::parse(bytes),
    }
}

/// Import a file's bytes; `progress(done, total)` is called after each batch.
pub async fn import(
    store: &dyn Store,
    ws: &Workspace,
    bytes: &[u8],
    format: Format,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> StoreResult<ImportReport> {
    let parsed = parse(bytes, format, ws);
    let mut report = ImportReport {
        rejects: parsed.rejects,
        ..Default::default()
    };
    let total = parsed.events.len() as u64;
    let mut done = 0;
    for chunk in parsed.events.chunks(BATCH) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|(_, _, text)| serde_json::from_str(text).expect("the parser wrote valid JSON"))
            .collect();
        let results = ingest(store, ws, &items).await?;
        for ((line, raw, _), result) in chunk.iter().zip(results) {
            match result.status {
                ItemStatus::Created => report.imported += 1,
                ItemStatus::Duplicate => report.duplicates += 1,
                ItemStatus::Conflict | ItemStatus::Error => {
                    let e = result
                        .error
                        .unwrap_or_else(|| clientele_core::FieldError::new("", "refused"));
                    // A file line may carry several events (placed, paid…); report it once.
                    if !report
                        .rejects
                        .iter()
                        .any(|r| r.line == *line && r.reason == e.reason)
                    {
                        report.rejects.push(Reject {
                            line: *line,
                            column: e.field,
                            reason: e.reason,
                            raw: raw.clone(),
                        });
                    }
                }
            }
        }
        done += chunk.len() as u64;
        progress(done, total);
    }
    report.rejects.sort_by_key(|r| r.line);
    Ok(report)
}

/// The start of `date` in the workspace's time zone, as RFC 3339.
fn day_start(date: jiff::civil::Date, ws: &Workspace) -> Result<String, String> {
    let tz = crate::workspace::time_zone(ws);
    clientele_core::time::start_of_day(date, &tz).map(clientele_core::time::format_instant)
}

/// Decode one line or field, reporting invalid UTF-8 instead of guessing.
fn utf8(bytes: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(bytes).map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))
}
