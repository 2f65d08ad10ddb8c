//! Dates, times, timestamps and intervals: PostgreSQL's representations, text formats and
//! time zones.
//!
//! Values are stored as PostgreSQL stores them (see `oxibase_common::value`): days or
//! microseconds since 2000-01-01, with the extreme integers meaning ±infinity. Calendar math
//! uses chrono's proleptic Gregorian calendar; named time zones come from chrono-tz (the IANA
//! database). Output follows PostgreSQL's default `DateStyle = ISO, MDY` and
//! `IntervalStyle = postgres`; input accepts ISO 8601 forms and PostgreSQL's usual variants.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike};
use oxibase_common::{Interval, Result, Value, errinput};

/// Days from 1970-01-01 to 2000-01-01.
pub const UNIX_TO_PG_DAYS: i64 = 10957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const UNIX_TO_PG_MICROS: i64 = UNIX_TO_PG_DAYS * MICROS_PER_DAY;
/// Microseconds in a day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
const MICROS_PER_SEC: i64 = 1_000_000;

/// A session time zone.
#[derive(Clone, Debug, PartialEq)]
pub enum Zone {
    /// A fixed offset east of UTC in seconds (UTC is 0), as an ISO offset in a timestamp
    /// (`+02`, `-05:30`) gives it.
    Fixed(i32),
    /// A POSIX time zone without daylight saving time (`UTC+3`, `<+05>-05`, `-05:30`): the
    /// offset east of UTC in seconds (POSIX counts west, so `UTC+3` is -10800 here), and the
    /// name `SHOW TIME ZONE` prints.
    Posix(i32, String),
    /// A named IANA zone.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// UTC.
    pub const UTC: Zone = Zone::Fixed(0);

    /// Parses a zone written in a timestamp: an ISO offset east of UTC (`+02`, `-05:30`,
    /// `5`), or what [`Zone::named`] reads.
    pub fn parse(name: &str) -> Result<Zone> {
        let trimmed = name.trim();
        if trimmed.eq_ignore_ascii_case("z") {
            return Ok(Zone::UTC);
        }
        if let Some(seconds) = parse_offset(trimmed) {
            return Ok(Zone::Fixed(seconds));
        }
        if let Ok(n) = trimmed.parse::<f64>() {
            return Ok(Zone::Fixed((n * 3600.0) as i32));
        }
        Zone::named(trimmed)
    }

    /// Parses a zone as `AT TIME ZONE`, `timezone()` and the time zone setting read a name
    /// (PostgreSQL's `pg_tzset`): `UTC`, an IANA name (`Europe/Paris`, any case), or a POSIX
    /// zone without daylight saving time, whose offset counts west of UTC (`UTC+3` and `+03`
    /// are three hours behind UTC; `<+05>-05` five hours ahead).
    pub fn named(name: &str) -> Result<Zone> {
        let trimmed = name.trim();
        let upper = trimmed.to_ascii_uppercase();
        if matches!(
            upper.as_str(),
            "UTC" | "GMT" | "ZULU" | "UCT" | "ETC/UTC" | "ETC/GMT" | "UNIVERSAL"
        ) {
            return Ok(Zone::UTC);
        }
        trimmed
            .parse::<chrono_tz::Tz>()
            .or_else(|_| chrono_tz::Tz::from_str_insensitive(trimmed))
            .map(Zone::Named)
            .ok()
            .or_else(|| parse_posix(&upper))
            .ok_or_else(|| {
                errinput!(INVALID_PARAMETER_VALUE, "time zone \"{name}\" not recognized")
            })
    }

    /// Parses the time zone setting (`SET TIME ZONE`, `SET timezone`): a number is hours
    /// east of UTC (`SET TIME ZONE -7.5`, shown as `<-07:30>+07:30`, as PostgreSQL does);
    /// anything else is a name as [`Zone::named`] reads it.
    pub fn setting(value: &str) -> Result<Zone> {
        let trimmed = value.trim();
        match trimmed.parse::<f64>() {
            Ok(hours) if hours.is_finite() && hours.abs() < 168.0 => {
                Ok(Zone::east_of_utc((hours * 3600.0).round() as i32))
            }
            Ok(_) => {
                Err(errinput!(INVALID_PARAMETER_VALUE, "time zone \"{value}\" not recognized"))
            }
            Err(_) => Zone::named(trimmed),
        }
    }

    /// A fixed offset east of UTC in seconds, named as PostgreSQL names one
    /// (`<+05:30>-05:30`), so that the name reads back as the same zone.
    pub fn east_of_utc(seconds: i32) -> Zone {
        let body = format_offset(seconds.abs())[1..].to_string();
        let (ahead, behind) = if seconds >= 0 { ('+', '-') } else { ('-', '+') };
        Zone::Posix(seconds, format!("<{ahead}{body}>{behind}{body}"))
    }

