//! The conformance suite every [`Engine`] implementation passes.
//!
//! Each check takes a fresh, empty engine and panics with a description when the engine
//! breaks the contract. `tests/conformance.rs` runs all of them against both engines (and
//! both behind [`crate::Cached`]), and [`mirror`] drives two engines in lockstep with random
//! operations, checking that they agree with each other and with a `BTreeMap` model after
//! every step.
#![allow(clippy::unwrap_used)] // a test suite: a failure is meant to panic with its message

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::engine::{Engine, KeyRange, MAX_KEY_SIZE, WriteBatch};

/// A named conformance check.
pub type Check<E> = (&'static str, fn(&E));

/// Every check, by name, so a test harness can run them one by one.
pub fn checks<E: Engine>() -> Vec<Check<E>> {
    vec![
        ("point_operations", point_operations::<E>),
        ("empty_key_and_value", empty_key_and_value::<E>),
        ("batch_last_write_wins", batch_last_write_wins::<E>),
        ("scan_bounds", scan_bounds::<E>),
        ("scan_reverse_and_mixed", scan_reverse_and_mixed::<E>),
        ("scan_prefix", scan_prefix::<E>),
        ("binary_keys_order", binary_keys_order::<E>),
        ("status_counts", status_counts::<E>),
        ("model_random_ops", model_random_ops::<E>),
        ("iterators_are_point_in_time", iterators_are_point_in_time::<E>),
        ("batches_are_atomic_to_readers", batches_are_atomic_to_readers::<E>),
        ("delete_range_removes_exactly_the_range", delete_range_removes_exactly_the_range::<E>),
        ("point_reads_never_go_back_in_time", point_reads_never_go_back_in_time::<E>),
    ]
}

fn collect<E: Engine>(engine: &E, range: KeyRange) -> Vec<(Vec<u8>, Vec<u8>)> {
    engine.scan(range).collect::<Result<_, _>>().unwrap()
}

fn collect_rev<E: Engine>(engine: &E, range: KeyRange) -> Vec<(Vec<u8>, Vec<u8>)> {
    engine.scan(range).rev().collect::<Result<_, _>>().unwrap()
}

fn put<E: Engine>(engine: &E, key: &[u8], value: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(key, value);
    engine.write(batch).unwrap();
}

fn delete<E: Engine>(engine: &E, key: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.delete(key);
    engine.write(batch).unwrap();
}

fn kv(k: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (k.to_vec(), v.to_vec())
}

/// `delete_range` removes every key inside its range, whatever the batch boundaries, and none
/// outside it.
pub fn delete_range_removes_exactly_the_range<E: Engine>(engine: &E) {
    let key = |p: u8, i: u32| [&[p][..], &i.to_be_bytes()].concat();
    for p in [1u8, 2, 3] {
        let mut batch = WriteBatch::new();
        for i in 0..20_000 {
            batch.put(key(p, i), vec![p; 8]);
        }
        engine.write(batch).unwrap();
    }
    delete(engine, &key(2, 7));
    assert!(engine.delete_range(crate::prefix_range(&[2])).unwrap() <= 19_999);
    assert_eq!(engine.scan(crate::prefix_range(&[2])).count(), 0);
    assert_eq!(engine.get(&key(2, 19_999)).unwrap(), None);
    assert_eq!(engine.scan(crate::prefix_range(&[1])).count(), 20_000);
    assert_eq!(engine.scan(crate::prefix_range(&[3])).count(), 20_000);
    assert_eq!(engine.get(&key(3, 0)).unwrap(), Some(vec![3; 8]));
    // An empty range and a range with nothing in it are no-ops.
    assert_eq!(engine.delete_range(crate::prefix_range(&[2])).unwrap(), 0);
    assert_eq!(engine.scan_prefix(&[]).count(), 40_000);
}

/// A point read of a key never returns a value older than an earlier read of it saw, while
/// batches rewrite it: what a cache in front of an engine must not break. (Across keys the
/// LSM promises less: fjall's `get` reads at the newest sequence number, so two gets may see
/// a batch being applied and the one before it; MVCC does not need more.)
pub fn point_reads_never_go_back_in_time<E: Engine>(engine: &E) {
    const KEYS: [&[u8]; 3] = [b"p1", b"p2", b"p3"];
    let read = |key: &[u8]| -> u32 {
        let Some(value) = engine.get(key).unwrap() else { panic!("a get missed a rewritten key") };
        u32::from_be_bytes(value.try_into().unwrap())
    };
    let write = |n: u32| {
        let mut batch = WriteBatch::new();
        KEYS.iter().for_each(|k| batch.put(k.to_vec(), n.to_be_bytes().to_vec()));
        engine.write(batch).unwrap();
    };
    write(0);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 1..3000u32 {
                write(n);
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        for _ in 0..2 {
            s.spawn(|| {
                let mut seen = [0; KEYS.len()];
                let mut i = 0usize;
                while !done.load(std::sync::atomic::Ordering::Acquire) {
                    // Each key read again and again, so a cache holds it between writes.
                    let k = i % KEYS.len();
                    let value = read(KEYS[k]);
                    assert!(value >= seen[k], "read {value} after {}", seen[k]);
                    seen[k] = value;
                    i += 1;
                }
                assert_eq!(read(KEYS[0]), 2999);
            });
        }
    });
}

