//! Extended-protocol answers that wait for Sync.
//!
//! pgwire's default Parse, Bind, Describe and Close handlers `send` their answers, which
//! flushes the socket after each one: a prepared statement's round trip (Bind, Describe,
//! Execute, Sync) cost three writes where PostgreSQL makes one. These versions `feed` the
//! same messages into the connection's buffer, which Sync (ReadyForQuery) or Flush writes.

use std::fmt::Debug;
use std::sync::Arc;

use futures::{Sink, SinkExt};
use oxibase_sql::session::{OutputColumn, Prepared};
use pgwire::api::portal::{Format, Portal};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Parse, ParseComplete,
};

use crate::wire::{pg_type, row_description};

/// Parse: stores the statement.
pub async fn parse<C, Q>(client: &mut C, message: Parse, parser: Arc<Q>) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Prepared>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    Q: QueryParser<Statement = Prepared> + Send + Sync,
{
    let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
    match StoredStatement::parse(client, &message, parser).await? {
        Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
        None => client.portal_store().put_empty_statement(&name),
    }
    client.feed(PgWireBackendMessage::ParseComplete(ParseComplete::new())).await?;
    Ok(())
}

/// Bind: makes a portal of a statement and its parameters.
pub async fn bind<C>(client: &mut C, message: Bind) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Prepared>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
    let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
    match client.portal_store().get_statement(statement_name) {
        Some(Entry::Value(statement)) => {
            let portal = Portal::try_new(&message, statement)?;
            client.portal_store().put_portal(Arc::new(portal));
        }
        Some(Entry::Empty) => {
            if !message.parameters.is_empty() {
                return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                    "ERROR".to_owned(),
                    "08P01".to_owned(),
                    format!(
                        "bind message supplies {} parameters, but prepared statement \"{statement_name}\" requires 0",
                        message.parameters.len()
                    ),
                ))));
            }
            client.portal_store().put_empty_portal(portal_name);
        }
        None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
    }
    client.feed(PgWireBackendMessage::BindComplete(BindComplete::new())).await?;
    Ok(())
}

/// Describe of a statement (its parameter types and columns) or a portal (its columns).
pub async fn describe<C>(client: &mut C, message: Describe) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Prepared>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    let (params, columns, format) = match message.target_type {
        b'S' => match client.portal_store().get_statement(name) {
            Some(Entry::Value(s)) => {
                let params = s.statement.param_types.iter().map(|t| pg_type(t).oid()).collect();
                (Some(params), s.statement.columns.clone(), Format::UnifiedText)
            }
            Some(Entry::Empty) => (Some(vec![]), vec![], Format::UnifiedText),
            None => return Err(PgWireError::StatementNotFound(name.to_owned())),
        },
        b'P' => match client.portal_store().get_portal(name) {
            Some(Entry::Value(p)) => {
                (None, p.statement.statement.columns.clone(), p.result_column_format.clone())
            }
            Some(Entry::Empty) => (None, vec![], Format::UnifiedText),
            None => return Err(PgWireError::PortalNotFound(name.to_owned())),
        },
        other => return Err(PgWireError::InvalidTargetType(other)),
    };
    if let Some(params) = params {
        client
            .feed(PgWireBackendMessage::ParameterDescription(ParameterDescription::new(params)))
            .await?;
    }
    describe_result(client, &columns, &format).await
}

/// Describe of a portal that is a cursor DECLAREd in SQL: its columns, in text.
pub async fn describe_columns<C>(client: &mut C, columns: &[OutputColumn]) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    describe_result(client, columns, &Format::UnifiedText).await
}

/// The RowDescription (or NoData) ending a Describe.
async fn describe_result<C>(
    client: &mut C,
    columns: &[OutputColumn],
    format: &Format,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let message = if columns.is_empty() {
        PgWireBackendMessage::NoData(NoData::new())
    } else {
        PgWireBackendMessage::RowDescription(row_description(columns, format))
    };
    client.feed(message).await?;
    Ok(())
}

/// Close of a statement or portal.
pub async fn close<C>(client: &mut C, message: Close) -> PgWireResult<()>
where
    C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::PortalStore: PortalStore<Statement = Prepared>,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
    match message.target_type {
        b'S' => client.portal_store().rm_statement(name),
        b'P' => client.portal_store().rm_portal(name),
        _ => {}
    }
    client.feed(PgWireBackendMessage::CloseComplete(CloseComplete::new())).await?;
    Ok(())
}
