//! The diff: from the live schema to the desired one, as a DAG of steps.
//!
//! Each step is one DDL statement with what it creates, drops and needs (objects: tables,
//! columns, constraints, indexes, views, sequences, routines, schemas). Dependencies follow
//! from those sets: a step that needs an object comes after the step creating it; a step
//! that drops an object comes after every step that stops using it (a view dropped before
//! the column it reads, a foreign key before the table it points to); a step creating a
//! name comes after the step dropping the old object of that name. The steps are executed in
//! topological order, ties broken by the order they were generated in.

use std::collections::{BTreeMap, BTreeSet};

use oxibase_common::keycode::ColumnOrder;
use oxibase_common::{Result, errinput};
use oxibase_sql::RoutineKind;
use oxibase_sql::catalog::Deferral;

use crate::desired::Renames;
use crate::model::{
    ColumnDef, ForeignKeyDef, Identity, IndexDef, IndexPart, QName, RoutineDef, Schema,
    SequenceDef, TableDef, ViewDef,
};

/// A kind of risk a step carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HazardKind {
    /// Data is deleted: a dropped table or column, a sequence's position.
    DataLoss,
    /// Every row is rewritten under the table's exclusive lock.
    TableRewrite,
    /// Writers to the table wait for as long as the step runs.
    LongLock,
    /// An index is built (online: writes continue; it costs I/O and CPU).
    IndexBuild,
    /// The step validates existing rows and fails if any breaks the new rule.
    Validation,
}

impl HazardKind {
    /// Every kind.
    pub const ALL: [HazardKind; 5] = [
        HazardKind::DataLoss,
        HazardKind::TableRewrite,
        HazardKind::LongLock,
        HazardKind::IndexBuild,
        HazardKind::Validation,
    ];

    /// The name `--allow-hazards` takes.
    pub fn name(self) -> &'static str {
        match self {
            HazardKind::DataLoss => "data_loss",
            HazardKind::TableRewrite => "table_rewrite",
            HazardKind::LongLock => "long_lock",
            HazardKind::IndexBuild => "index_build",
            HazardKind::Validation => "validation",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<HazardKind> {
        HazardKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether `--apply` refuses a step with this hazard unless it is allowed. An index
    /// build runs online and a validation fails atomically (the migration changes nothing
    /// then), so those two are shown but not refused.
    pub fn refused_by_default(self) -> bool {
        matches!(self, HazardKind::DataLoss | HazardKind::TableRewrite | HazardKind::LongLock)
    }
}

/// A hazard with what it means for this step.
#[derive(Clone, Debug, PartialEq)]
pub struct Hazard {
    /// The kind.
    pub kind: HazardKind,
    /// What it means here.
    pub detail: String,
}

/// An object a step creates, drops or needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Obj {
    /// A schema.
    Schema(String),
    /// A table (or view: both are relations).
    Relation(QName),
    /// A column of a table.
    Column(QName, String),
    /// A CHECK or FOREIGN KEY constraint of a table.
    Constraint(QName, String),
    /// An index.
    Index(QName),
    /// A sequence.
    Sequence(QName),
    /// A function or procedure.
    Routine(QName),
    /// An enum type, as the desired schema has it.
    Type(QName),
    /// The live enum type of this name, while anything uses it: released by each step that
    /// stops a column or routine using it, dropped by the step that drops it.
    LiveType(QName),
    /// The live enum type of this name renamed aside, to be replaced by a new one.
    RenamedType(QName),
}

/// What a step does beyond its SQL, for the executor.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Just the statement.
    Sql,
    /// Builds an index on a table that existed before the migration: online, with CREATE
    /// INDEX CONCURRENTLY before the migration's transaction when no other step must come
    /// first.
    BuildIndex {
        /// The index.
        index: IndexDef,
    },
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Its number in execution order, from 1.
    pub id: usize,
    /// The DDL statement.
    pub sql: String,
    /// Its hazards.
    pub hazards: Vec<Hazard>,
    /// The steps that must run before it.
    pub depends_on: Vec<usize>,
    /// A query whose rows are the existing rows that break the step's new rule (validation
    /// steps); each row is one text column describing the row.
    pub offending: Option<String>,
    /// How the executor runs it.
    pub action: Action,
    creates: Vec<Obj>,
    drops: Vec<Obj>,
    needs: Vec<Obj>,
    releases: Vec<Obj>,
}

impl Step {
    /// Whether the step only makes, changes or drops an enum type.
    pub fn changes_only_types(&self) -> bool {
        self.creates
            .iter()
            .chain(&self.drops)
            .all(|o| matches!(o, Obj::Type(_) | Obj::LiveType(_) | Obj::RenamedType(_)))
    }

    /// Whether the step changes or reads `table` (as it was before the migration).
    pub fn touches(&self, table: &QName) -> bool {
        self.creates.iter().chain(&self.drops).chain(&self.needs).any(|o| match o {
            Obj::Relation(t) | Obj::Column(t, _) | Obj::Constraint(t, _) => t == table,
            _ => false,
        }) || matches!(&self.action, Action::BuildIndex { index } if &index.table == table)
    }
}

/// The live schema's size, for hazard details: rows per table.
pub type RowCounts = BTreeMap<QName, u64>;

/// Computes the steps that take `live` to `desired`, in execution order.
pub fn diff(
    live: &Schema,
    desired: &Schema,
    renames: &Renames,
    rows: &RowCounts,
) -> Result<Vec<Step>> {
    let mut planner =
        Planner { steps: Vec::new(), rows, live, desired, recreated: BTreeMap::new() };
    let live = planner.renames(live, desired, renames);
    let mut planner = Planner { live: &live, ..planner };
    planner.schemas(&live, desired);
    planner.types(&live, desired);
    planner.routines(&live, desired);
    planner.sequences(&live, desired);
    planner.tables(&live, desired)?;
    planner.indexes(&live, desired);
    planner.views(&live, desired);
    let mut steps = order(planner.steps)?;
    for step in &mut steps {
        if !matches!(step.action, Action::BuildIndex { .. }) {
            continue;
        }
        if step.depends_on.is_empty() {
            // Runs before the migration's transaction, as CREATE INDEX CONCURRENTLY.
            step.sql = step.sql.replacen("INDEX ", "INDEX CONCURRENTLY ", 1);
        } else {
            // It must follow other steps (an index of the same name dropped, the table
            // renamed): built inside the transaction, under the table's lock.
            step.action = Action::Sql;
            for h in step.hazards.iter_mut().filter(|h| h.kind == HazardKind::IndexBuild) {
                h.detail = h.detail.replace(
                    "built online while writes go on",
                    "built after other steps, inside the migration's transaction",
                );
            }
            step.hazards.push(Hazard {
                kind: HazardKind::LongLock,
                detail: "writes to the table wait while the index is built".into(),
            });
        }
    }
    // Online builds run first (nothing precedes them): numbered so.
    let online = |s: &Step| matches!(s.action, Action::BuildIndex { .. });
    let mut renumbered: Vec<Step> = steps.iter().filter(|s| online(s)).cloned().collect();
    renumbered.extend(steps.iter().filter(|s| !online(s)).cloned());
    let new_id: BTreeMap<usize, usize> =
        renumbered.iter().enumerate().map(|(i, s)| (s.id, i + 1)).collect();
    for step in &mut renumbered {
        step.id = new_id[&step.id];
        step.depends_on = step.depends_on.iter().map(|d| new_id[d]).collect();
        step.depends_on.sort_unstable();
    }
    Ok(renumbered)
}

