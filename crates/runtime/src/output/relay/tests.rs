use super::*;
use crate::output::MemorySink;
use std::os::fd::OwnedFd;

/// A relay of two fresh pipes into a [`MemorySink`] and a log in `dir`;
/// returns the write ends, the stop switch, the sink and the relay's task.
fn start(
    dir: &Path,
    masker: Masker,
    tail: Option<usize>,
) -> (
    (OwnedFd, OwnedFd),
    StopRelay,
    Arc<MemorySink>,
    tokio::task::JoinHandle<io::Result<Relayed>>,
) {
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let (err_r, err_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let stop = StopRelay::new();
    let sink = Arc::new(MemorySink::default());
    let to = Relay {
        log_path: dir.join("logs/s.1.1.log"),
        masker: Arc::new(masker),
        sink: sink.clone(),
        label: "s".into(),
        tail,
        activity: Arc::new(Activity::new()),
    };
    let thread = tokio::spawn(relay(out_r, Some(err_r), stop.watch(), to));
    ((out_w, err_w), stop, sink, thread)
}

/// One pipe for stdout and stderr (an attempt without `status json`): the
/// log has what both wrote in the order they wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pipe_for_both_streams_keeps_the_order_written() {
    let dir = tempfile::tempdir().unwrap();
    let (out_r, out_w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).unwrap();
    let err_w = out_w.try_clone().unwrap();
    let stop = StopRelay::new();
    let sink = Arc::new(MemorySink::default());
    let to = Relay {
        log_path: dir.path().join("logs/s.1.1.log"),
        masker: Arc::new(Masker::default()),
        sink: sink.clone(),
        label: "s".into(),
        tail: None,
        activity: Arc::new(Activity::new()),
    };
    let thread = tokio::spawn(relay(out_r, None, stop.watch(), to));
    let (mut out, mut err) = (File::from(out_w), File::from(err_w));
    let mut expected = String::new();
    for i in 0..500 {
        let (file, name) = if i % 3 == 0 {
            (&mut err, "err")
        } else {
            (&mut out, "out")
        };
        let line = format!("{name} {i}\n");
        file.write_all(line.as_bytes()).unwrap();
        expected.push_str(&line);
    }
    drop((out, err));
    let relayed = thread.await.unwrap().unwrap();
    assert!(relayed.log_error.is_none() && relayed.read_error.is_none());
    let log = std::fs::read_to_string(dir.path().join("logs/s.1.1.log")).unwrap();
    assert_eq!(log, expected);
    assert_eq!(sink.text().lines().count(), 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_every_byte_in_whole_lines_to_log_and_sink() {
    let dir = tempfile::tempdir().unwrap();
    let ((out, err), _stop, sink, thread) = start(dir.path(), Masker::default(), Some(64));
    let mut input = Vec::new();
    for i in 0..20_000 {
        input.extend_from_slice(format!("line {i}\n").as_bytes());
    }
    input.extend_from_slice(b"no newline at end");
    let data = input.clone();
    let writer = std::thread::spawn(move || {
        let mut out = File::from(out);
        for piece in data.chunks(777) {
            out.write_all(piece).unwrap();
        }
    });
    drop(err);
    writer.join().unwrap();
    let relayed = thread.await.unwrap().unwrap();
    assert!(relayed.log_error.is_none() && relayed.read_error.is_none());
    let log = std::fs::read(dir.path().join("logs/s.1.1.log")).unwrap();
    assert_eq!(log, input);
    assert_eq!(relayed.log_bytes, input.len() as u64);
    // Every line shown whole, with its prefix.
    let shown = sink.text();
    assert_eq!(shown.lines().count(), 20_001);
    assert!(shown.lines().all(|l| l.starts_with("[s] ")));
    assert!(shown.ends_with("[s] no newline at end\n"));
    let tail = relayed.tail.unwrap();
    assert!(tail.bytes().ends_with(b"no newline at end"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlong_line_goes_out_in_pieces_and_whole() {
    let dir = tempfile::tempdir().unwrap();
    let ((out, err), _stop, _sink, thread) = start(dir.path(), Masker::default(), None);
    let input = vec![b'x'; 3 * CHUNK + 10];
    let data = input.clone();
    let writer = std::thread::spawn(move || File::from(out).write_all(&data).unwrap());
    drop(err);
    writer.join().unwrap();
    let relayed = thread.await.unwrap().unwrap();
    assert_eq!(relayed.log_bytes, input.len() as u64);
    assert_eq!(
        std::fs::read(dir.path().join("logs/s.1.1.log")).unwrap(),
        input
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_and_stdout_are_both_relayed_and_masked() {
    let dir = tempfile::tempdir().unwrap();
    let masker = Masker::new(&["hunter22"]);
    let ((out, err), _stop, sink, thread) = start(dir.path(), masker, None);
    File::from(out).write_all(b"out hunter22\n").unwrap();
    File::from(err).write_all(b"err hunter22\n").unwrap();
    let relayed = thread.await.unwrap().unwrap();
    let log = std::fs::read_to_string(dir.path().join("logs/s.1.1.log")).unwrap();
    assert!(
        log.contains("out ***\n") && log.contains("err ***\n"),
        "{log}"
    );
    assert!(!sink.text().contains("hunter22"));
    assert_eq!(relayed.log_bytes, log.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_attempt_has_no_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let ((out, err), _stop, sink, thread) = start(dir.path(), Masker::default(), None);
    drop((out, err));
    let relayed = thread.await.unwrap().unwrap();
    assert_eq!(relayed.log_bytes, 0);
    assert!(!dir.path().join("logs").exists());
    assert_eq!(sink.text(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_relay_whose_pipes_stay_open_keeping_what_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let ((out, err), stop, _sink, thread) = start(dir.path(), Masker::default(), None);
    let mut out = File::from(out);
    out.write_all(b"said before\npartial").unwrap();
    // Let the relay read it, then stop it while both pipes are open.
    let log = dir.path().join("logs/s.1.1.log");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::fs::read(&log).map_or(true, |b| b.is_empty()) {
        assert!(std::time::Instant::now() < deadline, "nothing relayed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.stop();
    let relayed = thread.await.unwrap().unwrap();
    assert_eq!(std::fs::read(&log).unwrap(), b"said before\npartial");
    assert_eq!(relayed.log_bytes, 19);
    drop((out, err));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stop_switch_ends_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let ((_out, _err), stop, _sink, thread) = start(dir.path(), Masker::default(), None);
    drop(stop);
    let relayed = thread.await.unwrap().unwrap();
    assert_eq!(relayed.log_bytes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_that_cannot_be_written_does_not_stop_the_reading() {
    let dir = tempfile::tempdir().unwrap();
    // The log's folder is a file: the log cannot be created.
    std::fs::write(dir.path().join("logs"), "").unwrap();
    let ((out, err), _stop, sink, thread) = start(dir.path(), Masker::default(), None);
    let data = vec![b'y'; 4 * CHUNK];
    let writer = std::thread::spawn(move || File::from(out).write_all(&data).unwrap());
    drop(err);
    writer.join().unwrap();
    let relayed = thread.await.unwrap().unwrap();
    assert!(relayed.log_error.is_some());
    assert_eq!(relayed.log_bytes, 0);
    // Shown all the same.
    assert_eq!(sink.text().matches('y').count(), 4 * CHUNK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_silent_relay_waiting_on_the_event_loop() {
    let dir = tempfile::tempdir().unwrap();
    let ((_out, _err), stop, _sink, thread) = start(dir.path(), Masker::default(), None);
    stop.stop();
    let relayed = thread.await.unwrap().unwrap();
    assert_eq!(relayed.log_bytes, 0);
}

/// A stage can reach `logs/` (`$FLOW_RUN_DIR`) and put a FIFO where a later
/// attempt's log goes: opening it for writing would block the relay (and
/// the run) for good. The log fails; the output is still shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_at_the_log_path_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    nix::unistd::mkfifo(
        &dir.path().join("logs/s.1.1.log"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let ((out, err), _stop, sink, thread) = start(dir.path(), Masker::default(), None);
    File::from(out).write_all(b"hello\n").unwrap();
    drop(err);
    let relayed = tokio::time::timeout(Duration::from_secs(20), thread)
        .await
        .expect("the relay hung on the FIFO")
        .unwrap()
        .unwrap();
    assert!(relayed.log_error.is_some());
    assert_eq!(sink.text(), "[s] hello\n");
}

/// A symbolic link at the log path is not followed: the output does not
/// land in the file it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_at_the_log_path_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    let elsewhere = dir.path().join("elsewhere.txt");
    std::fs::write(&elsewhere, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, dir.path().join("logs/s.1.1.log")).unwrap();
    let ((out, err), _stop, _sink, thread) = start(dir.path(), Masker::default(), None);
    File::from(out).write_all(b"hello\n").unwrap();
    drop(err);
    let relayed = thread.await.unwrap().unwrap();
    assert!(relayed.log_error.is_some());
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me\n");
}