/// Get, put, overwrite and delete of single keys; deleting a missing key is not an error.
pub fn point_operations<E: Engine>(engine: &E) {
    assert_eq!(engine.get(b"a").unwrap(), None);
    put(engine, b"a", b"1");
    assert_eq!(engine.get(b"a").unwrap(), Some(b"1".to_vec()));
    put(engine, b"a", b"2");
    assert_eq!(engine.get(b"a").unwrap(), Some(b"2".to_vec()), "overwrite");
    delete(engine, b"a");
    assert_eq!(engine.get(b"a").unwrap(), None, "delete");
    delete(engine, b"missing");
    assert_eq!(engine.get(b"ab").unwrap(), None, "no prefix matching on get");
}

/// Empty values are ordinary values; an empty or oversized key refuses the whole batch.
pub fn empty_key_and_value<E: Engine>(engine: &E) {
    put(engine, b"x", b"");
    assert_eq!(engine.get(b"x").unwrap(), Some(vec![]));
    for bad_key in [vec![], vec![1; MAX_KEY_SIZE + 1]] {
        let mut batch = WriteBatch::new();
        batch.put(b"y".to_vec(), b"1".to_vec());
        batch.put(bad_key, b"1".to_vec());
        let err = engine.write(batch).unwrap_err();
        assert_eq!(err.code(), oxibase_common::SqlState::PROGRAM_LIMIT_EXCEEDED);
    }
    put(engine, &[1; MAX_KEY_SIZE], b"big key");
    assert_eq!(engine.get(&[1; MAX_KEY_SIZE]).unwrap(), Some(b"big key".to_vec()));
    assert_eq!(engine.get(b"y").unwrap(), None, "a refused batch leaves nothing behind");
    assert_eq!(collect(engine, (Bound::Unbounded, Bound::Unbounded)).len(), 2);
}

/// Within one batch, a later operation on a key wins; the whole batch is applied.
pub fn batch_last_write_wins<E: Engine>(engine: &E) {
    let mut batch = WriteBatch::new();
    batch.put(b"a".to_vec(), b"1".to_vec());
    batch.put(b"b".to_vec(), b"1".to_vec());
    batch.delete(b"a".to_vec());
    batch.put(b"b".to_vec(), b"2".to_vec());
    batch.delete(b"c".to_vec());
    batch.put(b"c".to_vec(), b"3".to_vec());
    engine.write(batch).unwrap();
    assert_eq!(
        collect(engine, (Bound::Unbounded, Bound::Unbounded)),
        vec![kv(b"b", b"2"), kv(b"c", b"3")]
    );
    engine.write(WriteBatch::new()).unwrap();
}

/// Inclusive, exclusive and unbounded ends, and empty or inverted ranges.
pub fn scan_bounds<E: Engine>(engine: &E) {
    for k in [b"a", b"b", b"c", b"d"] {
        put(engine, k, k);
    }
    let range = |lo: Bound<&[u8]>, hi: Bound<&[u8]>| -> Vec<Vec<u8>> {
        let r = (lo.map(|b| b.to_vec()), hi.map(|b| b.to_vec()));
        collect(engine, r).into_iter().map(|(k, _)| k).collect()
    };
    let keys = |ks: &[&[u8]]| ks.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
    assert_eq!(range(Bound::Included(b"b"), Bound::Included(b"c")), keys(&[b"b", b"c"]));
    assert_eq!(range(Bound::Excluded(b"b"), Bound::Excluded(b"d")), keys(&[b"c"]));
    assert_eq!(range(Bound::Unbounded, Bound::Excluded(b"b")), keys(&[b"a"]));
    assert_eq!(range(Bound::Included(b"bb"), Bound::Unbounded), keys(&[b"c", b"d"]));
    assert_eq!(range(Bound::Included(b"e"), Bound::Unbounded), keys(&[]));
    assert_eq!(range(Bound::Included(b"b"), Bound::Excluded(b"b")), keys(&[]));
}