    /// The zone's name as `SHOW TIME ZONE` prints it.
    pub fn name(&self) -> String {
        match self {
            Zone::Fixed(0) => "UTC".into(),
            Zone::Fixed(s) => format_offset(*s),
            Zone::Posix(_, name) => name.clone(),
            Zone::Named(tz) => tz.name().to_string(),
        }
    }

    /// The offset east of UTC in seconds at a UTC instant.
    pub fn offset_at_utc(&self, utc: NaiveDateTime) -> i32 {
        match self {
            Zone::Fixed(s) | Zone::Posix(s, _) => *s,
            Zone::Named(tz) => tz.offset_from_utc_datetime(&utc).fix().local_minus_utc(),
        }
    }

    /// The offset east of UTC in seconds for a local wall-clock time (the earlier one when the
    /// local time is ambiguous, the later offset when it falls in a gap).
    pub fn offset_at_local(&self, local: NaiveDateTime) -> i32 {
        match self {
            Zone::Fixed(s) | Zone::Posix(s, _) => *s,
            Zone::Named(tz) => match tz.offset_from_local_datetime(&local) {
                chrono::LocalResult::Single(o) | chrono::LocalResult::Ambiguous(o, _) => {
                    o.fix().local_minus_utc()
                }
                chrono::LocalResult::None => {
                    tz.offset_from_utc_datetime(&local).fix().local_minus_utc()
                }
            },
        }
    }
}

/// Parses `+02`, `-05:30`, `+0530`, `+02:00:00` as seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let parts: Vec<&str> = if rest.contains(':') {
        rest.split(':').collect()
    } else if rest.len() == 4 && rest.bytes().all(|b| b.is_ascii_digit()) {
        vec![&rest[..2], &rest[2..]]
    } else {
        vec![rest]
    };
    let mut seconds = 0i32;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || part.len() > 2 || !part.bytes().all(|b| b.is_ascii_digit()) || i > 2 {
            return None;
        }
        let n: i32 = part.parse().ok()?;
        seconds += n * [3600, 60, 1][i];
    }
    (seconds <= 15 * 3600 + 59 * 60).then_some(sign * seconds)
}

/// The fixed zone an interval names (`AT TIME ZONE INTERVAL '+03:00'`, `SET TIME ZONE
/// INTERVAL ...`): its time part east of UTC; months or days are refused.
pub fn zone_of_interval(interval: &Interval) -> Result<Zone> {
    if interval.months != 0 || interval.days != 0 {
        return Err(errinput!(
            INVALID_PARAMETER_VALUE,
            "interval time zone \"{}\" must not include months or days",
            format_interval(interval)
        ));
    }
    let seconds = i32::try_from(interval.micros / MICROS_PER_SEC).map_err(|_| {
        errinput!(
            INVALID_PARAMETER_VALUE,
            "interval time zone \"{}\" out of range",
            format_interval(interval)
        )
    })?;
    Ok(Zone::east_of_utc(seconds))
}

/// Parses a POSIX time zone without daylight saving time, upper-cased: a name (letters, or
/// anything in `<...>`; it may be empty) and an offset west of UTC
/// (`[+-]h[h][:mm[:ss]]`, under 168 hours). A daylight saving part is not read (`None`).
fn parse_posix(upper: &str) -> Option<Zone> {
    let offset = if let Some(quoted) = upper.strip_prefix('<') {
        let end = quoted.find('>')?;
        &quoted[end + 1..]
    } else {
        upper.trim_start_matches(|c: char| c.is_ascii_alphabetic())
    };
    let (west, digits) = match offset.as_bytes().first()? {
        b'+' => (1, &offset[1..]),
        b'-' => (-1, &offset[1..]),
        _ => (1, offset),
    };
    let mut seconds = 0i32;
    for (i, part) in digits.split(':').enumerate() {
        let max_len = if i == 0 { 3 } else { 2 };
        if i > 2 || part.is_empty() || part.len() > max_len {
            return None;
        }
        let n: i32 = part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())??;
        if (i == 0 && n >= 168) || (i > 0 && n > 59) {
            return None;
        }
        seconds += n * [3600, 60, 1][i];
    }
    Some(Zone::Posix(-west * seconds, upper.to_string()))
}

/// An offset east of UTC as `+hh[:mm[:ss]]`, as a timestamp with time zone shows it.
pub fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.abs();
    let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
    match (m, sec) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{sec:02}"),
    }
}

fn pg_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

