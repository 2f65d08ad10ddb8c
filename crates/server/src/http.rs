//! The HTTP API (axum).
//!
//! - `POST /v1/sql` with `{"sql": "...", "params": [...]}`: runs the statements (one
//!   statement when parameters are given) in a session of its own and answers
//!   `{"results": [{"columns": [...], "rows": [[...]], "tag": "SELECT 1"}]}`, or
//!   `{"error": {"code": "42P01", "message": ...}}` with status 400. Under scram
//!   authentication requests carry HTTP Basic credentials of a role.
//! - `POST /v1/call/{name}` with the arguments as a JSON array or an object by name: calls
//!   a stored function or procedure and answers `{"result": ...}` (rows as objects for a
//!   set-returning function).
//! - `GET /metrics`: Prometheus text.
//! - `GET /health`: `ok` while the database accepts writes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use oxibase_common::{Error, Result, Value, errinput};
use oxibase_sql::procedure::{Routine, RoutineKind};
use oxibase_sql::session::Output;
use oxibase_sql::types::datetime::Zone;
use oxibase_sql::types::text::format_value;
use serde_json::{Map, Value as Json, json};

use crate::{Auth, Server};

/// Starts the HTTP API; returns the address it listens on.
pub async fn listen(server: Arc<Server>, addr: SocketAddr) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| errinput!(IO_ERROR, "could not listen on {addr} for HTTP: {e}"))?;
    let local = listener.local_addr().map_err(|e| errinput!(IO_ERROR, "{e}"))?;
    let app = Router::new()
        .route("/v1/sql", post(sql))
        .route("/v1/call/{name}", post(call))
        .route("/metrics", get(metrics))
        .route("/health", get(health))
        .with_state(server);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(local)
}

fn error_json(e: &Error) -> Json {
    let mut m = Map::new();
    m.insert("code".into(), json!(e.code().as_str()));
    m.insert("message".into(), json!(e.message()));
    if let Some(d) = e.detail() {
        m.insert("detail".into(), json!(d));
    }
    if let Some(h) = e.hint() {
        m.insert("hint".into(), json!(h));
    }
    json!({ "error": Json::Object(m) })
}

fn bad_request(e: &Error) -> Response {
    let status = match e.code().as_str() {
        "28P01" | "28000" => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    (status, axum::Json(error_json(e))).into_response()
}

/// The role a request runs as: Basic credentials checked against the role's verifier
/// under scram; the bootstrap role (or the named one) under trust.
fn authenticate(server: &Server, headers: &HeaderMap) -> Result<String> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (u.to_string(), p.to_string())));
    match (server.auth, basic) {
        (Auth::Trust, None) => Ok(oxibase_sql::catalog::system::BOOTSTRAP_ROLE.to_string()),
        (Auth::Trust, Some((user, _))) if server.user_exists(&user) => Ok(user),
        (Auth::Scram, Some((user, password)))
            if server.user_exists(&user)
                && server
                    .password_of(&user)
                    .is_some_and(|v| oxibase_sql::auth::verify_password(&v, &password)) =>
        {
            Ok(user)
        }
        (_, Some((user, _))) => {
            Err(errinput!(INVALID_PASSWORD, "password authentication failed for user \"{user}\""))
        }
        (Auth::Scram, None) => Err(errinput!(
            INVALID_AUTHORIZATION_SPECIFICATION,
            "authentication required: send HTTP Basic credentials of a role"
        )),
    }
}

fn json_param(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Int8(i),
            (None, Some(f)) if n.to_string().contains(['e', 'E']) => Value::Float8(f),
            _ => match n.to_string().parse::<bigdecimal::BigDecimal>() {
                Ok(d) => Value::Numeric(Box::new(oxibase_common::value::Numeric::Finite(d))),
                Err(_) => Value::Text(n.to_string()),
            },
        },
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Jsonb(other.to_string()),
    }
}

/// A value as JSON: numbers stay numbers (numeric keeps its digits), json is embedded.
pub fn value_json(v: &Value, zone: &Zone) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int2(i) => json!(i),
        Value::Int4(i) => json!(i),
        Value::Int8(i) => json!(i),
        Value::Float4(f) if f.is_finite() => json!(f),
        Value::Float8(f) if f.is_finite() => json!(f),
        Value::Numeric(_) => {
            let text = format_value(v, zone).unwrap_or_default();
            text.parse::<serde_json::Number>().map_or(Json::String(text), Json::Number)
        }
        Value::Json(s) | Value::Jsonb(s) => {
            serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.clone()))
        }
        Value::Array(a) => Json::Array(a.elements.iter().map(|e| value_json(e, zone)).collect()),
        other => Json::String(format_value(other, zone).unwrap_or_default()),
    }
}

