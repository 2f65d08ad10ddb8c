//! The PostgreSQL wire protocol, on `pgwire`.
//!
//! `pgwire` frames messages, negotiates SSL, keeps prepared statements and portals, and
//! calls the handlers below; each connection's handlers share one [`Conn`], which owns the
//! connection's [`Session`]. Connections are tasks on one runtime with a thread per core
//! (see [`crate::runtime`]); a session call runs on the task's thread, and whatever in it may
//! wait (a commit for its fsync, a row lock for its holder) or run long first hands the
//! thread's other connections to another thread ([`oxibase_common::worker`]).
//!
//! The transaction status reported in ReadyForQuery always comes from the session, which
//! is the one place that knows it. Notices and ParameterStatus changes the session produced
//! are sent before each command's completion.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use async_trait::async_trait;
use bytes::{BufMut, Bytes, BytesMut};
use futures::{Sink, SinkExt};
use oxibase_common::{DataType, Error, Value};
use oxibase_sql::Session;
use oxibase_sql::auth::ScramServer;
use oxibase_sql::exec::Row;
use oxibase_sql::session::{Output, OutputColumn, PendingCopy, Prepared, TxnStatus};
use oxibase_sql::types::datetime::Zone;
use oxibase_sql::types::{type_modifier, type_oid, type_size};
use parking_lot::Mutex;
use pgwire::api::auth::{
    StartupHandler, protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, PgWireServerHandlers, Type,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::PgWireFrontendMessage;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{DataRow, FieldDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, Close, Describe, Execute, Parse, PortalSuspended, Sync as PgSync,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::startup::{Authentication, BackendKeyData, ParameterStatus, SecretKey};
use postgres_types::{Field, Kind};

use crate::Server;
use crate::codec::{self, TextStyle};

/// A portal stopped by an Execute row limit: the rows left, their fields, the command tag,
/// and how many rows were sent so far.
type Suspended = (std::vec::IntoIter<Row>, Arc<Vec<FieldInfo>>, String, usize);

/// One connection's state, shared by its handlers.
pub struct Conn {
    server: Arc<Server>,
    session: Mutex<Option<Session>>,
    /// A COPY FROM STDIN in progress: the statement and the data so far.
    copy: Mutex<Option<(PendingCopy, Vec<u8>)>>,
    /// Rows of portals suspended by an Execute row limit: portal name → (rows left, tag).
    suspended: Mutex<HashMap<String, Suspended>>,
    /// Inside an extended-protocol batch (messages since the last Sync).
    in_batch: Mutex<bool>,
    /// A SCRAM exchange in progress, and whether its first message was handled.
    scram: Mutex<Option<(ScramServer, bool)>>,
    /// When the session last finished handling a message (for the idle timeout).
    idle_since: Mutex<std::time::Instant>,
    /// The client negotiated TLS.
    secure: std::sync::atomic::AtomicBool,
    me: std::sync::Weak<Conn>,
}

impl Conn {
    /// State for a new connection.
    pub fn new(server: Arc<Server>) -> Arc<Conn> {
        Arc::new_cyclic(|me| Conn {
            server,
            session: Mutex::new(None),
            copy: Mutex::new(None),
            suspended: Mutex::new(HashMap::new()),
            in_batch: Mutex::new(false),
            scram: Mutex::new(None),
            idle_since: Mutex::new(std::time::Instant::now()),
            secure: std::sync::atomic::AtomicBool::new(false),
            me: me.clone(),
        })
    }

    /// Runs `f` on the session. What in it may block leaves the shared thread first (see
    /// [`oxibase_common::worker`]).
    fn with_session<T>(&self, f: impl FnOnce(&mut Session) -> T) -> PgWireResult<T> {
        let mut guard = self.session.lock();
        match guard.as_mut() {
            Some(session) => {
                let out = f(session);
                *self.idle_since.lock() = std::time::Instant::now();
                Ok(out)
            }
            None => Err(user_error(&Error::new(
                oxibase_common::ErrorKind::InvalidInput,
                oxibase_common::SqlState::PROTOCOL_VIOLATION,
                "no session: the connection has not completed startup".to_string(),
            ))),
        }
    }

    /// Registers what wakes the connection when its session gets a notification; false
    /// until the session exists (after startup).
    pub fn watch_notifications(&self, waker: oxibase_sql::notify::Waker) -> bool {
        match &*self.session.lock() {
            Some(session) => {
                session.set_notification_waker(waker);
                true
            }
            _ => false,
        }
    }

    /// Whether pg_terminate_backend ended this connection's session.
    pub fn terminated(&self) -> bool {
        self.session.lock().as_ref().is_some_and(|s| s.terminated())
    }

    /// The notifications to send now: only while the session is idle outside a transaction
    /// block, as PostgreSQL delivers them (a block's are sent when it ends).
    pub fn pending_notifications(&self) -> Vec<oxibase_sql::notify::Notification> {
        match &*self.session.lock() {
            Some(session) if session.status() == TxnStatus::Idle => session.take_notifications(),
            _ => Vec::new(),
        }
    }

    /// True when the session has sat inside a transaction block, doing nothing, for longer
    /// than its idle_in_transaction_session_timeout. A session in use is never idle.
    pub fn idle_in_transaction_expired(&self) -> bool {
        let Some(guard) = self.session.try_lock() else { return false };
        let Some(session) = guard.as_ref() else { return false };
        let in_block = !matches!(session.status(), TxnStatus::Idle);
        match session.idle_in_transaction_timeout() {
            Some(limit) if in_block => self.idle_since.lock().elapsed() >= limit,
            _ => false,
        }
    }

    /// Whether the connection's next read may sleep in the kernel (see [`crate::stream`]):
    /// its session is idle outside a transaction block (no idle-in-transaction limit runs)
    /// and listens on no channel (no notification can come).
    pub fn may_block(&self) -> bool {
        let guard = self.session.lock();
        guard.as_ref().is_some_and(|s| s.status() == TxnStatus::Idle && !s.listening())
    }

    /// True when the client talks TLS (raw protocol bytes must not be written then).
    pub fn is_secure(&self) -> bool {
        self.secure.load(Ordering::Relaxed)
    }

    /// Ends the session, if it began: its open transaction rolls back, its locks are
    /// released and it leaves pg_stat_activity.
    pub fn end_session(&self) {
        let session = self.session.lock().take();
        if session.is_some() {
            drop(session);
            self.server.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }

    fn text_style(&self) -> TextStyle {
        match self.session.lock().as_ref() {
            Some(s) => TextStyle { zone: s.zone(), iso_intervals: s.iso_intervals() },
            None => TextStyle { zone: Zone::UTC, iso_intervals: false },
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.end_session();
    }
}

/// The handlers of one connection.
pub struct Handlers {
    conn: Arc<Conn>,
}

impl Handlers {
    /// Handlers for a connection.
    pub fn new(server: Arc<Server>) -> Handlers {
        Handlers { conn: Conn::new(server) }
    }

    /// The connection's state.
    pub fn conn(&self) -> Arc<Conn> {
        self.conn.clone()
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.conn.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.conn.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.conn.clone()
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.conn.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.conn.clone()
    }
}

// ---- errors and messages ----

/// An Oxibase error as an ErrorResponse.
pub fn error_info(e: &Error) -> ErrorInfo {
    let severity = if e.code().as_str() == "57P01" { "FATAL" } else { "ERROR" };
    let mut info = ErrorInfo::new(
        severity.to_string(),
        e.code().as_str().to_string(),
        e.message().to_string(),
    );
    info.detail = e.detail().map(str::to_string);
    info.hint = e.hint().map(str::to_string);
    info.where_context = e.context().map(str::to_string);
    info
}

fn user_error(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e)))
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.into(), message)))
}

