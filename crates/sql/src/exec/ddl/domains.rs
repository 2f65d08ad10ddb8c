//! CREATE, ALTER and DROP DOMAIN.
//!
//! Stored values are never rewritten here: a new CHECK or NOT NULL is tested against the
//! values of every column of the domain (or of a domain declared over it) and refused if
//! one fails, as PostgreSQL does; NOT VALID skips that test until VALIDATE CONSTRAINT.

use std::sync::Arc;

use oxibase_common::{Result, Value, errinput};

use super::{Ddl, Name, RelKind, Visit, display};
use crate::bind::{AlterDomainAction, DomainSpec};
use crate::catalog::{Constraint, ConstraintKind, Deferral, Domain, Table};
use crate::exec::eval::eval;

impl Ddl<'_, '_> {
    pub(super) fn create_domain(&self, spec: &DomainSpec) -> Result<()> {
        let ctx = self.ctx;
        let schema = self.creation_schema(&spec.name.0)?;
        let mut domain = Domain {
            id: 0,
            schema: schema.clone(),
            name: spec.name.1.clone(),
            parent: spec.parent.clone(),
            base: spec.base.clone(),
            not_null: spec.not_null,
            default: spec.default.clone(),
            checks: Vec::new(),
        };
        self.require_create_in(&schema)?;
        domain.id = ctx.catalog.create_domain(ctx.txn, &schema, &spec.name.1, &domain)?;
        self.record_type_owner(domain.id)?;
        for (name, expr) in &spec.checks {
            let name = name.clone().unwrap_or_else(|| check_name(&domain));
            let check = Constraint {
                name,
                kind: ConstraintKind::Check { expr: expr.clone() },
                validated: true,
                deferral: Deferral::NotDeferrable,
            };
            ctx.catalog.add_domain_check(ctx.txn, &domain, &check)?;
            domain.checks.push(check);
        }
        Ok(())
    }

    /// Finds a domain by possibly qualified name, following the search path (None where
    /// the name first found is not a domain).
    pub(super) fn find_domain(&self, name: &Name) -> Result<Option<Arc<Domain>>> {
        let ctx = self.ctx;
        ctx.txn.next_command()?;
        let schemas = match &name.0 {
            Some(s) => vec![s.clone()],
            None => self.env.search_path(),
        };
        for schema in schemas {
            match ctx.catalog.relation(ctx.txn, &schema, &name.1)? {
                Some((id, RelKind::Domain)) => return ctx.catalog.domain_by_id(ctx.txn, id),
                Some(_) => return Ok(None),
                None => {}
            }
        }
        Ok(None)
    }

