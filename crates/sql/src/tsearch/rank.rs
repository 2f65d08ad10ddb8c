//! `ts_rank`: PostgreSQL's ranking of a document against a query, computed the same way
//! (the same formula, in the same float and double steps) so the numbers agree.
//!
//! For a query that is an OR of terms (or one term), each term scores by its occurrences'
//! weights, the first counting most (sum of w/i², over pi²/6); the scores are averaged over
//! the terms. For an AND or a phrase, every pair of occurrences of two different terms
//! scores by their weights and how close they are, combined as independent probabilities.
//! The normalization bits then divide by the document's length or number of lexemes.

use oxibase_common::{Result, errinput};

use super::query::Node;
use super::{MAX_POS, Pos, TsQuery, TsVector};

/// The default weights of D, C, B and A.
pub const DEFAULT_WEIGHTS: [f32; 4] = [0.1, 0.2, 0.4, 1.0];

/// Reads ts_rank's weights argument: four numbers for D, C, B, A; a NULL keeps its default.
pub fn weights(values: &[Option<f64>]) -> Result<[f32; 4]> {
    if values.len() < 4 {
        return Err(errinput!(ARRAY_SUBSCRIPT_ERROR, "array of weight is too short"));
    }
    let mut w = DEFAULT_WEIGHTS;
    for (i, v) in values.iter().take(4).enumerate() {
        if let Some(v) = v {
            if *v > 1.0 {
                return Err(errinput!(INVALID_PARAMETER_VALUE, "weight out of range"));
            }
            w[i] = if *v >= 0.0 { *v as f32 } else { DEFAULT_WEIGHTS[i] };
        }
    }
    Ok(w)
}

/// The occurrences of an operand's matching entries; a lexeme stored without positions
/// counts as one occurrence of weight D at `none_at`.
fn occurrences<'a>(
    vector: &'a TsVector,
    lexeme: &'a str,
    prefix: bool,
    none_at: u16,
) -> Vec<Vec<Pos>> {
    vector
        .matching(lexeme, prefix)
        .map(|(_, p)| if p.is_empty() { vec![Pos(none_at)] } else { p.clone() })
        .collect()
}

fn rank_or(w: &[f32; 4], vector: &TsVector, query: &TsQuery) -> f32 {
    let items = query.operands();
    let mut res: f32 = 0.0;
    for (lexeme, _, prefix) in &items {
        for positions in occurrences(vector, lexeme, *prefix, 0) {
            let (mut resj, mut wjm, mut jm): (f32, f32, usize) = (0.0, -1.0, 0);
            for (j, p) in positions.iter().enumerate() {
                let wp = w[p.weight() as usize];
                resj += wp / ((j + 1) * (j + 1)) as f32;
                if wp > wjm {
                    wjm = wp;
                    jm = j;
                }
            }
            let term = wjm + resj - wjm / ((jm + 1) * (jm + 1)) as f32;
            res = (f64::from(res) + f64::from(term) / 1.64493406685) as f32;
        }
    }
    if !items.is_empty() {
        res /= items.len() as f32;
    }
    res
}

fn word_distance(distance: i32) -> f32 {
    if distance > 100 {
        return 1e-30;
    }
    (1.0 / (1.005 + 0.05 * (f64::from(distance as f32) / 1.5 - 2.0).exp())) as f32
}

fn rank_and(w: &[f32; 4], vector: &TsVector, query: &TsQuery) -> f32 {
    let items = query.operands();
    if items.len() < 2 {
        return rank_or(w, vector, query);
    }
    // Per term, the occurrences of its last matching entry, and whether it had none stored.
    let mut seen: Vec<Option<(Vec<Pos>, bool)>> = vec![None; items.len()];
    let mut res: f32 = -1.0;
    for (i, (lexeme, _, prefix)) in items.iter().enumerate() {
        for entry in occurrences(vector, lexeme, *prefix, MAX_POS) {
            let no_positions = entry.len() == 1 && entry[0] == Pos(MAX_POS);
            for earlier in seen.iter().take(i).flatten() {
                let (ct, ct_none) = earlier;
                for a in &entry {
                    for b in ct {
                        let mut dist = (i32::from(a.pos()) - i32::from(b.pos())).abs();
                        if dist != 0 || no_positions || *ct_none {
                            if dist == 0 {
                                dist = i32::from(MAX_POS) + 1;
                            }
                            let product = w[a.weight() as usize]
                                * w[b.weight() as usize]
                                * word_distance(dist);
                            let curw = f64::from(product).sqrt() as f32;
                            res = if res < 0.0 {
                                curw
                            } else {
                                (1.0 - (1.0 - f64::from(res)) * (1.0 - f64::from(curw))) as f32
                            };
                        }
                    }
                }
            }
            seen[i] = Some((entry, no_positions));
        }
    }
    res
}

