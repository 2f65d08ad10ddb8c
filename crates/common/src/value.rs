//! SQL data types and values.
//!
//! These are the types PostgreSQL users expect (see "Data Types" in the PostgreSQL manual),
//! stored in the representation PostgreSQL's binary protocol uses where one exists, so the
//! wire layer can send them without conversion:
//!
//! | type                     | representation                                        |
//! |--------------------------|-------------------------------------------------------|
//! | DATE                     | days since 2000-01-01 (i32)                           |
//! | TIME                     | microseconds since midnight (i64)                     |
//! | TIMESTAMP, TIMESTAMPTZ   | microseconds since 2000-01-01 00:00:00 (UTC for tz)   |
//! | INTERVAL                 | months, days, microseconds (PostgreSQL's three fields) |
//! | NUMERIC                  | arbitrary-precision decimal, plus NaN and ±Infinity   |
//!
//! DATE and TIMESTAMP infinities are the extreme values of their integers, as in PostgreSQL.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bigdecimal::BigDecimal;

/// A SQL data type, with its type modifier (length, precision) where it has one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// BOOLEAN
    Bool,
    /// SMALLINT (int2)
    Int2,
    /// INTEGER (int4)
    Int4,
    /// BIGINT (int8)
    Int8,
    /// REAL (float4)
    Float4,
    /// DOUBLE PRECISION (float8)
    Float8,
    /// NUMERIC(precision, scale); `None` is unconstrained.
    Numeric(Option<(u16, u16)>),
    /// TEXT
    Text,
    /// VARCHAR(n); `None` is unbounded.
    Varchar(Option<u32>),
    /// CHAR(n), blank-padded.
    Char(u32),
    /// BYTEA
    Bytea,
    /// DATE
    Date,
    /// TIME(p) (without time zone): `p` fractional digits of seconds kept (0 to 6), `None`
    /// for all six (TIME).
    Time(Option<u8>),
    /// TIMESTAMP(p) (without time zone), `p` as for TIME.
    Timestamp(Option<u8>),
    /// TIMESTAMP(p) WITH TIME ZONE, `p` as for TIME.
    TimestampTz(Option<u8>),
    /// INTERVAL(p), `p` as for TIME.
    Interval(Option<u8>),
    /// UUID
    Uuid,
    /// JSON (text preserved as written)
    Json,
    /// JSONB (normalised)
    Jsonb,
    /// PostgreSQL's single-byte `"char"` (catalog columns such as `pg_type.typtype`), held
    /// as a `Text` value.
    InternalChar,
    /// PostgreSQL's `name`: an identifier of at most 63 bytes (catalog columns such as
    /// `pg_class.relname`), held as a `Text` value.
    Name,
    /// OID: an object identifier (an unsigned 32-bit number, held as an `Int8` value).
    Oid,
    /// A one-dimensional array of the element type.
    Array(Box<DataType>),
    /// PostgreSQL's `int2vector` (pg_index.indkey, indoption): `int2` values held as an
    /// `Array` value, printed space-separated, subscripted from 0; where a function or
    /// operator takes an array it reads as `smallint[]`.
    Int2Vector,
    /// PostgreSQL's `oidvector` (pg_proc.proargtypes, pg_index.indclass): `oid` values held
    /// as an `Array` value, printed space-separated, subscripted from 0, as `oid[]` where a
    /// function or operator takes an array.
    OidVector,
    /// TSVECTOR: a document for full text search, held as a `Text` value in its canonical
    /// text form (`'fat':2 'rat':3`).
    TsVector,
    /// TSQUERY: a text search query, held as a `Text` value in its canonical text form.
    TsQuery,
    /// A user-defined enum type (`CREATE TYPE ... AS ENUM`), with its labels as the catalog
    /// held them when the statement was bound.
    Enum(Arc<EnumType>),
    /// A composite value (PostgreSQL's `record`, or a table's row type): `ROW(a, b)`
    /// or a whole-row reference `t`, with the names and types of its fields where the
    /// expression that made it knows them (none for a `record` of unknown shape).
    Record(Arc<RecordType>),
    /// INET: an IPv4 or IPv6 host address with an optional netmask length.
    Inet,
    /// CIDR: an IPv4 or IPv6 network (no bits set right of the mask).
    Cidr,
}

