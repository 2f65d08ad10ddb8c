//! System, session, sequence, array and catalog-helper functions.

use oxibase_common::{Array, DataType, Result, Value, errinput};

use super::scalar::{Resolved, ScalarFunction, fixed, int, intern, lenient, text, volatile};
use super::{AdvisoryAction, AdvisoryOp, FunctionEnv, SequenceOp, SessionValue};
use crate::types::SqlType;

use DataType::{Bool, Float8, Int4, Int8, Text, Uuid};

/// Resolves a system or array function.
pub fn resolve(name: &str, args: &[SqlType]) -> Option<Resolved> {
    let f = |eval, params: &[DataType], ret| fixed(intern(name), eval, args, params, ret);
    let stable = |eval, params: &[DataType], ret| f(eval, params, ret).map(volatile);
    let array_arg = || match args.first() {
        Some(SqlType::Known(t @ DataType::Array(_))) => Some(t.clone()),
        _ => None,
    };
    let element_of = |t: &DataType| match t {
        DataType::Array(e) => (**e).clone(),
        other => other.clone(),
    };
    match (name, args.len()) {
        ("version", 0) => f(version, &[], Text),
        ("current_user" | "user" | "current_role", 0) => stable(current_user, &[], Text),
        ("session_user", 0) => {
            stable(|_, env| env.session_value(SessionValue::SessionUser), &[], Text)
        }
        ("current_database" | "current_catalog", 0) => stable(current_database, &[], Text),
        ("current_schema", 0) => stable(current_schema, &[], Text),
        ("current_schemas", 1) => stable(current_schemas, &[Bool], DataType::Array(Box::new(Text))),
        ("pg_backend_pid", 0) => stable(backend_pid, &[], Int4),
        ("pg_cancel_backend", 1) => stable(cancel_backend, &[Int4], Bool),
        ("pg_terminate_backend", 1 | 2) => {
            stable(terminate_backend, &[Int4, Int8][..args.len()], Bool)
        }
        ("pg_promote", 0..=2) => stable(promote, &[Bool, Int4][..args.len()], Bool),
        ("oxibase_debug_start", 1) => stable(debug_start, &[Text], Text),
        ("oxibase_debug_step", 2) => stable(debug_step, &[Int4, Text], Text),
        ("oxibase_debug_breakpoint", 3) => stable(debug_breakpoint, &[Int4, Int4, Int4], Text),
        ("oxibase_debug_state", 1) => stable(debug_state, &[Int4], Text),
        ("oxibase_debug_end", 2) => stable(debug_end, &[Int4, Bool], Text),
        ("pg_blocking_pids", 1) => stable(blocking_pids, &[Int4], DataType::Array(Box::new(Int4))),
        ("txid_current" | "pg_current_xact_id", 0) => stable(txid_current, &[], Int8),
        ("pg_export_snapshot", 0) => {
            stable(|_, env| env.export_snapshot().map(Value::Text), &[], Text)
        }
        ("pg_typeof", 1) => Some(Resolved {
            function: ScalarFunction {
                name: "pg_typeof",
                eval: pg_typeof,
                strict: false,
                immutable: true,
            },
            return_type: Text,
            arg_types: vec![args[0].resolve()],
        })
        .map(|mut r| {
            // NB: the argument's type name is folded into a constant by the binder.
            r.arg_types = vec![Text];
            r
        }),
        ("current_setting", 1 | 2) => stable(current_setting, &[Text, Bool][..args.len()], Text),
        ("set_config", 3) => stable(set_config, &[Text, Text, Bool], Text),
        ("nextval", 1) => stable(nextval, &[Text], Int8),
        ("currval", 1) => stable(currval, &[Text], Int8),
        ("setval", 2 | 3) => stable(setval, &[Text, Int8, Bool][..args.len()], Int8),
        ("lastval", 0) => stable(lastval, &[], Int8),
        ("regclass_name", 1) => stable(regclass_name, &[Int8], Text),
        ("oxibase_vector_text", 1) => f(
            |a, _| match &a[0] {
                Value::Array(v) => Ok(Value::Text(crate::types::text::format_vector(v))),
                other => Ok(other.clone()),
            },
            &[array_arg()?],
            Text,
        ),
        ("oxibase_regclass_oid", 1) => stable(
            |a, env| match env.relation_oid_by_name(text(&a[0]))? {
                Some(oid) => Ok(Value::Int8(oid)),
                None => {
                    Err(errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", text(&a[0])))
                }
            },
            &[Text],
            Int8,
        ),
        ("oxibase_regtype_oid", 1) => stable(
            |a, env| match env.type_oid(text(&a[0]))? {
                Some(oid) => Ok(Value::Int8(oid)),
                None => Err(errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", text(&a[0]))),
            },
            &[Text],
            Int8,
        ),
        ("oxibase_regnamespace_oid", 1) => stable(
            |a, env| match env.schema_oid(text(&a[0]))? {
                Some(oid) => Ok(Value::Int8(oid)),
                None => {
                    Err(errinput!(INVALID_SCHEMA_NAME, "schema \"{}\" does not exist", text(&a[0])))
                }
            },
            &[Text],
            Int8,
        ),
        // A regproc column read as an oid (pg_dump's `prsstart::oid`): the built-in
        // functions such columns name have no pg_proc rows here, so 0 unless it is a number.
        ("oxibase_regproc_oid", 1) => {
            f(|a, _| Ok(Value::Int8(text(&a[0]).parse().unwrap_or(0))), &[Text], Int8)
        }
        ("gen_random_uuid" | "uuid_generate_v4", 0) => stable(gen_random_uuid, &[], Uuid),
        ("pg_sleep", 1) => stable(pg_sleep, &[Float8], Text),
        ("num_nulls" | "num_nonnulls", _) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            let eval: super::scalar::Eval =
                if name == "num_nulls" { num_nulls } else { num_nonnulls };
            f(eval, &params, Int4).map(lenient)
        }
        ("array_length", 2) => f(array_length, &[array_arg()?, Int4], Int4),
        ("array_upper", 2) => f(array_length, &[array_arg()?, Int4], Int4),
        ("array_lower", 2) => f(array_lower, &[array_arg()?, Int4], Int4),
        ("array_ndims", 1) => f(array_ndims, &[array_arg()?], Int4),
        ("array_dims", 1) => f(array_dims, &[array_arg()?], Text),
        ("cardinality", 1) => f(cardinality, &[array_arg()?], Int4),
        // GROUPING(), bound by the binder: (bitmap, width, positions...).
        ("grouping_bits", n) if n >= 3 => f(grouping_bits, &vec![Int8; n], Int4),
        // `arr[lo:hi]`, bound by the binder (an omitted bound is the i64 extreme).
        ("array_slice", 3) => {
            let arr = array_arg()?;
            f(array_slice, &[arr.clone(), Int8, Int8], arr)
        }
        ("array_append", 2) => {
            let arr = array_arg()?;
            f(array_append, &[arr.clone(), element_of(&arr)], arr).map(lenient)
        }
        ("array_prepend", 2) => {
            let arr = match args.get(1) {
                Some(SqlType::Known(t @ DataType::Array(_))) => t.clone(),
                _ => return None,
            };
            f(array_prepend, &[element_of(&arr), arr.clone()], arr).map(lenient)
        }
        ("array_cat", 2) => {
            let arr = array_arg()?;
            f(array_cat, &[arr.clone(), arr.clone()], arr).map(lenient)
        }
        ("array_positions", 2) => {
            let arr = array_arg()?;
            let ints = DataType::Array(Box::new(Int4));
            f(array_positions, &[arr.clone(), element_of(&arr)], ints).map(lenient)
        }
        ("array_position", 2) => {
            let arr = array_arg()?;
            f(array_position, &[arr.clone(), element_of(&arr)], Int4).map(lenient)
        }
        ("array_remove", 2) => {
            let arr = array_arg()?;
            f(array_remove, &[arr.clone(), element_of(&arr)], arr).map(lenient)
        }
        ("array_replace", 3) => {
            let arr = array_arg()?;
            let e = element_of(&arr);
            f(array_replace, &[arr.clone(), e.clone(), e], arr).map(lenient)
        }
        // Catalog helpers psql and drivers call.
        ("pg_get_userbyid", 1) => f(get_userbyid, &[Int8], Text),
        ("acldefault", 2) => stable(acldefault, &[Text, Int8], DataType::Array(Box::new(Text))),
        ("pg_table_is_visible", 1) => stable(
            |a, env| Ok(Value::Bool(!catalog_def(a, env, "table_visible")?.is_null())),
            &[Int8],
            Bool,
        ),
        (
            "pg_type_is_visible"
            | "pg_function_is_visible"
            | "pg_collation_is_visible"
            | "pg_operator_is_visible"
            | "pg_opclass_is_visible"
            | "pg_opfamily_is_visible"
            | "pg_conversion_is_visible"
            | "pg_statistics_obj_is_visible"
            | "pg_ts_config_is_visible"
            | "pg_ts_dict_is_visible"
            | "pg_ts_parser_is_visible"
            | "pg_ts_template_is_visible",
            1,
        ) => f(|_, _| Ok(Value::Bool(true)), &[Int8], Bool),
        (
            "has_table_privilege"
            | "has_schema_privilege"
            | "has_database_privilege"
            | "has_function_privilege"
            | "has_sequence_privilege"
            | "pg_has_role",
            2 | 3,
        )
        | ("has_column_privilege", 3 | 4) => {
            let params: Vec<DataType> = args
                .iter()
                .map(|a| match SqlType::resolve(a) {
                    // A literal names the object; oids and names are both taken.
                    DataType::Int4 | DataType::Int2 => Int8,
                    t => t,
                })
                .collect();
            let kind: &'static str = match name {
                "has_table_privilege" => "table",
                "has_schema_privilege" => "schema",
                "has_database_privilege" => "database",
                "has_function_privilege" => "function",
                "has_sequence_privilege" => "sequence",
                "has_column_privilege" => "column",
                _ => "role",
            };
            let call: fn(&[Value], &dyn FunctionEnv) -> Result<Value> = match kind {
                "table" => |a, env| env.has_privilege("table", a),
                "schema" => |a, env| env.has_privilege("schema", a),
                "database" => |a, env| env.has_privilege("database", a),
                "function" => |a, env| env.has_privilege("function", a),
                "sequence" => |a, env| env.has_privilege("sequence", a),
                "column" => |a, env| env.has_privilege("column", a),
                _ => |a, env| env.has_privilege("role", a),
            };
            stable(call, &params, Bool)
        }
        ("shobj_description", 2) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            f(|_, _| Ok(Value::Null), &params, Text)
        }
        // `oid::regdictionary`: a text search dictionary's name (its oid where none).
        ("oxibase_regdictionary_name", 1) => f(
            |a, _| {
                let Value::Int8(oid) = a[0] else { return Ok(Value::Null) };
                Ok(Value::Text(crate::system::ts_dictionary_name(oid).unwrap_or(oid.to_string())))
            },
            &[Int8],
            Text,
        ),
        // A regproc column (a built-in function by name here, `pg_ts_parser.prsstart`):
        // built-in functions carry no comment.
        ("obj_description", 2) if matches!(args.first(), Some(SqlType::Known(Text))) => {
            f(|_, _| Ok(Value::Null), &[Text, Text], Text)
        }
        ("obj_description", 1 | 2) => {
            let mut params = vec![Int8];
            params.extend(args.iter().skip(1).map(SqlType::resolve));
            stable(|a, env| catalog_def(a, env, "comment:0"), &params, Text)
        }
        ("col_description", 2) => stable(
            |a, env| {
                let sub = super::scalar::int(&a[1]);
                catalog_def(a, env, &format!("comment:{sub}"))
            },
            &[Int8, Int4],
            Text,
        ),
        ("pg_encoding_to_char", 1) => f(|_, _| Ok(Value::Text("UTF8".into())), &[Int4], Text),
        // The one encoding: UTF8 (PostgreSQL's number 6); other names are -1.
        ("pg_char_to_encoding", 1) => f(
            |a, _| {
                let utf8 = matches!(text(&a[0]).to_ascii_uppercase().as_str(), "UTF8" | "UTF-8");
                Ok(Value::Int4(if utf8 { 6 } else { -1 }))
            },
            &[Text],
            Int4,
        ),
        ("getdatabaseencoding", 0) => f(|_, _| Ok(Value::Text("UTF8".into())), &[], DataType::Name),
        ("pg_get_expr", 2 | 3) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            f(|a, _| Ok(a[0].clone()), &params, Text)
        }
        ("pg_size_pretty", 1) => f(size_pretty, &[Int8], Text),
        ("pg_get_function_result", 1) => {
            stable(|a, env| catalog_def(a, env, "function_result"), &[Int8], Text)
        }
        ("pg_get_function_arguments", 1) => {
            stable(|a, env| catalog_def(a, env, "function_arguments"), &[Int8], Text)
        }
        // The arguments that identify the function: no DEFAULTs.
        ("pg_get_function_identity_arguments", 1) => {
            stable(|a, env| catalog_def(a, env, "function_identity_arguments"), &[Int8], Text)
        }
        (
            "pg_get_function_result"
            | "pg_get_function_arguments"
            | "pg_get_function_identity_arguments"
            | "pg_get_function_sqlbody"
            | "pg_get_statisticsobjdef_columns"
            | "pg_get_ruledef"
            | "pg_get_partkeydef"
            | "pg_get_userbyid_or_null",
            1 | 2,
        ) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            f(|_, _| Ok(Value::Null), &params, Text)
        }
        ("pg_relation_is_publishable", 1) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            f(|_, _| Ok(Value::Bool(false)), &params, Bool)
        }
        ("to_regtype", 1) => stable(
            |a, env| {
                let Value::Text(name) = &a[0] else { return Ok(Value::Null) };
                Ok(env.type_oid(name)?.map_or(Value::Null, Value::Int8))
            },
            &[Text],
            Int8,
        ),
        ("format_type", 2) => {
            let mut r = f(format_type, &[Int8, Int4], Text)?;
            r.function.strict = false;
            Some(r)
        }
        ("pg_notify", 2) => {
            let mut r = stable(
                |a, env| {
                    let text = |v: &Value| match v {
                        Value::Text(s) => s.clone(),
                        _ => String::new(),
                    };
                    env.notify(&text(&a[0]), &text(&a[1]))?;
                    Ok(Value::Null)
                },
                &[Text, Text],
                Text,
            )?;
            r.function.strict = false;
            Some(r)
        }
        // Every tablespace is in the data directory: no location of its own (as pg_default).
        ("pg_tablespace_location", 1) => f(|_, _| Ok(Value::Text(String::new())), &[Int8], Text),
        // The database: by name (`\l+`) or by pg_database's oid.
        ("pg_database_size", 1) => {
            let param = oid_or_name(&args[0]);
            stable(
                |a, env| {
                    let current = env.session_value(SessionValue::Database)?;
                    let matches = match &a[0] {
                        Value::Int8(oid) => *oid == crate::system::DATABASE_OID,
                        name => *name == current,
                    };
                    if !matches {
                        return Err(errinput!(
                            INVALID_CATALOG_NAME,
                            "database {} does not exist",
                            match &a[0] {
                                Value::Int8(oid) => format!("with OID {oid}"),
                                other => format!("\"{}\"", text(other)),
                            }
                        ));
                    }
                    Ok(env.database_size()?.map_or(Value::Null, Value::Int8))
                },
                &[param],
                Int8,
            )
        }
        // pg_default holds the whole database; pg_global (PostgreSQL's shared catalogs) is
        // empty here.
        ("pg_tablespace_size", 1) => {
            let param = oid_or_name(&args[0]);
            stable(
                |a, env| {
                    let default = match &a[0] {
                        Value::Int8(1663) => true,
                        Value::Int8(1664) => false,
                        Value::Text(name) if name == "pg_default" => true,
                        Value::Text(name) if name == "pg_global" => false,
                        Value::Int8(oid) => {
                            return Err(errinput!(
                                UNDEFINED_OBJECT,
                                "tablespace with OID {oid} does not exist"
                            ));
                        }
                        other => {
                            return Err(errinput!(
                                UNDEFINED_OBJECT,
                                "tablespace \"{}\" does not exist",
                                text(other)
                            ));
                        }
                    };
                    if !default {
                        return Ok(Value::Int8(0));
                    }
                    Ok(env.database_size()?.map_or(Value::Null, Value::Int8))
                },
                &[param],
                Int8,
            )
        }
        ("pg_relation_size" | "pg_table_size", 1) => {
            stable(|a, env| relation_size(a, env, "relation"), &[Int8], Int8)
        }
        (n, 1 | 2) if advisory_op(n).is_some() => {
            let params = if args.len() == 1 { vec![Int8] } else { vec![Int4, Int4] };
            let ret =
                if advisory_op(n)?.action == AdvisoryAction::Lock { DataType::Text } else { Bool };
            let eval: super::scalar::Eval = match n {
                "pg_advisory_lock" => |a, env| advisory(a, env, "pg_advisory_lock"),
                "pg_advisory_lock_shared" => |a, env| advisory(a, env, "pg_advisory_lock_shared"),
                "pg_advisory_xact_lock" => |a, env| advisory(a, env, "pg_advisory_xact_lock"),
                "pg_advisory_xact_lock_shared" => {
                    |a, env| advisory(a, env, "pg_advisory_xact_lock_shared")
                }
                "pg_try_advisory_lock" => |a, env| advisory(a, env, "pg_try_advisory_lock"),
                "pg_try_advisory_lock_shared" => {
                    |a, env| advisory(a, env, "pg_try_advisory_lock_shared")
                }
                "pg_try_advisory_xact_lock" => {
                    |a, env| advisory(a, env, "pg_try_advisory_xact_lock")
                }
                "pg_try_advisory_xact_lock_shared" => {
                    |a, env| advisory(a, env, "pg_try_advisory_xact_lock_shared")
                }
                "pg_advisory_unlock" => |a, env| advisory(a, env, "pg_advisory_unlock"),
                _ => |a, env| advisory(a, env, "pg_advisory_unlock_shared"),
            };
            stable(eval, &params, ret).map(volatile)
        }
        ("pg_advisory_unlock_all", 0) => stable(
            |_, env| {
                let op =
                    AdvisoryOp { action: AdvisoryAction::UnlockAll, shared: false, xact: false };
                env.advisory(op, (0, false))?;
                Ok(Value::Text(String::new()))
            },
            &[],
            DataType::Text,
        )
        .map(volatile),
        ("pg_is_in_recovery", 0) => stable(|_, _| Ok(Value::Bool(false)), &[], Bool),
        // The table named in text (`attrelid::regclass::text`, as SQLAlchemy passes it).
        ("pg_get_serial_sequence", 2)
            if matches!(args[0].resolve(), Text | DataType::Varchar(_)) =>
        {
            stable(
                |a, env| {
                    let Some(table) = env.relation_oid_by_name(text(&a[0]))? else {
                        return Err(errinput!(
                            UNDEFINED_TABLE,
                            "relation \"{}\" does not exist",
                            text(&a[0])
                        ));
                    };
                    Ok(env.serial_sequence(table, text(&a[1]))?.map_or(Value::Null, Value::Text))
                },
                &[Text, Text],
                Text,
            )
        }
        ("pg_get_serial_sequence", 2) => stable(
            |a, env| {
                Ok(env.serial_sequence(int(&a[0]), text(&a[1]))?.map_or(Value::Null, Value::Text))
            },
            &[Int8, Text],
            Text,
        ),
        ("pg_indexes_size", 1) => stable(|a, env| relation_size(a, env, "indexes"), &[Int8], Int8),
        ("pg_total_relation_size", 1) => {
            stable(|a, env| relation_size(a, env, "total"), &[Int8], Int8)
        }
        ("pg_get_indexdef", 1 | 3) => {
            let params: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            let mut p = params.clone();
            p[0] = Int8;
            stable(|a, env| catalog_def(a, env, "index"), &p, Text)
        }
        ("pg_get_constraintdef", 1 | 2) => {
            let mut p: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            p[0] = Int8;
            stable(
                |a, env| {
                    // Pretty (the second argument true) drops the parentheses around a
                    // CHECK's expression, as PostgreSQL's deparser does.
                    let def = catalog_def(a, env, "constraint")?;
                    Ok(match (def, a.get(1)) {
                        (Value::Text(d), Some(Value::Bool(true))) => Value::Text(pretty_check(d)),
                        (def, _) => def,
                    })
                },
                &p,
                Text,
            )
        }
        ("pg_get_functiondef", 1) => {
            stable(|a, env| catalog_def(a, env, "functiondef"), &[Int8], Text)
        }
        ("pg_get_triggerdef", 1 | 2) => {
            let mut p: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            p[0] = Int8;
            stable(
                |a, env| {
                    // Pretty (psql's \d) names a table on the search path unqualified.
                    let pretty = matches!(a.get(1), Some(Value::Bool(true)));
                    catalog_def(a, env, if pretty { "trigger_pretty" } else { "trigger" })
                },
                &p,
                Text,
            )
        }
        ("pg_get_viewdef", 1 | 2) => {
            let mut p: Vec<DataType> = args.iter().map(SqlType::resolve).collect();
            p[0] = Int8;
            stable(|a, env| catalog_def(a, env, "view"), &p, Text)
        }
        ("pg_postmaster_start_time", 0) => stable(
            |_, env| Ok(Value::TimestampTz(env.transaction_ts())),
            &[],
            DataType::TimestampTz(None),
        ),
        _ => None,
    }
}