/// Rounds a time, timestamp or interval to `precision` fractional digits of seconds, as
/// PostgreSQL stores `timestamp(p)` (halves away from zero; infinities stay as they are).
/// Other values, and a precision of 6 or more, leave the value as it is.
pub fn round_to_precision(value: Value, precision: u8) -> Value {
    if precision >= 6 {
        return value;
    }
    let scale = 10i64.pow(6 - u32::from(precision));
    let round = |t: i64| {
        let magnitude = t.unsigned_abs().saturating_add(scale as u64 / 2) / scale as u64;
        let rounded = i64::try_from(magnitude).unwrap_or(i64::MAX / scale) * scale;
        if t < 0 { -rounded } else { rounded }
    };
    let finite = |t: i64| t != i64::MAX && t != i64::MIN;
    match value {
        Value::Timestamp(t) if finite(t) => Value::Timestamp(round(t)),
        Value::TimestampTz(t) if finite(t) => Value::TimestampTz(round(t)),
        Value::Time(t) => Value::Time(round(t)),
        Value::Interval(iv) => Value::Interval(Interval { micros: round(iv.micros), ..iv }),
        other => other,
    }
}

/// Converts PostgreSQL day numbers to a calendar date (`None` for infinities or overflow).
pub fn date_to_naive(days: i32) -> Option<NaiveDate> {
    if days == i32::MAX || days == i32::MIN {
        return None;
    }
    pg_epoch().checked_add_signed(Duration::days(days as i64))
}

/// Converts a calendar date to PostgreSQL's day number.
pub fn naive_to_date(date: NaiveDate) -> i32 {
    (date - pg_epoch()).num_days() as i32
}

/// Converts PostgreSQL microseconds to a date and time (`None` for infinities or overflow).
pub fn timestamp_to_naive(micros: i64) -> Option<NaiveDateTime> {
    if micros == i64::MAX || micros == i64::MIN {
        return None;
    }
    pg_epoch().and_hms_opt(0, 0, 0)?.checked_add_signed(Duration::microseconds(micros))
}

/// Converts a date and time to PostgreSQL microseconds.
pub fn naive_to_timestamp(dt: NaiveDateTime) -> Result<i64> {
    let base = pg_epoch().and_hms_opt(0, 0, 0).unwrap_or_default();
    (dt - base)
        .num_microseconds()
        .ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range"))
}

/// The current time as a PostgreSQL timestamp (microseconds since 2000-01-01 UTC).
pub fn now_micros() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    unix - UNIX_TO_PG_MICROS
}

fn format_year_date(d: NaiveDate) -> String {
    if d.year() <= 0 {
        format!("{:04}-{:02}-{:02} BC", 1 - d.year(), d.month(), d.day())
    } else {
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    }
}

fn format_fraction(out: &mut String, micros: u32) {
    if micros > 0 {
        let frac = format!("{micros:06}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
}

fn format_clock(out: &mut String, t: NaiveTime) {
    out.push_str(&format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()));
    format_fraction(out, t.nanosecond() / 1000);
}

/// Formats a date as PostgreSQL does (`2024-03-01`, `0044-03-15 BC`, `infinity`).
pub fn format_date(days: i32) -> String {
    match days {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        _ => date_to_naive(days).map_or_else(|| "out of range".into(), format_year_date),
    }
}

/// Formats a time of day (`13:45:00`, `13:45:00.5`).
pub fn format_time(micros: i64) -> String {
    let mut out = String::new();
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let frac = micros.rem_euclid(MICROS_PER_SEC) as u32;
    out.push_str(&format!("{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60));
    format_fraction(&mut out, frac);
    out
}

/// Formats a timestamp without time zone.
pub fn format_timestamp(micros: i64) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => match timestamp_to_naive(micros) {
            Some(dt) => format_datetime(dt, None),
            None => "out of range".into(),
        },
    }
}

fn format_datetime(dt: NaiveDateTime, offset: Option<i32>) -> String {
    let date = dt.date();
    let bc = date.year() <= 0;
    let mut out = if bc {
        format!("{:04}-{:02}-{:02} ", 1 - date.year(), date.month(), date.day())
    } else {
        format!("{:04}-{:02}-{:02} ", date.year(), date.month(), date.day())
    };
    format_clock(&mut out, dt.time());
    if let Some(offset) = offset {
        out.push_str(&format_offset(offset));
    }
    if bc {
        out.push_str(" BC");
    }
    out
}

/// Formats a timestamp with time zone in the session's zone (`2024-03-01 12:00:00+01`).
pub fn format_timestamptz(micros: i64, zone: &Zone) -> String {
    match micros {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        _ => match timestamp_to_naive(micros) {
            Some(utc) => {
                let offset = zone.offset_at_utc(utc);
                format_datetime(utc + Duration::seconds(offset as i64), Some(offset))
            }
            None => "out of range".into(),
        },
    }
}

/// Formats an interval in PostgreSQL's default style (`1 year 2 mons 3 days 04:05:06`).
pub fn format_interval(iv: &Interval) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut negative_seen = false;
    let (years, months) = (iv.months / 12, iv.months % 12);
    let mut unit = |n: i64, singular: &str, plural: &str| {
        if n != 0 {
            let sign = if negative_seen && n > 0 { "+" } else { "" };
            negative_seen |= n < 0;
            parts.push(format!("{sign}{n} {}", if n == 1 { singular } else { plural }));
        }
    };
    unit(years as i64, "year", "years");
    unit(months as i64, "mon", "mons");
    unit(iv.days as i64, "day", "days");
    if iv.micros != 0 || parts.is_empty() {
        let sign = if iv.micros < 0 {
            "-"
        } else if negative_seen {
            "+"
        } else {
            ""
        };
        let abs = iv.micros.unsigned_abs();
        let secs = abs / 1_000_000;
        let mut time = format!("{sign}{:02}:{:02}:{:02}", secs / 3600, (secs / 60) % 60, secs % 60);
        format_fraction(&mut time, (abs % 1_000_000) as u32);
        parts.push(time);
    }
    parts.join(" ")
}

