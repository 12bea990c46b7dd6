//! From a `customer_id,date,amount` CSV straight to per-customer summaries, on every core.
//!
//! Millions of rows are the normal size of a shop's history, so this path skips building
//! a transaction list: the bytes are cut into chunks at line ends, each chunk is parsed in
//! parallel into rows routed to buckets by a hash of the customer id, and each bucket folds
//! its rows into per-customer accumulators in file order. A customer whose rows arrive in
//! day order (files sorted by customer or by date) is summarised in one pass; any other
//! customer's rows are gathered and summarised exactly by [`crate::summary`]'s rules.

use std::hash::{Hash, Hasher};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHasher};

use crate::summary::{CustomerSummary, Txn, Unit, summarize};

/// A bad line: `line` (1-based) and what is wrong with which column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {column}: {reason}")]
pub struct CsvError {
    /// Line number, 1-based.
    pub line: usize,
    /// Column name, or `line`/`header`.
    pub column: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Summaries with the customer id of each `customer` index.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSummaries {
    /// One per customer whose first purchase is on or before the calibration end, in
    /// order of their first row in the file (rows after the holdout end are not read).
    pub summaries: Vec<CustomerSummary>,
    /// `ids.get(summary.customer)`.
    pub ids: Ids,
    /// Rows read.
    pub rows: usize,
}

/// One chunk's rows by bucket, and how many lines it had.
struct ChunkRows(Vec<Vec<Row>>, usize);

#[derive(Clone, Copy)]
struct Row {
    /// The customer id as a number: see [`id_key`].
    key: u128,
    amount: f64,
    day: i32,
    /// Where the (trimmed) id starts in the input.
    id_start: u32,
}

/// What one customer has bought so far, while their rows arrive in day order.
#[derive(Clone, Copy)]
struct Acc {
    id_start: u32,
    /// Byte offset of the customer's first row in the file, to keep file order.
    first_seen: u64,
    first_day: i32,
    last_day: i32,
    /// Value of the first purchase day.
    first_value: f64,
    /// Calibration purchase days and their total value.
    days: u32,
    value: f64,
    holdout_days: u32,
    holdout_value: f64,
    /// Last day seen (calibration or holdout), to merge same-day rows; `i32::MIN` before
    /// the first row.
    last_seen: i32,
    in_order: bool,
}

const BUCKET_BITS: u32 = 6;

/// Summarise a `customer_id,date,amount` CSV (header first, columns in any order; dates
/// `YYYY-MM-DD` or `YYYYMMDD`) with calibration and holdout ends as day numbers.
pub fn summarize_csv(
    bytes: &[u8],
    calibration_end: i32,
    holdout_end: Option<i32>,
    unit: Unit,
) -> Result<CsvSummaries, CsvError> {
    summarize_in_chunks(bytes, calibration_end, holdout_end, unit, 1 << 16)
}

/// [`summarize_csv`] with chunks of at least `min_chunk` bytes (small in tests, so that
/// chunk boundaries fall everywhere).
fn summarize_in_chunks(
    bytes: &[u8],
    calibration_end: i32,
    holdout_end: Option<i32>,
    unit: Unit,
    min_chunk: usize,
) -> Result<CsvSummaries, CsvError> {
    if bytes.len() > u32::MAX as usize {
        return Err(CsvError {
            line: 1,
            column: "line",
            reason: "files over 4 GiB are not supported on this path".into(),
        });
    }
    let header_end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    let columns = header_columns(&bytes[..header_end])?;
    let body_start = (header_end + 1).min(bytes.len());
    let chunks = split_lines(
        bytes,
        body_start,
        rayon::current_num_threads() * 8,
        min_chunk,
    );
    let buckets = 1usize << BUCKET_BITS;
    let holdout_end = holdout_end.unwrap_or(calibration_end);

    // Parse every chunk: rows routed to buckets, plus the chunk's line count.
    let parsed: Vec<Result<ChunkRows, CsvError>> = chunks
        .par_iter()
        .map(|&(start, end)| parse_chunk(bytes, start, end, columns, buckets, holdout_end))
        .collect();
    // Line numbers: an error's line is local to its chunk; add the lines before it.
    // The header is line 1; a chunk's errors count from 0.
    let mut line_base = 2;
    let mut per_chunk = Vec::with_capacity(parsed.len());
    for result in parsed {
        match result {
            Ok(ChunkRows(rows, lines)) => {
                line_base += lines;
                per_chunk.push(rows);
            }
            Err(mut e) => {
                e.line += line_base;
                return Err(e);
            }
        }
    }
    let rows: usize = per_chunk.iter().flatten().map(Vec::len).sum();

    // Fold each bucket in file order.
    let folded: Vec<Folded> = (0..buckets)
        .into_par_iter()
        .map(|b| fold_bucket(per_chunk.iter().map(|c| &c[b]), calibration_end))
        .collect();

    let mut all: Vec<(u64, CustomerSummary, u32)> = folded
        .par_iter()
        .flat_map_iter(|f| {
            let ordered = f
                .accs
                .iter()
                .filter(|a| a.first_day <= calibration_end)
                .map(|a| {
                    (
                        a.first_seen,
                        summary_of(a, calibration_end, unit),
                        a.id_start,
                    )
                });
            let unordered = summarize(&f.unordered, calibration_end, Some(holdout_end), unit)
                .into_iter()
                .map(|s| {
                    let (start, seen) = f.unordered_ids[s.customer as usize];
                    (seen, s, start)
                });
            ordered.chain(unordered)
        })
        .collect();
    all.par_sort_unstable_by_key(|(seen, ..)| *seen);
    let mut ids = Ids::default();
    let summaries = all
        .into_iter()
        .enumerate()
        .map(|(i, (_, mut s, start))| {
            ids.push(id_at(bytes, start as usize));
            s.customer = i as u32;
            s
        })
        .collect();
    Ok(CsvSummaries {
        summaries,
        ids,
        rows,
    })
}

/// The trimmed id that starts at `start`: up to the next comma or line end.
fn id_at(bytes: &[u8], start: usize) -> &[u8] {
    let rest = &bytes[start..];
    let end = memchr::memchr3(b',', b'\n', b'\r', rest).unwrap_or(rest.len());
    rest[..end].trim_ascii_end()
}

/// Customer ids, back to back in one string: a million `String`s would cost more to
/// allocate than summarising their purchases.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Ids {
    text: String,
    ends: Vec<u32>,
}

