//! ALTER SEQUENCE, a sequence's OWNED BY, and OWNER TO for every kind of object.

use oxibase_common::{DataType, Result, errinput};

use super::{Ddl, Name, RelKind};
use crate::bind::SequenceSpec;
use crate::catalog::{Sequence, Table};
use crate::keys::RelId;

impl Ddl<'_, '_> {
    /// Finds a sequence by possibly qualified name: (schema, sequence).
    fn find_sequence(&self, name: &Name) -> Result<Option<Sequence>> {
        match self.find(name, RelKind::Sequence)? {
            Some((schema, _)) => self.catalog().sequence(self.ctx.txn, &schema, &name.1),
            None => Ok(None),
        }
    }

    pub(super) fn alter_sequence(
        &self,
        name: &Name,
        if_exists: bool,
        spec: &SequenceSpec,
        restart: Option<Option<i64>>,
        rename: Option<&String>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let Some(mut seq) = self.find_sequence(name)? else {
            if if_exists {
                self.notice(format!("relation \"{}\" does not exist, skipping", name.1));
                return Ok(());
            }
            return Err(errinput!(UNDEFINED_TABLE, "relation \"{}\" does not exist", name.1));
        };
        if let Some(new) = rename {
            return ctx.catalog.rename_table(ctx.txn, seq.id, new);
        }
        if let Some(t) = &spec.data_type {
            let (low, high) = super::sequence_type_bounds(t)?;
            seq.max = seq.max.min(high);
            seq.min = seq.min.max(low);
        }
        seq.increment = spec.increment.unwrap_or(seq.increment);
        seq.min = spec.min.unwrap_or(seq.min);
        seq.max = spec.max.unwrap_or(seq.max);
        seq.start = spec.start.unwrap_or(seq.start);
        seq.cycle = spec.cycle.unwrap_or(seq.cycle);
        crate::catalog::check_sequence(&seq)?;
        if let Some(owner) = &spec.owned_by {
            seq.owned_by = self.sequence_owner(&seq, owner.as_deref())?;
        }
        // The value nextval hands out next must stay in range (unless RESTART moves it).
        let next = match ctx.catalog.sequence_last(&seq)? {
            Some(last) => last.saturating_add(seq.increment),
            None => seq.start,
        };
        let at = match restart {
            Some(at) => Some(at.unwrap_or(seq.start)),
            None if next < seq.min || next > seq.max => Some(next),
            None => None,
        };
        if let Some(at) = at {
            if at < seq.min {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "RESTART value ({at}) cannot be less than MINVALUE ({})",
                    seq.min
                ));
            }
            if at > seq.max {
                return Err(errinput!(
                    INVALID_PARAMETER_VALUE,
                    "RESTART value ({at}) cannot be greater than MAXVALUE ({})",
                    seq.max
                ));
            }
            if restart.is_some() {
                ctx.catalog.set_sequence(&seq, at.wrapping_sub(seq.increment))?;
            }
        }
        ctx.catalog.update_sequence(ctx.txn, &seq)
    }

    /// The column an OWNED BY names, as (table id, position); None for OWNED BY NONE.
    pub(super) fn sequence_owner(
        &self,
        seq: &Sequence,
        parts: Option<&[String]>,
    ) -> Result<Option<(RelId, usize)>> {
        let Some(parts) = parts else { return Ok(None) };
        let (schema, table, column) = match parts {
            [t, c] => (None, t, c),
            [s, t, c] => (Some(s.clone()), t, c),
            _ => {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "invalid OWNED BY option")
                    .with_hint("Specify OWNED BY table.column or OWNED BY NONE."));
            }
        };
        let Some((found_schema, id)) =
            self.find_unchecked(&(schema, table.clone()), RelKind::Table)?
        else {
            return Err(errinput!(UNDEFINED_TABLE, "relation \"{table}\" does not exist"));
        };
        if found_schema != seq.schema {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "sequence must be in same schema as table it is linked to"
            ));
        }
        Ok(Some((id, super::require_column(&self.table(id)?, column)?)))
    }

    /// ALTER COLUMN ADD GENERATED ... AS IDENTITY: a sequence owned by the column feeds
    /// its default (named as given, or `<table>_<column>_seq`).
    pub(super) fn add_identity(
        &self,
        table: &Table,
        column: &str,
        always: bool,
        options: &SequenceSpec,
        sequence_name: Option<&Name>,
    ) -> Result<()> {
        let ctx = self.ctx;
        let position = super::require_column(table, column)?;
        let mut c = table.columns[position].clone();
        if !matches!(c.data_type, DataType::Int2 | DataType::Int4 | DataType::Int8) {
            return Err(errinput!(
                INVALID_PARAMETER_VALUE,
                "identity column type must be smallint, integer, or bigint"
            ));
        }
        if !c.not_null {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "column \"{column}\" of relation \"{}\" must be declared NOT NULL before identity can be added",
                table.name
            ));
        }
        if c.default.is_some() {
            return Err(errinput!(
                OBJECT_NOT_IN_PREREQUISITE_STATE,
                "column \"{column}\" of relation \"{}\" already has a default value",
                table.name
            ));
        }
        let (schema, name) = match sequence_name {
            Some((schema, name)) => {
                (schema.clone().unwrap_or_else(|| table.schema.clone()), name.clone())
            }
            None => {
                let stem = format!("{}_{column}", table.name);
                (table.schema.clone(), self.choose_relation_name(&table.schema, &stem, "seq")?)
            }
        };
        let seq = super::identity_sequence(&schema, &name, options, &c.data_type)?;
        let mut seq = ctx.catalog.create_sequence(ctx.txn, seq)?;
        seq.owned_by = Some((table.id, position));
        ctx.catalog.update_sequence(ctx.txn, &seq)?;
        c.default = Some(super::nextval_default(&seq));
        c.identity_always = always;
        c.identity_by_default = !always;
        ctx.catalog.update_column(ctx.txn, table, column, c)
    }
}
