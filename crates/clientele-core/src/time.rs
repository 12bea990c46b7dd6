//! Instants are kept as microseconds since the Unix epoch (UTC): exact, ordered, and the
//! same integer in SQLite and PostgreSQL.

use jiff::{Timestamp, tz::TimeZone};

/// Microseconds since 1970-01-01T00:00:00Z.
pub type Micros = i64;

/// Microseconds in one day.
pub const DAY: Micros = 86_400_000_000;

/// One second in microseconds.
pub const SECOND: Micros = 1_000_000;

/// Parse an RFC 3339 instant (`2026-05-01T10:00:00Z`, `…+07:00`). The offset is required:
/// an instant without one is ambiguous.
pub fn parse_instant(s: &str) -> Result<Micros, String> {
    let ts: Timestamp = s
        .parse()
        .map_err(|e| format!("not an RFC 3339 instant with an offset ({e})"))?;
    Ok(ts.as_microsecond())
}

/// Format an instant as RFC 3339 in UTC with microsecond precision when needed.
pub fn format_instant(us: Micros) -> String {
    match Timestamp::from_microsecond(us) {
        Ok(ts) => ts.to_string(),
        Err(_) => us.to_string(),
    }
}

/// The start (00:00) of a calendar date in a time zone, as an instant.
pub fn start_of_day(date: jiff::civil::Date, tz: &TimeZone) -> Result<Micros, String> {
    let zoned = date
        .to_zoned(tz.clone())
        .map_err(|e| format!("cannot place {date} in the time zone: {e}"))?;
    Ok(zoned.timestamp().as_microsecond())
}

/// Parse a `YYYYMMDD` or `YYYY-MM-DD` date, rejecting dates that do not exist.
pub fn parse_date(s: &str) -> Result<jiff::civil::Date, String> {
    let s = s.trim();
    let (y, m, d) = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (&s[0..4], &s[4..6], &s[6..8])
    } else if s.len() == 10 && &s[4..5] == "-" && &s[7..8] == "-" {
        (&s[0..4], &s[5..7], &s[8..10])
    } else {
        return Err(format!("{s:?} is not a date (YYYYMMDD or YYYY-MM-DD)"));
    };
    let num = |p: &str| p.parse::<i32>().map_err(|_| format!("{s:?} is not a date"));
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    let (Ok(y16), Ok(m8), Ok(d8)) = (i16::try_from(y), i8::try_from(m), i8::try_from(d)) else {
        return Err(format!("{s:?} is not a date"));
    };
    jiff::civil::Date::new(y16, m8, d8).map_err(|_| format!("{s:?} does not exist in the calendar"))
}

/// Days from 1970-01-01 to `date` (negative before it): whole-day arithmetic without a
/// time zone, as the lifetime-value summaries need (Hinnant's `days_from_civil`).
pub fn epoch_day(date: jiff::civil::Date) -> i32 {
    let (y, m, d) = (
        i32::from(date.year()),
        i32::from(date.month()),
        i32::from(date.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The calendar day of an instant in a time zone, as an [`epoch_day`].
pub fn local_epoch_day(us: Micros, tz: &TimeZone) -> Result<i32, String> {
    let ts =
        Timestamp::from_microsecond(us).map_err(|e| format!("instant {us} out of range: {e}"))?;
    Ok(epoch_day(tz.to_datetime(ts).date()))
}

/// Parse an IANA time zone name such as `Asia/Ho_Chi_Minh`.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("{name:?} is not a known IANA time zone"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_days_count_whole_days_from_1970() {
        use jiff::civil::date;
        for d in [
            date(1970, 1, 1),
            date(1969, 12, 31),
            date(1997, 9, 30),
            date(2000, 2, 29),
            date(2400, 3, 1),
            date(1600, 1, 1),
        ] {
            let expected = d.since(date(1970, 1, 1)).unwrap().get_days();
            assert_eq!(epoch_day(d), expected, "{d}");
        }
        let hcm = parse_time_zone("Asia/Ho_Chi_Minh").unwrap();
        // 1997-01-01T20:00Z is already 2 January in Hồ Chí Minh City.
        let us = parse_instant("1997-01-01T20:00:00Z").unwrap();
        assert_eq!(
            local_epoch_day(us, &hcm).unwrap(),
            epoch_day(date(1997, 1, 2))
        );
    }

    #[test]
    fn instants_round_trip_through_rfc3339() {
        let us = parse_instant("1997-01-01T00:00:00Z").unwrap();
        assert_eq!(us, 852_076_800_000_000);
        assert_eq!(format_instant(us), "1997-01-01T00:00:00Z");
        assert_eq!(parse_instant("1997-01-01T07:00:00+07:00").unwrap(), us);
    }

    #[test]
    fn instants_without_offset_are_rejected() {
        assert!(parse_instant("1997-01-01T00:00:00").is_err());
        assert!(parse_instant("yesterday").is_err());
    }

    #[test]
    fn dates_that_do_not_exist_are_rejected() {
        assert!(
            parse_date("19970230")
                .unwrap_err()
                .contains("does not exist")
        );
        assert!(parse_date("1997-13-01").is_err());
        assert!(parse_date("1997011").is_err());
        assert_eq!(parse_date("19960229").unwrap().to_string(), "1996-02-29");
    }

    #[test]
    fn start_of_day_follows_the_time_zone() {
        let d = parse_date("2026-01-01").unwrap();
        let utc = start_of_day(d, &TimeZone::UTC).unwrap();
        let hcm = start_of_day(d, &parse_time_zone("Asia/Ho_Chi_Minh").unwrap()).unwrap();
        assert_eq!(utc - hcm, 7 * 3_600_000_000);
    }
}