/// `ts_rank([weights,] vector, query [, normalization])`.
pub fn ts_rank(w: &[f32; 4], vector: &TsVector, query: &TsQuery, method: i32) -> f32 {
    let Some(root) = &query.0 else { return 0.0 };
    if vector.entries.is_empty() {
        return 0.0;
    }
    let mut res = if matches!(root, Node::And(..) | Node::Phrase(..)) {
        rank_and(w, vector, query)
    } else {
        rank_or(w, vector, query)
    };
    if res < 0.0 {
        res = 1e-20;
    }
    let length = vector.occurrences();
    let size = vector.entries.len();
    if method & 1 != 0 {
        res = (f64::from(res) / ((length as f64 + 1.0).ln() / 2f64.ln())) as f32;
    }
    if method & 2 != 0 && length > 0 {
        res /= length as f32;
    }
    if method & 8 != 0 {
        res /= size as f32;
    }
    if method & 16 != 0 {
        res = (f64::from(res) / ((size as f64 + 1.0).ln() / 2f64.ln())) as f32;
    }
    if method & 32 != 0 {
        res /= res + 1.0;
    }
    res
}

/// `ts_rank_cd([weights,] vector, query [, normalization])`: cover density. The document's
/// occurrences of query terms are scanned for covers, the shortest stretches that satisfy
/// the query; each scores by its terms' weights over its length, less for noise words in it.
pub fn ts_rank_cd(w: &[f32; 4], vector: &TsVector, query: &TsQuery, method: i32) -> f32 {
    if query.0.is_none() {
        return 0.0;
    }
    let inverse: Vec<f64> = w.iter().map(|w| 1.0 / f64::from(*w)).collect();
    // The occurrences (with positions) of matching lexemes whose weight some operand takes,
    // by position.
    let mut doc: Vec<(u16, &str, Pos)> = Vec::new();
    for (lexeme, weights, prefix) in query.all_operands() {
        for (entry, positions) in vector.matching(lexeme, prefix) {
            for p in positions {
                if p.has_weight(weights) {
                    doc.push((p.pos(), entry.as_str(), *p));
                }
            }
        }
    }
    doc.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    doc.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    // The first item of `items` by which the query holds, the items before it included.
    let first_satisfying = |items: &mut dyn Iterator<Item = usize>| {
        let mut seen = TsVector::default();
        for i in items {
            seen.add(doc[i].1.to_string(), Some(doc[i].2));
            if query.matches(&seen) {
                return Some(i);
            }
        }
        None
    };
    let (mut wdoc, mut sum_dist, mut prev_ext_pos, mut extents) = (0.0f64, 0.0f64, 0.0f64, 0);
    let mut start = 0;
    while start < doc.len() {
        // The cover's end: scanning forward from `start`, the first item by which the query
        // holds; its beginning: scanning back from there, the first item by which it holds.
        let Some(end) = first_satisfying(&mut (start..doc.len())) else { break };
        let Some(begin) = first_satisfying(&mut (start..=end).rev()) else {
            start += 1;
            continue;
        };
        let inv_sum: f64 = doc[begin..=end].iter().map(|d| inverse[d.2.weight() as usize]).sum();
        let cpos = (end - begin + 1) as f64 / inv_sum;
        let (p, q) = (i32::from(doc[begin].0), i32::from(doc[end].0));
        let mut noise = (q - p) - (end - begin) as i32;
        if noise < 0 {
            noise = (end - begin) as i32 / 2;
        }
        wdoc += cpos / f64::from(1 + noise);
        let ext_pos = f64::from(q + p) / 2.0;
        if extents > 0 && ext_pos > prev_ext_pos {
            sum_dist += 1.0 / (ext_pos - prev_ext_pos);
        }
        prev_ext_pos = ext_pos;
        extents += 1;
        start = begin + 1;
    }
    let length = vector.occurrences();
    let size = vector.entries.len();
    if method & 1 != 0 && size > 0 {
        wdoc /= (length as f64 + 1.0).ln();
    }
    if method & 2 != 0 && length > 0 {
        wdoc /= length as f64;
    }
    if method & 4 != 0 && extents > 0 && sum_dist > 0.0 {
        wdoc /= f64::from(extents) / sum_dist;
    }
    if method & 8 != 0 && size > 0 {
        wdoc /= size as f64;
    }
    if method & 16 != 0 && size > 0 {
        wdoc /= (size as f64 + 1.0).ln() / 2f64.ln();
    }
    if method & 32 != 0 {
        wdoc /= wdoc + 1.0;
    }
    wdoc as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsearch::config_named;

    #[test]
    fn ranks_as_postgres() {
        let en = config_named("english").unwrap();
        let v = en.to_tsvector("The quick brown fox jumps over the lazy dog fox");
        let q = TsQuery::parse("fox & dog").unwrap();
        assert_eq!(ts_rank(&DEFAULT_WEIGHTS, &v, &q, 0), 0.18152626);
        let v = en.to_tsvector("The quick brown fox");
        let q = TsQuery::parse("fox | cat").unwrap();
        assert_eq!(ts_rank(&DEFAULT_WEIGHTS, &v, &q, 0), 0.030396355);
        assert_eq!(ts_rank(&DEFAULT_WEIGHTS, &v, &q, 1), 0.015198178);
    }
}
