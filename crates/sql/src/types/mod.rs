//! SQL types: text input/output, comparison, casts, and how types combine.
//!
//! Type resolution follows PostgreSQL's rules in spirit ("Type Conversion" chapter): a
//! literal string or NULL has the *unknown* type and takes its type from context; numbers
//! widen along `smallint < integer < bigint < numeric < real < double precision`; date/time
//! types widen along `date < timestamp < timestamptz`; text wins over varchar and char.

pub mod arith;
pub mod cast;
pub mod compare;
pub mod datetime;
pub mod inet;
pub mod json_ops;
pub mod jsonpath;
pub mod text;

use oxibase_common::{DataType, Result, errinput};

/// A type as the binder tracks it: a known type, or the type of an untyped literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SqlType {
    /// A known type.
    Known(DataType),
    /// A quoted literal or NULL whose type comes from context.
    Unknown,
}

impl SqlType {
    /// The known type, or text for an unknown one (what PostgreSQL resolves unknown to).
    pub fn resolve(&self) -> DataType {
        match self {
            SqlType::Known(t) => t.clone(),
            SqlType::Unknown => DataType::Text,
        }
    }
}

impl From<DataType> for SqlType {
    fn from(t: DataType) -> Self {
        SqlType::Known(t)
    }
}

/// PostgreSQL's type OID for a type (what the wire protocol announces).
pub fn type_oid(ty: &DataType) -> u32 {
    match ty {
        DataType::Bool => 16,
        DataType::Bytea => 17,
        DataType::Int8 => 20,
        DataType::Int2 => 21,
        DataType::Int4 => 23,
        DataType::Text => 25,
        DataType::Json => 114,
        DataType::Float4 => 700,
        DataType::Float8 => 701,
        DataType::Char(_) => 1042,
        DataType::Varchar(_) => 1043,
        DataType::Date => 1082,
        DataType::Time(_) => 1083,
        DataType::Timestamp(_) => 1114,
        DataType::TimestampTz(_) => 1184,
        DataType::Interval(_) => 1186,
        DataType::Numeric(_) => 1700,
        DataType::Uuid => 2950,
        DataType::Jsonb => 3802,
        DataType::Oid => 26,
        DataType::InternalChar => 18,
        DataType::Name => 19,
        DataType::Int2Vector => 22,
        DataType::OidVector => 30,
        DataType::TsVector => 3614,
        DataType::TsQuery => 3615,
        DataType::Enum(e) => e.id,
        DataType::Record(r) => r.id.unwrap_or(2249),
        DataType::Inet => 869,
        DataType::Cidr => 650,
        DataType::Array(element) => match &**element {
            DataType::Bool => 1000,
            DataType::Bytea => 1001,
            DataType::Int2 => 1005,
            DataType::Int4 => 1007,
            DataType::Text => 1009,
            DataType::Char(_) => 1014,
            DataType::Varchar(_) => 1015,
            DataType::Int8 => 1016,
            DataType::Float4 => 1021,
            DataType::Float8 => 1022,
            DataType::Timestamp(_) => 1115,
            DataType::Date => 1182,
            DataType::Time(_) => 1183,
            DataType::TimestampTz(_) => 1185,
            DataType::Interval(_) => 1187,
            DataType::Numeric(_) => 1231,
            DataType::Uuid => 2951,
            DataType::Jsonb => 3807,
            DataType::Json => 199,
            DataType::Oid => 1028,
            DataType::InternalChar => 1002,
            DataType::Name => 1003,
            DataType::Int2Vector => 1006,
            DataType::OidVector => 1013,
            DataType::TsVector => 3643,
            DataType::TsQuery => 3645,
            DataType::Array(_) => 0,
            DataType::Enum(e) => e.array_oid(),
            DataType::Record(r) => r.array_oid().unwrap_or(2287),
            DataType::Inet => 1041,
            DataType::Cidr => 651,
        },
    }
}

