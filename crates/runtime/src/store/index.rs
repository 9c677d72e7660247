//! The SQLite index of a project's runs: `<base>/flow.db`, WAL mode.
//!
//! One row per run (table `runs`). It is a cache of the journals, which stay
//! the source of truth: every row can be recomputed from its run's journal
//! (`rebuild::read_row`), and a missing or unreadable file is rebuilt from
//! them (`rebuild::reconcile`). Writers use `BEGIN IMMEDIATE` transactions,
//! so two decisions (admissions, syncs) never interleave; readers never
//! wait for writers (WAL).

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::state::Recorded;

/// The file name of the index under the base directory.
pub const FILE: &str = "flow.db";

/// `PRAGMA user_version` of the schema below; another version is rebuilt.
const SCHEMA_VERSION: i64 = 2;

/// How long an ordinary statement waits for another process's write
/// transaction (a rebuild of thousands of journals takes about a second).
pub(super) const BUSY: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,   -- run id, also the directory name under runs/
    flow        TEXT NOT NULL,
    params      TEXT NOT NULL,      -- JSON object, as in run_started
    key         TEXT,               -- dedupe key of a submission (`flow serve`)
    state       TEXT NOT NULL,      -- queued | starting | pending | running | interrupted | finished
    outcome     TEXT,               -- once finished
    started_ms  INTEGER,            -- Unix ms of run_started
    finished_ms INTEGER,            -- Unix ms of run_finished
    parent      TEXT,               -- the run whose stage submitted this one
    pid         INTEGER,            -- informative only: liveness is the run's lock
    file        TEXT,               -- the .flow file
    queue_seq   INTEGER,            -- concurrency order, assigned when it first asks
    description TEXT,               -- a submission's description (markdown)
    submitted_ms INTEGER            -- Unix ms of the submission (`flow serve`)
);
CREATE INDEX IF NOT EXISTS runs_by_flow_state ON runs (flow, state);
CREATE INDEX IF NOT EXISTS runs_by_state ON runs (state, submitted_ms);
-- A key belongs to at most one run that is not finished (queued, starting,
-- pending, running or interrupted): a second INSERT fails atomically.
CREATE UNIQUE INDEX IF NOT EXISTS runs_live_key ON runs (key)
    WHERE key IS NOT NULL AND state <> 'finished';
";

/// One run as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Run id.
    pub id: String,
    /// Flow name.
    pub flow: String,
    /// Param values, a JSON object.
    pub params: String,
    /// The submission's dedupe key, when it has one.
    pub key: Option<String>,
    /// Recorded state (liveness not applied).
    pub state: Recorded,
    /// Outcome word, once finished.
    pub outcome: Option<String>,
    /// Start, Unix milliseconds.
    pub started_ms: Option<i64>,
    /// End, Unix milliseconds.
    pub finished_ms: Option<i64>,
    /// The run whose stage submitted this one.
    pub parent: Option<String>,
    /// The `flow` process that started it (informative).
    pub pid: Option<i64>,
    /// The `.flow` file.
    pub file: Option<String>,
    /// Position in its flow's `concurrency` queue.
    pub queue_seq: Option<i64>,
    /// A submission's description (markdown).
    pub description: Option<String>,
    /// When it was submitted to `flow serve`, Unix milliseconds.
    pub submitted_ms: Option<i64>,
}

const COLUMNS: &str = "id, flow, params, key, state, outcome, started_ms, finished_ms, parent, \
     pid, file, queue_seq, description, submitted_ms";

fn from_sql(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        flow: r.get(1)?,
        params: r.get(2)?,
        key: r.get(3)?,
        state: Recorded::parse(&r.get::<_, String>(4)?),
        outcome: r.get(5)?,
        started_ms: r.get(6)?,
        finished_ms: r.get(7)?,
        parent: r.get(8)?,
        pid: r.get(9)?,
        file: r.get(10)?,
        queue_seq: r.get(11)?,
        description: r.get(12)?,
        submitted_ms: r.get(13)?,
    })
}