/// Reverse scans, and an iterator consumed from both ends at once.
pub fn scan_reverse_and_mixed<E: Engine>(engine: &E) {
    for k in [b"1", b"2", b"3", b"4", b"5"] {
        put(engine, k, b"v");
    }
    let all: KeyRange = (Bound::Unbounded, Bound::Unbounded);
    let rev: Vec<_> = collect_rev(engine, all.clone()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        rev,
        vec![b"5".to_vec(), b"4".to_vec(), b"3".to_vec(), b"2".to_vec(), b"1".to_vec()]
    );
    let part = (Bound::Excluded(b"1".to_vec()), Bound::Included(b"4".to_vec()));
    let rev: Vec<_> = collect_rev(engine, part).into_iter().map(|(k, _)| k).collect();
    assert_eq!(rev, vec![b"4".to_vec(), b"3".to_vec(), b"2".to_vec()]);
    let mut iter = engine.scan(all);
    assert_eq!(iter.next().unwrap().unwrap().0, b"1");
    assert_eq!(iter.next_back().unwrap().unwrap().0, b"5");
    assert_eq!(iter.next().unwrap().unwrap().0, b"2");
    assert_eq!(iter.next_back().unwrap().unwrap().0, b"4");
    assert_eq!(iter.next().unwrap().unwrap().0, b"3");
    assert!(iter.next().is_none() && iter.next_back().is_none(), "ends meet once");
}

/// Prefix scans include exactly the keys with the prefix, including 0xFF edge cases.
pub fn scan_prefix<E: Engine>(engine: &E) {
    for k in [&b"a"[..], b"ab", b"ab\xff", b"ab\xff\xff", b"ac", b"b", b"\xff", b"\xff\x00"] {
        put(engine, k, b"v");
    }
    let prefix =
        |p: &[u8]| -> Vec<Vec<u8>> { engine.scan_prefix(p).map(|r| r.unwrap().0).collect() };
    assert_eq!(prefix(b"ab"), vec![b"ab".to_vec(), b"ab\xff".to_vec(), b"ab\xff\xff".to_vec()]);
    assert_eq!(prefix(b"ab\xff"), vec![b"ab\xff".to_vec(), b"ab\xff\xff".to_vec()]);
    assert_eq!(prefix(b"\xff"), vec![b"\xff".to_vec(), b"\xff\x00".to_vec()]);
    assert_eq!(prefix(b"z"), Vec::<Vec<u8>>::new());
    assert_eq!(prefix(b"").len(), 8);
}

/// Keys order bytewise, unsigned, shorter before longer on a shared prefix.
pub fn binary_keys_order<E: Engine>(engine: &E) {
    let keys: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0x7F],
        vec![0x80],
        vec![0xFF],
        vec![0xFF, 0xFF],
    ];
    for k in keys.iter().rev() {
        put(engine, k, k);
    }
    let got: Vec<_> =
        collect(engine, (Bound::Unbounded, Bound::Unbounded)).into_iter().map(|(k, _)| k).collect();
    assert_eq!(got, keys);
}

/// Status counts keys and reports a name.
pub fn status_counts<E: Engine>(engine: &E) {
    for i in 0..100u32 {
        put(engine, &i.to_be_bytes(), b"value");
    }
    let status = engine.status().unwrap();
    assert!(!status.name.is_empty());
    assert_eq!(status.keys, 100, "{status:?}");
    assert!(status.size > 0, "{status:?}");
}

/// A small deterministic generator, so the suite needs no dependencies and failures replay.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number below `n` (xorshift64*).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }

    fn key(&mut self) -> Vec<u8> {
        (0..=self.below(4)).map(|_| [0x00, 0x01, 0x7F, 0xFF][self.below(4) as usize]).collect()
    }
}

/// Random batches and scans checked against a `BTreeMap` model.
pub fn model_random_ops<E: Engine>(engine: &E) {
    mirror(&[engine], 7, 2000);
}