fn auth_error(e: &Error) -> PgWireError {
    fatal(e.code().as_str(), e.message().to_string())
}

fn transaction_status(s: TxnStatus) -> TransactionStatus {
    match s {
        TxnStatus::Idle => TransactionStatus::Idle,
        TxnStatus::InBlock => TransactionStatus::Transaction,
        TxnStatus::Failed => TransactionStatus::Error,
    }
}

pub(crate) fn pg_type(t: &DataType) -> Type {
    if let Some(ty) = Type::from_oid(type_oid(t)) {
        return ty;
    }
    match t {
        // A user-defined type goes by its own oid (clients look it up in pg_type).
        DataType::Enum(e) => {
            let labels = e.labels.iter().map(|v| v.label.clone()).collect();
            Type::new(e.type_name.clone(), e.id, Kind::Enum(labels), e.schema.clone())
        }
        DataType::Record(r) => {
            let fields = r.fields.iter().map(|(n, t)| Field::new(n.clone(), pg_type(t))).collect();
            Type::new(t.name(), type_oid(t), Kind::Composite(fields), String::new())
        }
        DataType::Array(element)
            if matches!(**element, DataType::Enum(_) | DataType::Record(_)) =>
        {
            let element = pg_type(element);
            let name = format!("_{}", element.name());
            let schema = element.schema().to_string();
            Type::new(name, type_oid(t), Kind::Array(element), schema)
        }
        _ => Type::TEXT,
    }
}

