//! Source lines of a routine's instructions: the DWARF line tables rustc leaves in a
//! `LANGUAGE rust` module (compiled with `-C debuginfo=line-tables-only`), mapped back to the
//! lines of the body the user wrote (the compiler sees it wrapped, see `compile`).
//!
//! DWARF addresses in WebAssembly count from the start of the code section's contents; the
//! debugger's program counters are module offsets, so the two differ by that start.

use gimli::{EndianSlice, LittleEndian, SectionId};
use oxibase_sql::procedure::Routine;

/// Instruction offsets (module-relative) and the body line each starts, or None where the
/// code is not the body's (the SDK, the standard library, the end of a sequence).
pub(crate) struct Lines {
    rows: Vec<(u64, Option<u32>)>,
}

impl Lines {
    /// The line table of a routine's module; None when it has none (other languages, or no
    /// debug information).
    pub(crate) fn of(routine: &Routine) -> Option<Lines> {
        if routine.language != "rust" {
            return None;
        }
        let (source, first_line) = crate::compile::rust_source(routine).ok()?;
        let _ = source;
        let body_lines = routine.source.lines().count().max(1) as u64;
        let mut sections: Vec<(String, &[u8])> = Vec::new();
        let mut code_start = None;
        for payload in wasmparser::Parser::new(0).parse_all(&routine.module) {
            match payload.ok()? {
                wasmparser::Payload::CustomSection(reader) => {
                    sections.push((reader.name().to_string(), reader.data()));
                }
                wasmparser::Payload::CodeSectionStart { range, .. } => {
                    code_start = Some(range.start)
                }
                _ => {}
            }
        }
        let code_start = code_start? as u64;
        let load = |id: SectionId| -> Result<EndianSlice<'_, LittleEndian>, gimli::Error> {
            let data = sections.iter().find(|(n, _)| n == id.name()).map_or(&[][..], |(_, d)| *d);
            Ok(EndianSlice::new(data, LittleEndian))
        };
        let dwarf = gimli::Dwarf::load(load).ok()?;
        let mut rows = Vec::new();
        let mut units = dwarf.units();
        while let Ok(Some(header)) = units.next() {
            let Ok(unit) = dwarf.unit(header) else { continue };
            let Some(program) = unit.line_program.clone() else { continue };
            let mut program_rows = program.rows();
            while let Ok(Some((header, row))) = program_rows.next_row() {
                let address = code_start + row.address();
                if row.end_sequence() {
                    rows.push((address, None));
                    continue;
                }
                let ours = row.file(header).is_some_and(|file| {
                    let name = dwarf.attr_string(&unit, file.path_name()).ok();
                    let dir = file
                        .directory(header)
                        .and_then(|d| dwarf.attr_string(&unit, d).ok())
                        .map(|d| d.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    name.is_some_and(|n| &*n.to_string_lossy() == "lib.rs")
                        && (dir.contains("oxibase-routine-") || dir.is_empty() || dir == ".")
                });
                let line = row.line().map(|l| l.get()).filter(|_| ours).and_then(|l| {
                    let first = first_line as u64;
                    (l >= first && l < first + body_lines).then(|| (l + 1 - first) as u32)
                });
                rows.push((address, line));
            }
        }
        rows.sort_by_key(|(a, _)| *a);
        rows.iter().any(|(_, l)| l.is_some()).then_some(Lines { rows })
    }

    /// The body line of the instruction at module offset `pc`.
    pub(crate) fn line(&self, pc: u32) -> Option<u32> {
        let at = self.rows.partition_point(|(a, _)| *a <= u64::from(pc));
        self.rows.get(at.checked_sub(1)?)?.1
    }
}
