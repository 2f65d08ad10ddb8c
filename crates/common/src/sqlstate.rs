//! PostgreSQL SQLSTATE codes.
//!
//! Every error Oxibase reports carries one of these five-character codes so that drivers and
//! applications written for PostgreSQL react to it the same way (retry on `40001`, report a
//! constraint violation on `23505`, ...). The names and values follow the table in the
//! PostgreSQL documentation, appendix A ("PostgreSQL Error Codes").

use std::fmt;

/// A five-character SQLSTATE code, e.g. `40001` (serialization_failure).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// Builds a code from its five ASCII characters.
    pub const fn new(code: &[u8; 5]) -> Self {
        Self(*code)
    }

    /// Builds a code from a five-character literal (used by the constants below).
    const fn from_str_const(code: &str) -> Self {
        let b = code.as_bytes();
        Self([b[0], b[1], b[2], b[3], b[4]])
    }

    /// A code written as five digits or upper-case letters (`RAISE SQLSTATE '22012'`).
    pub fn parse(code: &str) -> Option<SqlState> {
        let bytes: [u8; 5] = code.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            .then_some(SqlState(bytes))
    }

    /// The class: the first two characters (`23` of `23505`).
    pub fn class(&self) -> &str {
        self.as_str().get(..2).unwrap_or("XX")
    }

    /// The code as text, e.g. `"40001"`.
    pub fn as_str(&self) -> &str {
        // NB: every constructor takes ASCII literals, so this never fails; fall back defensively.
        std::str::from_utf8(&self.0).unwrap_or("XX000")
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.as_str())
    }
}

macro_rules! codes {
    ($($name:ident = $code:literal;)*) => {
        impl SqlState {
            $(
                #[doc = concat!("SQLSTATE `", $code, "`.")]
                pub const $name: SqlState = SqlState::from_str_const($code);
            )*

            /// The code of a PostgreSQL condition name (`unique_violation`, any case), as
            /// PL/pgSQL's exception handlers and RAISE name them.
            pub fn from_name(name: &str) -> Option<SqlState> {
                [$((stringify!($name), SqlState::$name)),*]
                    .into_iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, code)| code)
            }
        }
    };
}

