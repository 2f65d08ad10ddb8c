//! Date/time functions (PostgreSQL docs, "Date/Time Functions and Operators").
//!
//! `now()` and `current_timestamp` are the start of the transaction, `statement_timestamp()`
//! the start of the statement, `clock_timestamp()` the wall clock, as in PostgreSQL.

use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use oxibase_common::{DataType, Interval, Numeric, Result, Value, errinput};

use super::FunctionEnv;
use super::scalar::{Resolved, fixed, float, int, intern, text, volatile};
use crate::types::SqlType;
use crate::types::datetime::{
    self as dt, MICROS_PER_DAY, UNIX_TO_PG_MICROS, Zone, date_to_naive, naive_to_date,
    naive_to_timestamp, timestamp_to_naive,
};

use DataType::{
    Bool, Date, Float8, Int4, Interval as IntervalT, Text, Time, Timestamp, TimestampTz,
};

/// Resolves a date/time function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[DataType], ret| fixed(intern(name), eval, args, params, ret);
    let stable = |eval, ret| f(eval, &[], ret).map(volatile);
    let numeric = DataType::Numeric(None);
    match (name, args.len()) {
        ("now" | "current_timestamp" | "transaction_timestamp", 0) => {
            stable(now, TimestampTz(None))
        }
        ("statement_timestamp", 0) => stable(statement_timestamp, TimestampTz(None)),
        ("clock_timestamp", 0) => stable(clock_timestamp, TimestampTz(None)),
        ("timeofday", 0) => stable(timeofday, Text),
        ("current_date", 0) => stable(current_date, Date),
        ("current_time" | "localtime", 0) => stable(current_time, Time(None)),
        ("localtimestamp", 0) => stable(localtimestamp, Timestamp(None)),
        ("date_part", 2) => temporal_second(name, args, date_part, Float8),
        ("extract", 2) => temporal_second(name, args, extract, numeric),
        ("overlaps", 4) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            f(overlaps, &params, Bool).map(super::scalar::lenient)
        }
        ("date_trunc", 2) => {
            let ty = match args.get(1)? {
                SqlType::Known(t @ (TimestampTz(_) | Timestamp(_) | IntervalT(_))) => t.clone(),
                // NB: PostgreSQL has no date_trunc(text, date): a date goes to timestamptz,
                // the preferred type of its category (midnight in the session's zone).
                _ => TimestampTz(None),
            };
            f(date_trunc, &[Text, ty.clone()], ty)
        }
        ("age", 1) => f(age_now, &[Timestamp(None)], IntervalT(None)).map(volatile),
        ("age", 2) => f(age, &[Timestamp(None), Timestamp(None)], IntervalT(None)),
        ("make_date", 3) => f(make_date, &[Int4, Int4, Int4], Date),
        ("make_time", 3) => f(make_time, &[Int4, Int4, Float8], Time(None)),
        ("make_timestamp", 6) => {
            f(make_timestamp, &[Int4, Int4, Int4, Int4, Int4, Float8], Timestamp(None))
        }
        ("make_interval", n) if n <= 7 => {
            let params = [Int4, Int4, Int4, Int4, Int4, Int4, Float8];
            f(make_interval, &params[..n], IntervalT(None))
        }
        ("to_timestamp", 1) => f(to_timestamp_epoch, &[Float8], TimestampTz(None)),
        ("to_timestamp", 2) => {
            f(to_timestamp_format, &[Text, Text], TimestampTz(None)).map(volatile)
        }
        ("to_date", 2) => f(to_date, &[Text, Text], Date),
        ("to_char", 2) => {
            let ty = args[0].resolve();
            match ty {
                Timestamp(_) | TimestampTz(_) | Date | IntervalT(_) => {
                    f(to_char, &[ty.clone(), Text], Text).map(volatile)
                }
                _ if crate::types::category(&ty) == 'N' => f(to_char, &[ty.clone(), Text], Text),
                _ => None,
            }
        }
        ("to_number", 2) => f(to_number, &[Text, Text], numeric),
        ("timezone", 2) => {
            let ty = args[1].resolve();
            let (ts, ret) = match ty {
                TimestampTz(_) => (TimestampTz(None), Timestamp(None)),
                Timestamp(_) | Date => (Timestamp(None), TimestampTz(None)),
                _ => return None,
            };
            match args[0].resolve() {
                IntervalT(_) => f(timezone_interval, &[IntervalT(None), ts], ret),
                _ => f(timezone, &[Text, ts], ret),
            }
        }
        ("justify_days", 1) => f(justify_days, &[IntervalT(None)], IntervalT(None)),
        ("justify_hours", 1) => f(justify_hours, &[IntervalT(None)], IntervalT(None)),
        ("justify_interval", 1) => f(justify_interval, &[IntervalT(None)], IntervalT(None)),
        ("isfinite", 1) => f(isfinite, &[args[0].resolve()], Bool),
        _ => None,
    }
}