struct Planner<'a> {
    steps: Vec<Step>,
    rows: &'a RowCounts,
    /// The live schema (after renames) and the desired one, for the types columns use.
    live: &'a Schema,
    desired: &'a Schema,
    /// Enum types replaced by a new type of the same name (labels dropped or reordered),
    /// with their labels: the columns using them are converted.
    recreated: BTreeMap<QName, Vec<String>>,
}

impl Planner<'_> {
    fn push(&mut self, sql: String) -> &mut Step {
        self.steps.push(Step {
            id: 0,
            sql,
            hazards: Vec::new(),
            depends_on: Vec::new(),
            offending: None,
            action: Action::Sql,
            creates: Vec::new(),
            drops: Vec::new(),
            needs: Vec::new(),
            releases: Vec::new(),
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    fn row_count(&self, table: &QName) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }

    /// Applies rename directives: emits the RENAME steps and returns the live schema as it
    /// is after them. A directive whose old name is gone (already applied) does nothing.
    fn renames(&mut self, live: &Schema, desired: &Schema, renames: &Renames) -> Schema {
        let mut live = live.clone();
        for (new, old) in &renames.tables {
            let old_name = (new.0.clone(), old.clone());
            if live.tables.contains_key(new) || !live.tables.contains_key(&old_name) {
                continue;
            }
            let step = self.push(format!(
                "ALTER TABLE {} RENAME TO {}",
                qualified(&old_name),
                quote(&new.1)
            ));
            step.drops.push(Obj::Relation(old_name.clone()));
            step.creates.push(Obj::Relation(new.clone()));
            rename_table(&mut live, &old_name, new);
        }
        for ((table, new), old) in &renames.columns {
            let Some(t) = live.tables.get(table) else { continue };
            if t.column(new).is_some()
                || t.column(old).is_none()
                || !desired.tables.contains_key(table)
            {
                continue;
            }
            let step = self.push(format!(
                "ALTER TABLE {} RENAME COLUMN {} TO {}",
                qualified(table),
                quote(old),
                quote(new)
            ));
            step.needs.push(Obj::Relation(table.clone()));
            step.drops.push(Obj::Column(table.clone(), old.clone()));
            step.creates.push(Obj::Column(table.clone(), new.clone()));
            rename_column(&mut live, table, old, new);
        }
        live
    }

    fn schemas(&mut self, live: &Schema, desired: &Schema) {
        for s in desired.schemas.difference(&live.schemas) {
            self.push(format!("CREATE SCHEMA {}", quote(s))).creates.push(Obj::Schema(s.clone()));
        }
        for s in live.schemas.difference(&desired.schemas) {
            self.push(format!("DROP SCHEMA {}", quote(s))).drops.push(Obj::Schema(s.clone()));
        }
    }

    /// Enum types: created, given new labels in place (ALTER TYPE ... ADD VALUE, safe), or,
    /// when labels go or change order (PostgreSQL cannot drop a label), replaced: the old
    /// type is renamed aside, the new one created, the columns using it converted through
    /// text (validating that no row holds a dropped label), and the old type dropped.
    fn types(&mut self, live: &Schema, desired: &Schema) {
        for (name, want) in &desired.types {
            let labels: Vec<String> = want.labels.iter().map(|l| literal(l)).collect();
            let create = format!("CREATE TYPE {} AS ENUM ({})", qualified(name), labels.join(", "));
            match live.types.get(name) {
                None => {
                    let step = self.push(create);
                    step.creates.push(Obj::Type(name.clone()));
                    step.needs.push(Obj::Schema(name.0.clone()));
                }
                Some(have) if have.labels == want.labels => {}
                Some(have) if is_subsequence(&have.labels, &want.labels) => {
                    for (i, label) in want.labels.iter().enumerate() {
                        if have.labels.contains(label) {
                            continue;
                        }
                        let next = want.labels[i + 1..].iter().find(|l| have.labels.contains(l));
                        let place = next.map(|l| format!(" BEFORE {}", literal(l)));
                        let step = self.push(format!(
                            "ALTER TYPE {} ADD VALUE {}{}",
                            qualified(name),
                            literal(label),
                            place.unwrap_or_default()
                        ));
                        step.creates.push(Obj::Type(name.clone()));
                    }
                }
                Some(_) => {
                    let aside = unused_name(live, desired, &name.0, &format!("{}_old", name.1));
                    let step = self.push(format!(
                        "ALTER TYPE {} RENAME TO {}",
                        qualified(name),
                        quote(&aside)
                    ));
                    step.drops.push(Obj::Type(name.clone()));
                    step.creates.push(Obj::RenamedType(name.clone()));
                    let step = self.push(create);
                    step.creates.push(Obj::Type(name.clone()));
                    let step =
                        self.push(format!("DROP TYPE {}", qualified(&(name.0.clone(), aside))));
                    step.needs.push(Obj::RenamedType(name.clone()));
                    step.drops.push(Obj::LiveType(name.clone()));
                    self.recreated.insert(name.clone(), want.labels.clone());
                }
            }
        }
        for name in live.types.keys() {
            if !desired.types.contains_key(name) {
                let step = self.push(format!("DROP TYPE {}", qualified(name)));
                step.drops.push(Obj::LiveType(name.clone()));
                step.releases.push(Obj::Schema(name.0.clone()));
            }
        }
    }

    /// The replaced enum type stored SQL (a CHECK, an index expression) names, if any: it
    /// is dropped before the type is replaced and made again after, as it would name the
    /// old type.
    fn recreated_in(&self, sql: &str) -> Option<Obj> {
        names_one_of(&self.recreated, sql)
    }

    /// The desired enum type a column or argument type is (the step using it needs it).
    fn type_needed(&self, data_type: &str) -> Option<Obj> {
        self.desired.type_of(data_type).map(|t| Obj::Type(t.clone()))
    }

    /// The live enum type a column or argument type is (a step that stops using it
    /// releases it).
    fn type_released(&self, data_type: &str) -> Option<Obj> {
        self.live.type_of(data_type).map(|t| Obj::LiveType(t.clone()))
    }

    /// The enum types a routine's signature uses, in `schema`'s names.
    fn routine_types(r: &RoutineDef, schema: &Schema) -> Vec<QName> {
        schema
            .types
            .values()
            .filter(|t| {
                let name = t.sql_name();
                r.args.iter().any(|(_, a)| a.trim_end_matches("[]") == name)
                    || mentions(&r.returns, &name)
            })
            .map(|t| t.name.clone())
            .collect()
    }

    fn create_routine_step(&mut self, want: &RoutineDef, replace: bool) {
        let needs: Vec<Obj> =
            Self::routine_types(want, self.desired).into_iter().map(Obj::Type).collect();
        let step = self.push(create_routine(want, replace));
        step.creates.push(Obj::Routine(want.name.clone()));
        step.needs.push(Obj::Schema(want.name.0.clone()));
        step.needs.extend(needs);
    }

    fn drop_routine_step(&mut self, have: &RoutineDef) -> &mut Step {
        // Its signature names the live types: it runs before a type is renamed aside.
        let releases: Vec<Obj> = Self::routine_types(have, self.live)
            .into_iter()
            .flat_map(|t| [Obj::LiveType(t.clone()), Obj::Type(t)])
            .collect();
        let step = self.push(drop_routine(have));
        step.drops.push(Obj::Routine(have.name.clone()));
        step.releases.extend(releases);
        step
    }

    fn routines(&mut self, live: &Schema, desired: &Schema) {
        for (name, want) in &desired.routines {
            let uses_recreated =
                Self::routine_types(want, desired).iter().any(|t| self.recreated.contains_key(t));
            match live.routines.get(name) {
                Some(have) if have == want && !uses_recreated => {}
                Some(have) if have == want => {
                    // Its signature names a type being replaced: made again over the new one.
                    self.drop_routine_step(have);
                    self.create_routine_step(want, false);
                }
                Some(have) => {
                    let same_signature = have.kind == want.kind
                        && have.args.iter().map(|a| &a.1).eq(want.args.iter().map(|a| &a.1))
                        && have.returns == want.returns;
                    let same_signature = same_signature && !uses_recreated;
                    if !same_signature {
                        self.drop_routine_step(have);
                    }
                    self.create_routine_step(want, same_signature);
                }
                None => self.create_routine_step(want, false),
            }
        }
        for (name, have) in &live.routines {
            if !desired.routines.contains_key(name) {
                self.drop_routine_step(have).releases.push(Obj::Schema(name.0.clone()));
            }
        }
    }

    fn sequences(&mut self, live: &Schema, desired: &Schema) {
        for (name, want) in &desired.sequences {
            match live.sequences.get(name) {
                Some(have) if have == want => {}
                Some(_) => {
                    let step = self.push(format!("DROP SEQUENCE {}", qualified(name)));
                    step.drops.push(Obj::Sequence(name.clone()));
                    step.hazards.push(Hazard {
                        kind: HazardKind::DataLoss,
                        detail:
                            "the sequence is recreated with its new options: its position restarts"
                                .into(),
                    });
                    let step = self.push(create_sequence(want));
                    step.creates.push(Obj::Sequence(name.clone()));
                }
                None => {
                    let step = self.push(create_sequence(want));
                    step.creates.push(Obj::Sequence(name.clone()));
                    step.needs.push(Obj::Schema(name.0.clone()));
                }
            }
        }
        for name in live.sequences.keys() {
            if !desired.sequences.contains_key(name) {
                let step = self.push(format!("DROP SEQUENCE {}", qualified(name)));
                step.drops.push(Obj::Sequence(name.clone()));
                step.releases.push(Obj::Schema(name.0.clone()));
                step.hazards.push(Hazard {
                    kind: HazardKind::DataLoss,
                    detail: "the sequence and its position are dropped".into(),
                });
            }
        }
    }

    fn tables(&mut self, live: &Schema, desired: &Schema) -> Result<()> {
        for (name, want) in &desired.tables {
            match live.tables.get(name) {
                None => self.create_table(want, desired),
                Some(have) => self.alter_table(have, want, desired)?,
            }
        }
        for (name, have) in &live.tables {
            if desired.tables.contains_key(name) {
                continue;
            }
            let rows = self.row_count(name);
            let types: Vec<Obj> =
                have.columns.iter().filter_map(|c| self.type_released(&c.data_type)).collect();
            let step = self.push(format!("DROP TABLE {}", qualified(name)));
            step.releases.extend(types);
            step.drops.push(Obj::Relation(name.clone()));
            step.drops
                .extend(have.columns.iter().map(|c| Obj::Column(name.clone(), c.name.clone())));
            step.releases.push(Obj::Schema(name.0.clone()));
            for fk in have.foreign_keys.values() {
                step.releases.push(Obj::Relation(fk.ref_table.clone()));
                step.releases.extend(
                    fk.ref_columns.iter().map(|c| Obj::Column(fk.ref_table.clone(), c.clone())),
                );
            }
            step.releases.extend(sequences_used(have));
            step.hazards.push(Hazard {
                kind: HazardKind::DataLoss,
                detail: format!("drops the table and its {rows} rows"),
            });
        }
        Ok(())
    }

    fn create_table(&mut self, want: &TableDef, desired: &Schema) {
        let name = &want.name;
        let mut parts: Vec<String> = want.columns.iter().map(column_sql).collect();
        if !want.primary_key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", idents(&want.primary_key)));
        }
        for (check, expr) in &want.checks {
            parts.push(format!("CONSTRAINT {} CHECK ({expr})", quote(check)));
        }
        let types: Vec<Obj> =
            want.columns.iter().filter_map(|c| self.type_needed(&c.data_type)).collect();
        let step = self.push(format!("CREATE TABLE {} ({})", qualified(name), parts.join(", ")));
        step.needs.extend(types);
        step.creates.push(Obj::Relation(name.clone()));
        step.creates.extend(want.columns.iter().map(|c| Obj::Column(name.clone(), c.name.clone())));
        step.creates.extend(want.checks.keys().map(|c| Obj::Constraint(name.clone(), c.clone())));
        step.needs.push(Obj::Schema(name.0.clone()));
        step.needs.extend(sequences_used(want));
        for (fk_name, fk) in &want.foreign_keys {
            self.add_foreign_key(want, fk_name, fk, desired, false);
        }
    }

    fn alter_table(&mut self, have: &TableDef, want: &TableDef, desired: &Schema) -> Result<()> {
        let name = &want.name;
        let table = qualified(name);
        let rows = self.row_count(name);
        let key = key_display(have);
        // Constraints that change or go first: they may use columns that go.
        for (check, expr) in &have.checks {
            if want.checks.get(check) != Some(expr) || self.recreated_in(expr).is_some() {
                let step =
                    self.push(format!("ALTER TABLE {table} DROP CONSTRAINT {}", quote(check)));
                step.drops.push(Obj::Constraint(name.clone(), check.clone()));
                step.releases.extend(
                    have.columns
                        .iter()
                        .filter(|c| mentions(expr, &c.name))
                        .map(|c| Obj::Column(name.clone(), c.name.clone())),
                );
            }
        }
        for (fk_name, fk) in &have.foreign_keys {
            if want.foreign_keys.get(fk_name) != Some(fk) {
                let step =
                    self.push(format!("ALTER TABLE {table} DROP CONSTRAINT {}", quote(fk_name)));
                step.drops.push(Obj::Constraint(name.clone(), fk_name.clone()));
                step.releases.push(Obj::Relation(fk.ref_table.clone()));
                step.releases
                    .extend(fk.columns.iter().map(|c| Obj::Column(name.clone(), c.clone())));
                step.releases.extend(
                    fk.ref_columns.iter().map(|c| Obj::Column(fk.ref_table.clone(), c.clone())),
                );
            }
        }
        for want_col in &want.columns {
            let column = quote(&want_col.name);
            let Some(have_col) = have.column(&want_col.name) else {
                self.add_column(have, want_col, rows);
                continue;
            };
            if have_col.identity != want_col.identity {
                return Err(errinput!(
                    FEATURE_NOT_SUPPORTED,
                    "changing whether column \"{}\" of table \"{}\" is an identity column is not supported",
                    want_col.name,
                    name.1
                )
                .with_hint("Add a new column and drop the old one, with a rename directive if need be."));
            }
            if have_col.generated != want_col.generated {
                if have_col.generated.is_none() || want_col.generated.is_none() {
                    return Err(errinput!(
                        FEATURE_NOT_SUPPORTED,
                        "changing whether column \"{}\" of table \"{}\" is generated is not supported",
                        want_col.name,
                        name.1
                    )
                    .with_hint("Add a new column and drop the old one, with a rename directive if need be."));
                }
                // A new expression: the column's values are derived, so it is dropped and
                // computed again for every row.
                let released = self.type_released(&have_col.data_type);
                let needed = self.type_needed(&want_col.data_type);
                let step = self.push(format!("ALTER TABLE {table} DROP COLUMN {column}"));
                step.drops.push(Obj::Column(name.clone(), want_col.name.clone()));
                step.releases.extend(released);
                let step =
                    self.push(format!("ALTER TABLE {table} ADD COLUMN {}", column_sql(want_col)));
                step.needs.extend(needed);
                step.needs.push(Obj::Relation(name.clone()));
                step.creates.push(Obj::Column(name.clone(), want_col.name.clone()));
                step.hazards.push(Hazard {
                    kind: HazardKind::TableRewrite,
                    detail: format!(
                        "computes the new expression for each of {rows} rows under the table's lock"
                    ),
                });
                continue;
            }
            if have_col.data_type == want_col.data_type {
                self.convert_to_recreated_type(have, have_col, want_col.default.as_deref(), &key);
            } else {
                let released = self.type_released(&have_col.data_type);
                let needed = self.type_needed(&want_col.data_type);
                let step = self.push(format!(
                    "ALTER TABLE {table} ALTER COLUMN {column} TYPE {} USING {column}::{}",
                    want_col.data_type, want_col.data_type
                ));
                step.releases.extend(released);
                step.needs.extend(needed);
                step.drops.push(Obj::Column(name.clone(), want_col.name.clone()));
                step.creates.push(Obj::Column(name.clone(), want_col.name.clone()));
                step.hazards.push(Hazard {
                    kind: HazardKind::TableRewrite,
                    detail: format!(
                        "rewrites {rows} rows ({} to {}) holding the table's lock",
                        have_col.data_type, want_col.data_type
                    ),
                });
                step.hazards.push(Hazard {
                    kind: HazardKind::Validation,
                    detail: "fails if an existing value does not convert".into(),
                });
            }
            if have_col.default != want_col.default && want_col.identity.is_none() {
                let sql = match &want_col.default {
                    Some(d) => format!("ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {d}"),
                    None => format!("ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT"),
                };
                let step = self.push(sql);
                step.needs.push(Obj::Column(name.clone(), want_col.name.clone()));
            }
            if have_col.not_null != want_col.not_null {
                if want_col.not_null {
                    let step = self
                        .push(format!("ALTER TABLE {table} ALTER COLUMN {column} SET NOT NULL"));
                    step.needs.push(Obj::Column(name.clone(), want_col.name.clone()));
                    step.hazards.push(Hazard {
                        kind: HazardKind::Validation,
                        detail: format!("fails if a row has {} null", want_col.name),
                    });
                    step.offending =
                        Some(format!("SELECT {key} FROM {table} WHERE {column} IS NULL"));
                } else {
                    let step = self
                        .push(format!("ALTER TABLE {table} ALTER COLUMN {column} DROP NOT NULL"));
                    step.needs.push(Obj::Column(name.clone(), want_col.name.clone()));
                }
            }
        }
        if have.primary_key != want.primary_key {
            if !have.primary_key.is_empty() {
                let pkey = format!("{}_pkey", name.1);
                let step =
                    self.push(format!("ALTER TABLE {table} DROP CONSTRAINT {}", quote(&pkey)));
                step.releases
                    .extend(have.primary_key.iter().map(|c| Obj::Column(name.clone(), c.clone())));
                step.drops.push(Obj::Constraint(name.clone(), pkey));
                step.hazards.push(Hazard {
                    kind: HazardKind::TableRewrite,
                    detail: format!("rewrites {rows} rows under new row keys"),
                });
            }
            if !want.primary_key.is_empty() {
                let cols = idents(&want.primary_key);
                let step = self.push(format!("ALTER TABLE {table} ADD PRIMARY KEY ({cols})"));
                step.needs
                    .extend(want.primary_key.iter().map(|c| Obj::Column(name.clone(), c.clone())));
                step.creates.push(Obj::Constraint(name.clone(), format!("{}_pkey", name.1)));
                step.hazards.push(Hazard {
                    kind: HazardKind::TableRewrite,
                    detail: format!("rewrites {rows} rows under new row keys"),
                });
                step.hazards.push(Hazard {
                    kind: HazardKind::Validation,
                    detail: "fails if the key has nulls or duplicates".into(),
                });
                step.offending = Some(format!(
                    "SELECT {} FROM {table} GROUP BY {cols} HAVING count(*) > 1 OR bool_or(({}) IS NULL)",
                    row_display(&want.primary_key, "", "count(*)"),
                    want.primary_key
                        .iter()
                        .map(|c| format!("{} IS NULL", quote(c)))
                        .collect::<Vec<_>>()
                        .join(" OR ")
                ));
            }
        }
        for have_col in &have.columns {
            if want.column(&have_col.name).is_none() {
                let released = self.type_released(&have_col.data_type);
                let step =
                    self.push(format!("ALTER TABLE {table} DROP COLUMN {}", quote(&have_col.name)));
                step.releases.extend(released);
                step.drops.push(Obj::Column(name.clone(), have_col.name.clone()));
                step.hazards.push(Hazard {
                    kind: HazardKind::DataLoss,
                    detail: format!("drops column {} and its values in {rows} rows", have_col.name),
                });
            }
        }
        for (check, expr) in &want.checks {
            let ty = self.recreated_in(expr);
            if have.checks.get(check) != Some(expr) || ty.is_some() {
                let step = self.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {} CHECK ({expr})",
                    quote(check)
                ));
                step.creates.push(Obj::Constraint(name.clone(), check.clone()));
                step.needs.extend(ty);
                step.needs.extend(
                    want.columns
                        .iter()
                        .filter(|c| mentions(expr, &c.name))
                        .map(|c| Obj::Column(name.clone(), c.name.clone())),
                );
                step.needs.push(Obj::Relation(name.clone()));
                step.hazards.push(Hazard {
                    kind: HazardKind::Validation,
                    detail: format!("fails if an existing row breaks CHECK ({expr})"),
                });
                step.offending = Some(format!("SELECT {key} FROM {table} WHERE NOT ({expr})"));
            }
        }
        for (fk_name, fk) in &want.foreign_keys {
            if have.foreign_keys.get(fk_name) != Some(fk) {
                self.add_foreign_key(want, fk_name, fk, desired, true);
            }
        }
        Ok(())
    }

    /// Converts a column whose enum type is being replaced to the new type, through text.
    fn convert_to_recreated_type(
        &mut self,
        table: &TableDef,
        col: &ColumnDef,
        default: Option<&str>,
        key: &str,
    ) {
        let Some(ty) = self.live.type_of(&col.data_type).cloned() else { return };
        let Some(labels) = self.recreated.get(&ty) else { return };
        let labels: Vec<String> = labels.iter().map(|l| literal(l)).collect();
        let labels = labels.join(", ");
        let name = &table.name;
        let (sql_table, column) = (qualified(name), quote(&col.name));
        let rows = self.row_count(name);
        let array = col.data_type.ends_with("[]");
        let text = if array { "text[]" } else { "text" };
        let convert =
            format!("ALTER COLUMN {column} TYPE {0} USING {column}::{text}::{0}", col.data_type);
        // A default names the old type (renamed aside): dropped around the conversion and
        // set again, in the same statement.
        let sql = match (&col.default, default) {
            (None, _) => format!("ALTER TABLE {sql_table} {convert}"),
            (Some(_), None) => {
                format!("ALTER TABLE {sql_table} ALTER COLUMN {column} DROP DEFAULT, {convert}")
            }
            (Some(_), Some(d)) => format!(
                "ALTER TABLE {sql_table} ALTER COLUMN {column} DROP DEFAULT, {convert}, \
                 ALTER COLUMN {column} SET DEFAULT {d}"
            ),
        };
        let step = self.push(sql);
        step.needs.push(Obj::Type(ty.clone()));
        step.releases.push(Obj::LiveType(ty.clone()));
        step.drops.push(Obj::Column(name.clone(), col.name.clone()));
        step.creates.push(Obj::Column(name.clone(), col.name.clone()));
        step.hazards.push(Hazard {
            kind: HazardKind::TableRewrite,
            detail: format!(
                "rewrites {rows} rows into the new {} holding the table's lock",
                col.data_type
            ),
        });
        step.hazards.push(Hazard {
            kind: HazardKind::Validation,
            detail: format!("fails if a row holds a label {} no longer has", col.data_type),
        });
        let broken = if array {
            format!("NOT ({column}::text[] <@ ARRAY[{labels}]::text[])")
        } else {
            format!("{column}::text NOT IN ({labels})")
        };
        step.offending = Some(format!("SELECT {key} FROM {sql_table} WHERE {broken}"));
    }

    fn add_column(&mut self, have: &TableDef, col: &ColumnDef, rows: u64) {
        let name = &have.name;
        let needed = self.type_needed(&col.data_type);
        let step =
            self.push(format!("ALTER TABLE {} ADD COLUMN {}", qualified(name), column_sql(col)));
        step.needs.extend(needed);
        step.needs.push(Obj::Relation(name.clone()));
        step.creates.push(Obj::Column(name.clone(), col.name.clone()));
        step.needs.extend(sequences_used_by(col));
        let volatile = col.default.as_deref().is_some_and(|d| d.contains('('));
        if col.identity.is_some() || volatile || col.generated.is_some() {
            step.hazards.push(Hazard {
                kind: HazardKind::TableRewrite,
                detail: format!(
                    "computes the new column for each of {rows} rows under the table's lock"
                ),
            });
        }
        if col.not_null && col.default.is_none() && col.identity.is_none() {
            step.hazards.push(Hazard {
                kind: HazardKind::Validation,
                detail: format!(
                    "NOT NULL without a default fails unless the table is empty ({rows} rows now)"
                ),
            });
            step.offending =
                Some(format!("SELECT {} FROM {} LIMIT 1", key_display(have), qualified(name)));
        }
    }

    fn add_foreign_key(
        &mut self,
        table: &TableDef,
        fk_name: &str,
        fk: &ForeignKeyDef,
        desired: &Schema,
        existing: bool,
    ) {
        let name = &table.name;
        let mut sql = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            qualified(name),
            quote(fk_name),
            idents(&fk.columns),
            qualified(&fk.ref_table),
            idents(&fk.ref_columns)
        );
        for (word, action) in [("ON DELETE", &fk.on_delete), ("ON UPDATE", &fk.on_update)] {
            let action = match action.as_str() {
                "cascade" => Some("CASCADE"),
                "setnull" => Some("SET NULL"),
                "setdefault" => Some("SET DEFAULT"),
                _ => None,
            };
            if let Some(a) = action {
                sql.push_str(&format!(" {word} {a}"));
            }
        }
        sql.push_str(match fk.deferral {
            Deferral::NotDeferrable => "",
            Deferral::Immediate => " DEFERRABLE",
            Deferral::Deferred => " DEFERRABLE INITIALLY DEFERRED",
        });
        let offending = existing.then(|| {
            let join: Vec<String> = fk
                .columns
                .iter()
                .zip(&fk.ref_columns)
                .map(|(c, r)| format!("r.{} = t.{}", quote(r), quote(c)))
                .collect();
            let present: Vec<String> =
                fk.columns.iter().map(|c| format!("t.{} IS NOT NULL", quote(c))).collect();
            format!(
                "SELECT {} FROM {} t WHERE {} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {})",
                row_display(&key_columns(table), "t.", ""),
                qualified(name),
                present.join(" AND "),
                qualified(&fk.ref_table),
                join.join(" AND ")
            )
        });
        let unique_index = desired
            .indexes
            .values()
            .find(|i| {
                i.table == fk.ref_table
                    && i.unique
                    && i.predicate.is_none()
                    && i.plain_columns().is_some_and(|c| same_set(c.iter(), fk.ref_columns.iter()))
            })
            .map(|i| i.name.clone());
        let step = self.push(sql);
        step.creates.push(Obj::Constraint(name.clone(), fk_name.to_string()));
        step.needs.push(Obj::Relation(name.clone()));
        step.needs.push(Obj::Relation(fk.ref_table.clone()));
        step.needs.extend(fk.columns.iter().map(|c| Obj::Column(name.clone(), c.clone())));
        step.needs
            .extend(fk.ref_columns.iter().map(|c| Obj::Column(fk.ref_table.clone(), c.clone())));
        step.needs.extend(unique_index.map(Obj::Index));
        if let Some(q) = offending {
            step.hazards.push(Hazard {
                kind: HazardKind::Validation,
                detail: format!(
                    "fails if a row of {} points to no row of {}",
                    name.1, fk.ref_table.1
                ),
            });
            step.offending = Some(q);
        }
    }

    fn indexes(&mut self, live: &Schema, desired: &Schema) {
        let recreated = self.recreated.clone();
        let names_replaced_type = |i: &IndexDef| {
            let sql = i.columns.iter().filter_map(|(part, _)| match part {
                IndexPart::Expr(e) => Some(e.as_str()),
                IndexPart::Column(_) => None,
            });
            sql.chain(i.predicate.as_deref()).find_map(|e| names_one_of(&recreated, e))
        };
        for (name, have) in &live.indexes {
            let unchanged =
                desired.indexes.get(name) == Some(have) && names_replaced_type(have).is_none();
            if unchanged || !desired.tables.contains_key(&have.table) {
                // Unchanged, or dropped with its table.
                continue;
            }
            let reads = index_reads(have, live.tables.get(&have.table));
            let step = self.push(format!("DROP INDEX {}", qualified(name)));
            step.drops.push(Obj::Index(name.clone()));
            step.releases.extend(reads.into_iter().map(|c| Obj::Column(have.table.clone(), c)));
        }
        for (name, want) in &desired.indexes {
            let ty = names_replaced_type(want);
            if live.indexes.get(name) == Some(want) && ty.is_none() {
                continue;
            }
            let key_cols = index_reads(want, desired.tables.get(&want.table));
            let existed = live
                .tables
                .get(&want.table)
                .is_some_and(|t| key_cols.iter().all(|c| t.column(c).is_some()));
            let rows = self.row_count(&want.table);
            let table = qualified(&want.table);
            let cols: Vec<String> = want
                .columns
                .iter()
                .map(|(part, o)| match part {
                    IndexPart::Column(c) => order_sql(&quote(c), *o),
                    IndexPart::Expr(e) => order_sql(&oxibase_sql::catalog::key_expression(e), *o),
                })
                .collect();
            let unique = if want.unique { "UNIQUE " } else { "" };
            let predicate =
                want.predicate.as_ref().map(|p| format!(" WHERE {p}")).unwrap_or_default();
            let using = match want.method {
                oxibase_sql::IndexMethod::Btree => String::new(),
                method => format!(" USING {}", method.name()),
            };
            let nulls = if want.nulls_not_distinct { " NULLS NOT DISTINCT" } else { "" };
            let sql = format!(
                "CREATE {unique}INDEX {} ON {table}{using} ({}){nulls}{predicate}",
                quote(&name.1),
                cols.join(", ")
            );
            let step = self.push(sql);
            step.creates.push(Obj::Index(name.clone()));
            step.needs.extend(ty);
            step.needs.push(Obj::Relation(want.table.clone()));
            step.needs.extend(key_cols.iter().map(|c| Obj::Column(want.table.clone(), c.clone())));
            if existed {
                step.action = Action::BuildIndex { index: want.clone() };
                step.hazards.push(Hazard {
                    kind: HazardKind::IndexBuild,
                    detail: format!("reads {rows} rows, built online while writes go on"),
                });
            }
            if want.unique && existed {
                step.hazards.push(Hazard {
                    kind: HazardKind::Validation,
                    detail: "fails if existing rows have duplicate keys".into(),
                });
                let list = idents(&key_cols);
                // NULL keys are duplicates only for NULLS NOT DISTINCT.
                let present = if want.nulls_not_distinct {
                    "true".to_string()
                } else {
                    key_cols
                        .iter()
                        .map(|c| format!("{} IS NOT NULL", quote(c)))
                        .collect::<Vec<_>>()
                        .join(" AND ")
                };
                step.offending = Some(format!(
                    "SELECT {} FROM {table} WHERE {present} GROUP BY {list} HAVING count(*) > 1",
                    row_display(&key_cols, "", "count(*)"),
                ));
            }
        }
    }

    fn views(&mut self, live: &Schema, desired: &Schema) {
        // Views whose tables change shape under them are recreated, and so are the views
        // reading those, transitively.
        let mut changed: BTreeSet<QName> = BTreeSet::new();
        for step in &self.steps {
            for obj in step.drops.iter() {
                if let Obj::Column(t, _) | Obj::Relation(t) = obj {
                    changed.insert(t.clone());
                }
            }
        }
        let mut recreate: BTreeSet<QName> = BTreeSet::new();
        loop {
            let before = recreate.len();
            for (name, have) in &live.views {
                let differs = desired.views.get(name).is_none_or(|w| w.query != have.query);
                if differs || have.reads.iter().any(|r| changed.contains(r) || recreate.contains(r))
                {
                    recreate.insert(name.clone());
                }
            }
            if recreate.len() == before {
                break;
            }
        }
        // Dropped dependents first: a view reading another goes before it.
        let mut drops: Vec<&ViewDef> =
            live.views.values().filter(|v| recreate.contains(&v.name)).collect();
        drops.sort_by_key(|v| std::cmp::Reverse(depth(v, live)));
        for have in drops {
            let step = self.push(format!("DROP VIEW {}", qualified(&have.name)));
            step.drops.push(Obj::Relation(have.name.clone()));
            for r in &have.reads {
                step.releases.push(Obj::Relation(r.clone()));
                if let Some(t) = live.tables.get(r) {
                    step.releases
                        .extend(t.columns.iter().map(|c| Obj::Column(r.clone(), c.name.clone())));
                }
            }
        }
        for (name, want) in &desired.views {
            if live.views.contains_key(name) && !recreate.contains(name) {
                continue;
            }
            let step = self.push(format!("CREATE VIEW {} AS {}", qualified(name), want.query));
            step.creates.push(Obj::Relation(name.clone()));
            step.needs.push(Obj::Schema(name.0.clone()));
            for r in &want.reads {
                step.needs.push(Obj::Relation(r.clone()));
                if let Some(t) = desired.tables.get(r) {
                    step.needs
                        .extend(t.columns.iter().map(|c| Obj::Column(r.clone(), c.name.clone())));
                }
            }
        }
    }
}

