//! Source lines of a routine's instructions, mapped back to the lines of the body the user
//! wrote (the compilers see it wrapped, see `compile`): for `LANGUAGE rust`, the DWARF line
//! tables rustc leaves in the module (`-C debuginfo=line-tables-only`); for `LANGUAGE
//! typescript`, the source map asc writes, which `compile` keeps in a custom section.
//!
//! DWARF addresses in WebAssembly count from the start of the code section's contents; a
//! WebAssembly source map's columns are module offsets, as the debugger's program counters.

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
        if routine.language == "typescript" {
            return Lines::from_source_map(routine);
        }
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

    /// A TypeScript routine's lines, from its source map (one generated line; VLQ segments
    /// of column = module offset, source, line, column, each relative to the previous).
    fn from_source_map(routine: &Routine) -> Option<Lines> {
        let (_, first_line) = crate::compile::typescript_source(routine).ok()?;
        let body_lines = routine.source.lines().count().max(1) as i64;
        let mut map = None;
        for payload in wasmparser::Parser::new(0).parse_all(&routine.module) {
            if let wasmparser::Payload::CustomSection(reader) = payload.ok()?
                && reader.name() == crate::compile::SOURCE_MAP_SECTION
            {
                map = serde_json::from_slice::<serde_json::Value>(reader.data()).ok();
            }
        }
        let map = map?;
        let ours = map["sources"].as_array()?.iter().position(|s| s == "routine.ts")? as i64;
        let mut rows = Vec::new();
        let (mut column, mut source, mut line) = (0i64, 0i64, 0i64);
        for segment in map["mappings"].as_str()?.split([',', ';']) {
            let fields = vlq(segment)?;
            if fields.is_empty() {
                continue;
            }
            column += fields[0];
            let mapped = if fields.len() >= 4 {
                source += fields[1];
                line += fields[2];
                // Source map lines count from 0; the compiled file's line is line + 1.
                let l = line + 1 - first_line as i64 + 1;
                (source == ours && (1..=body_lines).contains(&l)).then_some(l as u32)
            } else {
                None
            };
            rows.push((column.max(0) as u64, mapped));
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

/// Decodes one source map segment: base64 VLQ numbers.
fn vlq(segment: &str) -> Option<Vec<i64>> {
    let mut out = Vec::new();
    let (mut value, mut shift) = (0i64, 0u32);
    for c in segment.bytes() {
        let digit = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as i64;
        value += (digit & 31) << shift;
        if digit & 32 != 0 {
            shift += 5;
            continue;
        }
        out.push(if value & 1 == 1 { -(value >> 1) } else { value >> 1 });
        (value, shift) = (0, 0);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vlq_numbers() {
        assert_eq!(super::vlq("AAAA"), Some(vec![0, 0, 0, 0]));
        assert_eq!(super::vlq("iDIEkB"), Some(vec![49, 4, 2, 18]));
        assert_eq!(super::vlq("D"), Some(vec![-1]));
        assert_eq!(super::vlq(""), Some(vec![]));
    }
}