/// The type with a PostgreSQL OID, for parameter types sent by clients.
pub fn type_from_oid(oid: u32) -> Option<DataType> {
    let base = |t: DataType| Some(t);
    let array = |t: DataType| Some(DataType::Array(Box::new(t)));
    match oid {
        16 => base(DataType::Bool),
        17 => base(DataType::Bytea),
        20 => base(DataType::Int8),
        21 => base(DataType::Int2),
        23 => base(DataType::Int4),
        25 => base(DataType::Text),
        19 => base(DataType::Name),
        26 => base(DataType::Oid),
        18 => base(DataType::InternalChar),
        22 => base(DataType::Int2Vector),
        30 => base(DataType::OidVector),
        3614 => base(DataType::TsVector),
        3615 => base(DataType::TsQuery),
        1028 => array(DataType::Oid),
        114 => base(DataType::Json),
        700 => base(DataType::Float4),
        701 => base(DataType::Float8),
        1042 => base(DataType::Char(1)),
        1043 => base(DataType::Varchar(None)),
        1082 => base(DataType::Date),
        1083 => base(DataType::Time(None)),
        1114 => base(DataType::Timestamp(None)),
        1184 => base(DataType::TimestampTz(None)),
        1186 => base(DataType::Interval(None)),
        1700 => base(DataType::Numeric(None)),
        2950 => base(DataType::Uuid),
        3802 => base(DataType::Jsonb),
        869 => base(DataType::Inet),
        650 => base(DataType::Cidr),
        1041 => array(DataType::Inet),
        651 => array(DataType::Cidr),
        1000 => array(DataType::Bool),
        1005 => array(DataType::Int2),
        1007 => array(DataType::Int4),
        1009 => array(DataType::Text),
        1016 => array(DataType::Int8),
        1021 => array(DataType::Float4),
        1022 => array(DataType::Float8),
        1231 => array(DataType::Numeric(None)),
        _ => None,
    }
}

/// Every built-in type with an oid of its own (and an array type), for naming a type by oid.
const BUILTIN_TYPES: &[DataType] = &[
    DataType::Bool,
    DataType::Bytea,
    DataType::Int8,
    DataType::Int2,
    DataType::Int4,
    DataType::Text,
    DataType::Json,
    DataType::Float4,
    DataType::Float8,
    DataType::Char(1),
    DataType::Varchar(None),
    DataType::Date,
    DataType::Time(None),
    DataType::Timestamp(None),
    DataType::TimestampTz(None),
    DataType::Interval(None),
    DataType::Numeric(None),
    DataType::Uuid,
    DataType::Jsonb,
    DataType::Oid,
    DataType::InternalChar,
    DataType::Name,
    DataType::Int2Vector,
    DataType::OidVector,
    DataType::TsVector,
    DataType::TsQuery,
    DataType::Inet,
    DataType::Cidr,
];

/// The built-in type (or array of one) with a PostgreSQL oid: what `format_type` names.
pub fn builtin_type_by_oid(oid: u32) -> Option<DataType> {
    BUILTIN_TYPES.iter().find_map(|t| {
        let array = DataType::Array(Box::new(t.clone()));
        if type_oid(t) == oid {
            Some(t.clone())
        } else {
            (type_oid(&array) == oid).then_some(array)
        }
    })
}

/// PostgreSQL's `interval` typmod for all fields (`INTERVAL_FULL_RANGE`), in its high half.
const INTERVAL_FULL_RANGE: i32 = 0x7fff << 16;

/// The type modifier PostgreSQL reports for a type (pg_attribute.atttypmod, RowDescription):
/// `varchar(10)` is 14, `numeric(6,2)` is (6 << 16 | 2) + 4, `timestamp(3)` is 3, -1 for none;
/// an array's is its element type's.
pub fn type_modifier(ty: &DataType) -> i32 {
    match ty {
        DataType::Array(element) => type_modifier(element),
        DataType::Varchar(Some(n)) | DataType::Char(n) => *n as i32 + 4,
        DataType::Numeric(Some((p, s))) => ((i32::from(*p) << 16) | i32::from(*s)) + 4,
        DataType::Interval(Some(p)) => INTERVAL_FULL_RANGE | i32::from(*p),
        DataType::Time(Some(p)) | DataType::Timestamp(Some(p)) | DataType::TimestampTz(Some(p)) => {
            i32::from(*p)
        }
        _ => -1,
    }
}