/// date_part/extract take a field name and any temporal value.
fn temporal_second(
    name: &str,
    args: &[SqlType],
    eval: super::scalar::Eval,
    ret: DataType,
) -> Option<Resolved> {
    let ty = match args.get(1)? {
        SqlType::Known(t @ (Date | Time(_) | Timestamp(_) | TimestampTz(_) | IntervalT(_))) => {
            t.clone()
        }
        SqlType::Unknown => TimestampTz(None),
        _ => return None,
    };
    fixed(intern(name), eval, args, &[Text, ty], ret)
}

fn now(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::TimestampTz(env.transaction_ts()))
}

fn statement_timestamp(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::TimestampTz(env.statement_ts()))
}

fn clock_timestamp(_: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::TimestampTz(dt::now_micros()))
}

fn timeofday(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Text(dt::format_timestamptz(dt::now_micros(), env.zone())))
}

fn current_date(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let local = dt::utc_to_local(env.transaction_ts(), env.zone());
    Ok(Value::Date(local.div_euclid(MICROS_PER_DAY) as i32))
}

fn current_time(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Time(dt::utc_to_local(env.transaction_ts(), env.zone()).rem_euclid(MICROS_PER_DAY)))
}

fn localtimestamp(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Timestamp(dt::utc_to_local(env.transaction_ts(), env.zone())))
}

/// The local date-time of a temporal value (timestamptz in the session zone), or None for
/// infinities and intervals.
fn local_datetime(v: &Value, zone: &Zone) -> Option<NaiveDateTime> {
    match v {
        Value::Date(d) => date_to_naive(*d).and_then(|d| d.and_hms_opt(0, 0, 0)),
        Value::Timestamp(t) => timestamp_to_naive(*t),
        Value::TimestampTz(t) if *t != i64::MAX && *t != i64::MIN => {
            timestamp_to_naive(dt::utc_to_local(*t, zone))
        }
        Value::Time(t) => NaiveDate::from_ymd_opt(2000, 1, 1)?
            .and_hms_opt(0, 0, 0)
            .map(|d| d + chrono::Duration::microseconds(*t)),
        _ => None,
    }
}

/// The value of an EXTRACT field, as numeric text (so it can be exact).
fn field_value(field: &str, v: &Value, zone: &Zone) -> Result<Option<String>> {
    let field = field.trim().to_ascii_lowercase();
    if let Value::Interval(iv) = v {
        return interval_field(&field, iv).map(Some);
    }
    let infinite = matches!(
        v,
        Value::Date(i32::MAX | i32::MIN)
            | Value::Timestamp(i64::MAX | i64::MIN)
            | Value::TimestampTz(i64::MAX | i64::MIN)
    );
    if infinite {
        return Ok(None);
    }
    let d = local_datetime(v, zone)
        .ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range"))?;
    let micros = d.time().nanosecond() as i64 / 1000 + d.second() as i64 * 1_000_000;
    let is_time = matches!(v, Value::Time(_));
    let is_date = matches!(v, Value::Date(_));
    let unsupported = || {
        errinput!(
            FEATURE_NOT_SUPPORTED,
            "unit \"{field}\" not supported for type {}",
            v.type_name()
        )
    };
    let year = d.year();
    Ok(Some(match field.as_str() {
        "microsecond" | "microseconds" if !is_date => micros.to_string(),
        "millisecond" | "milliseconds" if !is_date => decimal(micros, 3),
        "second" | "seconds" if !is_date => decimal(micros, 6),
        "minute" | "minutes" if !is_date => d.minute().to_string(),
        "hour" | "hours" if !is_date => d.hour().to_string(),
        "day" | "days" if !is_time => d.day().to_string(),
        "month" | "months" if !is_time => d.month().to_string(),
        "year" | "years" if !is_time => (if year <= 0 { year - 1 } else { year }).to_string(),
        "quarter" if !is_time => ((d.month() - 1) / 3 + 1).to_string(),
        "decade" if !is_time => year.div_euclid(10).to_string(),
        "century" if !is_time => {
            (if year > 0 { (year + 99) / 100 } else { -((99 - year) / 100) }).to_string()
        }
        "millennium" if !is_time => {
            (if year > 0 { (year + 999) / 1000 } else { -((999 - year) / 1000) }).to_string()
        }
        "dow" if !is_time => d.weekday().num_days_from_sunday().to_string(),
        "isodow" if !is_time => d.weekday().number_from_monday().to_string(),
        "doy" if !is_time => d.ordinal().to_string(),
        "week" if !is_time => d.iso_week().week().to_string(),
        "isoyear" if !is_time => d.iso_week().year().to_string(),
        "julian" if !is_time => (naive_to_date(d.date()) as i64 + 2_451_545).to_string(),
        "epoch" => {
            let local = naive_to_timestamp(d)?;
            let epoch = match v {
                Value::TimestampTz(t) => *t + UNIX_TO_PG_MICROS,
                Value::Time(t) => *t,
                _ => local + UNIX_TO_PG_MICROS,
            };
            if is_date { (epoch / 1_000_000).to_string() } else { decimal(epoch, 6) }
        }
        "timezone" | "timezone_hour" | "timezone_minute" if matches!(v, Value::TimestampTz(_)) => {
            let offset = zone.offset_at_utc(
                timestamp_to_naive(match v {
                    Value::TimestampTz(t) => *t,
                    _ => 0,
                })
                .unwrap_or_default(),
            );
            match field.as_str() {
                "timezone" => offset.to_string(),
                "timezone_hour" => (offset / 3600).to_string(),
                _ => ((offset / 60) % 60).to_string(),
            }
        }
        _ => return Err(unsupported()),
    }))
}