/// An enum type: its catalog id (its `pg_type` oid), name and labels in sort order.
///
/// Two enum types are the same type when their ids are; the labels are what the catalog held
/// when the type was read (ALTER TYPE ... ADD VALUE makes a newer one).
#[derive(Clone, Debug)]
pub struct EnumType {
    /// The type's id, which is also its oid.
    pub id: u32,
    /// Its schema.
    pub schema: String,
    /// Its name in that schema, as stored (unquoted).
    pub type_name: String,
    /// The labels, sorted by their sort order.
    pub labels: Vec<EnumValue>,
}

impl EnumType {
    /// The name `format_type` prints: quoted where SQL needs it, schema-qualified outside
    /// `public`.
    pub fn name(&self) -> String {
        type_sql_name(&self.schema, &self.type_name)
    }

    /// The value with this label, if the type has one.
    pub fn value(&self, label: &str) -> Option<&EnumValue> {
        self.labels.iter().find(|v| v.label == label)
    }

    /// The oid of the type's array type (`_name`): PostgreSQL allocates one per type; here
    /// it is derived from the type's id.
    pub fn array_oid(&self) -> u32 {
        user_array_oid(self.id)
    }
}

/// The oid of the array type of the enum or composite type with this id.
pub fn user_array_oid(id: u32) -> u32 {
    id | 0x4000_0000
}

impl PartialEq for EnumType {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for EnumType {}

impl Hash for EnumType {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// An `inet` or `cidr` value: the address (IPv4 in the first four bytes), the netmask length
/// and which of the two types it is, which decides how it prints (a cidr always shows its
/// mask, an inet only when it is not the whole address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Inet {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// The netmask length: 0..=32 for IPv4, 0..=128 for IPv6.
    pub bits: u8,
    /// The address bytes, IPv4 in the first four.
    pub addr: [u8; 16],
    /// A cidr value (else inet).
    pub cidr: bool,
}

impl Inet {
    /// The address length in bytes: 4 or 16.
    pub fn byte_len(&self) -> usize {
        if self.v6 { 16 } else { 4 }
    }

    /// The address bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.addr[..self.byte_len()]
    }

    /// The largest netmask length of the family: 32 or 128.
    pub fn max_bits(&self) -> u8 {
        if self.v6 { 128 } else { 32 }
    }

    /// What values sort by, as PostgreSQL's network_cmp: family (IPv4 first), then the
    /// network part, then the netmask length, then the whole address. (Comparing the first
    /// min(bits) bits and then the lengths orders the same as comparing each side's own
    /// masked address first: past the shorter mask, that side's masked bits are zeros.)
    pub fn sort_key(&self) -> (bool, [u8; 16], u8, [u8; 16]) {
        (self.v6, self.masked(self.bits), self.bits, self.addr)
    }

    /// The address with every bit right of the first `bits` cleared.
    pub fn masked(&self, bits: u8) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, b) in self.bytes().iter().enumerate() {
            let keep = (bits as usize).saturating_sub(i * 8).min(8);
            out[i] = if keep == 0 { 0 } else { b & (0xffu8 << (8 - keep)) };
        }
        out
    }
}

/// The shape of a `record`: its fields' names and types, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RecordType {
    /// The fields; empty for a record whose shape is not known where it appears.
    pub fields: Vec<(String, DataType)>,
    /// The name of the named row type this is (a table's, `null::t`, or a composite type's,
    /// `CREATE TYPE t AS (...)`), as `format_type` prints it; None for an anonymous `record`.
    pub name: Option<String>,
    /// The catalog id of that table or composite type (its `pg_type` oid), where the type
    /// came from the catalog: what a stored column of the type keeps.
    pub id: Option<u32>,
}