codes! {
    SUCCESSFUL_COMPLETION = "00000";
    WARNING = "01000";
    FEATURE_NOT_SUPPORTED = "0A000";
    INVALID_TRANSACTION_INITIATION = "0B000";
    CARDINALITY_VIOLATION = "21000";
    DATA_EXCEPTION = "22000";
    STRING_DATA_RIGHT_TRUNCATION = "22001";
    NULL_VALUE_NOT_ALLOWED = "22004";
    INVALID_DATETIME_FORMAT = "22007";
    DATETIME_FIELD_OVERFLOW = "22008";
    ARRAY_SUBSCRIPT_ERROR = "2202E";
    NUMERIC_VALUE_OUT_OF_RANGE = "22003";
    SEQUENCE_GENERATOR_LIMIT_EXCEEDED = "2200H";
    DIVISION_BY_ZERO = "22012";
    SUBSTRING_ERROR = "22011";
    INVALID_REGULAR_EXPRESSION = "2201B";
    INVALID_ESCAPE_SEQUENCE = "22025";
    INVALID_ARGUMENT_FOR_LOGARITHM = "2201E";
    INVALID_ARGUMENT_FOR_POWER_FUNCTION = "2201F";
    ZERO_LENGTH_CHARACTER_STRING = "2200F";
    INVALID_PARAMETER_VALUE = "22023";
    INVALID_PRECEDING_OR_FOLLOWING_SIZE = "22013";
    INVALID_TEXT_REPRESENTATION = "22P02";
    INVALID_BINARY_REPRESENTATION = "22P03";
    BAD_COPY_FILE_FORMAT = "22P04";
    UNTRANSLATABLE_CHARACTER = "22P05";
    INVALID_JSON_TEXT = "22032";
    INVALID_OBJECT_DEFINITION = "42P17";
    INVALID_SQL_JSON_SUBSCRIPT = "22033";
    NON_NUMERIC_SQL_JSON_ITEM = "22036";
    SINGLETON_SQL_JSON_ITEM_REQUIRED = "22038";
    SQL_JSON_ARRAY_NOT_FOUND = "22039";
    SQL_JSON_MEMBER_NOT_FOUND = "2203A";
    SQL_JSON_NUMBER_NOT_FOUND = "2203B";
    SQL_JSON_OBJECT_NOT_FOUND = "2203C";
    CHARACTER_NOT_IN_REPERTOIRE = "22021";
    INTEGRITY_CONSTRAINT_VIOLATION = "23000";
    RESTRICT_VIOLATION = "23001";
    NOT_NULL_VIOLATION = "23502";
    FOREIGN_KEY_VIOLATION = "23503";
    UNIQUE_VIOLATION = "23505";
    CHECK_VIOLATION = "23514";
    INVALID_CURSOR_STATE = "24000";
    INVALID_TRANSACTION_STATE = "25000";
    ACTIVE_SQL_TRANSACTION = "25001";
    NO_ACTIVE_SQL_TRANSACTION = "25P01";
    IN_FAILED_SQL_TRANSACTION = "25P02";
    READ_ONLY_SQL_TRANSACTION = "25006";
    INVALID_AUTHORIZATION_SPECIFICATION = "28000";
    INVALID_PASSWORD = "28P01";
    INVALID_GRANT_OPERATION = "0LP01";
    INVALID_GRANTOR = "0L000";
    RESERVED_NAME = "42939";
    WITH_CHECK_OPTION_VIOLATION = "44000";
    INVALID_SAVEPOINT_SPECIFICATION = "3B001";
    INVALID_CATALOG_NAME = "3D000";
    INVALID_SCHEMA_NAME = "3F000";
    TRANSACTION_ROLLBACK = "40000";
    SERIALIZATION_FAILURE = "40001";
    DEADLOCK_DETECTED = "40P01";
    SYNTAX_ERROR = "42601";
    INSUFFICIENT_PRIVILEGE = "42501";
    UNDEFINED_COLUMN = "42703";
    GROUPING_ERROR = "42803";
    WINDOWING_ERROR = "42P20";
    UNDEFINED_PARAMETER = "42P02";
    INVALID_COLUMN_REFERENCE = "42P10";
    INVALID_RECURSION = "42P19";
    INVALID_FOREIGN_KEY = "42830";
    DUPLICATE_ALIAS = "42712";
    INVALID_PREPARED_STATEMENT_DEFINITION = "42P14";
    UNDEFINED_PSTATEMENT = "26000";
    DUPLICATE_PSTATEMENT = "42P05";
    INVALID_ROW_COUNT_IN_LIMIT_CLAUSE = "2201W";
    INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE = "2201X";
    GENERATED_ALWAYS = "428C9";
    INVALID_TRANSACTION_TERMINATION = "2D000";
    UNDEFINED_TABLE = "42P01";
    UNDEFINED_FUNCTION = "42883";
    UNDEFINED_OBJECT = "42704";
    DUPLICATE_COLUMN = "42701";
    DUPLICATE_TABLE = "42P07";
    DUPLICATE_OBJECT = "42710";
    DUPLICATE_SCHEMA = "42P06";
    AMBIGUOUS_COLUMN = "42702";
    DATATYPE_MISMATCH = "42804";
    CANNOT_COERCE = "42846";
    WRONG_OBJECT_TYPE = "42809";
    INVALID_TABLE_DEFINITION = "42P16";
    DEPENDENT_OBJECTS_STILL_EXIST = "2BP01";
    PROGRAM_LIMIT_EXCEEDED = "54000";
    TOO_MANY_COLUMNS = "54011";
    OBJECT_NOT_IN_PREREQUISITE_STATE = "55000";
    LOCK_NOT_AVAILABLE = "55P03";
    OBJECT_IN_USE = "55006";
    CANT_CHANGE_RUNTIME_PARAM = "55P02";
    INVALID_NAME = "42602";
    CONNECTION_EXCEPTION = "08000";
    CONNECTION_FAILURE = "08006";
    PROTOCOL_VIOLATION = "08P01";
    TOO_MANY_CONNECTIONS = "53300";
    OUT_OF_MEMORY = "53200";
    INVALID_CURSOR_NAME = "34000";
    DUPLICATE_CURSOR = "42P03";
    INVALID_CURSOR_DEFINITION = "42P11";
    DUPLICATE_FUNCTION = "42723";
    STATEMENT_TOO_COMPLEX = "54001";
    INVALID_FUNCTION_DEFINITION = "42P13";
    RAISE_EXCEPTION = "P0001";
    NO_DATA_FOUND = "P0002";
    TOO_MANY_ROWS = "P0003";
    ASSERT_FAILURE = "P0004";
    EXTERNAL_ROUTINE_EXCEPTION = "38000";
    EXTERNAL_ROUTINE_INVOCATION_EXCEPTION = "39000";
    CANNOT_CONNECT_NOW = "57P03";
    IDLE_IN_TRANSACTION_SESSION_TIMEOUT = "25P03";
    QUERY_CANCELED = "57014";
    ADMIN_SHUTDOWN = "57P01";
    IO_ERROR = "58030";
    CONFIG_FILE_ERROR = "F0000";
    SNAPSHOT_TOO_OLD = "72000";
    INTERNAL_ERROR = "XX000";
    DATA_CORRUPTED = "XX001";
}
