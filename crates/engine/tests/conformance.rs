//! Runs the engine conformance suite against both engines, mirrors them against each other,
//! and checks what only a persistent engine promises: flushed data survives a reopen.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail by panicking

use oxibase_engine::conformance::{self, checks};
use oxibase_engine::{Engine, Lsm, LsmOptions, Memory, WriteBatch};

fn lsm(dir: &tempfile::TempDir) -> Lsm {
    Lsm::open(dir.path(), &LsmOptions::default()).unwrap()
}

#[test]
fn memory_passes_the_conformance_suite() {
    for (name, check) in checks::<Memory>() {
        eprintln!("memory: {name}");
        check(&Memory::new());
    }
}

#[test]
fn lsm_passes_the_conformance_suite() {
    for (name, check) in checks::<Lsm>() {
        eprintln!("lsm: {name}");
        let dir = tempfile::tempdir().unwrap();
        check(&lsm(&dir));
    }
}

#[test]
fn memory_and_lsm_agree_in_lockstep() {
    // Two different engine types: mirror each against the model with the same seed and steps,
    // then compare the two final states directly.
    let dir = tempfile::tempdir().unwrap();
    let (memory, disk) = (Memory::new(), lsm(&dir));
    conformance::mirror(&[&memory], 42, 5000);
    conformance::mirror(&[&disk], 42, 5000);
    let all = (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded);
    let a: Vec<_> = memory.scan(all.clone()).map(Result::unwrap).collect();
    let b: Vec<_> = disk.scan(all).map(Result::unwrap).collect();
    assert_eq!(a, b);
}

#[test]
fn lsm_flushed_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = lsm(&dir);
        let mut batch = WriteBatch::new();
        for i in 0..10_000u32 {
            batch.put(i.to_be_bytes().to_vec(), vec![7; 100]);
        }
        engine.write(batch).unwrap();
        let mut batch = WriteBatch::new();
        batch.delete(5u32.to_be_bytes().to_vec());
        engine.write(batch).unwrap();
        engine.flush().unwrap();
    }
    let engine = lsm(&dir);
    assert_eq!(engine.get(&4u32.to_be_bytes()).unwrap(), Some(vec![7; 100]));
    assert_eq!(engine.get(&5u32.to_be_bytes()).unwrap(), None);
    assert_eq!(engine.scan_prefix(&[]).count(), 9_999);
    assert!(engine.status().unwrap().persistent);
}
