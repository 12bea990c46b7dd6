//! The CDNOW purchase history: `customer_id YYYYMMDD quantity dollars` (master file, one
//! header line) or `customer_id sample_id YYYYMMDD quantity dollars` (the sample, no header).
//! Each line is one paid USD order; its event and order id derive from the line number.

use clientele_core::money::{Currency, parse_major_amount};
use clientele_store::Workspace;
use serde_json::json;

use super::{Parsed, Reject, day_start, utf8};

pub fn parse(bytes: &[u8], ws: &Workspace) -> Parsed {
    let mut out = Parsed::default();
    let usd = Currency::parse("USD").expect("USD is ISO 4217");
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = n as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let reject = |column: &str, reason: String| Reject {
            line,
            column: column.to_owned(),
            reason,
            raw: String::from_utf8_lossy(raw).into_owned(),
        };
        let text = match utf8(raw) {
            Ok(t) => t,
            Err(e) => {
                out.rejects.push(reject("line", e));
                continue;
            }
        };
        let cols: Vec<&str> = text.split_whitespace().collect();
        if cols.is_empty() {
            continue;
        }
        if line == 1 && !cols[0].bytes().all(|b| b.is_ascii_digit()) {
            continue; // the master file's header
        }
        let (customer, date, qty, dollars) = match cols.as_slice() {
            [c, d, q, v] => (*c, *d, *q, *v),
            [c, _, d, q, v] => (*c, *d, *q, *v),
            _ => {
                out.rejects.push(reject(
                    "line",
                    format!("expected 4 or 5 columns, found {}", cols.len()),
                ));
                continue;
            }
        };
        let date = match clientele_core::time::parse_date(date).and_then(|d| day_start(d, ws)) {
            Ok(d) => d,
            Err(e) => {
                out.rejects.push(reject("date", e));
                continue;
            }
        };
        let Ok(quantity) = qty.parse::<i64>() else {
            out.rejects.push(reject(
                "number_of_cds",
                format!("{qty:?} is not a whole number"),
            ));
            continue;
        };
        let total = match parse_major_amount(dollars, usd) {
            Ok(t) => t,
            Err(e) => {
                out.rejects.push(reject("dollar_value", e));
                continue;
            }
        };
        let id = format!("cdnow:{line}");
        let lines = if quantity > 0 {
            json!([{"sku": "cd", "name": "CD", "quantity": quantity, "unit_price": total.max(0) / quantity}])
        } else {
            json!([])
        };
        let event = json!({
            "id": id,
            "kind": "order.paid",
            "occurred_at": date,
            "contact": {"external_id": customer},
            "data": {"order_id": id, "total": total, "currency": "USD", "lines": lines}
        });
        out.events.push((line, text.to_owned(), event.to_string()));
    }
    out
}