fn version(_: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Text(format!(
        "PostgreSQL 15.0 (Oxibase {}) on {}-linux, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )))
}

/// pg_get_userbyid: a role's name, `unknown (OID=n)` for none, as PostgreSQL's.
fn get_userbyid(args: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Int8(oid) = args[0] else { return Ok(Value::Null) };
    Ok(Value::Text(
        env.catalog_definition("role", oid)?.unwrap_or_else(|| format!("unknown (OID={oid})")),
    ))
}

/// acldefault(kind, owner): the privileges an object of the kind has before any GRANT
/// (what a NULL ACL stands for), as PostgreSQL's `aclitem[]` prints them. pg_dump compares
/// each object's ACL with it to write the GRANTs and REVOKEs that rebuild it.
fn acldefault(args: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let (Value::Text(kind), Value::Int8(owner)) = (&args[0], &args[1]) else {
        return Ok(Value::Null);
    };
    // The owner's privileges and PUBLIC's, in aclitem letters.
    let (owner_letters, public) = match kind.as_str() {
        "r" => ("arwdDxt", ""),
        "s" => ("rwU", ""),
        "n" => ("UC", ""),
        "f" => ("X", "X"),
        "d" => ("CTc", "Tc"),
        "T" | "l" => ("U", "U"),
        "F" | "S" => ("U", ""),
        "L" => ("rw", ""),
        "p" => ("sA", ""),
        "c" => ("", ""),
        other => {
            return Err(errinput!(
                INTERNAL_ERROR,
                "unrecognized object type abbreviation: {other}"
            ));
        }
    };
    let name = env.catalog_definition("role", *owner)?.unwrap_or_else(|| owner.to_string());
    let mut elements = Vec::new();
    if !public.is_empty() {
        elements.push(Value::Text(format!("={public}/{name}")));
    }
    if !owner_letters.is_empty() {
        elements.push(Value::Text(format!("{name}={owner_letters}/{name}")));
    }
    Ok(Value::Array(Box::new(Array { element_type: Text, elements })))
}

fn current_user(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.session_value(SessionValue::User)
}

fn current_database(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.session_value(SessionValue::Database)
}

fn current_schema(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.session_value(SessionValue::Schema)
}

fn current_schemas(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Array(mut path) = env.session_value(SessionValue::SearchPath)? else {
        return Ok(Value::Null);
    };
    let catalog = Value::Text("pg_catalog".into());
    if matches!(a[0], Value::Bool(true)) && !path.elements.contains(&catalog) {
        path.elements.insert(0, catalog);
    }
    Ok(Value::Array(path))
}

fn backend_pid(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.session_value(SessionValue::BackendPid)
}

fn cancel_backend(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Int4(pid) = a[0] else { return Ok(Value::Null) };
    Ok(Value::Bool(env.cancel_backend(pid)?))
}

fn terminate_backend(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Int4(pid) = a[0] else { return Ok(Value::Null) };
    let timeout = match a.get(1) {
        Some(Value::Int8(ms)) if *ms < 0 => {
            return Err(errinput!(INVALID_PARAMETER_VALUE, "\"timeout\" must not be negative"));
        }
        Some(Value::Int8(ms)) if *ms > 0 => Some(std::time::Duration::from_millis(*ms as u64)),
        _ => None,
    };
    Ok(Value::Bool(env.terminate_backend(pid, timeout)?))
}

/// `pg_promote([wait [, wait_seconds]])`: promotion here is immediate (the batch being
/// applied finishes first), so the arguments change nothing.
fn promote(_a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Bool(env.promote()?))
}

fn blocking_pids(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let Value::Int4(pid) = a[0] else { return Ok(Value::Null) };
    let elements = env.blocking_pids(pid)?.into_iter().map(Value::Int4).collect();
    Ok(Value::Array(Box::new(Array { element_type: Int4, elements })))
}

fn debug_op(env: &dyn FunctionEnv, op: Option<super::DebugOp>) -> Result<Value> {
    match op {
        Some(op) => env.debug(op).map(Value::Text),
        None => Ok(Value::Null),
    }
}

fn debug_start(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let op = match &a[0] {
        Value::Text(sql) => Some(super::DebugOp::Start(sql.clone())),
        _ => None,
    };
    debug_op(env, op)
}

fn debug_step(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let op = match (&a[0], &a[1]) {
        (Value::Int4(id), Value::Text(how)) => Some(super::DebugOp::Step(*id, how.clone())),
        _ => None,
    };
    debug_op(env, op)
}

fn debug_breakpoint(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let op = match (&a[0], &a[1], &a[2]) {
        (Value::Int4(id), Value::Int4(f), Value::Int4(pc)) => {
            Some(super::DebugOp::Breakpoint(*id, *f, *pc))
        }
        _ => None,
    };
    debug_op(env, op)
}

fn debug_state(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let op = match &a[0] {
        Value::Int4(id) => Some(super::DebugOp::State(*id)),
        _ => None,
    };
    debug_op(env, op)
}

fn debug_end(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let op = match (&a[0], &a[1]) {
        (Value::Int4(id), Value::Bool(commit)) => Some(super::DebugOp::End(*id, *commit)),
        _ => None,
    };
    debug_op(env, op)
}

fn txid_current(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.session_value(SessionValue::TransactionId)
}

fn pg_typeof(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(a[0].clone())
}

fn current_setting(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let name = text(&a[0]);
    match env.setting(name)? {
        Some(v) => Ok(Value::Text(v)),
        None if matches!(a.get(1), Some(Value::Bool(true))) => Ok(Value::Null),
        None => Err(errinput!(UNDEFINED_OBJECT, "unrecognized configuration parameter \"{name}\"")),
    }
}

fn set_config(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    env.set_setting(text(&a[0]), text(&a[1]), matches!(a[2], Value::Bool(true)))?;
    Ok(a[1].clone())
}

fn nextval(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int8(env.sequence(SequenceOp::Next, text(&a[0]), None)?))
}