/// An interval as PostgreSQL prints it under `IntervalStyle = iso_8601`: `P1Y2M3DT4H5M6.5S`,
/// each part with its own sign, `PT0S` for zero.
pub fn format_interval_iso(iv: &Interval) -> String {
    let (years, months) = (iv.months / 12, iv.months % 12);
    let hours = iv.micros / 3_600_000_000;
    let minutes = (iv.micros % 3_600_000_000) / 60_000_000;
    let micros = iv.micros % 60_000_000;
    if iv.months == 0 && iv.days == 0 && iv.micros == 0 {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let mut part = |n: i64, unit: char| {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    };
    part(years.into(), 'Y');
    part(months.into(), 'M');
    part(iv.days.into(), 'D');
    if iv.micros != 0 {
        out.push('T');
    }
    let mut part = |n: i64, unit: char| {
        if n != 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    };
    part(hours, 'H');
    part(minutes, 'M');
    if micros != 0 {
        let abs = micros.unsigned_abs();
        let mut seconds = format!("{}{}", if micros < 0 { "-" } else { "" }, abs / 1_000_000);
        format_fraction(&mut seconds, (abs % 1_000_000) as u32);
        out.push_str(&seconds);
        out.push('S');
    }
    out
}

fn invalid(type_name: &str, input: &str) -> oxibase_common::Error {
    errinput!(INVALID_DATETIME_FORMAT, "invalid input syntax for type {type_name}: \"{input}\"")
}

fn out_of_range(type_name: &str, input: &str) -> oxibase_common::Error {
    errinput!(DATETIME_FIELD_OVERFLOW, "date/time field value out of range: \"{input}\"")
        .with_hint(format!("check the {type_name} value"))
}

/// Splits `YYYY-MM-DD` (or `YYYYMMDD`) with an optional ` BC`, returning the date and the
/// rest of the input.
fn parse_date_part<'a>(s: &'a str, type_name: &str, input: &str) -> Result<(NaiveDate, &'a str)> {
    let s = s.trim_start();
    let digits_end = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let year_len = digits_end(s);
    if year_len < 3 && year_len != 8 {
        // Not ISO year-first: a month name or month/day/year (DateStyle MDY).
        return parse_date_words(s).ok_or_else(|| invalid(type_name, input)).and_then(
            |(y, m, d, rest)| {
                let date = NaiveDate::from_ymd_opt(y, m, d)
                    .ok_or_else(|| out_of_range(type_name, input))?;
                Ok((date, rest))
            },
        );
    }
    let (y, m, d, rest) = if year_len == 8 {
        (&s[..4], &s[4..6], &s[6..8], &s[8..])
    } else {
        let (y, rest) = s.split_at(year_len);
        let rest = rest.strip_prefix(['-', '/', '.']).ok_or_else(|| invalid(type_name, input))?;
        let (m, rest) = rest.split_at(digits_end(rest));
        let rest = rest.strip_prefix(['-', '/', '.']).ok_or_else(|| invalid(type_name, input))?;
        let (d, rest) = rest.split_at(digits_end(rest));
        (y, m, d, rest)
    };
    let num = |t: &str| t.parse::<i32>().map_err(|_| invalid(type_name, input));
    let (mut year, month, day) = (num(y)?, num(m)?, num(d)?);
    let mut rest = rest;
    let upper = rest.trim_start().to_ascii_uppercase();
    if upper.starts_with("BC") {
        year = 1 - year;
        rest = &rest.trim_start()[2..];
    } else if upper.starts_with("AD") {
        rest = &rest.trim_start()[2..];
    }
    let date = NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .ok_or_else(|| out_of_range(type_name, input))?;
    Ok((date, rest))
}