/// An open index.
pub struct Index {
    conn: Connection,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Index")
    }
}

impl Index {
    /// Opens `<base>/flow.db`, creating it (and `base`) if needed. A file
    /// that is not a readable index of this version is moved aside to
    /// `flow.db.broken` and replaced by an empty one; the caller fills it
    /// from the journals.
    pub fn open(base: &Path) -> io::Result<Index> {
        std::fs::create_dir_all(base)?;
        let path = base.join(FILE);
        if !path.exists() {
            // The index is closed without a checkpoint, so its WAL outlives
            // it: one left beside a removed index belongs to the old file
            // and must not be replayed into a new one.
            for side in ["-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(side);
                let _ = std::fs::remove_file(p);
            }
        }
        match Index::open_retrying(&path) {
            Ok(index) => Ok(index),
            // Only a file that is not a database is replaced; a busy or
            // unwritable one is an error (it may be fine for others).
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
                ) =>
            {
                tracing::warn!(
                    "the run index {} is unreadable ({e}); rebuilding it from the journals",
                    path.display()
                );
                set_aside(&path)?;
                Index::open_retrying(&path).map_err(to_io)
            }
            Err(e) => Err(to_io(e)),
        }
    }

    /// [`Index::open_at`], tried again for up to [`BUSY`] while it fails
    /// with `SQLITE_BUSY`. SQLite does not call the busy handler for every
    /// lock it takes while a connection opens: switching a new file to WAL
    /// and recovering a WAL index return `SQLITE_BUSY` at once when another
    /// process does the same (<https://www.sqlite.org/wal.html>, "Sometimes
    /// Queries Return SQLITE_BUSY In WAL Mode"), so processes that create
    /// the index together must retry here.
    fn open_retrying(path: &Path) -> rusqlite::Result<Index> {
        let deadline = std::time::Instant::now() + BUSY;
        let mut pause = Duration::from_millis(1);
        loop {
            match Index::open_at(path) {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn open_at(path: &Path) -> rusqlite::Result<Index> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY)?;
        // Readers do not block writers, nor writers readers.
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL")?;
        // A `flow` process opens the index for one run: checkpointing at
        // every close cost two `fsync`s (and the WAL file's removal and
        // re-creation) on the way out of each `flow run`. The WAL is left
        // for the next process instead, and kept short so that reading it
        // back on open stays cheap (100 pages: about 400 KB).
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        conn.execute_batch("PRAGMA wal_autocheckpoint = 100")?;
        // The version is read under the write lock, so two processes
        // creating the index at once do not drop each other's table.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            tx.execute_batch(&format!(
                "DROP TABLE IF EXISTS runs; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
        }
        // A file that opens but is corrupt fails here.
        tx.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))?;
        tx.commit()?;
        Ok(Index { conn })
    }

    /// The connection, for reads outside a write transaction.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Sets how long statements wait for another writer.
    pub fn set_busy(&self, wait: Duration) -> io::Result<()> {
        self.conn.busy_timeout(wait).map_err(to_io)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction (the write lock is taken
    /// first, so what `f` reads stays true until it commits).
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> io::Result<T>) -> io::Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(to_io)?;
        let out = f(&tx)?;
        tx.commit().map_err(to_io)?;
        Ok(out)
    }

    /// Every row of `flow` (all if `None`), in submission order, else start
    /// order (ids of one second do not sort by start).
    pub fn rows(&self, flow: Option<&str>) -> io::Result<Vec<Row>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE (?1 IS NULL OR flow = ?1) \
             ORDER BY coalesce(submitted_ms, started_ms), id"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(to_io)?;
        let rows = stmt.query_map(params![flow], from_sql).map_err(to_io)?;
        rows.collect::<rusqlite::Result<_>>().map_err(to_io)
    }

    /// Ids of the runs of `flow` recorded in one of `states`, except
    /// `except`.
    pub fn ids_in(
        &self,
        flow: &str,
        states: &[Recorded],
        except: Option<&str>,
    ) -> io::Result<Vec<String>> {
        let mut words = [None::<&str>; 4];
        for (slot, state) in words.iter_mut().zip(states) {
            *slot = Some(state.as_str());
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM runs WHERE flow = ?1 AND state IN (?2, ?3, ?4, ?5) \
                 AND (?6 IS NULL OR id <> ?6)",
            )
            .map_err(to_io)?;
        let rows = stmt
            .query_map(
                params![flow, words[0], words[1], words[2], words[3], except],
                |r| r.get(0),
            )
            .map_err(to_io)?;
        rows.collect::<rusqlite::Result<_>>().map_err(to_io)
    }

    /// How many runs of `flow` are recorded finished (with `outcome`, if
    /// given), except `except`.
    pub fn count_finished(
        &self,
        flow: &str,
        outcome: Option<&str>,
        except: Option<&str>,
    ) -> io::Result<i64> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM runs WHERE flow = ?1 AND state = 'finished' \
                 AND (?2 IS NULL OR outcome = ?2) AND (?3 IS NULL OR id <> ?3)",
            )
            .map_err(to_io)?;
        stmt.query_row(params![flow, outcome, except], |r| r.get(0))
            .map_err(to_io)
    }
}

