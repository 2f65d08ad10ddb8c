//! Oxibase's shared foundations, used by every layer above.
//!
//! - [`error`]: the one error type, classified by who is at fault, with a PostgreSQL SQLSTATE.
//! - [`value`]: SQL data types and values.
//! - [`keycode`]: an order-preserving encoding of values into keys, so that key ranges are
//!   value ranges.
//! - [`row`]: a compact, self-describing row encoding that tolerates added columns.
//! - [`worker`]: how work that may wait leaves a thread that other connections share.

pub mod error;
pub mod keycode;
pub mod row;
pub mod sqlstate;
pub mod value;
pub mod worker;

pub use error::{Error, ErrorKind, Result};
pub use sqlstate::SqlState;
pub use value::{
    Array, DataType, EnumType, EnumValue, Inet, Interval, MAX_TIME_PRECISION, Numeric, RecordType,
    Value, user_array_oid,
};