fn field_infos(columns: &[OutputColumn], format: &Format) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            FieldInfo::new(c.name.clone(), None, None, pg_type(&c.data_type), format.format_for(i))
                .with_type_modifier(type_modifier(&c.data_type))
                .with_type_size(type_size(&c.data_type))
        })
        .collect()
}

pub(crate) fn row_description(columns: &[OutputColumn], format: &Format) -> RowDescription {
    RowDescription::new(
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                FieldDescription::new(
                    c.name.clone(),
                    0,
                    0,
                    type_oid(&c.data_type),
                    type_size(&c.data_type),
                    type_modifier(&c.data_type),
                    if format.is_binary(i) { 1 } else { 0 },
                )
            })
            .collect(),
    )
}

fn data_row(
    row: &[Value],
    types: &[DataType],
    binary: &dyn Fn(usize) -> bool,
    style: &TextStyle,
) -> PgWireResult<DataRow> {
    let mut data = BytesMut::with_capacity(row.len() * 8);
    for (i, v) in row.iter().enumerate() {
        let bytes = if binary(i) {
            let ty = types.get(i).cloned().unwrap_or(DataType::Text);
            codec::encode_binary(v, &ty).map_err(|e| user_error(&e))?
        } else {
            codec::encode_text(v, types.get(i), style)
        };
        match bytes {
            None => data.put_i32(-1),
            Some(b) => {
                data.put_i32(b.len() as i32);
                data.put_slice(&b);
            }
        }
    }
    Ok(DataRow::new(data, row.len() as i16))
}

async fn send_notices<C>(conn: &Conn, client: &mut C) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let (notices, params) = {
        let guard = conn.session.lock();
        match guard.as_ref() {
            Some(s) => (s.take_notices(), s.take_parameter_changes()),
            None => (vec![], vec![]),
        }
    };
    for n in notices {
        let info = ErrorInfo::new(n.severity.to_string(), n.code.to_string(), n.message);
        client.feed(PgWireBackendMessage::NoticeResponse(info.into())).await?;
    }
    for (name, value) in params {
        client
            .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value)))
            .await?;
    }
    Ok(())
}

fn status_of(conn: &Conn) -> TransactionStatus {
    conn.session.lock().as_ref().map_or(TransactionStatus::Idle, |s| transaction_status(s.status()))
}

// ---- startup ----

