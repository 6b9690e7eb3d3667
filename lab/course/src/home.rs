//! Where the learner's things are: the home of the user who ran sudo (or ours), and the
//! workspace, `~/eclat-lab` there unless `ECLAT_LAB_WORKSPACE` puts it elsewhere. Read by
//! `workspace` (the files) and `lessons` (the text names the workspace where it is).

use std::path::PathBuf;

/// The home of the user who ran sudo (or ours).
pub fn user_home() -> PathBuf {
    if let Ok(u) = std::env::var("SUDO_USER")
        && let Ok(Some(pw)) = nix::unistd::User::from_name(&u)
    {
        return pw.dir;
    }
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// Where the learner's files live: `$ECLAT_LAB_WORKSPACE`, else `~/eclat-lab`.
pub fn workspace() -> PathBuf {
    std::env::var_os("ECLAT_LAB_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| user_home().join("eclat-lab"))
}
