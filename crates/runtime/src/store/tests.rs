use super::*;
use crate::runlock::RunLock;
use serde_json::json;

fn line(event: serde_json::Value) -> String {
    let mut v = json!({"ts": "2026-11-21T02:53:00.000Z"});
    v.as_object_mut()
        .unwrap()
        .extend(event.as_object().unwrap().clone());
    format!("{v}\n")
}

/// Writes `<base>/runs/<id>/journal.jsonl`: `run_started` (with `pid`)
/// then `events`.
fn write_run(base: &Path, id: &str, flow: &str, pid: u32, events: &[serde_json::Value]) -> PathBuf {
    let dir = base.join("runs").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = line(json!({"event": "run_started", "flow": flow, "run_id": id,
        "nonce": "abcdef", "params": {"n": 1}, "file": "f.flow", "pid": pid}));
    for e in events {
        text.push_str(&line(e.clone()));
    }
    std::fs::write(dir.join("journal.jsonl"), text).unwrap();
    dir
}

fn finished(outcome: &str) -> serde_json::Value {
    json!({"event": "run_finished", "outcome": outcome, "reason": null, "duration_ms": 5})
}

fn stage_started() -> serde_json::Value {
    json!({"event": "stage_started", "stage": "a", "visit": 1, "attempt": 1, "pid": 1, "dir": "x"})
}

fn queued() -> serde_json::Value {
    json!({"event": "run_queued", "concurrency": 1, "running": 1})
}

fn admitted() -> serde_json::Value {
    json!({"event": "run_admitted", "waited_ms": 300})
}

/// Holds the lock of each given run (alive runs).
fn hold(roots: &[&PathBuf]) -> Vec<RunLock> {
    roots
        .iter()
        .map(|r| RunLock::acquire(r).unwrap().unwrap())
        .collect()
}

#[test]
fn store_reads_each_state_and_judges_liveness_by_the_lock() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    // Every run names a live pid (this process): only the lock tells.
    let me = std::process::id();
    let w = |id, flow, events: &[serde_json::Value]| write_run(base, id, flow, me, events);
    w("01-ok", "f", &[stage_started(), finished("succeeded")]);
    w("02-bad", "f", &[stage_started(), finished("failed")]);
    w("03-shipped", "f", &[finished("shipped")]);
    let run = w("04-run", "f", &[stage_started()]);
    let start = w("05-start", "f", &[]);
    let queue = w("06-queued", "f", &[queued()]);
    let adm = w("07-admitted", "f", &[queued(), admitted()]);
    w("08-dead", "f", &[stage_started()]);
    w("09-dead-queued", "f", &[queued()]);
    let other = w("10-other", "g", &[stage_started()]);
    // Not runs: no journal, a torn first line.
    std::fs::create_dir_all(base.join("runs/11-empty")).unwrap();
    std::fs::create_dir_all(base.join("runs/12-torn")).unwrap();
    std::fs::write(
        base.join("runs/12-torn/journal.jsonl"),
        "{\"event\":\"run_st",
    )
    .unwrap();
    let _alive = hold(&[&run, &start, &queue, &adm, &other]);

    let store = RunDirStore::new(base);
    let count = |state| store.count_runs("f", state);
    assert_eq!(count("running"), 2, "04-run, 07-admitted");
    assert_eq!(count("pending"), 1);
    assert_eq!(count("starting"), 1);
    assert_eq!(
        count("interrupted"),
        2,
        "a live pid whose lock is free is not running"
    );
    assert_eq!(count("succeeded"), 1);
    assert_eq!(count("failed"), 1);
    assert_eq!(count("shipped"), 1);
    assert_eq!(count("finished"), 3);
    assert_eq!(count("cancelled"), 0);
    assert_eq!(count("no-such-state"), 0);
    assert_eq!(store.count_runs("g", "running"), 1);
    assert_eq!(store.count_runs("nobody", "running"), 0);
    assert_eq!(store.count("f", "running", Some("04-run")).unwrap(), 1);
    assert_eq!(store.count_others("f", "running", "07-admitted"), 1);
    let all = store.list(None, None).unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 10, "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all[0].params, json!({"n": 1}));
    assert_eq!(all[0].file.as_deref(), Some("f.flow"));
    assert!(all[0].started_ms.is_some() && all[0].finished_ms.is_some());
    let interrupted = store.list(Some("f"), Some("interrupted")).unwrap();
    assert_eq!(interrupted.len(), 2);
}

#[test]
fn store_a_run_whose_lock_is_released_is_interrupted_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let root = write_run(base, "01-run", "f", std::process::id(), &[stage_started()]);
    let lock = RunLock::acquire(&root).unwrap().unwrap();
    let store = RunDirStore::new(base);
    assert_eq!(store.count_runs("f", "running"), 1);
    drop(lock);
    assert_eq!(store.count_runs("f", "running"), 0);
    assert_eq!(store.count_runs("f", "interrupted"), 1);
}

