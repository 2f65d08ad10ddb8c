//! `oxibase migrate`: plans (and with `--apply` executes) the migration of a database to a
//! desired schema file. The diff engine runs inside the database, behind
//! `CALL oxibase_migrate(...)`; this command reads the file, makes the call over the wire
//! (or on a data directory opened embedded) and prints the plan.

use std::path::PathBuf;

use clap::Args;
use oxibase_common::{Result, errinput};

/// `oxibase migrate` arguments.
#[derive(Args)]
pub struct MigrateArgs {
    /// The server to migrate.
    #[arg(long, env = "OXIBASE_URL", conflicts_with = "data_dir")]
    url: Option<String>,
    /// A data directory to open embedded instead of a server.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The desired schema: SQL DDL (.sql) or YAML (.yaml/.yml).
    #[arg(long)]
    desired: PathBuf,
    /// Execute the plan (without it, print it and change nothing).
    #[arg(long)]
    apply: bool,
    /// Hazard kinds to accept: data_loss, table_rewrite, long_lock (index_build and
    /// validation are shown but never refused).
    #[arg(long, value_delimiter = ',')]
    allow_hazards: Vec<String>,
    /// The file's format when its name does not say: sql or yaml.
    #[arg(long)]
    format: Option<String>,
    /// Apply only if the plan still has this hash (the one printed by a dry run).
    #[arg(long)]
    plan_hash: Option<String>,
}

/// Runs `oxibase migrate`.
pub fn run(args: MigrateArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.desired)
        .map_err(|e| errinput!(IO_ERROR, "could not read {}: {e}", args.desired.display()))?;
    let source = args.desired.display().to_string();
    let mut call = format!(
        "CALL oxibase_migrate({}, apply => {}, allow_hazards => {}, source => {}",
        oxibase_migrate::plan::dollar_quote(&text),
        args.apply,
        literal(&args.allow_hazards.join(",")),
        literal(&source)
    );
    if let Some(f) = &args.format {
        call.push_str(&format!(", format => {}", literal(f)));
    }
    if let Some(h) = &args.plan_hash {
        call.push_str(&format!(", plan_hash => {}", literal(h)));
    }
    call.push(')');
    let mut connection = crate::shell::open(args.url.as_deref(), args.data_dir.as_deref())?;
    let result = connection.run(&call)?.pop().unwrap_or_default();
    print!("{}", oxibase_migrate::render(&result.columns, &result.rows, &source, args.apply));
    Ok(())
}

fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