/// A type with the modifier [`type_modifier`] gives it (what `format_type(oid, typmod)`
/// names); a modifier that does not apply leaves the type as it is.
pub fn with_type_modifier(ty: &DataType, typmod: i32) -> DataType {
    let precision =
        |p: i32| u8::try_from(p).ok().filter(|p| *p <= oxibase_common::MAX_TIME_PRECISION);
    match ty {
        DataType::Varchar(_) if typmod >= 4 => DataType::Varchar(Some((typmod - 4) as u32)),
        DataType::Char(_) if typmod >= 4 => DataType::Char((typmod - 4) as u32),
        DataType::Numeric(_) if typmod >= 4 => {
            let m = typmod - 4;
            DataType::Numeric(Some(((m >> 16) as u16, (m & 0xffff) as u16)))
        }
        DataType::Time(_) => DataType::Time(precision(typmod)),
        DataType::Timestamp(_) => DataType::Timestamp(precision(typmod)),
        DataType::TimestampTz(_) => DataType::TimestampTz(precision(typmod)),
        DataType::Interval(_) if typmod >= 0 => DataType::Interval(precision(typmod & 0xffff)),
        other => other.clone(),
    }
}

/// The size PostgreSQL reports for a type in RowDescription (-1 for variable length).
pub fn type_size(ty: &DataType) -> i16 {
    match ty {
        DataType::Bool | DataType::InternalChar => 1,
        DataType::Name => 64,
        DataType::Int2 => 2,
        DataType::Int4 | DataType::Float4 | DataType::Date | DataType::Oid | DataType::Enum(_) => 4,
        DataType::Int8
        | DataType::Float8
        | DataType::Time(_)
        | DataType::Timestamp(_)
        | DataType::TimestampTz(_) => 8,
        DataType::Interval(_) | DataType::Uuid => 16,
        _ => -1,
    }
}

/// PostgreSQL's type category letter (N numeric, S string, D datetime, ...).
pub fn category(ty: &DataType) -> char {
    match ty {
        DataType::Int2
        | DataType::Int4
        | DataType::Int8
        | DataType::Float4
        | DataType::Float8
        | DataType::Numeric(_)
        | DataType::Oid => 'N',
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => 'S',
        // PostgreSQL files name under user-defined types, but it compares as a string.
        DataType::Name => 'S',
        DataType::Date | DataType::Timestamp(_) | DataType::TimestampTz(_) | DataType::Time(_) => {
            'D'
        }
        DataType::Interval(_) => 'T',
        DataType::Bool => 'B',
        DataType::Array(_) => 'A',
        DataType::Json | DataType::Jsonb => 'U',
        DataType::Bytea => 'X',
        DataType::Uuid => 'V',
        DataType::Enum(_) => 'E',
        DataType::InternalChar => 'Z',
        DataType::Int2Vector | DataType::OidVector => 'A',
        DataType::TsVector | DataType::TsQuery => 'U',
        DataType::Record(_) => 'P',
        DataType::Inet | DataType::Cidr => 'I',
    }
}

fn numeric_rank(ty: &DataType) -> Option<u8> {
    Some(match ty {
        DataType::Int2 => 1,
        DataType::Int4 => 2,
        DataType::Int8 | DataType::Oid => 3,
        DataType::Numeric(_) => 4,
        DataType::Float4 => 5,
        DataType::Float8 => 6,
        _ => return None,
    })
}

fn datetime_rank(ty: &DataType) -> Option<u8> {
    Some(match ty {
        DataType::Date => 1,
        DataType::Timestamp(_) => 2,
        DataType::TimestampTz(_) => 3,
        _ => return None,
    })
}