    pub(super) fn alter_domain(&self, name: &Name, action: &AlterDomainAction) -> Result<()> {
        let ctx = self.ctx;
        let domain = self.find_domain(name)?.ok_or_else(|| {
            errinput!(UNDEFINED_OBJECT, "type \"{}\" does not exist", display(name))
        })?;
        let find_check = |name: &str| domain.checks.iter().find(|c| c.name == name);
        let missing = |name: &str| {
            format!("constraint \"{name}\" of domain \"{}\" does not exist", domain.name)
        };
        match action {
            AlterDomainAction::SetDefault(default) => ctx
                .catalog
                .put_domain(ctx.txn, &Domain { default: default.clone(), ..(*domain).clone() }),
            AlterDomainAction::SetNotNull(not_null) => {
                if *not_null && !domain.not_null {
                    self.each_domain_value(&domain, &mut |table, column, value| {
                        if value.is_null() {
                            return Err(errinput!(
                                NOT_NULL_VIOLATION,
                                "column \"{column}\" of table \"{}\" contains null values",
                                table.name
                            ));
                        }
                        Ok(())
                    })?;
                }
                ctx.catalog
                    .put_domain(ctx.txn, &Domain { not_null: *not_null, ..(*domain).clone() })
            }
            AlterDomainAction::AddCheck { name, expr, not_valid } => {
                let check = Constraint {
                    name: name.clone().unwrap_or_else(|| check_name(&domain)),
                    kind: ConstraintKind::Check { expr: expr.clone() },
                    validated: !not_valid,
                    deferral: Deferral::NotDeferrable,
                };
                if !not_valid {
                    self.check_stored_values(&domain, &check)?;
                }
                ctx.catalog.add_domain_check(ctx.txn, &domain, &check)
            }
            AlterDomainAction::Validate(name) => {
                let check = find_check(name)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "{}", missing(name)))?;
                if check.validated {
                    return Ok(());
                }
                self.check_stored_values(&domain, check)?;
                let check = Constraint { validated: true, ..check.clone() };
                ctx.catalog.replace_domain_check(ctx.txn, &domain, &check)
            }
            AlterDomainAction::DropConstraint { name, if_exists } => {
                if find_check(name).is_none() {
                    if *if_exists {
                        self.notice(format!("{}, skipping", missing(name)));
                        return Ok(());
                    }
                    return Err(errinput!(UNDEFINED_OBJECT, "{}", missing(name)));
                }
                ctx.catalog.drop_domain_check(ctx.txn, &domain, name)
            }
            AlterDomainAction::RenameConstraint { old, new } => {
                let check = find_check(old)
                    .ok_or_else(|| errinput!(UNDEFINED_OBJECT, "{}", missing(old)))?;
                ctx.catalog.drop_domain_check(ctx.txn, &domain, old)?;
                let check = Constraint { name: new.clone(), ..check.clone() };
                ctx.catalog.add_domain_check(ctx.txn, &domain, &check)
            }
            AlterDomainAction::Rename(new) => ctx.catalog.rename_table(ctx.txn, domain.id, new),
        }
    }

    /// Tests every stored value of the domain against a CHECK (ADD, VALIDATE CONSTRAINT).
    fn check_stored_values(&self, domain: &Domain, check: &Constraint) -> Result<()> {
        let ConstraintKind::Check { expr } = &check.kind else { return Ok(()) };
        let (bound, _) = crate::bind::bind_domain_check(&domain.name, &domain.base, expr)?;
        self.each_domain_value(domain, &mut |table, column, value| {
            let row = std::slice::from_ref(value);
            if matches!(eval(&bound, row, self.ctx)?, Value::Bool(false)) {
                return Err(errinput!(
                    CHECK_VIOLATION,
                    "column \"{column}\" of table \"{}\" contains values that violate the new constraint",
                    table.name
                ));
            }
            Ok(())
        })
    }

    /// Calls `test` with each stored value of a column of the domain or of a domain
    /// declared over it.
    fn each_domain_value(
        &self,
        domain: &Domain,
        test: &mut dyn FnMut(&Table, &str, &Value) -> Result<()>,
    ) -> Result<()> {
        for table in self.catalog().tables(self.ctx.txn)? {
            let positions: Vec<usize> = table
                .live_columns()
                .filter(|(_, c)| {
                    c.domain.as_ref().is_some_and(|d| d.chain().any(|d| d.id == domain.id))
                })
                .map(|(i, _)| i)
                .collect();
            if positions.is_empty() {
                continue;
            }
            self.each_latest_row(&table, |_, row| {
                for &i in &positions {
                    test(&table, &table.columns[i].name, &row[i])?;
                }
                Ok(Visit::Next)
            })?;
        }
        Ok(())
    }

    /// Drops a domain; under CASCADE the columns of it and the domains over it go too,
    /// otherwise they stop it.
    pub(super) fn drop_domain(&self, domain: &Domain, cascade: bool) -> Result<()> {
        let ctx = self.ctx;
        let mut dependents = Vec::new();
        let over: Vec<Arc<Domain>> = ctx
            .catalog
            .domains(ctx.txn)?
            .into_iter()
            .filter(|d| d.parent.as_ref().is_some_and(|p| p.id == domain.id))
            .collect();
        for d in &over {
            dependents.push(format!("type {} depends on type {}", d.sql_name(), domain.sql_name()));
        }
        let mut columns = Vec::new();
        for table in ctx.catalog.tables(ctx.txn)? {
            for (_, c) in table.live_columns() {
                if c.domain.as_ref().is_some_and(|d| d.id == domain.id) {
                    dependents.push(format!(
                        "column {} of table {} depends on type {}",
                        c.name,
                        table.name,
                        domain.sql_name()
                    ));
                    columns.push((table.id, table.name.clone(), c.name.clone()));
                }
            }
        }
        if !dependents.is_empty() && !cascade {
            return Err(errinput!(
                DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop type {} because other objects depend on it",
                domain.sql_name()
            )
            .with_detail(dependents.join("\n"))
            .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
        }
        for d in &over {
            self.notice(format!("drop cascades to type {}", d.sql_name()));
            self.drop_domain(d, true)?;
        }
        for (id, table, column) in &columns {
            self.notice(format!("drop cascades to column {column} of table {table}"));
            let table = self.table(*id)?;
            self.drop_column(&table, column, true)?;
        }
        ctx.txn.next_command()?;
        ctx.catalog.drop_domain(ctx.txn, domain.id)
    }
}

/// A name for an unnamed CHECK: `<domain>_check`, then `<domain>_check1`, ...
fn check_name(domain: &Domain) -> String {
    let taken = |n: &str| domain.checks.iter().any(|c| c.name == n);
    (0..)
        .map(|n| {
            if n == 0 {
                format!("{}_check", domain.name)
            } else {
                format!("{}_check{n}", domain.name)
            }
        })
        .find(|n| !taken(n))
        .unwrap_or_default()
}
