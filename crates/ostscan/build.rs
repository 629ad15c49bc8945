//! Names the build in `ostscan --version`: the git commit it was built
//! from, when it was built from a git checkout. A source tarball has no
//! `.git`, and then the commit is "unknown" (or what the packager sets in
//! `OSTSCAN_BUILD_COMMIT`); nothing here can fail the build.

use std::path::Path;
use std::process::Command;

/// `git ARGS` in this crate's directory: its trimmed output, or `None` when
/// git is missing, fails, or prints nothing.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// Rerun this script when `path` changes; only for a path that exists
/// (cargo reruns on every build for one that does not).
fn watch(dir: &Path, path: Option<String>) {
    if let Some(path) = path.map(|p| dir.join(p)) {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=OSTSCAN_BUILD_COMMIT");
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| Path::new(".").to_path_buf(), std::path::PathBuf::from);
    let commit = std::env::var("OSTSCAN_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| commit_of_checkout(&dir))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=OSTSCAN_COMMIT={commit}");
    println!("cargo:rustc-env=OSTSCAN_FEATURES={}", features().join(", "));
    let target = std::env::var("TARGET").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=OSTSCAN_TARGET={target} ({profile})");
}

/// What this build has turned on: the cargo features of the crate, and
/// the allocator (src/main.rs chooses jemalloc by target, not by feature).
fn features() -> Vec<String> {
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(k, _)| {
            k.strip_prefix("CARGO_FEATURE_")
                .map(|f| f.to_lowercase().replace('_', "-"))
        })
        .collect();
    features.sort();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    // The same condition as the `#[global_allocator]` in src/main.rs.
    features.push(if arch == "x86_64" && env != "msvc" {
        "jemalloc".to_string()
    } else {
        "system-allocator".to_string()
    });
    features
}

/// The commit of the git checkout this crate is part of; `None` outside
/// one, and also when this crate's files are not tracked by it (a
/// tarball unpacked inside some other repository).
fn commit_of_checkout(dir: &Path) -> Option<String> {
    git(dir, &["ls-files", "--error-unmatch", "Cargo.toml"])?;
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself (a checkout), the branch it
    // names (a commit), and packed refs.
    for name in ["HEAD", "packed-refs"] {
        watch(dir, git(dir, &["rev-parse", "--git-path", name]));
    }
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        watch(dir, git(dir, &["rev-parse", "--git-path", &branch]));
    }
    Some(commit)
}