fn output_json(output: &Output, zone: &Zone) -> Json {
    match output {
        Output::Rows { columns, rows, tag } => json!({
            "columns": columns.iter().map(|c| json!({"name": c.name, "type": c.data_type.name()})).collect::<Vec<_>>(),
            "rows": rows.iter().map(|r| Json::Array(r.iter().map(|v| value_json(v, zone)).collect())).collect::<Vec<_>>(),
            "tag": tag,
        }),
        other => json!({ "tag": other.tag() }),
    }
}

async fn sql(State(server): State<Arc<Server>>, headers: HeaderMap, body: String) -> Response {
    let request: Json = match serde_json::from_str(&body) {
        Ok(j) => j,
        Err(e) => return bad_request(&errinput!(INVALID_JSON_TEXT, "invalid JSON request: {e}")),
    };
    let Some(sql) = request.get("sql").and_then(Json::as_str).map(str::to_string) else {
        return bad_request(&errinput!(
            INVALID_PARAMETER_VALUE,
            "the request needs a \"sql\" string"
        ));
    };
    let params: Option<Vec<Value>> =
        request.get("params").and_then(Json::as_array).map(|a| a.iter().map(json_param).collect());
    in_session(server, &headers, move |session, zone| match params {
        Some(params) => {
            let output = session.query(&sql, &params)?;
            Ok(json!({ "results": [output_json(&output, zone)] }))
        }
        None => {
            let mut results = Vec::new();
            for r in session.run_batch(&sql) {
                match r {
                    Ok(Output::CopyIn(_)) => {
                        return Err(errinput!(
                            FEATURE_NOT_SUPPORTED,
                            "COPY FROM STDIN is not available over HTTP"
                        ));
                    }
                    Ok(o) => results.push(output_json(&o, zone)),
                    Err(e) => {
                        let mut error = error_json(&e);
                        error["results"] = Json::Array(results);
                        return Ok(error);
                    }
                }
            }
            Ok(json!({ "results": results }))
        }
    })
    .await
}

/// Runs `f` with a session of the request's role on a blocking thread; answers its JSON
/// (status 400 when it holds an "error"), or the error as JSON with status 400.
async fn in_session(
    server: Arc<Server>,
    headers: &HeaderMap,
    f: impl FnOnce(&mut oxibase_sql::Session, &Zone) -> std::result::Result<Json, Error>
    + Send
    + 'static,
) -> Response {
    let user = match authenticate(&server, headers) {
        Ok(u) => u,
        Err(e) => return bad_request(&e),
    };
    let result = tokio::task::spawn_blocking(move || {
        let mut session = server.db.session_for(&user);
        session.check_connect()?;
        let zone = session.zone();
        f(&mut session, &zone)
    })
    .await;
    match result {
        Ok(Ok(j)) if j.get("error").is_some() => {
            (StatusCode::BAD_REQUEST, axum::Json(j)).into_response()
        }
        Ok(Ok(j)) => axum::Json(j).into_response(),
        Ok(Err(e)) => bad_request(&e),
        Err(e) => bad_request(&errinput!(INTERNAL_ERROR, "request failed: {e}")),
    }
}

/// `POST /v1/call/{name}`: calls a stored function or procedure with JSON arguments (an
/// array in order, an object by argument name, or `{"args": ...}` with either) and answers
/// `{"result": value}`, or `{"result": [row objects]}` for a set-returning function.
async fn call(
    State(server): State<Arc<Server>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request: Json = if body.trim().is_empty() {
        Json::Array(vec![])
    } else {
        match serde_json::from_str(&body) {
            Ok(j) => j,
            Err(e) => {
                return bad_request(&errinput!(INVALID_JSON_TEXT, "invalid JSON request: {e}"));
            }
        }
    };
    in_session(server, &headers, move |session, zone| {
        let routine = session.find_routine(&name)?.ok_or_else(|| {
            errinput!(UNDEFINED_FUNCTION, "function or procedure {name} does not exist")
        })?;
        let args = call_args(&routine, request)?;
        let quoted = format!(
            "\"{}\".\"{}\"",
            routine.schema.replace('"', "\"\""),
            routine.name.replace('"', "\"\"")
        );
        let placeholders: Vec<String> = routine
            .args
            .iter()
            .enumerate()
            .map(|(i, (_, t))| format!("${}::{}", i + 1, t.name()))
            .collect();
        let list = placeholders.join(", ");
        let sql = match (routine.kind, routine.returns.is_set()) {
            (RoutineKind::Procedure, _) => format!("CALL {quoted}({list})"),
            (_, true) => format!("SELECT * FROM {quoted}({list})"),
            (_, false) => format!("SELECT {quoted}({list})"),
        };
        let output = session.query(&sql, &args)?;
        Ok(match (routine.kind, routine.returns.is_set(), &output) {
            (RoutineKind::Function, true, Output::Rows { columns, rows, .. }) => {
                let objects = rows
                    .iter()
                    .map(|row| {
                        let mut object = serde_json::Map::new();
                        for (c, v) in columns.iter().zip(row) {
                            object.insert(c.name.clone(), value_json(v, zone));
                        }
                        Json::Object(object)
                    })
                    .collect();
                json!({ "result": Json::Array(objects) })
            }
            (RoutineKind::Function, false, Output::Rows { rows, .. }) => {
                let value = rows
                    .first()
                    .and_then(|r| r.first())
                    .map_or(Json::Null, |v| value_json(v, zone));
                json!({ "result": value })
            }
            _ => json!({ "result": Json::Null }),
        })
    })
    .await
}