#[test]
fn store_reads_only_the_tail_of_long_journals() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let me = std::process::id();
    let many: Vec<serde_json::Value> = (0..2000).map(|_| stage_started()).collect();
    let running = write_run(base, "01-long-running", "f", me, &many);
    let mut done = many.clone();
    done.push(finished("timed_out"));
    write_run(base, "02-long-done", "f", me, &done);
    let len = std::fs::metadata(running.join("journal.jsonl"))
        .unwrap()
        .len();
    assert!(
        len > rebuild::TAIL_BYTES,
        "the journal must exceed the tail window"
    );
    let _alive = hold(&[&running]);
    let store = RunDirStore::new(base);
    assert_eq!(store.count_runs("f", "running"), 1);
    assert_eq!(store.count_runs("f", "timed_out"), 1);
}

#[test]
fn store_index_is_rebuilt_when_missing_or_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    write_run(base, "01-a", "f", 1, &[finished("succeeded")]);
    write_run(base, "02-b", "f", 1, &[finished("failed")]);
    let store = RunDirStore::new(base);
    assert_eq!(store.list(None, None).unwrap().len(), 2);
    drop(store);
    // Missing: rebuilt (the WAL of the removed file, left behind because
    // the index is closed without a checkpoint, is not replayed into it).
    assert!(base.join("flow.db-wal").exists());
    std::fs::remove_file(base.join(index::FILE)).unwrap();
    assert_eq!(RunDirStore::new(base).list(None, None).unwrap().len(), 2);
    std::fs::remove_file(base.join(index::FILE)).unwrap();
    let _ = std::fs::remove_file(base.join("flow.db-wal"));
    let _ = std::fs::remove_file(base.join("flow.db-shm"));
    assert_eq!(RunDirStore::new(base).list(None, None).unwrap().len(), 2);
    // Garbage: set aside, rebuilt.
    for f in ["flow.db", "flow.db-wal", "flow.db-shm"] {
        let _ = std::fs::remove_file(base.join(f));
    }
    std::fs::write(base.join(index::FILE), vec![b'x'; 8192]).unwrap();
    let store = RunDirStore::new(base);
    assert_eq!(store.count_runs("f", "finished"), 2);
    assert!(base.join("flow.db.broken").is_file());
    // A run added behind the index's back (another version, a failed
    // write) is found by the next process; a removed one is forgotten.
    drop(store);
    write_run(base, "03-c", "f", 1, &[finished("failed")]);
    std::fs::remove_dir_all(base.join("runs/01-a")).unwrap();
    let ids: Vec<String> = RunDirStore::new(base)
        .list(None, None)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["02-b", "03-c"]);
}

fn try_slot(store: &RunDirStore, id: &str, limit: u32) -> Slot {
    store.take_slot("f", id, limit, &mut |_| Ok(())).unwrap()
}

#[test]
fn store_admission_is_first_come_first_served_and_skips_the_dead() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let me = std::process::id();
    let holder = write_run(base, "01-holder", "f", me, &[admitted()]);
    // A run recorded running whose `flow` died (pid alive: ours): no slot.
    write_run(base, "02-dead", "f", me, &[admitted()]);
    let a = write_run(base, "03-a", "f", me, &[]);
    let b = write_run(base, "04-b", "f", me, &[]);
    let c = write_run(base, "05-c", "f", me, &[]);
    let holder_lock = hold(&[&holder]);
    let _alive = hold(&[&a, &b, &c]);
    let store = RunDirStore::new(base);
    // The holder was admitted before: it is running, so the others queue,
    // in the order they ask: c first, then a, then b.
    let q = |running, ahead, first| Slot::Queued {
        running,
        ahead,
        first,
    };
    assert_eq!(try_slot(&store, "05-c", 1), q(1, 0, true));
    assert_eq!(try_slot(&store, "03-a", 1), q(1, 1, true));
    assert_eq!(try_slot(&store, "04-b", 1), q(1, 2, true));
    assert_eq!(try_slot(&store, "04-b", 1), q(1, 2, false));
    drop(holder_lock);
    // The slot is free; b and a ask first, but c came first.
    assert_eq!(try_slot(&store, "04-b", 1), q(0, 2, false));
    assert_eq!(try_slot(&store, "03-a", 1), q(0, 1, false));
    assert_eq!(try_slot(&store, "05-c", 1), Slot::Taken);
    assert_eq!(try_slot(&store, "04-b", 1), q(1, 1, false));
    // With two slots, the next in line (a) gets in, b still waits.
    assert_eq!(try_slot(&store, "04-b", 2), q(1, 1, false));
    assert_eq!(try_slot(&store, "03-a", 2), Slot::Taken);
    assert_eq!(store.count_runs("f", "running"), 2);
    assert_eq!(store.count_runs("f", "pending"), 1);
}