impl RecordType {
    /// A record of these fields with no type name (`ROW(...)`, a subquery's row).
    pub fn anonymous(fields: Vec<(String, DataType)>) -> RecordType {
        RecordType { fields, name: None, id: None }
    }

    /// The oid of the array type of this named row type.
    pub fn array_oid(&self) -> Option<u32> {
        self.id.map(user_array_oid)
    }

    /// The position of the field with this name.
    pub fn field(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|(n, _)| n == name)
    }
}

/// One value of an enum type: its label and its sort order, which is fixed when the label is
/// added (ALTER TYPE ... ADD VALUE BEFORE takes a position between two others) and is what
/// values compare and index by, as PostgreSQL's `enumsortorder`.
#[derive(Clone, Debug, PartialEq)]
pub struct EnumValue {
    /// The position in the type's order.
    pub order: f64,
    /// The label.
    pub label: String,
}

impl DataType {
    /// The element type of a vector type (`int2vector`, `oidvector`), which prints its
    /// elements space-separated and counts subscripts from 0.
    pub fn vector_element(&self) -> Option<DataType> {
        match self {
            DataType::Int2Vector => Some(DataType::Int2),
            DataType::OidVector => Some(DataType::Oid),
            _ => None,
        }
    }

    /// The PostgreSQL name of the type, as `format_type` prints it.
    pub fn name(&self) -> String {
        match self {
            DataType::Bool => "boolean".into(),
            DataType::Int2 => "smallint".into(),
            DataType::Int4 => "integer".into(),
            DataType::Int8 => "bigint".into(),
            DataType::Float4 => "real".into(),
            DataType::Float8 => "double precision".into(),
            DataType::Numeric(None) => "numeric".into(),
            DataType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            DataType::Text => "text".into(),
            DataType::Varchar(None) => "character varying".into(),
            DataType::Varchar(Some(n)) => format!("character varying({n})"),
            DataType::Char(n) => format!("character({n})"),
            DataType::Bytea => "bytea".into(),
            DataType::Date => "date".into(),
            DataType::Time(p) => format!("time{} without time zone", precision_suffix(*p)),
            DataType::Timestamp(p) => {
                format!("timestamp{} without time zone", precision_suffix(*p))
            }
            DataType::TimestampTz(p) => {
                format!("timestamp{} with time zone", precision_suffix(*p))
            }
            DataType::Interval(p) => format!("interval{}", precision_suffix(*p)),
            DataType::Uuid => "uuid".into(),
            DataType::Json => "json".into(),
            DataType::Jsonb => "jsonb".into(),
            DataType::Oid => "oid".into(),
            DataType::InternalChar => "\"char\"".into(),
            DataType::Name => "name".into(),
            DataType::Array(elem) => format!("{}[]", elem.name()),
            DataType::Int2Vector => "int2vector".into(),
            DataType::OidVector => "oidvector".into(),
            DataType::TsVector => "tsvector".into(),
            DataType::TsQuery => "tsquery".into(),
            DataType::Enum(e) => e.name(),
            DataType::Record(r) => r.name.clone().unwrap_or_else(|| "record".into()),
            DataType::Inet => "inet".into(),
            DataType::Cidr => "cidr".into(),
        }
    }
}

/// `(p)` for a time type's fractional-second precision, nothing without one.
fn precision_suffix(precision: Option<u8>) -> String {
    precision.map(|p| format!("({p})")).unwrap_or_default()
}

/// The most fractional digits of seconds a time type keeps, as in PostgreSQL.
pub const MAX_TIME_PRECISION: u8 = 6;

impl DataType {
    /// The fractional-second precision of a time, timestamp or interval type declared with
    /// one (`timestamp(0)`).
    pub fn time_precision(&self) -> Option<u8> {
        match self {
            DataType::Time(p)
            | DataType::Timestamp(p)
            | DataType::TimestampTz(p)
            | DataType::Interval(p) => *p,
            _ => None,
        }
    }