fn currval(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int8(env.sequence(SequenceOp::Current, text(&a[0]), None)?))
}

fn setval(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    // NB: setval(seq, n, false) means the next nextval returns n itself.
    let value = int(&a[1]);
    let called = a.get(2).is_none_or(|v| matches!(v, Value::Bool(true)));
    let op = if called { SequenceOp::Set } else { SequenceOp::SetNext };
    env.sequence(op, text(&a[0]), Some(value))?;
    Ok(Value::Int8(value))
}

fn lastval(_: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int8(env.sequence(SequenceOp::Last, "", None)?))
}

fn gen_random_uuid(_: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    Ok(Value::Uuid(bytes))
}

fn pg_sleep(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let deadline = std::time::Instant::now()
        + std::time::Duration::from_secs_f64(crate::types::compare::to_f64(&a[0]).clamp(0.0, 1e9));
    while std::time::Instant::now() < deadline {
        env.check_interrupt()?;
        let nap = (deadline - std::time::Instant::now()).min(std::time::Duration::from_millis(10));
        oxibase_common::worker::blocking(|| std::thread::sleep(nap));
    }
    Ok(Value::Text(String::new()))
}

fn num_nulls(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(a.iter().filter(|v| v.is_null()).count() as i32))
}

fn num_nonnulls(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(a.iter().filter(|v| !v.is_null()).count() as i32))
}

