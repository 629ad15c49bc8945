//! The operating system's side of reading a file: a read-only open that
//! leaves the access time alone and cannot block on a FIFO, and positioned
//! reads. `reader.rs` and the cold-cache reader (`cold.rs`) both open through
//! here.

use std::fs::File;
use std::path::Path;

/// Open `path` for reading only. On Linux, with `O_NOATIME` where the
/// kernel allows it (the caller owns the file, or may act as if it did):
/// reading evidence then leaves even its access time as it was, and each
/// read skips the kernel's access-time check. Otherwise a plain open, and
/// the mount's own rule (`relatime`, `noatime`) decides.
///
/// On Unix also with `O_NONBLOCK`: should the path have become a FIFO
/// since the caller checked it, the open returns at once instead of
/// waiting for a writer (and the caller's `fstat` refuses it). The flag
/// changes nothing for a regular file.
#[cfg(unix)]
pub(crate) fn open_read_only(path: &Path) -> std::io::Result<File> {
    open_read_only_with(path, 0)
}

/// [`open_read_only`] with more open flags (`O_DIRECT`).
#[cfg(unix)]
pub(crate) fn open_read_only_with(path: &Path, extra: libc::c_int) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = |flags| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(flags | extra)
            .open(path)
    };
    #[cfg(target_os = "linux")]
    match open(libc::O_NOATIME | libc::O_NONBLOCK) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
        other => return other,
    }
    open(libc::O_NONBLOCK)
}

#[cfg(not(unix))]
pub(crate) fn open_read_only(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(
    file: &File,
    mut buf: &mut [u8],
    mut offset: u64,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