/// A key column with its order as CREATE INDEX takes it.
/// A key part (quoted column or expression) with its order.
fn order_sql(key: &str, order: ColumnOrder) -> String {
    let mut sql = key.to_string();
    match (order.descending, order.nulls_first) {
        (false, false) => {}
        (false, true) => sql.push_str(" NULLS FIRST"),
        (true, true) => sql.push_str(" DESC"),
        (true, false) => sql.push_str(" DESC NULLS LAST"),
    }
    sql
}

fn depth(view: &ViewDef, schema: &Schema) -> usize {
    fn go(view: &ViewDef, schema: &Schema, seen: usize) -> usize {
        if seen > 64 {
            return seen;
        }
        view.reads
            .iter()
            .filter_map(|r| schema.views.get(r))
            .map(|v| 1 + go(v, schema, seen + 1))
            .max()
            .unwrap_or(0)
    }
    go(view, schema, 0)
}

/// Orders steps topologically (ties by generation order) and numbers them.
fn order(mut steps: Vec<Step>) -> Result<Vec<Step>> {
    let n = steps.len();
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, step) in steps.iter().enumerate() {
        for (j, other) in steps.iter().enumerate() {
            if i == j {
                continue;
            }
            let after = step.needs.iter().any(|o| other.creates.contains(o))
                || step.drops.iter().any(|o| other.releases.contains(o))
                || step.creates.iter().any(|o| other.drops.contains(o) && !step.drops.contains(o));
            if after {
                edges[i].insert(j);
            }
        }
    }
    let mut done = vec![false; n];
    let mut position = vec![0; n];
    let mut sequence = Vec::with_capacity(n);
    while sequence.len() < n {
        let next = (0..n).find(|&i| !done[i] && edges[i].iter().all(|&j| done[j]));
        let Some(i) = next else {
            let stuck: Vec<&str> =
                (0..n).filter(|&i| !done[i]).map(|i| steps[i].sql.as_str()).collect();
            return Err(errinput!(
                FEATURE_NOT_SUPPORTED,
                "the migration's steps depend on each other in a cycle: {}",
                stuck.join("; ")
            ));
        };
        done[i] = true;
        position[i] = sequence.len() + 1;
        sequence.push(i);
    }
    for (i, step) in steps.iter_mut().enumerate() {
        step.id = position[i];
        step.depends_on = edges[i].iter().map(|&j| position[j]).collect();
        step.depends_on.sort_unstable();
    }
    steps.sort_by_key(|s| s.id);
    Ok(steps)
}