/// A date written with a month name (`January 8, 1999`, `8 Jan 1999`, `Jan-08-1999`) or as
/// month/day/year (`1/8/1999`, PostgreSQL's default DateStyle MDY): (year, month, day) and
/// the rest of the input (a time, or BC/AD). A two-digit year is 1970-2069, as in PostgreSQL.
fn parse_date_words(s: &str) -> Option<(i32, u32, u32, &str)> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let mut month = None;
    let mut numbers: Vec<&str> = Vec::new();
    let mut end = 0;
    for (start, token) in s
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '-' | '/' | '.'))
        .scan(0, |pos, t| {
            let start = *pos;
            *pos += t.len() + 1;
            Some((start, t))
        })
        .filter(|(_, t)| !t.is_empty())
    {
        if numbers.len() + usize::from(month.is_some()) == 3 {
            break;
        }
        if token.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push(token);
        } else if token.len() >= 3
            && let Some(m) = MONTHS.iter().position(|m| token.to_ascii_lowercase().starts_with(m))
            && month.is_none()
        {
            month = Some(m as u32 + 1);
        } else {
            break;
        }
        end = start + token.len();
    }
    let year_of = |t: &str| -> Option<i32> {
        let y: i32 = t.parse().ok()?;
        Some(if t.len() <= 2 { if y < 70 { 2000 + y } else { 1900 + y } } else { y })
    };
    let (y, m, d) = match (month, numbers.as_slice()) {
        (Some(m), [a, b]) if a.len() <= 2 => (year_of(b)?, m, a.parse().ok()?),
        (Some(m), [a, b]) => (year_of(a)?, m, b.parse().ok()?),
        (None, [m, d, y]) => (year_of(y)?, m.parse().ok()?, d.parse().ok()?),
        _ => return None,
    };
    Some((y, m, d, &s[end..]))
}

/// Parses `HH:MM[:SS[.ffffff]]`, returning microseconds since midnight and the rest.
fn parse_time_part<'a>(s: &'a str, type_name: &str, input: &str) -> Result<(i64, &'a str)> {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.')).unwrap_or(s.len());
    let (clock, rest) = s.split_at(end);
    let fields: Vec<&str> = clock.split(':').collect();
    if fields.len() < 2 || fields.len() > 3 {
        return Err(invalid(type_name, input));
    }
    let num = |t: &str| t.parse::<i64>().map_err(|_| invalid(type_name, input));
    let (hours, minutes) = (num(fields[0])?, num(fields[1])?);
    let seconds_micros = match fields.get(2) {
        None => 0,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            let mut micros = num(whole)? * MICROS_PER_SEC;
            if !frac.is_empty() {
                if !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid(type_name, input));
                }
                // Round to microseconds, as PostgreSQL does.
                let digits: String = frac.chars().chain(std::iter::repeat('0')).take(7).collect();
                let n: i64 = digits.parse().map_err(|_| invalid(type_name, input))?;
                micros += (n + 5) / 10;
            }
            micros
        }
    };
    if minutes > 59
        || seconds_micros > 60 * MICROS_PER_SEC
        || hours > 24
        || (hours == 24 && (minutes > 0 || seconds_micros > 0))
    {
        return Err(out_of_range(type_name, input));
    }
    let mut rest = rest.trim_start();
    let upper = rest.to_ascii_uppercase();
    let mut total = hours * 3600 * MICROS_PER_SEC + minutes * 60 * MICROS_PER_SEC + seconds_micros;
    if upper.starts_with("AM") || upper.starts_with("PM") {
        if hours > 12 {
            return Err(out_of_range(type_name, input));
        }
        if hours == 12 {
            total -= 12 * 3600 * MICROS_PER_SEC;
        }
        if upper.starts_with("PM") {
            total += 12 * 3600 * MICROS_PER_SEC;
        }
        rest = &rest[2..];
    }
    Ok((total, rest))
}

/// Special date/time words: `epoch`, `infinity`, `now`, `today`, ... as a timestamp in UTC.
fn special(word: &str, now: i64) -> Option<i64> {
    let today = now.div_euclid(MICROS_PER_DAY) * MICROS_PER_DAY;
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "epoch" => -UNIX_TO_PG_MICROS,
        "infinity" | "+infinity" => i64::MAX,
        "-infinity" => i64::MIN,
        "now" => now,
        "today" => today,
        "tomorrow" => today + MICROS_PER_DAY,
        "yesterday" => today - MICROS_PER_DAY,
        _ => return None,
    })
}

/// Parses a date.
pub fn parse_date(input: &str) -> Result<i32> {
    if let Some(ts) = special(input, now_micros()) {
        return Ok(match ts {
            i64::MAX => i32::MAX,
            i64::MIN => i32::MIN,
            ts => ts.div_euclid(MICROS_PER_DAY) as i32,
        });
    }
    let (date, rest) = parse_date_part(input, "date", input)?;
    // A time part after a date is accepted and ignored, as PostgreSQL does.
    let rest = rest.trim();
    if !rest.is_empty() {
        let rest = rest.strip_prefix(['T', 't']).unwrap_or(rest);
        parse_time_part(rest, "date", input)?;
    }
    Ok(naive_to_date(date))
}