impl Ids {
    fn push(&mut self, id: &[u8]) {
        self.text.push_str(&String::from_utf8_lossy(id));
        self.ends.push(self.text.len() as u32);
    }

    /// The id of customer `i`.
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.text[start..self.ends[i] as usize]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The ids in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

#[derive(Clone, Copy)]
struct Columns {
    id: usize,
    date: usize,
    amount: usize,
    count: usize,
}

fn header_columns(header: &[u8]) -> Result<Columns, CsvError> {
    let text = std::str::from_utf8(header).map_err(|_| CsvError {
        line: 1,
        column: "header",
        reason: "invalid UTF-8".into(),
    })?;
    let names: Vec<&str> = text
        .trim_end_matches('\r')
        .split(',')
        .map(str::trim)
        .collect();
    let find = |n: &str| names.iter().position(|h| *h == n);
    match (find("customer_id"), find("date"), find("amount")) {
        (Some(id), Some(date), Some(amount)) => Ok(Columns {
            id,
            date,
            amount,
            count: names.len(),
        }),
        _ => Err(CsvError {
            line: 1,
            column: "header",
            reason: "expected columns customer_id,date,amount".into(),
        }),
    }
}

/// About `parts` byte ranges of `bytes[from..]` that start and end at line boundaries.
fn split_lines(bytes: &[u8], from: usize, parts: usize, min_step: usize) -> Vec<(usize, usize)> {
    let len = bytes.len() - from;
    let step = (len / parts.max(1)).max(min_step.max(1));
    let mut out = Vec::new();
    let mut start = from;
    while start < bytes.len() {
        let mut end = (start + step).min(bytes.len());
        if end < bytes.len() {
            end = bytes[end..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(bytes.len(), |p| end + p + 1);
        }
        out.push((start, end));
        start = end;
    }
    out
}

/// A customer id as a 128-bit key, so that folding never reads the id's bytes again: ids of
/// up to 15 bytes are packed with their length (exact), longer ones are hashed to 128 bits
/// (two independent 64-bit hashes; a collision among even 10⁹ ids has odds below 10⁻¹⁸).
fn id_key(id: &[u8]) -> u128 {
    if id.len() < 16 {
        let mut bytes = [0u8; 16];
        bytes[..id.len()].copy_from_slice(id);
        bytes[15] = id.len() as u8;
        return u128::from_le_bytes(bytes);
    }
    let hash = |seed: u64| {
        let mut h = FxHasher::default();
        seed.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    // The top bit marks a hashed key, which no packed key (length < 16) has.
    (1u128 << 127) | (u128::from(hash(0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(hash(7))
}

/// Bucket of a key: a few well-mixed bits of it.
fn bucket_of(key: u128) -> usize {
    let mixed = (key as u64 ^ (key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    (mixed >> (64 - BUCKET_BITS)) as usize
}

/// Parse one chunk; errors carry the line number within the chunk (0-based).
fn parse_chunk(
    bytes: &[u8],
    start: usize,
    end: usize,
    cols: Columns,
    buckets: usize,
    holdout_end: i32,
) -> Result<ChunkRows, CsvError> {
    let mut out: Vec<Vec<Row>> = (0..buckets)
        .map(|_| Vec::with_capacity((end - start) / 24 / buckets + 16))
        .collect();
    let mut lines = 0;
    let mut pos = start;
    while pos < end {
        let line_end = memchr::memchr(b'\n', &bytes[pos..end]).map_or(end, |p| pos + p);
        let line = &bytes[pos..line_end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let here = lines;
        lines += 1;
        let line_start = pos;
        pos = line_end + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |column: &'static str, reason: String| CsvError {
            line: here,
            column,
            reason,
        };
        let mut fields: [(usize, usize); 3] = [(0, 0); 3];
        let mut count = 0;
        let mut field_start = 0;
        for comma in memchr::memchr_iter(b',', line).chain(std::iter::once(line.len())) {
            if count == cols.id {
                fields[0] = (field_start, comma);
            }
            if count == cols.date {
                fields[1] = (field_start, comma);
            }
            if count == cols.amount {
                fields[2] = (field_start, comma);
            }
            count += 1;
            field_start = comma + 1;
        }
        if count != cols.count {
            return Err(bad(
                "line",
                format!("expected {} columns, found {count}", cols.count),
            ));
        }
        let field = |(a, b): (usize, usize)| line[a..b].trim_ascii();
        let id = field(fields[0]);
        if id.is_empty() {
            return Err(bad("customer_id", "is empty".into()));
        }
        let date = field(fields[1]);
        let day = parse_day(date).ok_or_else(|| {
            bad(
                "date",
                format!(
                    "{:?} is not a date (YYYY-MM-DD or YYYYMMDD)",
                    String::from_utf8_lossy(date)
                ),
            )
        })?;
        let amount_text = field(fields[2]);
        let amount = std::str::from_utf8(amount_text)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|a| a.is_finite())
            .ok_or_else(|| {
                bad(
                    "amount",
                    format!("{:?} is not a number", String::from_utf8_lossy(amount_text)),
                )
            })?;
        if day > holdout_end {
            continue;
        }
        let key = id_key(id);
        // Where the trimmed id starts in the whole input.
        let raw = &line[fields[0].0..fields[0].1];
        let id_start = (line_start + fields[0].0 + raw.len() - raw.trim_ascii_start().len()) as u32;
        out[bucket_of(key)].push(Row {
            key,
            amount,
            day,
            id_start,
        });
    }
    Ok(ChunkRows(out, lines))
}

/// Day number of `YYYY-MM-DD` or `YYYYMMDD`, `None` when it is not a real date.
fn parse_day(s: &[u8]) -> Option<i32> {
    let digits = |r: &[u8]| -> Option<i32> {
        r.iter().try_fold(0i32, |acc, b| {
            b.is_ascii_digit().then(|| acc * 10 + i32::from(b - b'0'))
        })
    };
    let (y, m, d) = match s.len() {
        10 if s[4] == b'-' && s[7] == b'-' => {
            (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..])?)
        }
        8 => (digits(&s[..4])?, digits(&s[4..6])?, digits(&s[6..])?),
        _ => return None,
    };
    let date = jiff::civil::Date::new(y as i16, m as i8, d as i8).ok()?;
    Some(clientele_core::time::epoch_day(date))
}

/// A bucket's customers: in-order accumulators, and the transactions and (id start, first
/// row) of the customers whose rows were not in day order.
struct Folded {
    accs: Vec<Acc>,
    unordered: Vec<Txn>,
    unordered_ids: Vec<(u32, u64)>,
}

/// Fold a bucket's rows (chunks in file order) into per-customer accumulators.
fn fold_bucket<'a>(
    chunks: impl Iterator<Item = &'a Vec<Row>> + Clone,
    calibration_end: i32,
) -> Folded {
    let mut index: FxHashMap<u128, u32> = FxHashMap::default();
    let mut accs: Vec<Acc> = Vec::new();
    for r in chunks.clone().flatten() {
        let (d, v) = (r.day, r.amount);
        let slot = *index.entry(r.key).or_insert_with(|| {
            accs.push(Acc {
                id_start: r.id_start,
                first_seen: u64::from(r.id_start),
                first_day: d,
                last_day: d,
                first_value: 0.0,
                days: 0,
                value: 0.0,
                holdout_days: 0,
                holdout_value: 0.0,
                last_seen: i32::MIN,
                in_order: true,
            });
            (accs.len() - 1) as u32
        });
        let a = &mut accs[slot as usize];
        if d < a.last_seen {
            a.in_order = false;
            continue;
        }
        let new_day = d > a.last_seen;
        a.last_seen = d;
        if d <= calibration_end {
            if new_day {
                a.days += 1;
                a.last_day = d;
            }
            a.value += v;
            if d == a.first_day {
                a.first_value += v;
            }
        } else {
            a.holdout_days += u32::from(new_day);
            a.holdout_value += v;
        }
    }
    // The exact path for the rest: their rows again, in file order.
    let mut slow: FxHashMap<u32, u32> = FxHashMap::default();
    let mut unordered = Vec::new();
    let mut unordered_ids = Vec::new();
    if accs.iter().any(|a| !a.in_order) {
        for r in chunks.flatten() {
            let slot = index[&r.key];
            let a = &accs[slot as usize];
            if a.in_order {
                continue;
            }
            let customer = *slow.entry(slot).or_insert_with(|| {
                unordered_ids.push((a.id_start, a.first_seen));
                (unordered_ids.len() - 1) as u32
            });
            unordered.push(Txn {
                customer,
                day: r.day,
                amount: r.amount,
            });
        }
        accs.retain(|a| a.in_order);
    }
    Folded {
        accs,
        unordered,
        unordered_ids,
    }
}

fn summary_of(a: &Acc, calibration_end: i32, unit: Unit) -> CustomerSummary {
    let repeats = a.days.saturating_sub(1);
    CustomerSummary {
        customer: 0,
        frequency: f64::from(repeats),
        recency: f64::from(a.last_day - a.first_day) / unit.days(),
        t: f64::from(calibration_end - a.first_day) / unit.days(),
        monetary: if repeats > 0 {
            (a.value - a.first_value) / f64::from(repeats)
        } else {
            0.0
        },
        value: a.value,
        holdout_frequency: f64::from(a.holdout_days),
        holdout_value: a.holdout_value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> i32 {
        parse_day(s.as_bytes()).unwrap()
    }

    /// The reference: the plain transaction path of `summary`.
    fn reference(
        rows: &[(String, i32, f64)],
        cal: i32,
        holdout: Option<i32>,
    ) -> (Vec<CustomerSummary>, Vec<String>) {
        let mut ids: Vec<String> = Vec::new();
        // Rows after the holdout are not read at all, so they do not order the ids.
        let end = holdout.unwrap_or(cal);
        let txns: Vec<Txn> = rows
            .iter()
            .filter(|(_, d, _)| *d <= end)
            .map(|(id, d, a)| {
                let customer = ids.iter().position(|x| x == id).unwrap_or_else(|| {
                    ids.push(id.clone());
                    ids.len() - 1
                }) as u32;
                Txn {
                    customer,
                    day: *d,
                    amount: *a,
                }
            })
            .collect();
        let mut s = summarize(&txns, cal, holdout, Unit::Week);
        // Order of first appearance, renumbered, as the CSV path reports them.
        s.sort_by_key(|c| c.customer);
        let kept: Vec<String> = s.iter().map(|c| ids[c.customer as usize].clone()).collect();
        for (i, c) in s.iter_mut().enumerate() {
            c.customer = i as u32;
        }
        (s, kept)
    }

    fn csv(rows: &[(String, i32, f64)], crlf: bool) -> String {
        let nl = if crlf { "\r\n" } else { "\n" };
        let mut out = format!("customer_id,date,amount{nl}");
        for (id, d, a) in rows {
            let date = jiff::civil::date(1970, 1, 1) + jiff::Span::new().days(i64::from(*d));
            out.push_str(&format!("{id},{date},{a}{nl}"));
        }
        out
    }

    #[test]
    fn a_bad_line_is_named_across_chunk_boundaries() {
        let mut text = String::from("customer_id,date,amount\n");
        for i in 0..500 {
            text.push_str(&format!("c{i},2024-01-01,5\n"));
        }
        text.push_str("x,2024-02-30,5\n");
        let e = summarize_in_chunks(text.as_bytes(), day("2024-06-30"), None, Unit::Day, 64)
            .unwrap_err();
        assert_eq!((e.line, e.column), (502, "date"), "{e}");
        let e = summarize_csv(b"customer_id,amount\n", 0, None, Unit::Day).unwrap_err();
        assert_eq!((e.line, e.column), (1, "header"));
        let e = summarize_csv(
            b"customer_id,date,amount\na,2024-01-01\n",
            0,
            None,
            Unit::Day,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, "line"));
        let e = summarize_csv(
            b"customer_id,date,amount\na,2024-01-01,x\n",
            0,
            None,
            Unit::Day,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, "amount"));
        let e = summarize_csv(
            b"customer_id,date,amount\n,2024-01-01,1\n",
            0,
            None,
            Unit::Day,
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, "customer_id"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the row order, same-day repeats, chunking or line ends, the parallel
        /// path summarises exactly as the transaction path does.
        #[test]
        fn the_parallel_path_equals_the_reference(
            rows in prop::collection::vec((0u8..20, 0i32..60, 0u32..5000), 0..300),
            sorted in any::<bool>(),
            crlf in any::<bool>(),
            min_chunk in 1usize..400,
            holdout in any::<bool>(),
        ) {
            let mut rows: Vec<(String, i32, f64)> = rows
                .into_iter()
                .map(|(c, d, cents)| {
                    // Short ids are packed, long ones hashed: both paths are exercised.
                    let id = if c % 3 == 0 { format!("customer number {c:0>20}") } else { format!("c{c}") };
                    (id, 10_000 + d, f64::from(cents) / 100.0)
                })
                .collect();
            if sorted {
                rows.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
            }
            let (cal, hold) = (10_030, holdout.then_some(10_045));
            let text = csv(&rows, crlf);
            let got = summarize_in_chunks(text.as_bytes(), cal, hold, Unit::Week, min_chunk).unwrap();
            let (want, ids) = reference(&rows, cal, hold);
            prop_assert_eq!(got.ids.iter().collect::<Vec<_>>(), ids);
            prop_assert_eq!(got.summaries.len(), want.len());
            for (g, w) in got.summaries.iter().zip(&want) {
                prop_assert_eq!((g.frequency, g.recency, g.t, g.holdout_frequency), (w.frequency, w.recency, w.t, w.holdout_frequency));
                prop_assert!((g.value - w.value).abs() < 1e-9, "{:?} vs {:?}", g, w);
                prop_assert!((g.monetary - w.monetary).abs() < 1e-9 && (g.holdout_value - w.holdout_value).abs() < 1e-9, "{:?} vs {:?}", g, w);
            }
        }
    }
}
