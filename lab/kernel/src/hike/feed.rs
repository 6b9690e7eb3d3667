//! The VM's trace for every reader of one lab: `hvm_trace` is a BPF ring buffer, which has a
//! single consumer position, so two processes reading it would each see part of the events.
//! One process of the lab owns it (an exclusive `flock` on `<state>/trace.lock`), reads it
//! and forwards every event to the others over the Unix socket `<state>/trace.sock`; the
//! others are clients of that socket. When the owner goes, a client takes over: events the
//! VM wrote meanwhile wait in the ring buffer. The owner keeps the VM's trace switch on while
//! it reads, and turns it off when it leaves with no client connected.

use std::time::Duration;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::TraceEvent;
use super::runtime::Hike;
use crate::LabEnv;

/// What a feed reports.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Event(TraceEvent),
    /// why no event can come now, or what the feed waits for
    Status(String),
}

/// How long to wait before looking again when there is nothing to read.
const RETRY: Duration = Duration::from_millis(500);

/// How long a client waits before it tries the owner's socket again.
const AGAIN: Duration = Duration::from_millis(20);

fn lock_path(env: &LabEnv) -> std::path::PathBuf {
    env.state_dir.join("trace.lock")
}

fn sock_path(env: &LabEnv) -> std::path::PathBuf {
    env.state_dir.join("trace.sock")
}

fn hike_exists(env: &LabEnv) -> bool {
    env.bpffs_root.join("maps/system/hvm_trace").exists()
        && env.bpffs_root.join("maps/system/hvm_config").exists()
}