    /// True when the two types are the same but for a declared fractional-second precision
    /// (`timestamp(0)` and `timestamp`), compared without building either's plain form.
    pub fn same_but_time_precision(&self, other: &DataType) -> bool {
        use DataType::{Interval, Time, Timestamp, TimestampTz};
        match (self, other) {
            (Time(_), Time(_))
            | (Timestamp(_), Timestamp(_))
            | (TimestampTz(_), TimestampTz(_))
            | (Interval(_), Interval(_)) => true,
            (a, b) => a == b,
        }
    }

    /// True when `self` is `other` with a modifier and `plain` has none (`varchar(3)` and
    /// `varchar`, `timestamp(0)` and `timestamp`): a value of `self` is one of `plain` as it is.
    pub fn is_modified_form_of(&self, plain: &DataType) -> bool {
        use DataType::{Interval, Numeric, Time, Timestamp, TimestampTz, Varchar};
        matches!(
            (self, plain),
            (Varchar(Some(_)), Varchar(None))
                | (Numeric(Some(_)), Numeric(None))
                | (Time(Some(_)), Time(None))
                | (Timestamp(Some(_)), Timestamp(None))
                | (TimestampTz(Some(_)), TimestampTz(None))
                | (Interval(Some(_)), Interval(None))
        )
    }

    /// The same type without a declared fractional-second precision (`timestamp(0)` is
    /// `timestamp`); other types are returned as they are.
    pub fn without_time_precision(&self) -> DataType {
        match self {
            DataType::Time(_) => DataType::Time(None),
            DataType::Timestamp(_) => DataType::Timestamp(None),
            DataType::TimestampTz(_) => DataType::TimestampTz(None),
            DataType::Interval(_) => DataType::Interval(None),
            other => other.clone(),
        }
    }

    /// The same type without its modifier where a value of it converts to the plain type
    /// unchanged: `varchar(3)` is `varchar`, `numeric(6,2)` `numeric`, `timestamp(0)`
    /// `timestamp` (the type an operator reads a column as, as in PostgreSQL, whose
    /// operators take no modifiers).
    pub fn without_modifier(&self) -> DataType {
        match self {
            DataType::Varchar(Some(_)) => DataType::Varchar(None),
            DataType::Numeric(Some(_)) => DataType::Numeric(None),
            other => other.without_time_precision(),
        }
    }

    /// The name the catalog stores: [`DataType::name`], except that an enum type is stored
    /// by id (`enum:16384`), so renaming it leaves the columns of that type alone.
    pub fn catalog_name(&self) -> String {
        match self {
            DataType::Enum(e) => format!("enum:{}", e.id),
            DataType::Record(r) if r.id.is_some() => format!("row:{}", r.id.unwrap_or_default()),
            DataType::Array(elem) => format!("{}[]", elem.catalog_name()),
            other => other.name(),
        }
    }

    /// Parses a [`DataType::catalog_name`], resolving the ids of enum and row types with
    /// `resolve`.
    pub fn from_catalog_name(
        name: &str,
        resolve: &mut dyn FnMut(u32) -> Option<DataType>,
    ) -> Option<DataType> {
        if let Some(element) = name.strip_suffix("[]") {
            let element = DataType::from_catalog_name(element, resolve)?;
            return Some(DataType::Array(Box::new(element)));
        }
        match name.strip_prefix("enum:").or_else(|| name.strip_prefix("row:")) {
            Some(id) => resolve(id.parse().ok()?),
            None => DataType::from_name(name),
        }
    }

    /// The enum type this is, or an array of.
    pub fn enum_type(&self) -> Option<&Arc<EnumType>> {
        match self {
            DataType::Enum(e) => Some(e),
            DataType::Array(elem) => elem.enum_type(),
            _ => None,
        }
    }