fn interval_field(field: &str, iv: &Interval) -> Result<String> {
    let secs_micros = iv.micros % 60_000_000;
    Ok(match field {
        "microsecond" | "microseconds" => secs_micros.to_string(),
        "millisecond" | "milliseconds" => decimal(secs_micros, 3),
        "second" | "seconds" => decimal(secs_micros, 6),
        "minute" | "minutes" => ((iv.micros / 60_000_000) % 60).to_string(),
        "hour" | "hours" => (iv.micros / 3_600_000_000).to_string(),
        "day" | "days" => iv.days.to_string(),
        "month" | "months" => (iv.months % 12).to_string(),
        "year" | "years" => (iv.months / 12).to_string(),
        "quarter" => ((iv.months % 12) / 3 + 1).to_string(),
        "decade" => (iv.months / 120).to_string(),
        "century" => (iv.months / 1200).to_string(),
        "millennium" => (iv.months / 12000).to_string(),
        "epoch" => {
            let days = iv.months as i128 / 12 * 36525 * 86400 / 100 * 1_000_000
                + (iv.months % 12) as i128 * 30 * MICROS_PER_DAY as i128;
            decimal((days + iv.days as i128 * MICROS_PER_DAY as i128 + iv.micros as i128) as i64, 6)
        }
        _ => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "unit \"{field}\" not supported for type interval"
            ));
        }
    })
}

/// `v / 10^places` as exact decimal text with `places` decimals.
fn decimal(v: i64, places: u32) -> String {
    crate::types::text::format_decimal(&BigDecimal::new(v.into(), places as i64))
}

fn date_part(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(match field_value(text(&a[0]), &a[1], env.zone())? {
        None => Value::Float8(
            if matches!(
                &a[1],
                Value::Date(i32::MIN) | Value::Timestamp(i64::MIN) | Value::TimestampTz(i64::MIN)
            ) {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            },
        ),
        Some(s) => Value::Float8(s.parse().unwrap_or(f64::NAN)),
    })
}

fn extract(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(match field_value(text(&a[0]), &a[1], env.zone())? {
        None => Value::Numeric(Box::new(Numeric::Infinity)),
        Some(s) => {
            Value::Numeric(Box::new(Numeric::Finite(BigDecimal::from_str(&s).unwrap_or_default())))
        }
    })
}

fn truncate_naive(field: &str, d: NaiveDateTime) -> Result<NaiveDateTime> {
    let date = d.date();
    let ymd = |y: i32, m: u32, day: u32| {
        NaiveDate::from_ymd_opt(y, m, day).and_then(|x| x.and_hms_opt(0, 0, 0))
    };
    let t = match field {
        "microseconds" | "microsecond" => Some(d),
        "milliseconds" | "millisecond" => d.with_nanosecond(d.nanosecond() / 1_000_000 * 1_000_000),
        "second" | "seconds" => d.with_nanosecond(0),
        "minute" | "minutes" => d.with_nanosecond(0).and_then(|x| x.with_second(0)),
        "hour" | "hours" => {
            d.with_nanosecond(0).and_then(|x| x.with_second(0)).and_then(|x| x.with_minute(0))
        }
        "day" | "days" => date.and_hms_opt(0, 0, 0),
        "week" | "weeks" => (date
            - chrono::Duration::days(date.weekday().num_days_from_monday() as i64))
        .and_hms_opt(0, 0, 0),
        "month" | "months" => ymd(date.year(), date.month(), 1),
        "quarter" => ymd(date.year(), (date.month() - 1) / 3 * 3 + 1, 1),
        "year" | "years" => ymd(date.year(), 1, 1),
        "decade" => ymd(date.year().div_euclid(10) * 10, 1, 1),
        "century" => ymd((date.year() - 1).div_euclid(100) * 100 + 1, 1, 1),
        "millennium" => ymd((date.year() - 1).div_euclid(1000) * 1000 + 1, 1, 1),
        _ => {
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "unit \"{field}\" not recognized for type timestamp"
            ));
        }
    };
    t.ok_or_else(|| errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range"))
}