#[async_trait]
impl StartupHandler for Conn {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                self.secure.store(client.is_secure(), Ordering::Relaxed);
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                let user = startup.parameters.get("user").cloned().unwrap_or_default();
                if user.is_empty() {
                    return Err(fatal(
                        "28000",
                        "no PostgreSQL user name specified in startup packet".into(),
                    ));
                }
                let database =
                    startup.parameters.get("database").cloned().unwrap_or_else(|| user.clone());
                if database != self.server.db.name() {
                    return Err(fatal("3D000", format!("database \"{database}\" does not exist")));
                }
                if !self.server.user_exists(&user) {
                    return Err(fatal("28000", format!("role \"{user}\" does not exist")));
                }
                if self.server.auth == crate::Auth::Scram {
                    client.set_state(PgWireConnectionState::AuthenticationInProgress);
                    let verifier = self.server.password_of(&user);
                    *self.scram.lock() =
                        Some((ScramServer::new(&user, verifier.as_deref()), false));
                    client
                        .send(PgWireBackendMessage::Authentication(Authentication::SASL(vec![
                            "SCRAM-SHA-256".into(),
                        ])))
                        .await?;
                    return Ok(());
                }
                self.finish_startup(client, &user).await
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                let first_done = match self.scram.lock().as_ref() {
                    Some((_, done)) => *done,
                    None => return Err(fatal("08P01", "unexpected password message".into())),
                };
                if !first_done {
                    let initial = msg.into_sasl_initial_response()?;
                    if initial.auth_method != "SCRAM-SHA-256" {
                        return Err(fatal(
                            "28000",
                            format!(
                                "SASL authentication mechanism {} is not supported",
                                initial.auth_method
                            ),
                        ));
                    }
                    let data = initial.data.unwrap_or_default();
                    let reply = {
                        let mut guard = self.scram.lock();
                        let Some((scram, done)) = guard.as_mut() else {
                            return Err(fatal("08P01", "unexpected password message".into()));
                        };
                        *done = true;
                        scram.client_first(&data)
                    };
                    let reply = reply.map_err(|e| auth_error(&e))?;
                    client
                        .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(
                            Bytes::from(reply),
                        )))
                        .await?;
                    return Ok(());
                }
                let response = msg.into_sasl_response()?;
                let reply = {
                    let mut guard = self.scram.lock();
                    let Some((scram, _)) = guard.as_mut() else {
                        return Err(fatal("08P01", "unexpected password message".into()));
                    };
                    scram.client_final(&response.data)
                };
                *self.scram.lock() = None;
                let reply = reply.map_err(|e| auth_error(&e))?;
                client
                    .feed(PgWireBackendMessage::Authentication(Authentication::SASLFinal(
                        Bytes::from(reply),
                    )))
                    .await?;
                self.finish_startup(client, &user).await
            }
            _ => Err(fatal("08P01", "unexpected message during startup".into())),
        }
    }
}

impl Conn {
    async fn finish_startup<C>(&self, client: &mut C, user: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let max = self.server.max_connections;
        if self.server.connections.fetch_add(1, Ordering::SeqCst) >= max {
            self.server.connections.fetch_sub(1, Ordering::SeqCst);
            return Err(fatal("53300", "sorry, too many clients already".into()));
        }
        let mut session = self.server.db.session_for(user);
        if let Err(e) = session.check_connect() {
            self.server.connections.fetch_sub(1, Ordering::SeqCst);
            let mut info =
                ErrorInfo::new("FATAL".into(), e.code().as_str().into(), e.message().to_string());
            info.detail = e.detail().map(str::to_string);
            return Err(PgWireError::UserError(Box::new(info)));
        }
        for (k, v) in client.metadata().clone() {
            if matches!(k.as_str(), "user" | "database" | "oxibase.scram") {
                continue;
            }
            if let Err(e) = session.set_startup_parameter(&k, &v) {
                self.server.connections.fetch_sub(1, Ordering::SeqCst);
                return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                    "FATAL".into(),
                    e.code().as_str().into(),
                    e.message().to_string(),
                ))));
            }
        }
        let _ = session.take_parameter_changes();
        client.set_pid_and_secret_key(session.pid(), SecretKey::I32(session.secret()));
        client.feed(PgWireBackendMessage::Authentication(Authentication::Ok)).await?;
        for (k, v) in session.reported_settings() {
            client.feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(k, v))).await?;
        }
        client
            .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                session.pid(),
                SecretKey::I32(session.secret()),
            )))
            .await?;
        *self.session.lock() = Some(session);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(TransactionStatus::Idle)))
            .await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        Ok(())
    }
}