/// Runs of `flow` not recorded finished, except `except` (in a transaction
/// or not).
pub fn unfinished(conn: &Connection, flow: &str, except: Option<&str>) -> io::Result<Vec<Row>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM runs WHERE flow = ?1 AND state <> 'finished' \
         AND (?2 IS NULL OR id <> ?2) ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(to_io)?;
    let rows = stmt
        .query_map(params![flow, except], from_sql)
        .map_err(to_io)?;
    rows.collect::<rusqlite::Result<_>>().map_err(to_io)
}

/// The row of run `id`.
pub fn row(conn: &Connection, id: &str) -> io::Result<Option<Row>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = ?1");
    conn.query_row(&sql, params![id], from_sql)
        .optional()
        .map_err(to_io)
}

/// Every id with its recorded state.
pub fn states(conn: &Connection) -> io::Result<Vec<(String, Recorded)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, state FROM runs")
        .map_err(to_io)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Recorded::parse(&r.get::<_, String>(1)?),
            ))
        })
        .map_err(to_io)?;
    rows.collect::<rusqlite::Result<_>>().map_err(to_io)
}

/// Inserts or replaces `row`, keeping the stored `queue_seq` when `row` has
/// none (the journal does not hold it). A row whose key another unfinished
/// run holds (only a rebuild from damaged files can make one) is stored
/// without its key, with a warning, rather than failing the whole write.
pub fn upsert(conn: &Connection, row: &Row) -> io::Result<()> {
    match upsert_as_is(conn, row) {
        Err(e) if row.key.is_some() && is_constraint(&e) => {
            tracing::warn!(
                "run {}: key {:?} is held by another unfinished run; indexing it without its key",
                row.id,
                row.key
            );
            let keyless = Row {
                key: None,
                ..row.clone()
            };
            upsert_as_is(conn, &keyless).map_err(to_io)
        }
        other => other.map_err(to_io),
    }
}

/// Whether `e` is a constraint violation (a live key taken).
pub fn is_constraint(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
}

fn upsert_as_is(conn: &Connection, row: &Row) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (id, flow, params, key, state, outcome, started_ms, finished_ms, \
         parent, pid, file, queue_seq, description, submitted_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT(id) DO UPDATE SET flow = excluded.flow, params = excluded.params, \
         key = excluded.key, state = excluded.state, outcome = excluded.outcome, \
         started_ms = excluded.started_ms, finished_ms = excluded.finished_ms, \
         parent = excluded.parent, pid = excluded.pid, file = excluded.file, \
         queue_seq = coalesce(excluded.queue_seq, runs.queue_seq), \
         description = excluded.description, \
         submitted_ms = coalesce(excluded.submitted_ms, runs.submitted_ms)",
    )
    .and_then(|mut s| {
        s.execute(params![
            row.id,
            row.flow,
            row.params,
            row.key,
            row.state.as_str(),
            row.outcome,
            row.started_ms,
            row.finished_ms,
            row.parent,
            row.pid,
            row.file,
            row.queue_seq,
            row.description,
            row.submitted_ms
        ])
    })
    .map(drop)
}