fn date_trunc(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let field = text(&a[0]).to_ascii_lowercase();
    Ok(match &a[1] {
        Value::Timestamp(t) if *t == i64::MAX || *t == i64::MIN => a[1].clone(),
        Value::TimestampTz(t) if *t == i64::MAX || *t == i64::MIN => a[1].clone(),
        Value::Timestamp(t) => Value::Timestamp(naive_to_timestamp(truncate_naive(
            &field,
            timestamp_to_naive(*t).unwrap_or_default(),
        )?)?),
        Value::TimestampTz(t) => {
            let local = timestamp_to_naive(dt::utc_to_local(*t, env.zone())).unwrap_or_default();
            Value::TimestampTz(dt::local_to_utc(
                naive_to_timestamp(truncate_naive(&field, local)?)?,
                env.zone(),
            ))
        }
        Value::Interval(iv) => {
            let mut iv = *iv;
            let clear_time = |iv: &mut Interval, unit: i64| iv.micros = iv.micros / unit * unit;
            match field.as_str() {
                "second" | "seconds" => clear_time(&mut iv, 1_000_000),
                "minute" | "minutes" => clear_time(&mut iv, 60_000_000),
                "hour" | "hours" => clear_time(&mut iv, 3_600_000_000),
                "day" | "days" => iv.micros = 0,
                "month" | "months" => (iv.days, iv.micros) = (0, 0),
                "year" | "years" => (iv.months, iv.days, iv.micros) = (iv.months / 12 * 12, 0, 0),
                _ => {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "unit \"{field}\" not supported for type interval"
                    ));
                }
            }
            Value::Interval(iv)
        }
        other => other.clone(),
    })
}

/// PostgreSQL's `age`: a symbolic difference in years, months and days.
fn age_between(a: i64, b: i64) -> Result<Interval> {
    let (x, y) = (timestamp_to_naive(a), timestamp_to_naive(b));
    let (Some(x), Some(y)) = (x, y) else {
        return Err(errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range"));
    };
    let (later, earlier, sign) = if x >= y { (x, y, 1) } else { (y, x, -1) };
    let mut months =
        (later.year() - earlier.year()) * 12 + later.month() as i32 - earlier.month() as i32;
    let mut days = later.day() as i32 - earlier.day() as i32;
    let mut micros = (later.time() - earlier.time()).num_microseconds().unwrap_or(0);
    if micros < 0 {
        micros += MICROS_PER_DAY;
        days -= 1;
    }
    // Borrow days from months as PostgreSQL does: by the length of the earlier
    // timestamp's month.
    let (py, pm) = (earlier.year(), earlier.month());
    let len = NaiveDate::from_ymd_opt(py, pm, 1).map_or(30, |d| {
        let next = if pm == 12 {
            NaiveDate::from_ymd_opt(py + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(py, pm + 1, 1)
        };
        next.map_or(30, |n| (n - d).num_days() as i32)
    });
    while days < 0 {
        months -= 1;
        days += len;
    }
    Ok(Interval { months: sign * months, days: sign * days, micros: sign as i64 * micros })
}

fn age(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let t = |v: &Value| match v {
        Value::Timestamp(t) | Value::TimestampTz(t) => *t,
        _ => 0,
    };
    Ok(Value::Interval(age_between(t(&a[0]), t(&a[1]))?))
}

fn age_now(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let today = dt::utc_to_local(env.transaction_ts(), env.zone()).div_euclid(MICROS_PER_DAY)
        * MICROS_PER_DAY;
    let t = match &a[0] {
        Value::Timestamp(t) | Value::TimestampTz(t) => *t,
        _ => 0,
    };
    Ok(Value::Interval(age_between(today, t)?))
}

fn make_date(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (y, m, d) = (int(&a[0]), int(&a[1]), int(&a[2]));
    let y = if y < 0 { y + 1 } else { y };
    let date = NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32)
        .filter(|_| y != 0)
        .ok_or_else(|| {
            errinput!(
                DATETIME_FIELD_OVERFLOW,
                "date field value out of range: {}-{m:02}-{d:02}",
                int(&a[0])
            )
        })?;
    Ok(Value::Date(naive_to_date(date)))
}

fn time_micros(h: i64, m: i64, s: f64) -> Result<i64> {
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || !(0.0..=60.0).contains(&s) {
        return Err(errinput!(
            DATETIME_FIELD_OVERFLOW,
            "time field value out of range: {h}:{m:02}:{s:02}"
        ));
    }
    Ok(h * 3_600_000_000 + m * 60_000_000 + (s * 1e6).round() as i64)
}

fn make_time(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Time(time_micros(int(&a[0]), int(&a[1]), float(&a[2]))?))
}