// ---- cancel ----

#[async_trait]
impl CancelHandler for Conn {
    async fn on_cancel_request(&self, request: CancelRequest) {
        // A cancel connection decodes the 4-byte key as bytes or as an integer.
        if let Some(secret) = request.secret_key.as_i32() {
            self.server.db.cancel(request.pid, secret);
        }
    }
}

// ---- simple query ----

#[async_trait]
impl SimpleQueryHandler for Conn {
    async fn on_query<C>(
        &self,
        client: &mut C,
        query: pgwire::messages::simplequery::Query,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.set_state(PgWireConnectionState::QueryInProgress);
        let results = self.with_session(|s| s.run_batch(&query.query))?;
        let style = self.text_style();
        for result in results {
            send_notices(self, client).await?;
            match result {
                Ok(Output::CopyIn(pending)) => {
                    let response = copy_in_response(&pending);
                    *self.copy.lock() = Some((pending, Vec::new()));
                    client.send(PgWireBackendMessage::CopyInResponse(response)).await?;
                    client.set_state(PgWireConnectionState::CopyInProgress(false));
                    return Ok(());
                }
                Ok(output) => {
                    send_output(client, output, &Format::UnifiedText, true, &style).await?
                }
                Err(e) => {
                    client.feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into())).await?;
                }
            }
        }
        send_notices(self, client).await?;
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let status = status_of(self);
        client.set_transaction_status(status);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))).await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(vec![])
    }
}

/// Sends a statement's output: rows (with their description for the simple protocol),
/// a command tag, or COPY TO data.
async fn send_output<C>(
    client: &mut C,
    output: Output,
    format: &Format,
    describe: bool,
    style: &TextStyle,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match output {
        Output::Rows { columns, rows, tag } => {
            if describe {
                client
                    .feed(PgWireBackendMessage::RowDescription(row_description(&columns, format)))
                    .await?;
            }
            let types: Vec<DataType> = columns.iter().map(|c| c.data_type.clone()).collect();
            let binary = |i: usize| format.is_binary(i);
            for row in &rows {
                client
                    .feed(PgWireBackendMessage::DataRow(data_row(row, &types, &binary, style)?))
                    .await?;
            }
            client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag))).await?;
        }
        Output::Command { tag } => {
            client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag))).await?;
        }
        Output::CopyOut { columns, data, tag } => {
            client
                .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                    0,
                    columns as i16,
                    vec![0; columns],
                )))
                .await?;
            if !data.is_empty() {
                client
                    .feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(data))))
                    .await?;
            }
            client.feed(PgWireBackendMessage::CopyDone(CopyDone::new())).await?;
            client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag))).await?;
        }
        Output::Empty => {
            client.feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new())).await?
        }
        Output::CopyIn(_) => {}
    }
    Ok(())
}

// ---- COPY FROM STDIN ----

/// CopyInResponse: text (0) or binary (1), for the whole data and each column.
fn copy_in_response(pending: &PendingCopy) -> CopyInResponse {
    let columns = pending.columns() as i16;
    let format = i8::from(pending.binary());
    CopyInResponse::new(format, columns, vec![i16::from(format); columns as usize])
}