/// Drives engines in lockstep with random batches, gets and scans (both directions, random
/// bounds); every engine must agree with a `BTreeMap` model after every step.
pub fn mirror<E: Engine>(engines: &[&E], seed: u64, steps: usize) {
    let mut rng = Rng::new(seed);
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for step in 0..steps {
        match rng.below(4) {
            0 | 1 => {
                let mut batch = WriteBatch::new();
                for _ in 0..=rng.below(5) {
                    let key = rng.key();
                    if rng.below(3) == 0 {
                        model.remove(&key);
                        batch.delete(key);
                    } else {
                        let value = step.to_le_bytes().to_vec();
                        model.insert(key.clone(), value.clone());
                        batch.put(key, value);
                    }
                }
                engines.iter().for_each(|e| e.write(batch.clone()).unwrap());
            }
            2 => {
                let key = rng.key();
                for e in engines {
                    assert_eq!(
                        e.get(&key).unwrap().as_ref(),
                        model.get(&key),
                        "step {step}: get {key:?}"
                    );
                }
            }
            _ => {
                let bound = |rng: &mut Rng| match rng.below(3) {
                    0 => Bound::Unbounded,
                    1 => Bound::Included(rng.key()),
                    _ => Bound::Excluded(rng.key()),
                };
                let range: KeyRange = (bound(&mut rng), bound(&mut rng));
                let invalid = matches!((&range.0, &range.1),
                    (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b))
                        if a > b || (a == b && !matches!(range, (Bound::Included(_), Bound::Included(_)))));
                if invalid {
                    continue; // BTreeMap panics on inverted ranges; engines return nothing.
                }
                let expect: Vec<_> =
                    model.range(range.clone()).map(|(k, v)| (k.clone(), v.clone())).collect();
                let reverse = rng.below(2) == 0;
                for e in engines {
                    let got = if reverse {
                        collect_rev(*e, range.clone())
                    } else {
                        collect(*e, range.clone())
                    };
                    let mut want = expect.clone();
                    if reverse {
                        want.reverse();
                    }
                    assert_eq!(got, want, "step {step}: scan {range:?} reverse={reverse}");
                }
            }
        }
    }
}

fn iterators_are_point_in_time<E: Engine>(engine: &E) {
    for k in [b"a", b"c", b"e"] {
        put(engine, k, b"old");
    }
    let mut forward = engine.scan((Bound::Unbounded, Bound::Unbounded));
    let mut backward = engine.scan((Bound::Unbounded, Bound::Unbounded)).rev();
    assert_eq!(forward.next().unwrap().unwrap().0, b"a");
    let mut batch = WriteBatch::new();
    batch.put(b"b".to_vec(), b"new".to_vec());
    batch.put(b"c".to_vec(), b"new".to_vec());
    batch.delete(b"e".to_vec());
    batch.put(b"f".to_vec(), b"new".to_vec());
    engine.write(batch).unwrap();
    let rest: Vec<_> = forward.map(Result::unwrap).collect();
    assert_eq!(
        rest,
        vec![(b"c".to_vec(), b"old".to_vec()), (b"e".to_vec(), b"old".to_vec())],
        "a forward iterator saw writes made after it was created"
    );
    let keys: Vec<_> = backward.by_ref().map(|e| e.unwrap().0).collect();
    assert_eq!(keys, vec![b"e".to_vec(), b"c".to_vec(), b"a".to_vec()], "reverse iterator");
    assert_eq!(collect(engine, (Bound::Unbounded, Bound::Unbounded)).len(), 4);
}

/// A writer keeps rewriting a group of keys to one value per batch, and moving a marker key
/// from one name to the next; readers must never see the group disagree, a rewritten key
/// missing, or the marker in two places or none.
fn batches_are_atomic_to_readers<E: Engine>(engine: &E) {
    const GROUP: [&[u8]; 4] = [b"g1", b"g2", b"g3", b"g4"];
    let marker = |n: u32| format!("m{:06}", n).into_bytes();
    let mut batch = WriteBatch::new();
    for key in GROUP {
        batch.put(key.to_vec(), 0u32.to_be_bytes().to_vec());
    }
    batch.put(marker(0), Vec::new());
    engine.write(batch).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for n in 1..2000u32 {
                let mut batch = WriteBatch::new();
                batch.delete(marker(n - 1));
                for key in GROUP {
                    batch.put(key.to_vec(), n.to_be_bytes().to_vec());
                }
                batch.put(marker(n), Vec::new());
                engine.write(batch).unwrap();
            }
            done.store(true, std::sync::atomic::Ordering::Release);
        });
        let mut rounds = 0;
        while !done.load(std::sync::atomic::Ordering::Acquire) || rounds < 10 {
            rounds += 1;
            let g =
                collect(engine, (Bound::Included(b"g".to_vec()), Bound::Excluded(b"h".to_vec())));
            assert_eq!(g.len(), GROUP.len(), "a scan missed a rewritten key");
            assert!(g.iter().all(|(_, v)| *v == g[0].1), "a scan saw half a batch: {g:?}");
            let m =
                collect(engine, (Bound::Included(b"m".to_vec()), Bound::Excluded(b"n".to_vec())));
            assert_eq!(m.len(), 1, "a scan saw the moved key in {} places", m.len());
            for key in GROUP {
                assert!(engine.get(key).unwrap().is_some(), "a get missed a rewritten key");
            }
        }
    });
}
