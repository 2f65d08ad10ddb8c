//! Bound expressions: names resolved to column positions, functions to implementations,
//! and implicit casts made explicit. The executor evaluates them against a row.

use std::sync::Arc;

use oxibase_common::{DataType, Value};

use super::Plan;
use crate::functions::scalar::ScalarFunction;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

impl CmpOp {
    /// The operator with its operands swapped (`a < b` is `b > a`).
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            other => other,
        }
    }

    /// Whether the comparison holds for two values that compare as `ord`.
    pub fn holds(self, ord: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            CmpOp::Eq => ord == Equal,
            CmpOp::NotEq => ord != Equal,
            CmpOp::Lt => ord == Less,
            CmpOp::LtEq => ord != Greater,
            CmpOp::Gt => ord == Greater,
            CmpOp::GtEq => ord != Less,
        }
    }

    /// The SQL spelling.
    pub fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// An arithmetic or other binary operator evaluated on the operands' runtime types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `||`
    Concat,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `#`
    BitXor,
    /// `<<`
    ShiftLeft,
    /// `>>`
    ShiftRight,
    /// `->` (json field or element, as json)
    JsonGet,
    /// `->>` (json field or element, as text)
    JsonGetText,
    /// `#>` (json path, as json)
    JsonPath,
    /// `#>>` (json path, as text)
    JsonPathText,
    /// `@>` (contains)
    Contains,
    /// `<@` (is contained by)
    ContainedBy,
    /// `?` (jsonb key exists)
    JsonExists,
    /// `?|` (any of the keys exists)
    JsonExistsAny,
    /// `?&` (all of the keys exist)
    JsonExistsAll,
    /// `&&` (arrays overlap)
    Overlap,
}

impl BinOp {
    /// The operator as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Concat => "||",
            BinOp::BitAnd => "&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "#",
            BinOp::ShiftLeft => "<<",
            BinOp::ShiftRight => ">>",
            BinOp::JsonGet => "->",
            BinOp::JsonGetText => "->>",
            BinOp::JsonPath => "#>",
            BinOp::JsonPathText => "#>>",
            BinOp::Contains => "@>",
            BinOp::ContainedBy => "<@",
            BinOp::JsonExists => "?",
            BinOp::JsonExistsAny => "?|",
            BinOp::JsonExistsAll => "?&",
            BinOp::Overlap => "&&",
        }
    }
}