/// Parses a time of day (a trailing zone is ignored, as for `time without time zone`).
pub fn parse_time(input: &str) -> Result<i64> {
    if input.trim().eq_ignore_ascii_case("allballs") {
        return Ok(0);
    }
    let (micros, _) = parse_time_part(input, "time", input)?;
    Ok(micros)
}

/// Parses a timestamp, returning local microseconds and the zone offset written in it.
fn parse_timestamp_parts(input: &str, type_name: &str) -> Result<(i64, Option<i32>)> {
    let (date, rest) = parse_date_part(input, type_name, input)?;
    let mut micros = naive_to_timestamp(date.and_hms_opt(0, 0, 0).unwrap_or_default())?;
    let mut rest = rest.trim_start();
    rest = rest.strip_prefix(['T', 't']).unwrap_or(rest);
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        let (time, after) = parse_time_part(rest, type_name, input)?;
        micros += time;
        rest = after;
    }
    let mut rest = rest.trim();
    let mut bc = false;
    if rest.to_ascii_uppercase().ends_with("BC") {
        bc = true;
        rest = rest[..rest.len() - 2].trim_end();
    }
    if bc {
        return Err(invalid(type_name, input)); // BC after the time is not supported
    }
    if rest.is_empty() {
        return Ok((micros, None));
    }
    let zone = Zone::parse(rest).map_err(|_| invalid(type_name, input))?;
    let local = timestamp_to_naive(micros).ok_or_else(|| out_of_range(type_name, input))?;
    Ok((micros, Some(zone.offset_at_local(local))))
}

/// Parses a timestamp without time zone (a written zone is ignored, as PostgreSQL does).
pub fn parse_timestamp(input: &str) -> Result<i64> {
    if let Some(ts) = special(input, now_micros()) {
        return Ok(ts);
    }
    Ok(parse_timestamp_parts(input, "timestamp")?.0)
}

/// Parses a timestamp with time zone; without a written zone, the session zone applies.
pub fn parse_timestamptz(input: &str, zone: &Zone) -> Result<i64> {
    if let Some(ts) = special(input, now_micros()) {
        return Ok(ts);
    }
    let (local, offset) = parse_timestamp_parts(input, "timestamp with time zone")?;
    let offset = match offset {
        Some(o) => o,
        None => zone.offset_at_local(
            timestamp_to_naive(local).ok_or_else(|| out_of_range("timestamp", input))?,
        ),
    };
    Ok(local - offset as i64 * MICROS_PER_SEC)
}

/// Interprets a timestamp without time zone as local time in `zone`: the UTC instant.
pub fn local_to_utc(local: i64, zone: &Zone) -> i64 {
    match timestamp_to_naive(local) {
        Some(dt) => local - zone.offset_at_local(dt) as i64 * MICROS_PER_SEC,
        None => local,
    }
}

/// The local wall-clock time in `zone` of a UTC instant.
pub fn utc_to_local(utc: i64, zone: &Zone) -> i64 {
    match timestamp_to_naive(utc) {
        Some(dt) => utc + zone.offset_at_utc(dt) as i64 * MICROS_PER_SEC,
        None => utc,
    }
}

/// Parses an interval: PostgreSQL's `1 year 2 mons 3 days 04:05:06`, with units such as
/// `hours`, `min`, `ms`, the `ago` suffix, `@` prefix, and ISO 8601 `P1Y2M3DT4H5M6S`.
pub fn parse_interval(input: &str) -> Result<Interval> {
    let bad = || {
        errinput!(INVALID_DATETIME_FORMAT, "invalid input syntax for type interval: \"{input}\"")
    };
    let mut text = input.trim().to_ascii_lowercase();
    if let Some(rest) = text.strip_prefix('@') {
        text = rest.trim().to_string();
    }
    if text.starts_with('p') {
        return parse_iso_interval(&text).ok_or_else(bad);
    }
    let mut ago = false;
    if let Some(rest) = text.strip_suffix("ago") {
        ago = true;
        text = rest.trim().to_string();
    }
    let mut acc = IntervalAcc::default();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.is_empty() {
        return Err(bad());
    }
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        if token.contains(':') {
            let (sign, clock) = match token.as_bytes()[0] {
                b'-' => (-1.0, &token[1..]),
                b'+' => (1.0, &token[1..]),
                _ => (1.0, token),
            };
            let fields: Vec<&str> = clock.split(':').collect();
            if fields.len() < 2 || fields.len() > 3 {
                return Err(bad());
            }
            let h: f64 = fields[0].parse().map_err(|_| bad())?;
            let m: f64 = fields[1].parse().map_err(|_| bad())?;
            let s: f64 = fields.get(2).map_or(Ok(0.0), |s| s.parse()).map_err(|_| bad())?;
            acc.add_seconds(sign * (h * 3600.0 + m * 60.0 + s));
            i += 1;
            continue;
        }
        // A number, optionally glued to its unit ("3days"), then a unit.
        let split = token.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(token.len());
        let (number, glued_unit) = token.split_at(split);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let unit = if !glued_unit.is_empty() {
            glued_unit
        } else if let Some(next) =
            tokens.get(i + 1).filter(|t| t.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            i += 1;
            next
        } else {
            "second"
        };
        acc.add(value, unit).ok_or_else(bad)?;
        i += 1;
    }
    let iv =
        acc.finish().ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range"))?;
    Ok(if ago { negate_interval(&iv) } else { iv })
}