fn elements(v: &Value) -> Option<&Array> {
    match v {
        Value::Array(a) => Some(a),
        _ => None,
    }
}

fn array_length(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let arr = elements(&a[0]);
    Ok(match (arr, int(&a[1])) {
        (Some(arr), 1) if !arr.elements.is_empty() => Value::Int4(arr.elements.len() as i32),
        _ => Value::Null,
    })
}

fn array_lower(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match (elements(&a[0]), int(&a[1])) {
        (Some(arr), 1) if !arr.elements.is_empty() => Value::Int4(1),
        _ => Value::Null,
    })
}

fn array_ndims(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match elements(&a[0]) {
        Some(arr) if !arr.elements.is_empty() => Value::Int4(1),
        _ => Value::Null,
    })
}

fn array_dims(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(match elements(&a[0]) {
        Some(arr) if !arr.elements.is_empty() => Value::Text(format!("[1:{}]", arr.elements.len())),
        _ => Value::Null,
    })
}

fn grouping_bits(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let (bitmap, width) = (int(&a[0]), int(&a[1]));
    let bits = a[2..].iter().fold(0i32, |acc, p| {
        let bit = (bitmap >> (width - 1 - int(p))) & 1;
        (acc << 1) | bit as i32
    });
    Ok(Value::Int4(bits))
}