/// A call's arguments from JSON, in the routine's order.
fn call_args(routine: &Routine, request: Json) -> std::result::Result<Vec<Value>, Error> {
    let request = match request {
        Json::Object(mut o) if o.len() == 1 && o.contains_key("args") => {
            o.remove("args").unwrap_or(Json::Null)
        }
        other => other,
    };
    let values: Vec<Json> = match request {
        Json::Array(items) => items,
        Json::Object(mut named) => {
            let mut values = Vec::new();
            for (arg, _) in &routine.args {
                values.push(named.remove(arg).ok_or_else(|| {
                    errinput!(
                        INVALID_PARAMETER_VALUE,
                        "argument \"{arg}\" of {} is missing",
                        routine.signature()
                    )
                })?);
            }
            if let Some(extra) = named.keys().next() {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "{} has no argument named \"{extra}\"",
                    routine.signature()
                ));
            }
            values
        }
        Json::Null => vec![],
        other => vec![other],
    };
    if values.len() != routine.args.len() {
        return Err(errinput!(
            UNDEFINED_FUNCTION,
            "{} takes {} arguments, the request gave {}",
            routine.signature(),
            routine.args.len(),
            values.len()
        ));
    }
    Ok(values
        .iter()
        .map(|v| match v {
            Json::Number(n) => Value::Text(n.to_string()),
            other => json_param(other),
        })
        .collect())
}

async fn health(State(server): State<Arc<Server>>) -> Response {
    match server.db.store().status() {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", e.message())).into_response(),
    }
}

/// Per-follower replication metrics (a leader's view, as pg_stat_replication).
/// One metric in Prometheus' text format.
fn push_metric(out: &mut String, name: &str, kind: &str, help: &str, value: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
}

fn replication_metrics(server: &Server, out: &mut String) {
    let replicas = server.db.replicas().list();
    push_metric(
        out,
        "oxibase_replicas",
        "gauge",
        "Followers streaming from this server.",
        &replicas.len().to_string(),
    );
    type Show = fn(&oxibase_sql::replicas::ReplicaStat) -> String;
    let series: [(&str, &str, Show); 3] = [
        ("oxibase_replication_sent_lsn", "The last log position sent to the follower.", |r| {
            r.sent_lsn.to_string()
        }),
        (
            "oxibase_replication_replay_lsn",
            "The last log position the follower made durable and visible.",
            |r| r.replay_lsn.to_string(),
        ),
        (
            "oxibase_replication_lag_seconds",
            "Time from sending records to the follower acknowledging them applied.",
            |r| format!("{:.6}", r.lag_micros.unwrap_or(0) as f64 / 1e6),
        ),
    ];
    for (name, help, show) in series {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for r in &replicas {
            out.push_str(&format!("{name}{{replica=\"{}\"}} {}\n", r.client_addr, show(r)));
        }
    }
}