/// Negates every field of an interval.
pub fn negate_interval(iv: &Interval) -> Interval {
    Interval { months: -iv.months, days: -iv.days, micros: -iv.micros }
}

/// Accumulates interval fields, spilling fractions into smaller units as PostgreSQL does.
#[derive(Default)]
struct IntervalAcc {
    months: f64,
    days: f64,
    micros: f64,
}

impl IntervalAcc {
    fn add_seconds(&mut self, s: f64) {
        self.micros += s * 1e6;
    }

    fn add(&mut self, value: f64, unit: &str) -> Option<()> {
        let unit = unit.trim_end_matches(',');
        match unit {
            "microsecond" | "microseconds" | "us" | "usec" | "usecs" => self.micros += value,
            "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" => self.micros += value * 1e3,
            "second" | "seconds" | "s" | "sec" | "secs" => self.add_seconds(value),
            "minute" | "minutes" | "m" | "min" | "mins" => self.add_seconds(value * 60.0),
            "hour" | "hours" | "h" | "hr" | "hrs" => self.add_seconds(value * 3600.0),
            "day" | "days" | "d" => self.add_days(value),
            "week" | "weeks" | "w" => self.add_days(value * 7.0),
            "month" | "months" | "mon" | "mons" => self.add_months(value),
            "year" | "years" | "y" | "yr" | "yrs" => self.add_months(value * 12.0),
            "decade" | "decades" => self.add_months(value * 120.0),
            "century" | "centuries" => self.add_months(value * 1200.0),
            "millennium" | "millennia" | "millenniums" => self.add_months(value * 12000.0),
            _ => return None,
        }
        Some(())
    }

    fn add_days(&mut self, days: f64) {
        let whole = days.trunc();
        self.days += whole;
        self.add_seconds((days - whole) * 86400.0);
    }

    fn add_months(&mut self, months: f64) {
        let whole = months.trunc();
        self.months += whole;
        self.add_days((months - whole) * 30.0);
    }

    fn finish(self) -> Option<Interval> {
        let fits = |v: f64, max: f64| v.is_finite() && v.abs() <= max;
        if !fits(self.months, i32::MAX as f64)
            || !fits(self.days, i32::MAX as f64)
            || !fits(self.micros, i64::MAX as f64)
        {
            return None;
        }
        Some(Interval {
            months: self.months as i32,
            days: self.days as i32,
            micros: self.micros.round() as i64,
        })
    }
}

fn parse_iso_interval(text: &str) -> Option<Interval> {
    let body = text.strip_prefix('p')?;
    let (date, time) = body.split_once('t').unwrap_or((body, ""));
    let mut acc = IntervalAcc::default();
    for (part, is_time) in [(date, false), (time, true)] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' || c == '-' {
                number.push(c);
                continue;
            }
            let value: f64 = number.parse().ok()?;
            number.clear();
            let unit = match (c, is_time) {
                ('y', false) => "year",
                ('m', false) => "month",
                ('w', false) => "week",
                ('d', false) => "day",
                ('h', true) => "hour",
                ('m', true) => "minute",
                ('s', true) => "second",
                _ => return None,
            };
            acc.add(value, unit)?;
        }
        if !number.is_empty() {
            return None;
        }
    }
    acc.finish()
}

/// Adds an interval to a timestamp: months first (clamping the day to the month's end, as
/// PostgreSQL does), then days, then microseconds.
pub fn add_interval(ts: i64, iv: &Interval) -> Result<i64> {
    if ts == i64::MAX || ts == i64::MIN {
        return Ok(ts);
    }
    let overflow = || errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range");
    let mut dt = timestamp_to_naive(ts).ok_or_else(overflow)?;
    if iv.months != 0 {
        dt = add_months(dt, iv.months).ok_or_else(overflow)?;
    }
    dt = dt.checked_add_signed(Duration::days(iv.days as i64)).ok_or_else(overflow)?;
    let ts = naive_to_timestamp(dt)?;
    ts.checked_add(iv.micros).ok_or_else(overflow)
}