/// The type two types combine to (for arithmetic, comparison, CASE, UNION, ...), or `None`
/// when they cannot be matched.
pub fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    if a == b {
        return Some(a.clone());
    }
    if a.same_but_time_precision(b) {
        return Some(a.without_time_precision());
    }
    if let (Some(x), Some(y)) = (numeric_rank(a), numeric_rank(b)) {
        return Some(if x >= y { a.clone() } else { b.clone() }).map(|t| match t {
            DataType::Numeric(_) => DataType::Numeric(None),
            t => t,
        });
    }
    // Unless both are the same type, the common one has no declared precision.
    if let (Some(x), Some(y)) = (datetime_rank(a), datetime_rank(b)) {
        return Some(if x >= y { a } else { b }.without_time_precision());
    }
    match (a, b) {
        (
            DataType::Text
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::InternalChar
            | DataType::Name,
            DataType::Text
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::InternalChar
            | DataType::Name,
        ) => Some(DataType::Text),
        (DataType::Json, DataType::Jsonb) | (DataType::Jsonb, DataType::Json) => {
            Some(DataType::Jsonb)
        }
        (DataType::Inet, DataType::Cidr) | (DataType::Cidr, DataType::Inet) => Some(DataType::Inet),
        (DataType::Array(x), DataType::Array(y)) => {
            common_type(x, y).map(|t| DataType::Array(Box::new(t)))
        }
        // Records: field by field under the first one's names where the fields match, a
        // record of unknown shape otherwise (PostgreSQL's anonymous `record`).
        (DataType::Record(x), DataType::Record(y)) => {
            let fields: Option<Vec<(String, DataType)>> = (x.fields.len() == y.fields.len())
                .then(|| {
                    x.fields
                        .iter()
                        .zip(&y.fields)
                        .map(|((name, s), (_, t))| Some((name.clone(), common_type(s, t)?)))
                        .collect()
                })
                .flatten();
            let fields = fields.unwrap_or_default();
            Some(DataType::Record(std::sync::Arc::new(oxibase_common::RecordType {
                fields,
                name: x.name.clone(),
                id: x.id,
            })))
        }
        _ => None,
    }
}

/// Resolves the common type of several expressions' types (CASE branches, UNION columns,
/// VALUES rows, COALESCE arguments). `what` names the construct for the error message.
pub fn resolve_common(types: &[SqlType], what: &str) -> Result<SqlType> {
    let mut result: Option<DataType> = None;
    for ty in types {
        let SqlType::Known(t) = ty else { continue };
        result = Some(match result {
            None => t.clone(),
            Some(r) => common_type(&r, t).ok_or_else(|| {
                errinput!(
                    DATATYPE_MISMATCH,
                    "{what} types {} and {} cannot be matched",
                    r.name(),
                    t.name()
                )
            })?,
        });
    }
    Ok(result.map_or(SqlType::Unknown, SqlType::Known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_combine_like_postgres() {
        assert_eq!(common_type(&DataType::Int4, &DataType::Int8), Some(DataType::Int8));
        assert_eq!(
            common_type(&DataType::Int8, &DataType::Numeric(Some((5, 2)))),
            Some(DataType::Numeric(None))
        );
        assert_eq!(
            common_type(&DataType::Numeric(None), &DataType::Float8),
            Some(DataType::Float8)
        );
        assert_eq!(
            common_type(&DataType::Date, &DataType::TimestampTz(None)),
            Some(DataType::TimestampTz(None))
        );
        assert_eq!(common_type(&DataType::Varchar(Some(3)), &DataType::Text), Some(DataType::Text));
        assert_eq!(common_type(&DataType::Int4, &DataType::Text), None);
        let err = resolve_common(
            &[DataType::Int4.into(), SqlType::Unknown, DataType::Bool.into()],
            "CASE",
        )
        .unwrap_err();
        assert_eq!(err.message(), "CASE types integer and boolean cannot be matched");
        assert_eq!(resolve_common(&[SqlType::Unknown], "UNION").unwrap(), SqlType::Unknown);
    }

    #[test]
    fn oids_round_trip() {
        for ty in [
            DataType::Int4,
            DataType::Text,
            DataType::Jsonb,
            DataType::Array(Box::new(DataType::Int8)),
        ] {
            assert_eq!(type_from_oid(type_oid(&ty)), Some(ty));
        }
    }
}