async fn metrics(State(server): State<Arc<Server>>) -> Response {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        push_metric(&mut out, name, kind, help, &value)
    };
    let counters = server.db.counters();
    metric(
        "oxibase_connections",
        "gauge",
        "Open client sessions.",
        server.connections.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_transactions_committed_total",
        "counter",
        "Transactions committed.",
        counters.commits.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_transactions_rolled_back_total",
        "counter",
        "Transactions rolled back or aborted.",
        counters.rollbacks.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_statements_total",
        "counter",
        "Statements executed.",
        counters.statements.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_statements_lifted_total",
        "counter",
        "Statements whose integer literals became parameters of a plan shared with like texts.",
        counters.lifted_statements.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_rows_read_total",
        "counter",
        "Rows read from tables and indexes.",
        counters.rows_read.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "oxibase_rows_written_total",
        "counter",
        "Rows inserted, updated or deleted.",
        counters.rows_written.load(Ordering::Relaxed).to_string(),
    );
    if let Ok(status) = server.db.store().status() {
        metric(
            "oxibase_serialization_failures_total",
            "counter",
            "Transactions failed with 40001.",
            status.serialization_failures.to_string(),
        );
        metric(
            "oxibase_active_snapshots",
            "gauge",
            "Transactions holding a snapshot.",
            status.active_snapshots.to_string(),
        );
        metric(
            "oxibase_gc_removed_versions_total",
            "counter",
            "Old row versions collected.",
            status.gc_removed_versions.to_string(),
        );
        metric(
            "oxibase_gc_queue_versions",
            "gauge",
            "Superseded versions waiting for the GC horizon to pass them.",
            status.gc_queue.to_string(),
        );
        metric(
            "oxibase_gc_dropped_ranges_total",
            "counter",
            "Key ranges of dropped, truncated or rewritten tables removed whole.",
            status.gc_ranges_reclaimed.to_string(),
        );
        if let Some(log) = status.log {
            metric(
                "oxibase_wal_bytes_total",
                "counter",
                "Bytes written to the write-ahead log.",
                log.synced_bytes.to_string(),
            );
            metric(
                "oxibase_wal_fsyncs_total",
                "counter",
                "fsync calls on the write-ahead log.",
                log.fsyncs.to_string(),
            );
            metric(
                "oxibase_wal_records_total",
                "counter",
                "Records made durable.",
                log.synced_records.to_string(),
            );
            metric(
                "oxibase_wal_fsync_seconds_total",
                "counter",
                "Time spent in WAL fsync.",
                format!("{:.6}", log.fsync_time.as_secs_f64()),
            );
            out.push_str("# HELP oxibase_wal_fsync_seconds WAL fsync latency.\n# TYPE oxibase_wal_fsync_seconds histogram\n");
            let mut cumulative = 0;
            for (bound, count) in &log.fsync_histogram {
                cumulative += count;
                out.push_str(&format!(
                    "oxibase_wal_fsync_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n"
                ));
            }
            out.push_str(&format!(
                "oxibase_wal_fsync_seconds_bucket{{le=\"+Inf\"}} {}\n",
                log.fsyncs
            ));
            out.push_str(&format!(
                "oxibase_wal_fsync_seconds_sum {:.6}\n",
                log.fsync_time.as_secs_f64()
            ));
            out.push_str(&format!("oxibase_wal_fsync_seconds_count {}\n", log.fsyncs));
        }
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            push_metric(&mut out, name, kind, help, &value)
        };
        metric(
            "oxibase_lock_waits_total",
            "counter",
            "Row-lock acquisitions that had to wait.",
            status.lock_waits.to_string(),
        );
        metric(
            "oxibase_deadlocks_total",
            "counter",
            "Deadlocks detected (40P01).",
            status.deadlocks.to_string(),
        );
        if let Some(runtime) = server.db.procedure_runtime() {
            metric(
                "oxibase_wasm_modules_compiled_total",
                "counter",
                "WebAssembly modules compiled to machine code (CREATE checks and calls).",
                runtime.modules_compiled().to_string(),
            );
        }
        let engine = &status.engine;
        for (name, kind, help, value) in [
            (
                "oxibase_cache_hits_total",
                "counter",
                "Engine blocks (data, index, filter) served from the block cache.",
                engine.cache_hits,
            ),
            (
                "oxibase_cache_misses_total",
                "counter",
                "Engine blocks read from disk or the OS page cache.",
                engine.cache_misses,
            ),
            (
                "oxibase_cache_bytes",
                "gauge",
                "Bytes held in the engine's block cache.",
                engine.cache_size,
            ),
            (
                "oxibase_cache_capacity_bytes",
                "gauge",
                "The engine block cache's capacity.",
                engine.cache_capacity,
            ),
            (
                "oxibase_row_cache_bytes",
                "gauge",
                "Bytes the row cache holds (keys, values, and its maps and queues at their allocated size).",
                engine.row_cache_size,
            ),
            ("oxibase_lsm_tables", "gauge", "On-disk tables of the LSM engine.", engine.tables),
            (
                "oxibase_lsm_write_buffer_bytes",
                "gauge",
                "Bytes in the LSM engine's memtables (active and sealed).",
                engine.write_buffer,
            ),
            (
                "oxibase_lsm_journals",
                "gauge",
                "LSM journal files not yet released by memtable flushes.",
                engine.journals,
            ),
        ] {
            metric(name, kind, help, value.to_string());
        }
    }
    if let Some(heap) = server.heap.and_then(|read| read()) {
        for (name, help, value) in [
            (
                "oxibase_heap_allocated_bytes",
                "Bytes the server has allocated and not freed (the allocator's count).",
                heap.allocated,
            ),
            (
                "oxibase_heap_resident_bytes",
                "Bytes of physical memory the allocator holds (allocated bytes, fragmentation, freed pages not yet returned).",
                heap.resident,
            ),
        ] {
            push_metric(&mut out, name, "gauge", help, &value.to_string());
        }
    }
    replication_metrics(&server, &mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