fn add_months(dt: NaiveDateTime, months: i32) -> Option<NaiveDateTime> {
    let total = dt.year() as i64 * 12 + dt.month0() as i64 + months as i64;
    let (year, month0) = (total.div_euclid(12) as i32, total.rem_euclid(12) as u32);
    let mut day = dt.day();
    loop {
        if let Some(d) = NaiveDate::from_ymd_opt(year, month0 + 1, day) {
            return Some(d.and_time(dt.time()));
        }
        day -= 1;
        if day < 28 {
            return None;
        }
    }
}

/// The interval between two timestamps, as `timestamp - timestamp` gives it: days and time.
pub fn timestamp_diff(a: i64, b: i64) -> Result<Interval> {
    let diff = a
        .checked_sub(b)
        .ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range"))?;
    Ok(Interval { months: 0, days: (diff / MICROS_PER_DAY) as i32, micros: diff % MICROS_PER_DAY })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_text() {
        for text in
            ["2000-01-01", "1999-12-31", "2024-02-29", "0001-01-01", "0044-03-15 BC", "9999-12-31"]
        {
            assert_eq!(format_date(parse_date(text).unwrap()), text);
        }
        assert_eq!(parse_date("2000-01-02").unwrap(), 1);
        assert_eq!(format_date(i32::MAX), "infinity");
        assert_eq!(parse_date("-infinity").unwrap(), i32::MIN);
        assert_eq!(parse_date("20240105").unwrap(), parse_date("2024-01-05").unwrap());
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("hello").is_err());
    }

    #[test]
    fn timestamps_and_zones() {
        let ts = parse_timestamp("2024-03-01 12:34:56.789").unwrap();
        assert_eq!(format_timestamp(ts), "2024-03-01 12:34:56.789");
        assert_eq!(
            format_timestamp(parse_timestamp("2024-03-01T00:00:00").unwrap()),
            "2024-03-01 00:00:00"
        );
        let utc = Zone::UTC;
        let t = parse_timestamptz("2024-03-01 12:00:00+02", &utc).unwrap();
        assert_eq!(format_timestamptz(t, &utc), "2024-03-01 10:00:00+00");
        let paris = Zone::parse("Europe/Paris").unwrap();
        assert_eq!(format_timestamptz(t, &paris), "2024-03-01 11:00:00+01");
        let summer = parse_timestamptz("2024-07-01 12:00:00", &paris).unwrap();
        assert_eq!(format_timestamptz(summer, &utc), "2024-07-01 10:00:00+00");
        assert_eq!(
            format_timestamptz(t, &Zone::parse("-05:30").unwrap()),
            "2024-03-01 04:30:00-05:30"
        );
        assert_eq!(format_timestamp(parse_timestamp("epoch").unwrap()), "1970-01-01 00:00:00");
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(format_time(parse_time("13:45").unwrap()), "13:45:00");
        assert_eq!(format_time(parse_time("01:02:03.5").unwrap()), "01:02:03.5");
        assert_eq!(format_time(parse_time("12:00 AM").unwrap()), "00:00:00");
        assert_eq!(format_time(parse_time("24:00:00").unwrap()), "24:00:00");
        assert!(parse_time("25:00").is_err());
    }

    #[test]
    fn intervals_parse_and_print_like_postgres() {
        let cases = [
            ("1 day", "1 day"),
            ("2 days 03:04:05", "2 days 03:04:05"),
            ("1 year 2 months 3 days", "1 year 2 mons 3 days"),
            ("-1 day 2 hours", "-1 days +02:00:00"),
            ("1.5 days", "1 day 12:00:00"),
            ("90 minutes", "01:30:00"),
            ("0", "00:00:00"),
            ("@ 3 hours ago", "-03:00:00"),
            ("P1Y2M3DT4H5M6S", "1 year 2 mons 3 days 04:05:06"),
            ("1 week", "7 days"),
            ("250 ms", "00:00:00.25"),
            ("-00:00:01", "-00:00:01"),
        ];
        for (input, output) in cases {
            assert_eq!(format_interval(&parse_interval(input).unwrap()), output, "{input}");
        }
        assert!(parse_interval("1 fortnight").is_err());
        assert!(parse_interval("").is_err());
    }

    #[test]
    fn interval_arithmetic_clamps_month_ends() {
        let jan31 = parse_timestamp("2024-01-31 10:00:00").unwrap();
        let month = Interval { months: 1, days: 0, micros: 0 };
        assert_eq!(format_timestamp(add_interval(jan31, &month).unwrap()), "2024-02-29 10:00:00");
        let a = parse_timestamp("2024-03-02 12:00:00").unwrap();
        let b = parse_timestamp("2024-03-01 00:00:00").unwrap();
        assert_eq!(format_interval(&timestamp_diff(a, b).unwrap()), "1 day 12:00:00");
    }
}
