//! The session's plan cache: bound, optimized statements by SQL text and declared parameter
//! types, valid for one catalog generation.
//!
//! A plan is kept the second time its text is bound, not the first: clients that send their
//! values as literals (psql, pgbench's simple protocol, most ad-hoc SQL) make nearly every
//! text unique, and caching each of those would only fill the cache with plans that are
//! never used again and empty it every few hundred statements. Lookups take the text by
//! reference, so a hit allocates nothing.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use oxibase_common::DataType;

use crate::bind::Statement;

/// How many plans a session keeps before it starts over.
const LIMIT: usize = 512;
/// How many once-seen texts are remembered before that set starts over.
const SEEN_LIMIT: usize = 4096;

/// The texts seen once, by hash (bounded: it starts over when full), for caches that keep
/// an entry only the second time its text comes.
#[derive(Default)]
pub(super) struct SeenOnce {
    seen: HashSet<u64>,
    hasher: RandomState,
}

impl SeenOnce {
    /// Whether `text` was seen before; remembers it if not.
    pub fn repeated(&mut self, text: impl std::hash::Hash) -> bool {
        if self.seen.len() >= SEEN_LIMIT {
            self.seen.clear();
        }
        !self.seen.insert(self.hasher.hash_one(text))
    }
}

/// A cached plan and what binding settled on.
pub(super) struct CachedPlan {
    pub statement: Arc<Statement>,
    pub generation: u64,
    /// The parameter types binding settled on (used by routines' statements).
    pub param_types: Vec<DataType>,
}

/// The plans of one text, by declared parameter types (almost always one).
type ByTypes = Vec<(Vec<Option<DataType>>, CachedPlan)>;

#[derive(Default)]
pub(super) struct PlanCache {
    plans: HashMap<String, ByTypes>,
    len: usize,
    /// Texts bound once and not cached yet.
    seen: SeenOnce,
}

impl PlanCache {
    /// The plan cached for `sql` with these declared parameter types in this generation.
    pub fn get(
        &self,
        sql: &str,
        types: &[Option<DataType>],
        generation: u64,
    ) -> Option<&CachedPlan> {
        self.plans
            .get(sql)?
            .iter()
            .find(|(t, p)| t == types && p.generation == generation)
            .map(|(_, p)| p)
    }

    /// Offers a freshly bound plan: kept if this text was bound before.
    pub fn offer(&mut self, sql: &str, types: &[Option<DataType>], plan: CachedPlan) {
        if !self.seen.repeated((sql, types)) {
            return;
        }
        if self.len >= LIMIT {
            self.clear();
        }
        let entries = self.plans.entry(sql.to_string()).or_default();
        match entries.iter_mut().find(|(t, _)| t == types) {
            Some((_, old)) => *old = plan,
            None => {
                entries.push((types.to_vec(), plan));
                self.len += 1;
            }
        }
    }

    /// Forgets every plan (the catalog or the search path changed).
    pub fn clear(&mut self) {
        self.plans.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(generation: u64) -> CachedPlan {
        CachedPlan { statement: Arc::new(Statement::Vacuum), generation, param_types: vec![] }
    }

    #[test]
    fn a_text_is_cached_the_second_time_and_per_generation() {
        let mut cache = PlanCache::default();
        let types = [Some(DataType::Int4)];
        cache.offer("select $1", &types, plan(1));
        assert!(cache.get("select $1", &types, 1).is_none());
        cache.offer("select $1", &types, plan(1));
        assert!(cache.get("select $1", &types, 1).is_some());
        assert!(cache.get("select $1", &[None], 1).is_none());
        assert!(cache.get("select $1", &types, 2).is_none());
        cache.offer("select $1", &types, plan(2));
        assert!(cache.get("select $1", &types, 2).is_some());
        assert_eq!(cache.len, 1);
        cache.clear();
        assert!(cache.get("select $1", &types, 2).is_none());
    }
}