#[async_trait]
impl CopyHandler for Conn {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.copy.lock();
        if let Some((_, buffer)) = guard.as_mut() {
            if buffer.len() + data.data.len() > self.server.max_copy_bytes {
                return Err(user_error(&oxibase_common::errinput!(
                    PROGRAM_LIMIT_EXCEEDED,
                    "COPY data exceeds {} bytes; split it into several COPY statements",
                    self.server.max_copy_bytes
                )));
            }
            buffer.extend_from_slice(&data.data);
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let Some((pending, data)) = self.copy.lock().take() else {
            return Err(fatal("08P01", "CopyDone without COPY in progress".into()));
        };
        let result = if pending.binary() {
            let zone = self.text_style().zone;
            let rows = codec::decode_copy_binary(&data, &pending.column_types(), &zone);
            self.with_session(|s| s.copy_in_rows(pending, rows))?
        } else {
            self.with_session(|s| s.copy_in(pending, &data))?
        };
        send_notices(self, client).await?;
        let status = status_of(self);
        client.set_transaction_status(status);
        match result {
            Ok(output) => {
                let style = self.text_style();
                send_output(client, output, &Format::UnifiedText, false, &style).await
            }
            Err(e) => Err(user_error(&e)),
        }
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let pending = self.copy.lock().take();
        let error = match pending {
            Some((pending, _)) => self
                .with_session(|s| s.copy_fail(pending, &fail.message))
                .map_or_else(|e| e, |e| user_error(&e)),
            None => fatal("08P01", "CopyFail without COPY in progress".into()),
        };
        client.set_transaction_status(status_of(self));
        error
    }
}

// ---- extended query ----

/// Parses statements for the extended protocol through the session.
pub struct Parser {
    conn: std::sync::Weak<Conn>,
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        _client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let Some(conn) = self.conn.upgrade() else {
            return Err(fatal("08006", "connection closed".into()));
        };
        let types: Vec<Option<DataType>> = types
            .iter()
            .map(|t| t.as_ref().and_then(|t| oxibase_sql::types::type_from_oid(t.oid())))
            .collect();
        match conn.with_session(|s| s.prepare(sql, &types))? {
            Ok(p) => Ok(Some(p)),
            Err(e) => {
                conn.with_session(|s| s.fail_current())?;
                Err(user_error(&e))
            }
        }
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.iter().map(pg_type).collect())
    }

    fn get_result_schema(
        &self,
        stmt: &Prepared,
        format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        Ok(field_infos(&stmt.columns, format.unwrap_or(&Format::UnifiedText)))
    }
}

fn decode_params(portal: &Portal<Prepared>, zone: &Zone) -> Result<Vec<Value>, Error> {
    let types = &portal.statement.statement.param_types;
    if portal.parameters.len() != types.len() {
        return Err(oxibase_common::errinput!(
            PROTOCOL_VIOLATION,
            "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
            portal.parameters.len(),
            portal.statement.id.replace(DEFAULT_NAME, ""),
            types.len()
        ));
    }
    portal
        .parameters
        .iter()
        .enumerate()
        .map(|(i, raw)| match raw {
            None => Ok(Value::Null),
            Some(bytes) => match portal.parameter_format.format_for(i) {
                FieldFormat::Binary => codec::decode_binary(bytes, &types[i], zone),
                FieldFormat::Text => codec::decode_text(bytes, &types[i], zone),
            },
        })
        .collect()
}

