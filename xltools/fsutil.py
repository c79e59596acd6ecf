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
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success.

    A crash or an exception leaves any earlier ``target`` intact and no partial file behind.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:40]}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