/// Inserts a new submission's row (state `queued`). Fails with a
/// constraint violation when its key belongs to an unfinished run: the
/// unique index decides, atomically, never a lookup.
pub fn insert_new(conn: &Connection, row: &Row) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO runs (id, flow, params, key, state, parent, file, description, submitted_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.id,
        row.flow,
        row.params,
        row.key,
        row.state.as_str(),
        row.parent,
        row.file,
        row.description,
        row.submitted_ms
    ])
    .map(drop)
}

/// The unfinished run holding `key`, if any.
pub fn live_key_holder(conn: &Connection, key: &str) -> io::Result<Option<String>> {
    conn.query_row(
        "SELECT id FROM runs WHERE key = ?1 AND state <> 'finished'",
        params![key],
        |r| r.get(0),
    )
    .optional()
    .map_err(to_io)
}

/// Ids of the runs recorded started but not finished (starting, pending,
/// running, interrupted), oldest first.
pub fn unfinished_started(conn: &Connection) -> io::Result<Vec<String>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id FROM runs WHERE state IN ('starting', 'pending', 'running', 'interrupted') \
             ORDER BY coalesce(submitted_ms, started_ms), id",
        )
        .map_err(to_io)?;
    let rows = stmt.query_map([], |r| r.get(0)).map_err(to_io)?;
    rows.collect::<rusqlite::Result<_>>().map_err(to_io)
}

/// The queued submissions, oldest first (submission time, then id).
pub fn queued(conn: &Connection) -> io::Result<Vec<Row>> {
    let sql =
        format!("SELECT {COLUMNS} FROM runs WHERE state = 'queued' ORDER BY submitted_ms, id");
    let mut stmt = conn.prepare_cached(&sql).map_err(to_io)?;
    let rows = stmt.query_map([], from_sql).map_err(to_io)?;
    rows.collect::<rusqlite::Result<_>>().map_err(to_io)
}

/// Sets the recorded state of run `id`.
pub fn set_state(conn: &Connection, id: &str, state: Recorded) -> io::Result<()> {
    conn.execute(
        "UPDATE runs SET state = ?2 WHERE id = ?1",
        params![id, state.as_str()],
    )
    .map(drop)
    .map_err(to_io)
}

/// Gives run `id` the next queue position, unless it has one; returns it.
pub fn enqueue(conn: &Connection, id: &str) -> io::Result<i64> {
    conn.execute(
        "UPDATE runs SET queue_seq = (SELECT coalesce(max(queue_seq), 0) + 1 FROM runs) \
         WHERE id = ?1 AND queue_seq IS NULL",
        params![id],
    )
    .map_err(to_io)?;
    conn.query_row(
        "SELECT queue_seq FROM runs WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .map_err(to_io)
}

/// Removes run `id`'s row.
pub fn delete(conn: &Connection, id: &str) -> io::Result<()> {
    conn.execute("DELETE FROM runs WHERE id = ?1", params![id])
        .map(drop)
        .map_err(to_io)
}

/// Moves an unreadable index (and its WAL files) out of the way.
fn set_aside(path: &Path) -> io::Result<()> {
    let aside = |suffix: &str| -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    std::fs::rename(path, aside(".broken"))?;
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(aside(side));
    }
    Ok(())
}

/// A SQLite error as an I/O error; "the database is locked" (another
/// writer, past the busy timeout) is `WouldBlock`, so callers can retry.
pub fn to_io(e: rusqlite::Error) -> io::Error {
    let busy = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    if busy {
        io::Error::new(io::ErrorKind::WouldBlock, e)
    } else {
        io::Error::other(e)
    }
}