fn array_slice(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Some(arr) = elements(&a[0]) else { return Ok(Value::Null) };
    let (lo, hi) = (int(&a[1]).max(1), int(&a[2]).min(arr.elements.len() as i64));
    let picked =
        if lo > hi { Vec::new() } else { arr.elements[(lo - 1) as usize..hi as usize].to_vec() };
    Ok(with_elements(Some(arr), &a[0], picked))
}

fn cardinality(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    Ok(Value::Int4(elements(&a[0]).map_or(0, |arr| arr.elements.len()) as i32))
}

fn with_elements(template: Option<&Array>, fallback: &Value, elements: Vec<Value>) -> Value {
    let element_type = template.map_or_else(|| value_type(fallback), |t| t.element_type.clone());
    Value::Array(Box::new(Array { element_type, elements }))
}

/// The data type of a non-NULL value.
pub fn value_type(v: &Value) -> DataType {
    match v {
        Value::Bool(_) => Bool,
        Value::Int2(_) => DataType::Int2,
        Value::Int4(_) => Int4,
        Value::Int8(_) => Int8,
        Value::Float4(_) => DataType::Float4,
        Value::Float8(_) => Float8,
        Value::Numeric(_) => DataType::Numeric(None),
        Value::Bytea(_) => DataType::Bytea,
        Value::Date(_) => DataType::Date,
        Value::Time(_) => DataType::Time(None),
        Value::Timestamp(_) => DataType::Timestamp(None),
        Value::TimestampTz(_) => DataType::TimestampTz(None),
        Value::Interval(_) => DataType::Interval(None),
        Value::Uuid(_) => Uuid,
        Value::Json(_) => DataType::Json,
        Value::Jsonb(_) => DataType::Jsonb,
        Value::Array(a) => DataType::Array(Box::new(a.element_type.clone())),
        Value::Record(_) | Value::Inet(_) => v.data_type().unwrap_or(Text),
        // An enum value does not carry its type; its label is its text.
        Value::Text(_) | Value::Enum(_) | Value::Null => Text,
    }
}