#[test]
fn store_admission_journals_under_the_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path();
    let root = write_run(base, "01-me", "f", 1, &[]);
    let _alive = hold(&[&root]);
    let store = RunDirStore::new(base);
    let mut seen = Vec::new();
    let slot = store
        .take_slot("f", "01-me", 1, &mut |s| {
            seen.push(*s);
            Ok(())
        })
        .unwrap();
    assert_eq!(slot, Slot::Taken);
    assert_eq!(seen, [Slot::Taken]);
    // A journal write that fails rolls the admission back.
    let other = write_run(base, "02-other", "f", 1, &[]);
    let _alive2 = hold(&[&other]);
    let err = store
        .take_slot("f", "02-other", 2, &mut |_| {
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
    assert!(err.to_string().contains("disk full"));
    assert_eq!(store.count_runs("f", "running"), 1);
}

#[test]
fn store_index_created_by_several_processes_at_once_keeps_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().to_path_buf();
    for i in 0..50 {
        write_run(
            &base,
            &format!("{i:02}-r"),
            "f",
            1,
            &[finished("succeeded")],
        );
    }
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let base = base.clone();
            std::thread::spawn(move || RunDirStore::new(&base).count_runs("f", "succeeded"))
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 50);
    }
    assert_eq!(RunDirStore::new(&base).list(None, None).unwrap().len(), 50);
    assert!(!base.join("flow.db.broken").exists());
}

fn submission(key: Option<&str>, at: i64) -> submission::Submission {
    submission::Submission {
        flow: "f".into(),
        file: "/x/f.flow".into(),
        key: key.map(String::from),
        description: Some("**fix** it".into()),
        params: json!({"n": 2}).as_object().unwrap().clone(),
        parent: None,
        submitted_ms: at,
    }
}

#[test]
fn a_live_key_is_refused_naming_its_run_and_freed_once_the_run_finished() {
    use submission::Submitted;
    let tmp = tempfile::tempdir().unwrap();
    let store = RunDirStore::new(tmp.path());
    let Submitted::New(first) = store.submit(&submission(Some("k"), 1)).unwrap() else {
        panic!("the first submission is new");
    };
    assert_eq!(
        store.submit(&submission(Some("k"), 2)).unwrap(),
        Submitted::Duplicate(first.clone())
    );
    // The refused one left no directory behind.
    assert_eq!(
        std::fs::read_dir(tmp.path().join("runs")).unwrap().count(),
        1
    );
    let Submitted::New(other) = store.submit(&submission(Some("j"), 3)).unwrap() else {
        panic!("another key is new");
    };
    let Submitted::New(_) = store.submit(&submission(None, 4)).unwrap() else {
        panic!("no key, no dedupe");
    };
    let queued: Vec<String> = store.queued().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(queued[..2], [first.clone(), other]);
    let entry = &store.list(None, Some("queued")).unwrap()[0];
    assert_eq!(entry.description.as_deref(), Some("**fix** it"));
    assert_eq!(entry.state, RunState::Queued);
    // Cancelled while queued: finished, so the key is free again.
    assert!(store
        .finish_unstarted(&first, "cancelled", "cancelled while queued")
        .unwrap());
    assert!(!store
        .finish_unstarted(&first, "cancelled", "again")
        .unwrap());
    let done = RunHistory::read(&store.run_root(&first)).unwrap();
    assert_eq!(done.outcome.as_deref(), Some("cancelled"));
    assert_eq!(done.key.as_deref(), Some("k"));
    let Submitted::New(again) = store.submit(&submission(Some("k"), 5)).unwrap() else {
        panic!("a finished run frees its key");
    };
    assert_ne!(again, first);
}

#[test]
fn queued_submissions_survive_a_lost_index() {
    let tmp = tempfile::tempdir().unwrap();
    let store = RunDirStore::new(tmp.path());
    store.submit(&submission(Some("k"), 1)).unwrap();
    drop(store);
    std::fs::remove_file(tmp.path().join(index::FILE)).unwrap();
    let store = RunDirStore::new(tmp.path());
    let queued = store.queued().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].key.as_deref(), Some("k"));
    assert_eq!(queued[0].submitted_ms, Some(1));
    // And the key is still held after the rebuild.
    assert!(matches!(
        store.submit(&submission(Some("k"), 2)).unwrap(),
        submission::Submitted::Duplicate(_)
    ));
}
