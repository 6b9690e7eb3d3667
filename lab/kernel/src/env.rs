//! Where one lab instance keeps its state: the journal and state files, the bpffs root that
//! holds its pins, and the prefix of its network namespace names. Tests make their own
//! instance with unique names so they never meet the learner's lab or each other.

use std::path::{Path, PathBuf};

/// The default bpffs mount point.
pub const BPFFS_MOUNT: &str = "/sys/fs/bpf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabEnv {
    /// Journal, lock and state files.
    pub state_dir: PathBuf,
    /// Lab-owned directory on bpffs: every pin the lab makes lives below it.
    pub bpffs_root: PathBuf,
    /// Prepended to node names to form namespace names (empty by default: `tg`, `sut`, `clt`).
    pub ns_prefix: String,
}

impl LabEnv {
    /// The learner's lab: `ECLAT_LAB_STATE`, `ECLAT_LAB_BPFFS` and `ECLAT_LAB_NS_PREFIX`
    /// override the defaults (`/var/lib/eclat-lab`, `/sys/fs/bpf/eclat-lab`, no prefix).
    pub fn from_env() -> Self {
        let state_dir = std::env::var_os("ECLAT_LAB_STATE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/lib/eclat-lab"));
        let bpffs_root = std::env::var_os("ECLAT_LAB_BPFFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(BPFFS_MOUNT).join("eclat-lab"));
        let ns_prefix = std::env::var("ECLAT_LAB_NS_PREFIX").unwrap_or_default();
        Self {
            state_dir,
            bpffs_root,
            ns_prefix,
        }
    }

    /// A throw-away instance for a test: unique state dir, bpffs root and namespace prefix.
    pub fn for_test(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{:x}{}", tag, std::process::id() % 0xfff, n);
        Self {
            state_dir: std::env::temp_dir().join(format!("eclat-lab-test-{id}")),
            bpffs_root: Path::new(BPFFS_MOUNT).join(format!("eclat-lab-test-{id}")),
            ns_prefix: format!("el{id}-"),
        }
    }

    /// Namespace name of a node.
    pub fn ns_name(&self, node: &str) -> String {
        format!("{}{}", self.ns_prefix, node)
    }

    pub fn journal_path(&self) -> PathBuf {
        self.state_dir.join("journal")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.state_dir.join("lock")
    }

    /// Which topology is up (written by `topo up`, removed by `topo down`).
    pub fn topology_state_path(&self) -> PathBuf {
        self.state_dir.join("topology.toml")
    }

    /// The state file of a topology being taken down (`topo down` renames it first, removes
    /// it last; found at a start, the removal was killed and is finished).
    pub fn topology_down_path(&self) -> PathBuf {
        self.state_dir.join("topology.down.toml")
    }
}