/// Feeds every trace event of the lab `env` to `tx` until `cancel` (or until `tx` is
/// closed), as the owner of the ring buffer or as a client of the owner.
pub async fn run(env: LabEnv, tx: mpsc::UnboundedSender<FeedItem>, cancel: CancellationToken) {
    let mut last_status = String::new();
    let mut status = |tx: &mpsc::UnboundedSender<FeedItem>, s: String| {
        if s != last_status {
            last_status = s.clone();
            let _ = tx.send(FeedItem::Status(s));
        }
    };
    while !cancel.is_cancelled() && !tx.is_closed() {
        let outcome = match take_ownership(&env) {
            Ok(Some(lock)) => own(&env, lock, &tx, &cancel).await,
            Ok(None) => follow(&env, &tx, &cancel).await,
            Err(why) => Err(why),
        };
        // "waiting for packets" is said by the owner once the trace is on and by a client
        // once it is connected, never here: a client that found no owner's socket yet (the
        // owner is starting, or leaving) is not reading, and tries again soon
        let pause = match outcome {
            Err(why) => {
                status(&tx, why);
                RETRY
            }
            Ok(()) => AGAIN,
        };
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// The trace's lock, when no other process holds it (`Ok(None)`: another process of the lab
/// owns the trace, follow it). The lock is the lab's alone (mode 0600, whatever the umask):
/// a process of another user holding it (a lock file made before, with a mode that let them
/// open it) would leave every reader without events, so it is reported, not followed.
fn take_ownership(env: &LabEnv) -> Result<Option<crate::journal::Lock>, String> {
    crate::perms::make_dirs(&env.state_dir, crate::perms::DIR_MODE)
        .map_err(|e| format!("no chain trace: {}: {e}", env.state_dir.display()))?;
    crate::journal::Lock::try_acquire_own(&lock_path(env))
        .map_err(|e| format!("no chain trace: {e}"))
}

/// Reads the ring buffer and serves clients until cancelled or the HIKe instance is gone.
async fn own(
    env: &LabEnv,
    _lock: crate::journal::Lock,
    tx: &mpsc::UnboundedSender<FeedItem>,
    cancel: &CancellationToken,
) -> Result<(), String> {
    if !hike_exists(env) {
        return Err("no HIKe chain is loaded yet: the trace starts with the first `load`".into());
    }
    let hike = Hike::open(&env.bpffs_root).map_err(|e| format!("no chain trace: {e}"))?;
    let reader = hike
        .trace_reader()
        .map_err(|e| format!("no chain trace: {e}"))?;
    // SAFETY: the reader owns the ring buffer's map fd, which stays open, and is the fd
    // `as_raw_fd` returns, for as long as the reader lives (the AsyncFd owns the reader)
    let mut reader = unsafe { AsyncFd::register_with_interest(reader, Interest::READABLE) }
        .map_err(|e| format!("no chain trace: cannot wait on it: {e}"))?;
    hike.set_trace(true)
        .map_err(|e| format!("cannot turn the VM's trace on: {e}"))?;
    let _ = tx.send(FeedItem::Status(
        "waiting for packets through a chain".into(),
    ));
    let sock = sock_path(env);
    let _ = std::fs::remove_file(&sock);
    let listener = UnixListener::bind(&sock).ok();
    let mut clients: Vec<UnixStream> = Vec::new();
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let result = loop {
        tokio::select! {
            _ = cancel.cancelled() => break Ok(()),
            _ = check.tick() => {
                if !hike_exists(env) {
                    break Err("the lab's HIKe instance is gone (reset?)".to_string());
                }
                if tx.is_closed() {
                    break Ok(());
                }
            }
            c = async {
                match &listener {
                    Some(l) => l.accept().await.ok(),
                    None => std::future::pending().await,
                }
            } => {
                if let Some((s, _)) = c {
                    clients.push(s);
                }
            }
            r = reader.readable_mut() => {
                let Ok(mut guard) = r else {
                    break Err("the trace ring buffer failed".to_string());
                };
                let raw = guard.get_inner_mut().drain_raw();
                guard.clear_ready();
                for b in &raw {
                    if let Some(e) = TraceEvent::decode(b) {
                        let _ = tx.send(FeedItem::Event(e));
                    }
                }
                let mut keep = Vec::new();
                for mut c in clients.drain(..) {
                    let mut ok = true;
                    for b in &raw {
                        if c.write_all(b).await.is_err() {
                            ok = false;
                            break;
                        }
                    }
                    if ok {
                        keep.push(c);
                    }
                }
                clients = keep;
            }
        }
    };
    drop(listener);
    let _ = std::fs::remove_file(&sock);
    // a client takes over and keeps the trace on; with none left, it goes off
    if clients.is_empty() {
        let _ = hike.set_trace(false);
    }
    result
}

/// Reads the owner's socket until it closes (the owner left: the caller tries to own).
async fn follow(
    env: &LabEnv,
    tx: &mpsc::UnboundedSender<FeedItem>,
    cancel: &CancellationToken,
) -> Result<(), String> {
    let Ok(mut s) = UnixStream::connect(sock_path(env)).await else {
        // the owner is starting or leaving: try again
        return Ok(());
    };
    let _ = tx.send(FeedItem::Status(
        "waiting for packets through a chain".into(),
    ));
    let mut buf = vec![0u8; TraceEvent::SIZE];
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            r = s.read_exact(&mut buf) => {
                if r.is_err() {
                    return Ok(());
                }
                if let Some(e) = TraceEvent::decode(&buf) {
                    let _ = tx.send(FeedItem::Event(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test's lab state folder, removed when the test ends, failed or not.
    struct Scratch(LabEnv);
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0.state_dir);
        }
    }

    #[test]
    fn only_one_process_owns_the_trace() {
        let env = LabEnv::for_test("feed");
        let _gone = Scratch(env.clone());
        let a = take_ownership(&env).unwrap().expect("the first takes it");
        assert!(take_ownership(&env).unwrap().is_none(), "a second owner");
        drop(a);
        assert!(
            take_ownership(&env).unwrap().is_some(),
            "free again once the owner is gone"
        );
    }

    /// The trace's lock is root's alone whatever the umask, and one that another user holds
    /// (a lock file made before with a mode that let them open it) is reported, not followed:
    /// every reader of the lab saw no event at all, and `chain trace` said no packet went
    /// through a chain while traffic went through one.
    #[test]
    fn a_trace_lock_another_user_holds_is_reported() {
        use std::os::unix::fs::PermissionsExt;
        let env = LabEnv::for_test("feedu");
        let _gone = Scratch(env.clone());
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::empty());
        let a = take_ownership(&env).unwrap().expect("free");
        nix::sys::stat::umask(old);
        let lock = lock_path(&env);
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600, "the trace lock's mode");
        drop(a);
        // as the older lab made it: readable by all, and so lockable by all
        std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut other = std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "flock",
                "-x",
            ])
            .arg(&lock)
            .args(["sh", "-c", "echo held; exec sleep 20"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("setpriv and flock (util-linux)");
        let mut held = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(other.stdout.take().unwrap()),
            &mut held,
        )
        .unwrap();
        assert_eq!(
            held.trim(),
            "held",
            "the other user could not take the lock"
        );
        let r = take_ownership(&env);
        let _ = other.kill();
        let _ = other.wait();
        let err = r.err().expect("the other user's lock is reported");
        assert!(
            err.contains("of uid 65534") && err.contains("kill"),
            "{err}"
        );
    }

    /// A reader that finds another process owning the trace but no socket to follow yet (the
    /// owner is starting) must not say it waits for packets: it reads nothing yet, and a
    /// learner (or a test) who sends packets then would see none of them.
    #[test]
    fn a_client_without_its_owners_socket_does_not_say_it_is_waiting() {
        let env = LabEnv::for_test("feedw");
        let _gone = Scratch(env.clone());
        let owner = take_ownership(&env).expect("the test owns the trace");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        rt.block_on(async {
            let feed = tokio::spawn(run(env.clone(), tx, cancel.clone()));
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
            feed.await.unwrap();
        });
        let mut said = Vec::new();
        while let Ok(FeedItem::Status(s)) = rx.try_recv() {
            said.push(s);
        }
        assert!(said.is_empty(), "it said {said:?}");
        drop(owner);
    }
}
