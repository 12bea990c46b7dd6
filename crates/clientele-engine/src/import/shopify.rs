//! A Shopify-style orders export: one CSV row per line item; the order's own fields (e-mail,
//! status, dates, totals) are filled on its first row. Each order becomes `order.placed`,
//! and `order.paid`, `order.refunded`, `order.cancelled` as its columns say.

use clientele_core::money::{Currency, parse_major_amount};
use serde_json::{Value, json};

use super::{Parsed, Reject, utf8};

const COLUMNS: [&str; 12] = [
    "Name",
    "Email",
    "Financial Status",
    "Paid at",
    "Created at",
    "Currency",
    "Total",
    "Lineitem name",
    "Lineitem quantity",
    "Lineitem price",
    "Refunded Amount",
    "Cancelled at",
];

struct Row {
    line: u64,
    raw: String,
    fields: Vec<String>,
}

impl Row {
    fn get(&self, col: usize) -> &str {
        self.fields[col].trim()
    }
}

pub fn parse(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = match reader.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.rejects.push(Reject {
                line: 1,
                column: "header".into(),
                reason: e.to_string(),
                raw: String::new(),
            });
            return out;
        }
    };
    let mut index = [0usize; COLUMNS.len()];
    for (i, name) in COLUMNS.iter().enumerate() {
        match headers.iter().position(|h| h == name.as_bytes()) {
            Some(p) => index[i] = p,
            None => {
                let raw = String::from_utf8_lossy(headers.as_slice()).into_owned();
                out.rejects.push(Reject {
                    line: 1,
                    column: (*name).into(),
                    reason: "column is missing from the header".into(),
                    raw,
                });
                return out;
            }
        }
    }
    // Read every row, then group consecutive rows by order name.
    let mut rows: Vec<Row> = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let start = reader.position().byte() as usize;
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.rejects.push(Reject {
                    line,
                    column: "row".into(),
                    reason: e.to_string(),
                    raw: String::new(),
                });
                continue;
            }
        }
        let end = reader.position().byte() as usize;
        let raw = String::from_utf8_lossy(bytes.get(start..end).unwrap_or_default())
            .trim_end()
            .to_owned();
        let mut fields = Vec::with_capacity(COLUMNS.len());
        let mut bad = None;
        for (i, col) in index.iter().enumerate() {
            match utf8(record.get(*col).unwrap_or_default()) {
                Ok(v) => fields.push(v.to_owned()),
                Err(e) => {
                    bad = Some((COLUMNS[i], e));
                    break;
                }
            }
        }
        match bad {
            Some((column, reason)) => out.rejects.push(Reject {
                line,
                column: column.into(),
                reason,
                raw,
            }),
            None => rows.push(Row { line, raw, fields }),
        }
    }
    let mut start = 0;
    while start < rows.len() {
        let name = rows[start].get(0).to_owned();
        let mut end = start + 1;
        while end < rows.len() && rows[end].get(0) == name {
            end += 1;
        }
        match order_events(&rows[start..end]) {
            Ok(events) => {
                for e in events {
                    out.events
                        .push((rows[start].line, rows[start].raw.clone(), e.to_string()));
                }
            }
            Err((line, column, reason)) => {
                let raw = rows[start..end]
                    .iter()
                    .find(|r| r.line == line)
                    .map(|r| r.raw.clone())
                    .unwrap_or_default();
                out.rejects.push(Reject {
                    line,
                    column: column.into(),
                    reason,
                    raw,
                });
            }
        }
        start = end;
    }
    out
}

type RowError = (u64, &'static str, String);

fn order_events(rows: &[Row]) -> Result<Vec<Value>, RowError> {
    let first = &rows[0];
    let err = |row: &Row, col: usize, reason: String| (row.line, COLUMNS[col], reason);
    let name = first.get(0);
    if name.is_empty() {
        return Err(err(first, 0, "is empty".into()));
    }
    let email = first.get(1);
    if email.is_empty() {
        return Err(err(first, 1, "is required to identify the buyer".into()));
    }
    let currency = Currency::parse(first.get(5)).map_err(|e| err(first, 5, e))?;
    let amount = |row: &Row, col: usize| -> Result<Option<i64>, RowError> {
        let text = row.get(col);
        if text.is_empty() {
            return Ok(None);
        }
        parse_major_amount(text, currency)
            .map(Some)
            .map_err(|e| err(row, col, e))
    };
    let total = amount(first, 6)?.ok_or_else(|| err(first, 6, "is required".into()))?;
    let instant = |row: &Row, col: usize| -> Result<Option<String>, RowError> {
        let text = row.get(col);
        if text.is_empty() {
            return Ok(None);
        }
        parse_shopify_time(text)
            .map(Some)
            .map_err(|e| err(row, col, e))
    };
    let created = instant(first, 4)?.ok_or_else(|| err(first, 4, "is required".into()))?;
    let paid = instant(first, 3)?;
    let cancelled = instant(first, 11)?;
    let refunded = amount(first, 10)?.unwrap_or(0);
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let item = row.get(7);
        if item.is_empty() {
            return Err(err(row, 7, "is empty".into()));
        }
        let quantity: i64 = row
            .get(8)
            .parse()
            .map_err(|_| err(row, 8, format!("{:?} is not a whole number", row.get(8))))?;
        let price = amount(row, 9)?.ok_or_else(|| err(row, 9, "is required".into()))?;
        lines.push(json!({"sku": item, "name": item, "quantity": quantity, "unit_price": price}));
    }
    let contact = json!({"email": email});
    let code = currency.code();
    let order = json!({"order_id": name, "total": total, "currency": code, "lines": lines});
    let mut events = vec![
        json!({"id": format!("shopify:{name}:placed"), "kind": "order.placed", "occurred_at": created, "contact": contact, "data": order}),
    ];
    if let Some(paid) = &paid {
        events.push(json!({"id": format!("shopify:{name}:paid"), "kind": "order.paid", "occurred_at": paid, "contact": contact, "data": order}));
    }
    if refunded > 0 {
        let at = paid.clone().unwrap_or_else(|| created.clone());
        let data = if refunded >= total {
            json!({"order_id": name})
        } else {
            json!({"order_id": name, "amount": refunded, "currency": code})
        };
        events.push(json!({"id": format!("shopify:{name}:refunded"), "kind": "order.refunded", "occurred_at": at, "contact": contact, "data": data}));
    }
    if let Some(at) = cancelled {
        events.push(json!({"id": format!("shopify:{name}:cancelled"), "kind": "order.cancelled", "occurred_at": at, "contact": contact, "data": {"order_id": name}}));
    }
    Ok(events)
}

/// Shopify writes `2024-03-05 14:22:10 +0700`; RFC 3339 is accepted too.
fn parse_shopify_time(text: &str) -> Result<String, String> {
    if let Ok(ts) = jiff::Timestamp::strptime("%Y-%m-%d %H:%M:%S %z", text) {
        return Ok(ts.to_string());
    }
    text.parse::<jiff::Timestamp>()
        .map(|ts| ts.to_string())
        .map_err(|_| format!("{text:?} is not a time like 2024-03-05 14:22:10 +0700"))
}
