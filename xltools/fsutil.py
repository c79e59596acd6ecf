"""Files: atomic writes (temp file + rename) and safe file names."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path

_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


def safe_filename(name: str, limit: int = 120) -> str:
    """A file name from user text: no path separators or characters Windows refuses."""
    clean = _BAD.sub("_", name).strip(" .") or "未命名"
    return clean[:limit]


@contextlib.contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path for ``target``; put it onto ``target`` only on success.

    A crash or an exception leaves any earlier ``target`` intact and no partial file behind.
    Where the system allows (Linux O_TMPFILE) the temporary file has no name until the very end,
    so even a process killed half-way (SIGKILL, power loss) leaves nothing in the folder.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = _anonymous_file(target.parent)
    if fd is not None:
        try:
            yield Path(f"/proc/self/fd/{fd}")
            os.fsync(fd)
            tmp = f".{target.stem[:40]}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                # linkat(AT_SYMLINK_FOLLOW) gives the file a name: os.link does that only with a dir_fd.
                os.link(f"/proc/self/fd/{fd}", tmp, dst_dir_fd=dir_fd, follow_symlinks=True)
                try:
                    os.replace(tmp, target.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp, dir_fd=dir_fd)
                    raise
            finally:
                os.close(dir_fd)
        finally:
            os.close(fd)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:40]}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _anonymous_file(folder: Path) -> int | None:
    """An unnamed file in ``folder`` (Linux O_TMPFILE), or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_RDWR, 0o644)
    except OSError:  # a file system without O_TMPFILE (some network shares)
        return None


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