fn array_append(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let arr = elements(&a[0]);
    let mut items = arr.map_or_else(Vec::new, |arr| arr.elements.clone());
    items.push(a[1].clone());
    Ok(with_elements(arr, &a[1], items))
}

fn array_prepend(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let arr = elements(&a[1]);
    let mut items = vec![a[0].clone()];
    items.extend(arr.map_or_else(Vec::new, |arr| arr.elements.clone()));
    Ok(with_elements(arr, &a[0], items))
}

fn array_cat(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    match (elements(&a[0]), elements(&a[1])) {
        (None, None) => Ok(Value::Null),
        (x, y) => {
            let mut items = x.map_or_else(Vec::new, |x| x.elements.clone());
            items.extend(y.map_or_else(Vec::new, |y| y.elements.clone()));
            Ok(with_elements(x.or(y), &Value::Null, items))
        }
    }
}

fn same_element(a: &Value, b: &Value) -> bool {
    match (a.is_null(), b.is_null()) {
        (true, true) => true,
        (false, false) => crate::types::compare::equal(a, b).unwrap_or(false),
        _ => false,
    }
}

fn array_position(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Some(arr) = elements(&a[0]) else { return Ok(Value::Null) };
    Ok(arr
        .elements
        .iter()
        .position(|e| same_element(e, &a[1]))
        .map_or(Value::Null, |i| Value::Int4(i as i32 + 1)))
}