fn rename_table(schema: &mut Schema, old: &QName, new: &QName) {
    if let Some(mut t) = schema.tables.remove(old) {
        t.name = new.clone();
        schema.tables.insert(new.clone(), t);
    }
    for t in schema.tables.values_mut() {
        for fk in t.foreign_keys.values_mut() {
            if &fk.ref_table == old {
                fk.ref_table = new.clone();
            }
        }
    }
    for i in schema.indexes.values_mut() {
        if &i.table == old {
            i.table = new.clone();
        }
    }
    for v in schema.views.values_mut() {
        if v.reads.remove(old) {
            v.reads.insert(new.clone());
        }
    }
}

fn rename_column(schema: &mut Schema, table: &QName, old: &str, new: &str) {
    let rename = |c: &mut String| {
        if c == old {
            *c = new.to_string();
        }
    };
    if let Some(t) = schema.tables.get_mut(table) {
        for c in &mut t.columns {
            rename(&mut c.name);
        }
        t.primary_key.iter_mut().for_each(rename);
        for fk in t.foreign_keys.values_mut() {
            fk.columns.iter_mut().for_each(rename);
        }
        for expr in t.checks.values_mut() {
            *expr = replace_word(expr, old, new);
        }
    }
    for t in schema.tables.values_mut() {
        for fk in t.foreign_keys.values_mut() {
            if &fk.ref_table == table {
                fk.ref_columns.iter_mut().for_each(rename);
            }
        }
    }
    for i in schema.indexes.values_mut() {
        if &i.table == table {
            for (part, _) in &mut i.columns {
                match part {
                    IndexPart::Column(c) => rename(c),
                    IndexPart::Expr(e) => *e = replace_word(e, old, new),
                }
            }
            if let Some(p) = &mut i.predicate {
                *p = replace_word(p, old, new);
            }
        }
    }
}

