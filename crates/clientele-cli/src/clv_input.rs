//! Reading transaction files for `clientele clv`: CDNOW (either file) or a
//! `customer_id,date,amount` CSV. Bad lines stop the run with `file:line: column: reason`:
//! a model fitted on silently partial data would be wrong without anyone knowing.

use std::collections::HashMap;

use anyhow::bail;
use clientele_clv::{CustomerSummary, Txn, Unit};

/// Transactions and the customer ids their indexes stand for.
pub struct Transactions {
    /// Transactions.
    pub txns: Vec<Txn>,
    /// `ids[txn.customer]` is the id as written in the file.
    pub ids: Vec<String>,
}

/// Day number (days since 1970-01-01) of a `YYYYMMDD` or `YYYY-MM-DD` date.
pub fn day_number(text: &str) -> Result<i32, String> {
    clientele_core::time::parse_date(text).map(clientele_core::time::epoch_day)
}

struct Ids(HashMap<String, u32>, Vec<String>);

impl Ids {
    fn index(&mut self, id: &str) -> u32 {
        if let Some(i) = self.0.get(id) {
            return *i;
        }
        let i = self.1.len() as u32;
        self.0.insert(id.to_owned(), i);
        self.1.push(id.to_owned());
        i
    }
}

/// Read a CDNOW file: 4 columns after a header line (master), or 5 without (sample).
pub fn read_cdnow(path: &str, bytes: &[u8]) -> anyhow::Result<Transactions> {
    let mut ids = Ids(HashMap::new(), Vec::new());
    let mut txns = Vec::new();
    for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = n + 1;
        let Ok(text) = std::str::from_utf8(raw) else {
            bail!("{path}:{line}: line: invalid UTF-8")
        };
        let cols: Vec<&str> = text.split_whitespace().collect();
        if cols.is_empty() || (line == 1 && !cols[0].bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let (id, date, amount) = match cols.as_slice() {
            [id, date, _, amount] | [id, _, date, _, amount] => (*id, *date, *amount),
            _ => bail!(
                "{path}:{line}: line: expected 4 or 5 columns, found {}",
                cols.len()
            ),
        };
        let day = day_number(date).map_err(|e| anyhow::anyhow!("{path}:{line}: date: {e}"))?;
        let amount: f64 = match amount.parse() {
            Ok(a) if f64::is_finite(a) => a,
            _ => bail!("{path}:{line}: dollar_value: {amount:?} is not a number"),
        };
        txns.push(Txn {
            customer: ids.index(id),
            day,
            amount,
        });
    }
    Ok(Transactions { txns, ids: ids.1 })
}

/// Read a `customer_id,date,amount` CSV with a header.
pub fn read_csv(path: &str, bytes: &[u8]) -> anyhow::Result<Transactions> {
    let mut ids = Ids(HashMap::new(), Vec::new());
    let mut txns = Vec::new();
    let mut reader = csv::Reader::from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("{path}:1: header: {e}"))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(ci), Some(di), Some(ai)) = (col("customer_id"), col("date"), col("amount")) else {
        bail!("{path}:1: header: expected columns customer_id,date,amount");
    };
    for record in reader.records() {
        let record = record.map_err(|e| {
            anyhow::anyhow!("{path}:{}: row: {e}", e.position().map_or(0, |p| p.line()))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(i).unwrap_or_default().trim();
        if field(ci).is_empty() {
            bail!("{path}:{line}: customer_id: is empty");
        }
        let day = day_number(field(di)).map_err(|e| anyhow::anyhow!("{path}:{line}: date: {e}"))?;
        let amount: f64 = match field(ai).parse() {
            Ok(a) if f64::is_finite(a) => a,
            _ => bail!("{path}:{line}: amount: {:?} is not a number", field(ai)),
        };
        txns.push(Txn {
            customer: ids.index(field(ci)),
            day,
            amount,
        });
    }
    Ok(Transactions { txns, ids: ids.1 })
}

/// Transactions ready to fit and chart: the customers' ids and summaries, the periods.
pub(crate) struct Prepared {
    pub ids: Vec<String>,
    pub txns: Vec<Txn>,
    pub summaries: Vec<CustomerSummary>,
    pub calibration_end: i32,
    pub holdout_end: Option<i32>,
    pub holdout_units: Option<f64>,
    pub unit: Unit,
}