fn make_timestamp(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Date(d) = make_date(&a[..3], env)? else { return Ok(Value::Null) };
    Ok(Value::Timestamp(
        d as i64 * MICROS_PER_DAY + time_micros(int(&a[3]), int(&a[4]), float(&a[5]))?,
    ))
}

fn make_interval(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let get = |i: usize| a.get(i).map_or(0, int);
    let secs = a.get(6).map_or(0.0, float);
    let overflow = || errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range");
    let months = get(0).checked_mul(12).and_then(|y| y.checked_add(get(1))).ok_or_else(overflow)?;
    let days = get(2).checked_mul(7).and_then(|w| w.checked_add(get(3))).ok_or_else(overflow)?;
    let micros = get(4) * 3_600_000_000 + get(5) * 60_000_000 + (secs * 1e6).round() as i64;
    Ok(Value::Interval(Interval {
        months: i32::try_from(months).map_err(|_| overflow())?,
        days: i32::try_from(days).map_err(|_| overflow())?,
        micros,
    }))
}

fn to_timestamp_epoch(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let secs = float(&a[0]);
    if secs.is_infinite() {
        return Ok(Value::TimestampTz(if secs > 0.0 { i64::MAX } else { i64::MIN }));
    }
    if !secs.is_finite() || secs.abs() > 9.2e12 {
        return Err(errinput!(DATETIME_FIELD_OVERFLOW, "timestamp out of range: \"{secs}\""));
    }
    Ok(Value::TimestampTz((secs * 1e6).round() as i64 - UNIX_TO_PG_MICROS))
}

/// Parses `text` with a PostgreSQL template (YYYY, MM, DD, HH24, HH12, MI, SS, MS, US, AM).
fn parse_with_template(input: &str, template: &str) -> Result<NaiveDateTime> {
    let bad = || {
        errinput!(INVALID_DATETIME_FORMAT, "invalid value \"{input}\" for template \"{template}\"")
    };
    let (mut y, mut mo, mut d, mut h, mut mi, mut s, mut us, mut pm) =
        (2000i32, 1u32, 1u32, 0u32, 0u32, 0u32, 0u32, None);
    let mut src = input.trim();
    let mut tpl = template;
    let take_num = |src: &mut &str, max: usize| -> Option<i64> {
        let s = src.trim_start();
        let n = s
            .chars()
            .take_while(|c| c.is_ascii_digit() || (*c == '-' && max > 4))
            .take(max)
            .count();
        let (digits, rest) = s.split_at(n);
        *src = rest;
        digits.parse().ok()
    };
    while !tpl.is_empty() {
        let upper = tpl.to_ascii_uppercase();
        let patterns: [(&str, usize); 12] = [
            ("YYYY", 4),
            ("HH24", 2),
            ("HH12", 2),
            ("HH", 2),
            ("MM", 2),
            ("DD", 2),
            ("MI", 2),
            ("SS", 2),
            ("MS", 3),
            ("US", 6),
            ("YY", 2),
            ("AM", 2),
        ];
        // Month names: MONTH / Month (full) and MON / Mon (abbreviated), any case in input.
        if upper.starts_with("MONTH") || upper.starts_with("MON") {
            let full = upper.starts_with("MONTH");
            tpl = &tpl[if full { 5 } else { 3 }..];
            let word: String =
                src.trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
            let lower = word.to_ascii_lowercase();
            const NAMES: [&str; 12] = [
                "january",
                "february",
                "march",
                "april",
                "may",
                "june",
                "july",
                "august",
                "september",
                "october",
                "november",
                "december",
            ];
            let index = NAMES
                .iter()
                .position(|n| {
                    if full { *n == lower } else { lower.len() == 3 && n.starts_with(&lower) }
                })
                .ok_or_else(bad)?;
            mo = index as u32 + 1;
            src = &src.trim_start()[word.len()..];
            continue;
        }
        if let Some((pat, width)) = patterns.iter().find(|(p, _)| upper.starts_with(p)) {
            tpl = &tpl[pat.len()..];
            if *pat == "AM" {
                let word = src.trim_start().get(..2).unwrap_or("").to_ascii_uppercase();
                pm = Some(word == "PM");
                src = src.trim_start().get(2..).unwrap_or("");
                continue;
            }
            let n = take_num(&mut src, *width).ok_or_else(bad)?;
            match *pat {
                "YYYY" => y = n as i32,
                "YY" => y = 2000 + n as i32,
                "MM" => mo = n as u32,
                "DD" => d = n as u32,
                "HH24" | "HH12" | "HH" => h = n as u32,
                "MI" => mi = n as u32,
                "SS" => s = n as u32,
                "MS" => us = n as u32 * 1000,
                "US" => us = n as u32,
                _ => {}
            }
        } else {
            let c = tpl.chars().next().unwrap_or(' ');
            tpl = &tpl[c.len_utf8()..];
            src = src
                .strip_prefix(c)
                .unwrap_or(src.trim_start_matches(|x: char| !x.is_ascii_alphanumeric()));
        }
    }
    if let Some(pm) = pm {
        h = h % 12 + if pm { 12 } else { 0 };
    }
    NaiveDate::from_ymd_opt(y, mo, d)
        .and_then(|date| date.and_hms_micro_opt(h, mi, s, us))
        .ok_or_else(bad)
}