/// Replaces whole-word occurrences of an identifier (outside quotes) in an expression.
fn replace_word(expr: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut word = String::new();
    let mut in_string = false;
    let flush = |word: &mut String, out: &mut String| {
        if word == old {
            out.push_str(new);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for ch in expr.chars() {
        if !in_string && (ch.is_alphanumeric() || ch == '_') {
            word.push(ch);
            continue;
        }
        flush(&mut word, &mut out);
        if ch == '\'' {
            in_string = !in_string;
        }
        out.push(ch);
    }
    flush(&mut word, &mut out);
    out
}

/// The columns an index's key and predicate read (those of `table` its expressions
/// mention).
fn index_reads(index: &IndexDef, table: Option<&TableDef>) -> Vec<String> {
    let mut reads = Vec::new();
    let mut exprs: Vec<&String> = index.predicate.iter().collect();
    for (part, _) in &index.columns {
        match part {
            IndexPart::Column(c) => reads.push(c.clone()),
            IndexPart::Expr(e) => exprs.push(e),
        }
    }
    for c in table.iter().flat_map(|t| &t.columns) {
        if exprs.iter().any(|e| mentions(e, &c.name)) && !reads.contains(&c.name) {
            reads.push(c.name.clone());
        }
    }
    reads
}

/// Whether an expression mentions an identifier as a whole word.
fn mentions(expr: &str, ident: &str) -> bool {
    replace_word(expr, ident, "\u{1}") != expr
}

fn same_set<'a>(a: impl Iterator<Item = &'a String>, b: impl Iterator<Item = &'a String>) -> bool {
    let a: BTreeSet<_> = a.collect();
    let b: BTreeSet<_> = b.collect();
    a == b
}

fn sequences_used(table: &TableDef) -> Vec<Obj> {
    table.columns.iter().flat_map(sequences_used_by).collect()
}

/// The sequences a column's default draws from (`nextval('name')`).
fn sequences_used_by(column: &ColumnDef) -> Vec<Obj> {
    let Some(default) = &column.default else { return vec![] };
    default
        .split("nextval('")
        .skip(1)
        .filter_map(|rest| rest.split('\'').next())
        .map(|name| {
            let name = name.trim_matches('"');
            match name.split_once('.') {
                Some((s, n)) => Obj::Sequence((s.to_string(), n.to_string())),
                None => Obj::Sequence(("public".to_string(), name.to_string())),
            }
        })
        .collect()
}

/// A column as in CREATE TABLE / ADD COLUMN.
fn column_sql(c: &ColumnDef) -> String {
    let mut sql = format!("{} {}", quote(&c.name), c.data_type);
    match c.identity {
        Some(Identity::Always) => sql.push_str(" GENERATED ALWAYS AS IDENTITY"),
        Some(Identity::ByDefault) => sql.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
        None => {}
    }
    if let Some(d) = &c.default {
        sql.push_str(&format!(" DEFAULT {d}"));
    }
    if let Some(g) = &c.generated {
        sql.push_str(&format!(" GENERATED ALWAYS AS ({g}) STORED"));
    }
    if c.not_null && c.identity.is_none() {
        sql.push_str(" NOT NULL");
    }
    sql
}

fn create_sequence(s: &SequenceDef) -> String {
    let mut sql = format!(
        "CREATE SEQUENCE {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {}",
        qualified(&s.name),
        s.increment,
        s.min,
        s.max,
        s.start
    );
    if s.cycle {
        sql.push_str(" CYCLE");
    }
    sql
}

fn create_routine(r: &RoutineDef, replace: bool) -> String {
    let args: Vec<String> = r.args.iter().map(|(n, t)| format!("{} {t}", quote(n))).collect();
    let returns = match r.kind {
        RoutineKind::Procedure => String::new(),
        RoutineKind::Function => format!(" RETURNS {}", r.returns),
    };
    let mut sql = format!(
        "CREATE {}{} {}({}){returns} LANGUAGE {}",
        if replace { "OR REPLACE " } else { "" },
        r.kind.keyword(),
        qualified(&r.name),
        args.join(", "),
        r.language
    );
    if r.kind == RoutineKind::Function {
        sql.push_str(match r.volatility {
            'i' => " IMMUTABLE",
            's' => " STABLE",
            _ => "",
        });
        if r.strict {
            sql.push_str(" STRICT");
        }
    }
    sql.push_str(&format!(" AS {}", dollar_quote(&r.source)));
    sql
}

fn drop_routine(r: &RoutineDef) -> String {
    let types: Vec<&str> = r.args.iter().map(|(_, t)| t.as_str()).collect();
    format!("DROP {} {}({})", r.kind.keyword(), qualified(&r.name), types.join(", "))
}

/// The first of `types` that `sql` names, as the object a step using it needs.
fn names_one_of(types: &BTreeMap<QName, Vec<String>>, sql: &str) -> Option<Obj> {
    types.keys().find(|q| mentions(sql, &q.1)).map(|q| Obj::Type(q.clone()))
}

/// A string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether `sub`'s items all occur in `seq`, in the same order.
fn is_subsequence(sub: &[String], seq: &[String]) -> bool {
    let mut rest = seq.iter();
    sub.iter().all(|item| rest.any(|s| s == item))
}

/// `base`, or `base2`, `base3`, ...: the first that names nothing in `schema` on either side
/// (types share their namespace with tables, views and sequences).
fn unused_name(live: &Schema, desired: &Schema, schema: &str, base: &str) -> String {
    let taken = |n: &str| {
        let q = (schema.to_string(), n.to_string());
        [live, desired].iter().any(|s| {
            s.types.contains_key(&q)
                || s.tables.contains_key(&q)
                || s.views.contains_key(&q)
                || s.sequences.contains_key(&q)
        })
    };
    let mut name = base.to_string();
    let mut n = 1;
    while taken(&name) {
        n += 1;
        name = format!("{base}{n}");
    }
    name
}

/// Text in dollar quotes whose tag does not occur in it.
pub fn dollar_quote(text: &str) -> String {
    let mut tag = String::from("$$");
    let mut n = 0;
    while text.contains(&tag) {
        n += 1;
        tag = format!("$body{n}$");
    }
    format!("{tag}{text}{tag}")
}

/// An identifier, quoted when it would not read back as itself (reserved words too: plans
/// are SQL that runs again).
pub fn quote(name: &str) -> String {
    if is_reserved(name) {
        format!("\"{name}\"")
    } else {
        oxibase_sql::exec::ddl::quote_ident(name)
    }
}

fn is_reserved(word: &str) -> bool {
    matches!(
        word,
        "all"
            | "and"
            | "any"
            | "array"
            | "as"
            | "asc"
            | "both"
            | "case"
            | "cast"
            | "check"
            | "collate"
            | "column"
            | "constraint"
            | "create"
            | "default"
            | "desc"
            | "distinct"
            | "do"
            | "else"
            | "end"
            | "except"
            | "false"
            | "for"
            | "foreign"
            | "from"
            | "grant"
            | "group"
            | "having"
            | "in"
            | "into"
            | "is"
            | "join"
            | "key"
            | "limit"
            | "not"
            | "null"
            | "offset"
            | "on"
            | "only"
            | "or"
            | "order"
            | "primary"
            | "references"
            | "select"
            | "table"
            | "then"
            | "to"
            | "true"
            | "union"
            | "unique"
            | "user"
            | "using"
            | "when"
            | "where"
            | "with"
    )
}

/// A qualified name as SQL (`public` left implicit).
pub fn qualified(name: &QName) -> String {
    if name.0 == "public" {
        quote(&name.1)
    } else {
        format!("{}.{}", quote(&name.0), quote(&name.1))
    }
}

fn idents(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(", ")
}

/// The columns that identify a row: the primary key, or all columns without one.
fn key_columns(table: &TableDef) -> Vec<String> {
    if table.primary_key.is_empty() {
        table.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        table.primary_key.clone()
    }
}

/// An SQL expression showing a row by its key, for reports.
fn key_display(table: &TableDef) -> String {
    row_display(&key_columns(table), "", "")
}

/// `'(a, b)=(' || a || ', ' || b || ')'`, the way PostgreSQL's error details show keys,
/// columns qualified with `prefix`; `extra` (an aggregate) is appended when given.
fn row_display(columns: &[String], prefix: &str, extra: &str) -> String {
    let names = columns.join(", ");
    let values: Vec<String> =
        columns.iter().map(|c| format!("coalesce({prefix}{}::text, 'null')", quote(c))).collect();
    let mut sql = format!("'({names})=(' || {} || ')'", values.join(" || ', ' || "));
    if !extra.is_empty() {
        sql.push_str(&format!(" || ' x' || {extra}::text"));
    }
    sql
}