fn array_positions(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Some(arr) = elements(&a[0]) else { return Ok(Value::Null) };
    let elements = (0..arr.elements.len())
        .filter(|&i| same_element(&arr.elements[i], &a[1]))
        .map(|i| Value::Int4(i as i32 + 1))
        .collect();
    Ok(Value::Array(Box::new(Array { element_type: Int4, elements })))
}

fn array_remove(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Some(arr) = elements(&a[0]) else { return Ok(Value::Null) };
    let items = arr.elements.iter().filter(|e| !same_element(e, &a[1])).cloned().collect();
    Ok(with_elements(Some(arr), &a[1], items))
}

fn array_replace(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let Some(arr) = elements(&a[0]) else { return Ok(Value::Null) };
    let items = arr
        .elements
        .iter()
        .map(|e| if same_element(e, &a[1]) { a[2].clone() } else { e.clone() })
        .collect();
    Ok(with_elements(Some(arr), &a[1], items))
}

fn size_pretty(a: &[Value], _: &dyn FunctionEnv) -> Result<Value> {
    let mut size = int(&a[0]) as f64;
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut unit = 0;
    while size.abs() >= 10240.0 && unit < units.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    Ok(Value::Text(format!("{} {}", size.round() as i64, units[unit])))
}

/// `oid::regclass` as text: the relation's name, or the number when there is none.
/// The operation of an advisory lock function, by name.
fn advisory_op(name: &str) -> Option<AdvisoryOp> {
    let (action, rest) = if let Some(r) = name.strip_prefix("pg_try_advisory_") {
        (AdvisoryAction::Try, r)
    } else if let Some(r) = name.strip_prefix("pg_advisory_unlock") {
        (AdvisoryAction::Unlock, r)
    } else if let Some(r) = name.strip_prefix("pg_advisory_") {
        (AdvisoryAction::Lock, r)
    } else {
        return None;
    };
    let (xact, rest) = match rest.strip_prefix("xact_") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let shared = match (action, rest) {
        (AdvisoryAction::Unlock, "") => false,
        (AdvisoryAction::Unlock, "_shared") => true,
        (AdvisoryAction::Unlock, _) => return None,
        (_, "lock") => false,
        (_, "lock_shared") => true,
        _ => return None,
    };
    if xact && action == AdvisoryAction::Unlock {
        return None;
    }
    Some(AdvisoryOp { action, shared, xact })
}