fn to_timestamp_format(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let local = naive_to_timestamp(parse_with_template(text(&a[0]), text(&a[1]))?)?;
    Ok(Value::TimestampTz(dt::local_to_utc(local, env.zone())))
}

fn to_date(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Date(naive_to_date(parse_with_template(text(&a[0]), text(&a[1]))?.date())))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// Formats a date-time with a PostgreSQL template (to_char).
fn format_template(d: NaiveDateTime, template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while !rest.is_empty() {
        let fm = rest.starts_with("FM");
        if fm {
            rest = &rest[2..];
        }
        let pad = |n: i64, width: usize| if fm { n.to_string() } else { format!("{n:0width$}") };
        let hour12 = match d.hour() % 12 {
            0 => 12,
            h => h,
        };
        let month_name = MONTHS[d.month0() as usize];
        let day_name = DAYS[d.weekday().num_days_from_sunday() as usize];
        let fill = |s: &str, width: usize| if fm { s.to_string() } else { format!("{s:width$}") };
        let table: [(&str, String); 28] = [
            ("YYYY", pad(d.year() as i64, 4)),
            ("HH24", pad(d.hour() as i64, 2)),
            ("HH12", pad(hour12 as i64, 2)),
            ("MONTH", fill(&month_name.to_uppercase(), 9)),
            ("Month", fill(month_name, 9)),
            ("month", fill(&month_name.to_lowercase(), 9)),
            ("MON", month_name[..3].to_uppercase()),
            ("Mon", month_name[..3].to_string()),
            ("mon", month_name[..3].to_lowercase()),
            ("DAY", fill(&day_name.to_uppercase(), 9)),
            ("Day", fill(day_name, 9)),
            ("day", fill(&day_name.to_lowercase(), 9)),
            ("DY", day_name[..3].to_uppercase()),
            ("Dy", day_name[..3].to_string()),
            ("DDD", pad(d.ordinal() as i64, 3)),
            ("HH", pad(hour12 as i64, 2)),
            ("MI", pad(d.minute() as i64, 2)),
            ("SS", pad(d.second() as i64, 2)),
            ("MS", pad((d.nanosecond() / 1_000_000) as i64, 3)),
            ("US", pad((d.nanosecond() / 1000) as i64, 6)),
            ("MM", pad(d.month() as i64, 2)),
            ("DD", pad(d.day() as i64, 2)),
            ("YY", pad((d.year() % 100) as i64, 2)),
            ("AM", if d.hour() < 12 { "AM" } else { "PM" }.into()),
            ("PM", if d.hour() < 12 { "AM" } else { "PM" }.into()),
            ("Q", ((d.month() - 1) / 3 + 1).to_string()),
            ("D", (d.weekday().num_days_from_sunday() + 1).to_string()),
            ("IW", pad(d.iso_week().week() as i64, 2)),
        ];
        if let Some((pat, value)) = table.iter().find(|(p, _)| rest.starts_with(p)) {
            out.push_str(value);
            rest = &rest[pat.len()..];
        } else if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            out.push_str(&quoted[..end]);
            rest = quoted.get(end + 1..).unwrap_or("");
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// Formats a number with a template of 9, 0, '.', D, ',', G, FM, S, MI.
fn format_number(v: f64, template: &str) -> String {
    let fm = template.contains("FM");
    let t = template.replace("FM", "");
    if let Some(at) = t.find("EEEE") {
        // Scientific notation: the mantissa with the template's decimals, a signed
        // two-digit exponent.
        let decimals = t[..at]
            .split_once(['.', 'D'])
            .map_or(0, |(_, f)| f.chars().filter(|c| matches!(c, '9' | '0')).count());
        let formatted = format!("{:.*e}", decimals, v.abs());
        let (mantissa, exp) = formatted.split_once('e').unwrap_or((&formatted, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if v < 0.0 {
            "-"
        } else if fm {
            ""
        } else {
            " "
        };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs());
    }
    let (int_tpl, frac_tpl) = match t.find(['.', 'D']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t.as_str(), ""),
    };
    let decimals = frac_tpl.chars().filter(|c| *c == '9' || *c == '0').count();
    let rounded = format!("{:.*}", decimals, v.abs());
    let (int_digits, frac_digits) = rounded.split_once('.').unwrap_or((&rounded, ""));
    let slots: Vec<char> = int_tpl.chars().filter(|c| matches!(c, '9' | '0' | ',' | 'G')).collect();
    let digit_slots = slots.iter().filter(|c| matches!(c, '9' | '0')).count();
    if int_digits.len() > digit_slots {
        let hashes =
            "#".repeat(digit_slots) + if decimals > 0 { "." } else { "" } + &"#".repeat(decimals);
        return format!(" {hashes}");
    }
    // A zero integer part prints no digit in '9' slots when there are decimals (`.10`).
    let int_digits = if int_digits == "0" && decimals > 0 { "" } else { int_digits };
    let mut digits: Vec<char> = int_digits.chars().collect();
    let mut out = String::new();
    let mut started = false;
    let pad_len = digit_slots - digits.len();
    let mut digit_index = 0;
    for slot in slots {
        match slot {
            ',' | 'G' => {
                if started {
                    out.push(',');
                } else if !fm {
                    out.push(' ');
                }
            }
            c => {
                if digit_index < pad_len {
                    if c == '0' {
                        out.push('0');
                        started = true;
                    } else if !fm {
                        out.push(' ');
                    }
                } else {
                    out.push(digits.remove(0));
                    started = true;
                }
                digit_index += 1;
            }
        }
    }
    if !started && decimals == 0 {
        out.push('0');
    }
    if decimals > 0 {
        out.push('.');
        out.push_str(frac_digits);
    }
    if fm {
        let sign = if v < 0.0 { "-" } else { "" };
        return format!("{sign}{}", out.trim_start_matches(' '));
    }
    // The sign (a blank when positive) goes just before the first printed character.
    let at = out.len() - out.trim_start_matches(' ').len();
    out.insert(at, if v < 0.0 { '-' } else { ' ' });
    out
}

fn to_char(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let template = text(&a[1]);
    Ok(Value::Text(match &a[0] {
        Value::Interval(iv) => {
            let base = NaiveDate::from_ymd_opt(1, 1, 1)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default();
            format_template(
                base + chrono::Duration::microseconds(iv.micros)
                    + chrono::Duration::days(iv.days as i64),
                template,
            )
        }
        v @ (Value::Date(_) | Value::Timestamp(_) | Value::TimestampTz(_)) => {
            match local_datetime(v, env.zone()) {
                Some(d) => format_template(d, template),
                None => return Ok(Value::Null),
            }
        }
        v => format_number(float(v), template),
    }))
}

/// to_number(text, template): the digits, sign and decimal point of the text; group
/// separators and other decoration are skipped.
fn to_number(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let input = text(&a[0]);
    let template = text(&a[1]).to_ascii_uppercase();
    let has_point = template.contains('.') || template.contains('D');
    let mut digits = String::new();
    let negative =
        input.contains('-') || (template.contains("PR") && input.trim().starts_with('<'));
    for c in input.chars() {
        if c.is_ascii_digit() || (c == '.' && has_point && !digits.contains('.')) {
            digits.push(c);
        }
    }
    if digits.is_empty() || digits == "." {
        return Err(errinput!(
            INVALID_TEXT_REPRESENTATION,
            "invalid input syntax for type numeric: \"{input}\""
        ));
    }
    let text = if negative { format!("-{digits}") } else { digits };
    crate::types::text::parse_value(&text, &DataType::Numeric(None), &Zone::UTC)
}

/// `timezone(zone, ts)`, `ts AT TIME ZONE zone`: the zone is a name (a POSIX offset in it
/// counts west of UTC, as in PostgreSQL).
fn timezone(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    shift_zone(&a[1], &Zone::named(text(&a[0]))?)
}

/// `ts AT TIME ZONE INTERVAL '+03:00'`: an offset east of UTC.
fn timezone_interval(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Interval(iv) = &a[0] else { return Ok(Value::Null) };
    shift_zone(&a[1], &dt::zone_of_interval(iv)?)
}

fn shift_zone(value: &Value, zone: &Zone) -> Result<Value> {
    Ok(match value {
        Value::TimestampTz(t) => Value::Timestamp(dt::utc_to_local(*t, zone)),
        Value::Timestamp(t) => Value::TimestampTz(dt::local_to_utc(*t, zone)),
        other => other.clone(),
    })
}

fn justify_days(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Interval(iv) = &a[0] else { return Ok(a[0].clone()) };
    Ok(Value::Interval(Interval {
        months: iv.months + iv.days / 30,
        days: iv.days % 30,
        micros: iv.micros,
    }))
}

fn justify_hours(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Interval(iv) = &a[0] else { return Ok(a[0].clone()) };
    Ok(Value::Interval(Interval {
        months: iv.months,
        days: iv.days + (iv.micros / MICROS_PER_DAY) as i32,
        micros: iv.micros % MICROS_PER_DAY,
    }))
}

/// PostgreSQL's `interval_justify_interval`: whole days out of the time, whole months out
/// of the days, then every field given the same sign ('1 month -1 hour' is 29 days 23:00).
fn justify_interval(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Value::Interval(iv) = &a[0] else { return Ok(Value::Null) };
    const DAY: i64 = 86_400_000_000;
    let (mut months, mut days, mut time) = (iv.months as i64, iv.days as i64, iv.micros);
    days += time / DAY;
    time %= DAY;
    months += days / 30;
    days %= 30;
    if months > 0 && (days < 0 || (days == 0 && time < 0)) {
        days += 30;
        months -= 1;
    } else if months < 0 && (days > 0 || (days == 0 && time > 0)) {
        days -= 30;
        months += 1;
    }
    if days > 0 && time < 0 {
        time += DAY;
        days -= 1;
    } else if days < 0 && time > 0 {
        time -= DAY;
        days += 1;
    }
    let overflow = || errinput!(DATETIME_FIELD_OVERFLOW, "interval out of range");
    Ok(Value::Interval(oxibase_common::Interval {
        months: i32::try_from(months).map_err(|_| overflow())?,
        days: i32::try_from(days).map_err(|_| overflow())?,
        micros: time,
    }))
}

fn isfinite(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Bool(!matches!(
        &a[0],
        Value::Date(i32::MAX | i32::MIN)
            | Value::Timestamp(i64::MAX | i64::MIN)
            | Value::TimestampTz(i64::MAX | i64::MIN)
    )))
}

/// `(s1, e1) OVERLAPS (s2, e2)` with PostgreSQL's rules: each pair is put in order, an
/// interval end counts from its start, and a null end makes the answer null only when it
/// is needed to decide.
fn overlaps(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    use crate::types::compare::compare;
    use std::cmp::Ordering::{Greater, Less};
    let pair = |s: &Value, e: &Value| -> Result<(Option<Value>, Option<Value>)> {
        let e = match e {
            Value::Interval(_) if !s.is_null() => Some(crate::types::arith::add(s, e, env.zone())?),
            v if v.is_null() || matches!(v, Value::Interval(_)) => None,
            v => Some(v.clone()),
        };
        Ok(match (s.is_null(), e) {
            (true, None) => (None, None),
            (true, Some(e)) => (Some(e), None),
            (false, None) => (Some(s.clone()), None),
            (false, Some(e)) => {
                if compare(s, &e)? == Greater {
                    (Some(e), Some(s.clone()))
                } else {
                    (Some(s.clone()), Some(e))
                }
            }
        })
    };
    let (Some(s1), e1) = pair(&a[0], &a[1])? else { return Ok(Value::Null) };
    let (Some(s2), e2) = pair(&a[2], &a[3])? else { return Ok(Value::Null) };
    let lt = |x: &Value, y: &Value| -> Result<bool> { Ok(compare(x, y)? == Less) };
    Ok(match compare(&s1, &s2)? {
        Greater => match (&e2, &e1) {
            (None, _) => Value::Null,
            (Some(e2), _) if lt(&s1, e2)? => Value::Bool(true),
            (_, None) => Value::Null,
            _ => Value::Bool(false),
        },
        Less => match (&e1, &e2) {
            (None, _) => Value::Null,
            (Some(e1), _) if lt(&s2, e1)? => Value::Bool(true),
            (_, None) => Value::Null,
            _ => Value::Bool(false),
        },
        _ => {
            if e1.is_none() || e2.is_none() {
                Value::Null
            } else {
                Value::Bool(true)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_templates() {
        assert_eq!(format_number(1234.5, "9999.99"), " 1234.50");
        assert_eq!(format_number(-12.0, "FM9999"), "-12");
        assert_eq!(format_number(1234567.891, "9,999,999.99"), " 1,234,567.89");
        assert_eq!(format_number(5.0, "000"), " 005");
        assert_eq!(format_number(123456.0, "999"), " ###");
    }

    #[test]
    fn date_templates_and_age() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 5).unwrap().and_hms_opt(14, 7, 9).unwrap();
        assert_eq!(format_template(d, "YYYY-MM-DD HH24:MI:SS"), "2024-03-05 14:07:09");
        assert_eq!(format_template(d, "FMMonth DD, YYYY HH12 AM"), "March 05, 2024 02 PM");
        assert_eq!(format_template(d, "Dy Mon"), "Tue Mar");
        let p = parse_with_template("05/03/2024 14:07", "DD/MM/YYYY HH24:MI").unwrap();
        assert_eq!(p, NaiveDate::from_ymd_opt(2024, 3, 5).unwrap().and_hms_opt(14, 7, 0).unwrap());
        let a = naive_to_timestamp(
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap().and_hms_opt(0, 0, 0).unwrap(),
        )
        .unwrap();
        let b = naive_to_timestamp(
            NaiveDate::from_ymd_opt(2023, 1, 31).unwrap().and_hms_opt(12, 0, 0).unwrap(),
        )
        .unwrap();
        assert_eq!(
            crate::types::datetime::format_interval(&age_between(a, b).unwrap()),
            "1 year 1 mon 12:00:00"
        );
    }
}