#[async_trait]
impl ExtendedQueryHandler for Conn {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        Arc::new(Parser { conn: self.self_ref() })
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::batched::parse(client, message, self.query_parser()).await
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        crate::batched::bind(client, message).await
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A cursor DECLAREd in SQL is a portal too (psycopg describes its server cursors).
        if message.target_type == b'P'
            && let Some(name) = message.name.as_deref()
            && client.portal_store().get_portal(name).is_none()
            && let Some(columns) = self.with_session(|s| s.cursor_columns(name))?
        {
            return crate::batched::describe_columns(client, &columns).await;
        }
        crate::batched::describe(client, message).await
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if message.target_type == b'P'
            && let Some(name) = message.name.as_deref()
            && client.portal_store().get_portal(name).is_none()
        {
            self.with_session(|s| s.close_cursor(name))?;
        }
        crate::batched::close(client, message).await
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let portal_name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_string());
        let max_rows = if message.max_rows > 0 { message.max_rows as usize } else { usize::MAX };
        let style = self.text_style();
        // A portal suspended by an earlier row limit continues.
        let resumed = self.suspended.lock().remove(&portal_name);
        if let Some((rows, fields, tag, sent)) = resumed {
            return self
                .send_portal_rows(client, &portal_name, rows, fields, tag, sent, max_rows, &style)
                .await;
        }
        let portal = match client.portal_store().get_portal(&portal_name) {
            Some(pgwire::api::store::Entry::Value(p)) => p,
            Some(pgwire::api::store::Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(portal_name)),
        };
        {
            let mut in_batch = self.in_batch.lock();
            if !*in_batch {
                *in_batch = true;
                self.with_session(|s| s.begin_implicit_block())?;
            }
        }
        let params = match decode_params(&portal, &style.zone) {
            Ok(p) => p,
            Err(e) => {
                self.with_session(|s| s.fail_current())?;
                return Err(user_error(&e));
            }
        };
        let prepared = &portal.statement.statement;
        let result = self.with_session(|s| s.execute_prepared(prepared, &params))?;
        send_notices(self, client).await?;
        client.set_transaction_status(status_of(self));
        match result {
            Ok(Output::Rows { columns, rows, tag }) => {
                let fields = Arc::new(field_infos(&columns, &portal.result_column_format));
                self.send_portal_rows(
                    client,
                    &portal_name,
                    rows.into_iter(),
                    fields,
                    tag,
                    0,
                    max_rows,
                    &style,
                )
                .await
            }
            Ok(Output::CopyIn(pending)) => {
                let response = copy_in_response(&pending);
                *self.copy.lock() = Some((pending, Vec::new()));
                client.set_state(PgWireConnectionState::CopyInProgress(true));
                client.send(PgWireBackendMessage::CopyInResponse(response)).await?;
                Ok(())
            }
            Ok(output) => {
                send_output(client, output, &portal.result_column_format, false, &style).await
            }
            Err(e) => Err(user_error(&e)),
        }
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        self.suspended.lock().remove(DEFAULT_NAME);
        let was_batch = std::mem::take(&mut *self.in_batch.lock());
        let ended = if was_batch { self.with_session(|s| s.end_implicit_block())? } else { Ok(()) };
        if let Err(e) = ended {
            client.feed(PgWireBackendMessage::ErrorResponse(error_info(&e).into())).await?;
        }
        send_notices(self, client).await?;
        let status = status_of(self);
        client.set_transaction_status(status);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status))).await?;
        client.flush().await?;
        Ok(())
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        target: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let params = target.statement.param_types.iter().map(pg_type).collect();
        let fields = field_infos(&target.statement.columns, &Format::UnifiedText);
        Ok(DescribeStatementResponse::new(params, fields))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(DescribePortalResponse::new(field_infos(
            &portal.statement.statement.columns,
            &portal.result_column_format,
        )))
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(Response::EmptyQuery)
    }
}

impl Conn {
    fn self_ref(&self) -> std::sync::Weak<Conn> {
        self.me.clone()
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_portal_rows<C>(
        &self,
        client: &mut C,
        portal: &str,
        mut rows: std::vec::IntoIter<Row>,
        fields: Arc<Vec<FieldInfo>>,
        tag: String,
        mut sent: usize,
        max_rows: usize,
        style: &TextStyle,
    ) -> PgWireResult<()>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let types: Vec<DataType> = fields
            .iter()
            .map(|f| {
                oxibase_sql::types::type_from_oid(f.datatype().oid()).unwrap_or(DataType::Text)
            })
            .collect();
        let binary = |i: usize| fields.get(i).is_some_and(|f| f.format() == FieldFormat::Binary);
        let mut n = 0;
        while n < max_rows {
            let Some(row) = rows.next() else { break };
            client
                .feed(PgWireBackendMessage::DataRow(data_row(&row, &types, &binary, style)?))
                .await?;
            n += 1;
            sent += 1;
        }
        if rows.len() > 0 {
            self.suspended.lock().insert(portal.to_string(), (rows, fields, tag, sent));
            client.feed(PgWireBackendMessage::PortalSuspended(PortalSuspended::new())).await?;
        } else {
            // A SELECT's tag counts every row sent across the portal's Executes.
            let tag = if tag.starts_with("SELECT ") { format!("SELECT {sent}") } else { tag };
            client.feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(tag))).await?;
        }
        Ok(())
    }
}