/// What a subquery expression asks of its subquery.
#[derive(Clone, Debug)]
pub enum SubqueryKind {
    /// `(SELECT ...)`: its single value, or NULL with no rows.
    Scalar,
    /// `EXISTS (SELECT ...)`
    Exists,
    /// `x IN (SELECT ...)`, or with `negated`, `NOT IN`.
    In {
        /// The tested value.
        expr: Box<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `(a, b) IN (SELECT x, y ...)`, or with `negated`, `NOT IN`: the row equals one of the
    /// subquery's rows (NULL where no row matches but a comparison was NULL).
    InRow {
        /// The tested row's values.
        exprs: Vec<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `x op ANY (SELECT ...)`
    Any {
        /// The tested value.
        expr: Box<Expr>,
        /// The comparison.
        op: CmpOp,
    },
    /// `x op ALL (SELECT ...)`
    All {
        /// The tested value.
        expr: Box<Expr>,
        /// The comparison.
        op: CmpOp,
    },
    /// `ARRAY(SELECT ...)`
    Array,
}

/// A bound expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A constant.
    Literal(Value),
    /// A column of the input row.
    Column(usize),
    /// A column of an enclosing query's current row (`depth` 0 is the nearest).
    Outer {
        /// How many query levels out.
        depth: usize,
        /// The column position in that level's row.
        index: usize,
    },
    /// A statement parameter (`$1` is 0).
    Param(usize),
    /// `NOT x`
    Not(Box<Expr>),
    /// `-x`
    Negate(Box<Expr>),
    /// `x AND y` (three-valued)
    And(Box<Expr>, Box<Expr>),
    /// `x OR y` (three-valued)
    Or(Box<Expr>, Box<Expr>),
    /// A comparison.
    Compare(CmpOp, Box<Expr>, Box<Expr>),
    /// An arithmetic or other binary operator.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL`
    IsNull(Box<Expr>, bool),
    /// `x IS [NOT] TRUE/FALSE/UNKNOWN`: the tested value (None for UNKNOWN) and negation.
    IsBool(Box<Expr>, Option<bool>, bool),
    /// `x IS [NOT] DISTINCT FROM y`
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    /// `x [NOT] [I]LIKE pattern [ESCAPE e]`
    Like {
        /// The tested string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character (default backslash).
        escape: Option<Box<Expr>>,
        /// ILIKE.
        case_insensitive: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// `x [NOT] SIMILAR TO pattern`
    Similar {
        /// The tested string.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character.
        escape: Option<Box<Expr>>,
        /// NOT SIMILAR TO.
        negated: bool,
    },
    /// `x ~ pattern`, `~*`, `!~`, `!~*`
    Regex {
        /// The tested string.
        expr: Box<Expr>,
        /// The regular expression.
        pattern: Box<Expr>,
        /// `~*`
        case_insensitive: bool,
        /// `!~`
        negated: bool,
    },
    /// `x [NOT] IN (a, b, ...)`
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// The elements of an array as the values of a key lookup (only in a scan's key range,
    /// see [`crate::plan::KeyRange::is_set`]); evaluated alone, the array itself.
    KeySet(Box<Expr>),
    /// `x op ANY/ALL (array)`
    ArrayCompare {
        /// The tested value.
        expr: Box<Expr>,
        /// The comparison.
        op: CmpOp,
        /// The array.
        array: Box<Expr>,
        /// ALL instead of ANY.
        all: bool,
    },
    /// `CASE [operand] WHEN ... THEN ... [ELSE ...] END`
    Case {
        /// The simple CASE operand.
        operand: Option<Box<Expr>>,
        /// (condition or value, result) pairs.
        whens: Vec<(Expr, Expr)>,
        /// The ELSE result.
        otherwise: Option<Box<Expr>>,
    },
    /// An explicit or implicit cast.
    Cast(Box<Expr>, DataType),
    /// A cast storing into a column (length limits are errors).
    AssignCast(Box<Expr>, DataType),
    /// A value of a domain's base type checked against the domain's constraints (a cast to
    /// the domain, or a value stored in a column of it): PostgreSQL's CoerceToDomain.
    Domain(Box<Expr>, Arc<crate::catalog::Domain>),
    /// A built-in scalar function.
    Call(ScalarFunction, Vec<Expr>),
    /// A stored function (a Wasm routine), its arguments cast to the declared types.
    Routine(Arc<crate::procedure::Routine>, Vec<Expr>),
    /// `COALESCE(...)`
    Coalesce(Vec<Expr>),
    /// `NULLIF(a, b)`
    NullIf(Box<Expr>, Box<Expr>),
    /// `GREATEST(...)` or, with `false`, `LEAST(...)`.
    Extreme(Vec<Expr>, bool),
    /// `ARRAY[...]` with its element type.
    Array(Vec<Expr>, DataType),
    /// `a[i]`
    Subscript(Box<Expr>, Box<Expr>),
    /// A `record` of the fields: `ROW(a, b)`, or a whole-row reference `t`, which is NULL
    /// where an outer join NULL-extended t's row.
    Row(Vec<Expr>, RowNull),
    /// Field `i` of a record, `(r).name` (NULL for a NULL record).
    Field(Box<Expr>, usize),
    /// A subquery.
    Subquery {
        /// The subquery's plan.
        plan: Arc<Plan>,
        /// What is asked of it.
        kind: SubqueryKind,
        /// Whether it refers to outer columns (if not, it runs once per statement).
        correlated: bool,
        /// A statement-unique id, for caching uncorrelated results.
        id: usize,
    },
}

/// When a whole-row reference is NULL rather than a record of NULLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowNull {
    /// Never (a row constructor; a relation no outer join NULL-extends).
    Never,
    /// When this field, the relation's primary key, is NULL: only a NULL-extended row has
    /// no key.
    Key(usize),
    /// When every field is NULL (a relation without a key on the NULL-extended side of an
    /// outer join; a real row of NULLs there reads as NULL too).
    AllNull,
}

impl Expr {
    /// Shorthand for a literal.
    pub fn lit(v: impl Into<Value>) -> Expr {
        Expr::Literal(v.into())
    }