/// pg_advisory_lock(key) / (key1, key2) and the other advisory lock functions.
fn advisory(a: &[Value], env: &dyn FunctionEnv, name: &str) -> Result<Value> {
    let Some(op) = advisory_op(name) else { return Ok(Value::Null) };
    let key = match a {
        [k] => (int(k), false),
        [k1, k2] => ((int(k1) << 32) | (int(k2) & 0xffff_ffff), true),
        _ => return Ok(Value::Null),
    };
    let done = env.advisory(op, key)?;
    Ok(if op.action == AdvisoryAction::Lock {
        Value::Text(String::new())
    } else {
        Value::Bool(done)
    })
}

/// pg_relation_size and friends: NOTE that these are the bytes of the latest versions'
/// keys and values, not of pages on disk (the LSM compresses and shares them).
fn relation_size(a: &[Value], env: &dyn FunctionEnv, what: &str) -> Result<Value> {
    Ok(env.relation_size(int(&a[0]), what)?.map_or(Value::Null, Value::Int8))
}

fn regclass_name(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let oid = match &a[0] {
        Value::Int8(v) => *v,
        Value::Int4(v) => i64::from(*v),
        other => return Ok(other.clone()),
    };
    // InvalidOid prints as `-`, as regclassout does.
    if oid == 0 {
        return Ok(Value::Text("-".into()));
    }
    Ok(Value::Text(env.relation_name(oid)?.unwrap_or_else(|| oid.to_string())))
}

/// `CHECK ((expr)) ...` as `CHECK (expr) ...` when the inner parentheses enclose the whole
/// expression.
fn pretty_check(def: String) -> String {
    let Some(rest) = def.strip_prefix("CHECK (") else { return def };
    let (mut depth, mut quoted) = (0usize, false);
    for (i, ch) in rest.char_indices() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            // The first parenthesis closes here: it must end the expression.
            return match rest[i + 1..].strip_prefix(')') {
                Some(tail) if rest.starts_with('(') => format!("CHECK ({}){tail}", &rest[1..i]),
                _ => def,
            };
        }
    }
    def
}

fn catalog_def(a: &[Value], env: &dyn FunctionEnv, kind: &str) -> Result<Value> {
    let oid = match &a[0] {
        Value::Int8(v) => *v,
        Value::Int4(v) => i64::from(*v),
        _ => return Ok(Value::Null),
    };
    Ok(env.catalog_definition(kind, oid)?.map_or(Value::Null, Value::Text))
}

/// The parameter type of a function taking an object by oid or by name (pg_database_size,
/// pg_tablespace_size): an integer argument is an oid, anything else a name.
fn oid_or_name(arg: &SqlType) -> DataType {
    match arg.resolve() {
        DataType::Int2 | DataType::Int4 | DataType::Int8 | DataType::Oid => DataType::Int8,
        _ => DataType::Text,
    }
}

/// format_type(type oid, typmod): the type's SQL name with its modifiers.
fn format_type(a: &[Value], env: &dyn FunctionEnv) -> Result<Value> {
    let oid = match &a[0] {
        Value::Int8(v) => *v,
        Value::Int4(v) => i64::from(*v),
        _ => return Ok(Value::Null),
    };
    let typmod = match &a[1] {
        Value::Int4(v) => *v,
        Value::Int8(v) => *v as i32,
        _ => -1,
    };
    let Some(ty) = u32::try_from(oid).ok().and_then(crate::types::builtin_type_by_oid) else {
        if let Some(name) = env.catalog_definition("type", oid)? {
            return Ok(Value::Text(name));
        }
        return Ok(Value::Text(
            match oid {
                19 => "name",
                26 => "oid",
                2205 => "regclass",
                705 => "unknown",
                2249 => "record",
                2278 => "void",
                _ => "???",
            }
            .to_string(),
        ));
    };
    let with_mod = |t: &DataType| -> DataType {
        match t {
            DataType::Char(_) if typmod < 4 => DataType::Char(1),
            t => crate::types::with_type_modifier(t, typmod),
        }
    };
    let name = match &ty {
        DataType::Char(_) if typmod < 4 => "character".to_string(),
        DataType::Array(e) => format!("{}[]", with_mod(e).name()),
        t => with_mod(t).name(),
    };
    Ok(Value::Text(name))
}