    /// Parses a type name as [`DataType::name`] prints it (and the common aliases `int`,
    /// `int4`, `varchar(n)`, `timestamptz`, ...). Returns `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<DataType> {
        let name = name.trim().to_ascii_lowercase();
        if let Some(element) = name.strip_suffix("[]") {
            return Some(DataType::Array(Box::new(DataType::from_name(element)?)));
        }
        // `timestamp(3) with time zone`: the precision sits inside the name.
        if let Some((base, rest)) = name.split_once('(')
            && let Some((p, zone)) = rest.split_once(')')
            && !zone.is_empty()
            && matches!(base.trim(), "time" | "timestamp")
        {
            let p = p.trim().parse::<u8>().ok().filter(|p| *p <= MAX_TIME_PRECISION)?;
            return Some(match (base.trim(), zone.trim()) {
                ("time", "without time zone") => DataType::Time(Some(p)),
                ("timestamp", "without time zone") => DataType::Timestamp(Some(p)),
                ("timestamp", "with time zone") => DataType::TimestampTz(Some(p)),
                _ => return None,
            });
        }
        let (base, args) = match name.split_once('(') {
            Some((base, rest)) => {
                let args: Vec<u32> = rest
                    .strip_suffix(')')?
                    .split(',')
                    .map(|a| a.trim().parse().ok())
                    .collect::<Option<_>>()?;
                (base.trim().to_string(), args)
            }
            None => (name, Vec::new()),
        };
        let ty = match (base.as_str(), args.as_slice()) {
            ("boolean" | "bool", []) => DataType::Bool,
            ("smallint" | "int2", []) => DataType::Int2,
            ("integer" | "int" | "int4", []) => DataType::Int4,
            ("bigint" | "int8", []) => DataType::Int8,
            ("real" | "float4", []) => DataType::Float4,
            ("double precision" | "float8", []) => DataType::Float8,
            ("numeric" | "decimal", []) => DataType::Numeric(None),
            ("numeric" | "decimal", [p]) => DataType::Numeric(Some((u16::try_from(*p).ok()?, 0))),
            ("numeric" | "decimal", [p, s]) => {
                DataType::Numeric(Some((u16::try_from(*p).ok()?, u16::try_from(*s).ok()?)))
            }
            ("text", []) => DataType::Text,
            ("character varying" | "varchar", []) => DataType::Varchar(None),
            ("character varying" | "varchar", [n]) => DataType::Varchar(Some(*n)),
            ("character" | "char" | "bpchar", []) => DataType::Char(1),
            ("character" | "char" | "bpchar", [n]) => DataType::Char(*n),
            ("bytea", []) => DataType::Bytea,
            ("date", []) => DataType::Date,
            ("time without time zone" | "time", []) => DataType::Time(None),
            ("timestamp without time zone" | "timestamp", []) => DataType::Timestamp(None),
            ("timestamp with time zone" | "timestamptz", []) => DataType::TimestampTz(None),
            ("interval", []) => DataType::Interval(None),
            ("time" | "timestamp" | "timestamptz" | "interval", [p])
                if *p <= MAX_TIME_PRECISION as u32 =>
            {
                let p = Some(*p as u8);
                match base.as_str() {
                    "time" => DataType::Time(p),
                    "timestamp" => DataType::Timestamp(p),
                    "timestamptz" => DataType::TimestampTz(p),
                    _ => DataType::Interval(p),
                }
            }
            ("uuid", []) => DataType::Uuid,
            ("json", []) => DataType::Json,
            ("jsonb", []) => DataType::Jsonb,
            ("oid", []) => DataType::Oid,
            ("\"char\"", []) => DataType::InternalChar,
            ("name", []) => DataType::Name,
            ("int2vector", []) => DataType::Int2Vector,
            ("oidvector", []) => DataType::OidVector,
            ("tsvector", []) => DataType::TsVector,
            ("tsquery", []) => DataType::TsQuery,
            ("record", []) => DataType::Record(Arc::default()),
            ("inet", []) => DataType::Inet,
            ("cidr", []) => DataType::Cidr,
            _ => return None,
        };
        Some(ty)
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// An exact decimal number, or one of PostgreSQL's special numeric values.
///
/// The variants are declared in PostgreSQL's sort order: -Infinity < finite < Infinity < NaN.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Numeric {
    /// `-Infinity`
    NegInfinity,
    /// A finite value, with the scale it was written or computed with.
    Finite(BigDecimal),
    /// `Infinity`
    Infinity,
    /// `NaN`, which PostgreSQL sorts above every other value and treats as equal to itself.
    NaN,
}