    /// True when the expression reads no column, parameter or subquery.
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.walk(&mut |e| {
            if matches!(
                e,
                Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_) | Expr::Subquery { .. }
            ) {
                constant = false;
            }
            if let Expr::Call(f, _) = e
                && !f.immutable
            {
                constant = false;
            }
            if matches!(e, Expr::Routine(..)) {
                constant = false;
            }
        });
        constant
    }

    /// The columns of the input row the expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(i) = e
                && !out.contains(i)
            {
                out.push(*i);
            }
        });
        out
    }

    /// True when the expression refers to an enclosing query (a correlated subquery body).
    pub fn has_outer(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| found |= matches!(e, Expr::Outer { .. }));
        found
    }

    /// Visits every node, depth first (not descending into subquery plans).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        for child in self.children() {
            child.walk(f);
        }
    }

    /// The direct children.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Literal(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_) => vec![],
            Expr::Not(e)
            | Expr::KeySet(e)
            | Expr::Negate(e)
            | Expr::IsNull(e, _)
            | Expr::IsBool(e, _, _)
            | Expr::Cast(e, _)
            | Expr::AssignCast(e, _)
            | Expr::Domain(e, _)
            | Expr::Field(e, _) => {
                vec![e]
            }
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Compare(_, a, b)
            | Expr::Binary(_, a, b)
            | Expr::IsDistinct(a, b, _)
            | Expr::NullIf(a, b)
            | Expr::Subscript(a, b) => vec![a, b],
            Expr::Like { expr, pattern, escape, .. }
            | Expr::Similar { expr, pattern, escape, .. } => {
                let mut v: Vec<&Expr> = vec![expr, pattern];
                v.extend(escape.as_deref());
                v
            }
            Expr::Regex { expr, pattern, .. } => vec![expr, pattern],
            Expr::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
            Expr::ArrayCompare { expr, array, .. } => vec![expr, array],
            Expr::Case { operand, whens, otherwise } => {
                let mut v: Vec<&Expr> = operand.as_deref().into_iter().collect();
                for (w, t) in whens {
                    v.push(w);
                    v.push(t);
                }
                v.extend(otherwise.as_deref());
                v
            }
            Expr::Call(_, args)
            | Expr::Routine(_, args)
            | Expr::Coalesce(args)
            | Expr::Extreme(args, _)
            | Expr::Array(args, _)
            | Expr::Row(args, _) => args.iter().collect(),
            Expr::Subquery { kind, .. } => match kind {
                SubqueryKind::In { expr, .. }
                | SubqueryKind::Any { expr, .. }
                | SubqueryKind::All { expr, .. } => vec![expr],
                SubqueryKind::InRow { exprs, .. } => exprs.iter().collect(),
                _ => vec![],
            },
        }
    }

    /// Rewrites the expression bottom-up.
    pub fn transform(self, f: &mut dyn FnMut(Expr) -> Expr) -> Expr {
        let b = |e: Box<Expr>, f: &mut dyn FnMut(Expr) -> Expr| Box::new(e.transform(f));
        let v = |es: Vec<Expr>, f: &mut dyn FnMut(Expr) -> Expr| {
            es.into_iter().map(|e| e.transform(f)).collect::<Vec<_>>()
        };
        let node = match self {
            e @ (Expr::Literal(_) | Expr::Column(_) | Expr::Outer { .. } | Expr::Param(_)) => e,
            Expr::Not(e) => Expr::Not(b(e, f)),
            Expr::KeySet(e) => Expr::KeySet(b(e, f)),
            Expr::Negate(e) => Expr::Negate(b(e, f)),
            Expr::And(x, y) => Expr::And(b(x, f), b(y, f)),
            Expr::Or(x, y) => Expr::Or(b(x, f), b(y, f)),
            Expr::Compare(op, x, y) => Expr::Compare(op, b(x, f), b(y, f)),
            Expr::Binary(op, x, y) => Expr::Binary(op, b(x, f), b(y, f)),
            Expr::IsNull(e, n) => Expr::IsNull(b(e, f), n),
            Expr::IsBool(e, t, n) => Expr::IsBool(b(e, f), t, n),
            Expr::IsDistinct(x, y, n) => Expr::IsDistinct(b(x, f), b(y, f), n),
            Expr::Like { expr, pattern, escape, case_insensitive, negated } => Expr::Like {
                expr: b(expr, f),
                pattern: b(pattern, f),
                escape: escape.map(|e| b(e, f)),
                case_insensitive,
                negated,
            },
            Expr::Similar { expr, pattern, escape, negated } => Expr::Similar {
                expr: b(expr, f),
                pattern: b(pattern, f),
                escape: escape.map(|e| b(e, f)),
                negated,
            },
            Expr::Regex { expr, pattern, case_insensitive, negated } => {
                Expr::Regex { expr: b(expr, f), pattern: b(pattern, f), case_insensitive, negated }
            }
            Expr::InList { expr, list, negated } => {
                Expr::InList { expr: b(expr, f), list: v(list, f), negated }
            }
            Expr::ArrayCompare { expr, op, array, all } => {
                Expr::ArrayCompare { expr: b(expr, f), op, array: b(array, f), all }
            }
            Expr::Case { operand, whens, otherwise } => Expr::Case {
                operand: operand.map(|e| b(e, f)),
                whens: whens.into_iter().map(|(w, t)| (w.transform(f), t.transform(f))).collect(),
                otherwise: otherwise.map(|e| b(e, f)),
            },
            Expr::Cast(e, t) => Expr::Cast(b(e, f), t),
            Expr::AssignCast(e, t) => Expr::AssignCast(b(e, f), t),
            Expr::Domain(e, d) => Expr::Domain(b(e, f), d),
            Expr::Call(func, args) => Expr::Call(func, v(args, f)),
            Expr::Routine(routine, args) => Expr::Routine(routine, v(args, f)),
            Expr::Coalesce(args) => Expr::Coalesce(v(args, f)),
            Expr::NullIf(x, y) => Expr::NullIf(b(x, f), b(y, f)),
            Expr::Extreme(args, greatest) => Expr::Extreme(v(args, f), greatest),
            Expr::Array(args, t) => Expr::Array(v(args, f), t),
            Expr::Subscript(x, y) => Expr::Subscript(b(x, f), b(y, f)),
            Expr::Row(args, key) => Expr::Row(v(args, f), key),
            Expr::Field(e, i) => Expr::Field(b(e, f), i),
            Expr::Subquery { plan, kind, correlated, id } => {
                let kind = match kind {
                    SubqueryKind::In { expr, negated } => {
                        SubqueryKind::In { expr: b(expr, f), negated }
                    }
                    SubqueryKind::InRow { exprs, negated } => {
                        SubqueryKind::InRow { exprs: v(exprs, f), negated }
                    }
                    SubqueryKind::Any { expr, op } => SubqueryKind::Any { expr: b(expr, f), op },
                    SubqueryKind::All { expr, op } => SubqueryKind::All { expr: b(expr, f), op },
                    k => k,
                };
                Expr::Subquery { plan, kind, correlated, id }
            }
        };
        f(node)
    }

    /// Shifts every column reference by `offset` (when the input row gains columns in front).
    pub fn shift_columns(self, offset: isize) -> Expr {
        self.transform(&mut |e| match e {
            Expr::Column(i) => Expr::Column((i as isize + offset) as usize),
            e => e,
        })
    }

    /// Renumbers column references through a map (old position → new position).
    pub fn remap_columns(self, map: &dyn Fn(usize) -> usize) -> Expr {
        self.transform(&mut |e| match e {
            Expr::Column(i) => Expr::Column(map(i)),
            e => e,
        })
    }

    /// Splits a conjunction into its conjuncts.
    pub fn conjuncts(self) -> Vec<Expr> {
        match self {
            Expr::And(a, b) => {
                let mut v = a.conjuncts();
                v.extend(b.conjuncts());
                v
            }
            e => vec![e],
        }
    }

    /// Joins conjuncts with AND (None for none).
    pub fn and_all(exprs: Vec<Expr>) -> Option<Expr> {
        exprs.into_iter().reduce(|a, b| Expr::And(Box::new(a), Box::new(b)))
    }
}