/// PostgreSQL's interval: months, days and microseconds are kept apart because their lengths
/// vary (a month is 28 to 31 days, a day 23 to 25 hours across DST).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Interval {
    /// Whole months.
    pub months: i32,
    /// Whole days.
    pub days: i32,
    /// Microseconds.
    pub micros: i64,
}

impl Interval {
    /// The span PostgreSQL compares intervals by: a month is 30 days, a day 24 hours.
    pub fn span_micros(&self) -> i128 {
        const DAY: i128 = 86_400_000_000;
        (self.months as i128 * 30 + self.days as i128) * DAY + self.micros as i128
    }
}

impl Ord for Interval {
    fn cmp(&self, other: &Self) -> Ordering {
        self.span_micros().cmp(&other.span_micros()).then(
            (self.months, self.days, self.micros).cmp(&(other.months, other.days, other.micros)),
        )
    }
}

impl PartialOrd for Interval {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A one-dimensional array value with its element type.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// The type of every element.
    pub element_type: DataType,
    /// The elements; any may be `Value::Null`.
    pub elements: Vec<Value>,
}

/// A SQL value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL, of any type.
    Null,
    /// BOOLEAN
    Bool(bool),
    /// SMALLINT
    Int2(i16),
    /// INTEGER
    Int4(i32),
    /// BIGINT
    Int8(i64),
    /// REAL
    Float4(f32),
    /// DOUBLE PRECISION
    Float8(f64),
    /// NUMERIC
    Numeric(Box<Numeric>),
    /// TEXT, VARCHAR and CHAR
    Text(String),
    /// BYTEA
    Bytea(Vec<u8>),
    /// DATE: days since 2000-01-01.
    Date(i32),
    /// TIME: microseconds since midnight.
    Time(i64),
    /// TIMESTAMP: microseconds since 2000-01-01 00:00:00.
    Timestamp(i64),
    /// TIMESTAMPTZ: microseconds since 2000-01-01 00:00:00 UTC.
    TimestampTz(i64),
    /// INTERVAL
    Interval(Interval),
    /// UUID
    Uuid([u8; 16]),
    /// JSON text, as written.
    Json(String),
    /// JSONB, stored as its normalised text.
    Jsonb(String),
    /// An array.
    Array(Box<Array>),
    /// A value of an enum type (which type is known from where it appears).
    Enum(Box<EnumValue>),
    /// A `record` (composite) value: its fields, any of which may be `Value::Null` (the
    /// field names are known from where it appears).
    Record(Box<Vec<Value>>),
    /// INET or CIDR (the value says which).
    Inet(Inet),
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value's type (NULL is untyped: `None`).
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Bool,
            Value::Int2(_) => DataType::Int2,
            Value::Int4(_) => DataType::Int4,
            Value::Int8(_) => DataType::Int8,
            Value::Float4(_) => DataType::Float4,
            Value::Float8(_) => DataType::Float8,
            Value::Numeric(_) => DataType::Numeric(None),
            Value::Text(_) => DataType::Text,
            Value::Bytea(_) => DataType::Bytea,
            Value::Date(_) => DataType::Date,
            Value::Time(_) => DataType::Time(None),
            Value::Timestamp(_) => DataType::Timestamp(None),
            Value::TimestampTz(_) => DataType::TimestampTz(None),
            Value::Interval(_) => DataType::Interval(None),
            Value::Uuid(_) => DataType::Uuid,
            Value::Json(_) => DataType::Json,
            Value::Jsonb(_) => DataType::Jsonb,
            Value::Array(a) => DataType::Array(Box::new(a.element_type.clone())),
            Value::Enum(_) => return None,
            Value::Inet(i) => {
                if i.cidr {
                    DataType::Cidr
                } else {
                    DataType::Inet
                }
            }
            Value::Record(fields) => DataType::Record(Arc::new(RecordType::anonymous(
                fields
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("f{}", i + 1), v.data_type().unwrap_or(DataType::Text)))
                    .collect(),
            ))),
        })
    }

    /// The name of the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "unknown",
            Value::Bool(_) => "boolean",
            Value::Int2(_) => "smallint",
            Value::Int4(_) => "integer",
            Value::Int8(_) => "bigint",
            Value::Float4(_) => "real",
            Value::Float8(_) => "double precision",
            Value::Numeric(_) => "numeric",
            Value::Text(_) => "text",
            Value::Bytea(_) => "bytea",
            Value::Date(_) => "date",
            Value::Time(_) => "time without time zone",
            Value::Timestamp(_) => "timestamp without time zone",
            Value::TimestampTz(_) => "timestamp with time zone",
            Value::Interval(_) => "interval",
            Value::Uuid(_) => "uuid",
            Value::Json(_) => "json",
            Value::Jsonb(_) => "jsonb",
            Value::Array(_) => "array",
            Value::Enum(_) => "enum",
            Value::Record(_) => "record",
            Value::Inet(i) => {
                if i.cidr {
                    "cidr"
                } else {
                    "inet"
                }
            }
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int4(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int8(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float8(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A type's name as `format_type` prints it: quoted where SQL needs it, schema-qualified
/// outside `public`.
pub fn type_sql_name(schema: &str, name: &str) -> String {
    match schema {
        "public" | "" => quote_ident(name),
        schema => format!("{}.{}", quote_ident(schema), quote_ident(name)),
    }
}

/// Quotes an identifier when PostgreSQL would need it to (anything but lower-case letters,
/// digits and underscores, not starting with a digit).
pub fn quote_ident(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain { name.to_string() } else { format!("\"{}\"", name.replace('"', "\"\"")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_round_trip() {
        let types = [
            DataType::Bool,
            DataType::Int2,
            DataType::Int4,
            DataType::Int8,
            DataType::Float4,
            DataType::Float8,
            DataType::Numeric(None),
            DataType::Numeric(Some((10, 2))),
            DataType::Text,
            DataType::Varchar(None),
            DataType::Varchar(Some(20)),
            DataType::Char(3),
            DataType::Bytea,
            DataType::Date,
            DataType::Time(None),
            DataType::Timestamp(None),
            DataType::TimestampTz(None),
            DataType::Interval(None),
            DataType::Time(Some(0)),
            DataType::Timestamp(Some(3)),
            DataType::TimestampTz(Some(6)),
            DataType::Interval(Some(2)),
            DataType::Uuid,
            DataType::Json,
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
            DataType::Array(Box::new(DataType::Numeric(Some((5, 1))))),
        ];
        for ty in types {
            assert_eq!(DataType::from_name(&ty.name()), Some(ty.clone()), "{ty}");
        }
        assert_eq!(DataType::from_name("VARCHAR(5)"), Some(DataType::Varchar(Some(5))));
        assert_eq!(DataType::from_name("int"), Some(DataType::Int4));
        assert_eq!(DataType::from_name("numeric(10,"), None);
        assert_eq!(DataType::from_name("blob"), None);
        assert_eq!(DataType::from_name("timestamptz(3)"), Some(DataType::TimestampTz(Some(3))));
        assert_eq!(DataType::from_name("timestamp(7) without time zone"), None);
        assert_eq!(DataType::from_name("time(2) with time zone"), None);
    }
}
