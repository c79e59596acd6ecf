"""Files: guarded, atomic writes and safe file names.

Every file xltools writes goes through here: :func:`check_targets` refuses, before any work,
to write over an input or to replace an existing file without ``force``; :func:`atomic_path`
writes to a temporary file and renames it onto the target only on success; file-system
failures (no permission, a file held open by Excel, a name too long, a full disk) become an
:class:`~xltools.errors.OutputError` with a Chinese message naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import OutputError, UsageError

# Bytes of a file-name stem we make: 255 bytes per component is the limit of most file
# systems (ext4, NTFS counts UTF-16 units, which is never more); the rest leaves room for
# "_2" de-duplication, ".xlsx" and our temporary-file prefix.
NAME_BYTES = 180


def safe_filename(name: str, limit: int = NAME_BYTES, tail: str = "") -> str:
    """A file-name stem from user text, valid on Windows, macOS and Linux: no path separators,
    no characters or names Windows refuses (``CON``, ``NUL``, trailing dots and spaces), at most
    ``limit`` bytes in UTF-8 (cut at a character boundary). ``tail`` (e.g. ``_申报表``) is kept
    whole: a long name is shortened before it."""
    from pathvalidate import sanitize_filename

    def clean(text: str, room: int) -> str:
        for _ in range(2):  # stripping a trailing dot can uncover a reserved name ("LPT1 .." → "LPT1")
            text = sanitize_filename(text.strip(" ."), replacement_text="_", platform="universal",
                                     max_len=max(room, 1), fs_encoding="utf-8").strip(" .")
        return text

    end = clean(tail, limit) if tail else ""
    head = clean(str(name), limit - len(end.encode("utf-8")))
    return (head + end) or "未命名"


def unique_name(stem: str, taken: set[str], suffix: str = ".xlsx") -> str:
    """``stem + suffix``, or ``stem_2 + suffix`` … if taken (compared case-insensitively, as
    Windows does); the result is added to ``taken``."""
    name, n = stem + suffix, 2
    while name.lower() in taken:
        name, n = f"{stem}_{n}{suffix}", n + 1
    taken.add(name.lower())
    return name


# ---------------------------------------------------------------------------------------------
# Before writing: never over an input, never over an existing file unless asked


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (hard links, case-insensitive file systems, ``..``)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def check_targets(targets: Iterable[Path], inputs: Iterable[Path] = (), *, force: bool = False) -> None:
    """Refuse (exit 2) to write any target that is one of the inputs (even with ``force``), or
    that exists already (unless ``force``). Called before anything is written."""
    targets = [Path(t) for t in targets]
    inputs = [Path(i) for i in inputs]
    for t in targets:
        if any(len(part.encode("utf-8")) > 255 for part in t.parts):
            raise output_error(t, OSError(errno.ENAMETOOLONG, "File name too long"))
    over = [t for t in targets if any(same_file(t, i) for i in inputs if i.exists() or t.exists())]
    if over:
        raise OutputError(f"输出文件不能是输入文件，否则会覆盖收到的表：{_names(over)}。请换一个输出文件名或文件夹。")
    folders = [t for t in targets if t.is_dir()]
    if folders:
        raise OutputError(f"输出位置已有同名文件夹：{_names(folders)}。请换一个输出文件名。")
    if not force:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise OutputError(f"以下文件已存在，未做任何改动：{_names(existing)}。"
                              "如确要替换，请加 --force；或换一个输出文件名或文件夹。")


def _names(paths: list[Path], most: int = 10) -> str:
    shown = "、".join(str(p) for p in paths[:most])
    return shown + (f" 等 {len(paths)} 个" if len(paths) > most else "")


def check_out_folder(out: Path) -> None:
    """An output folder: it may exist (as a folder) or be created; not an existing file."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} 已存在且不是文件夹；输出到单个文件时请以 .xlsx 结尾。")


# ---------------------------------------------------------------------------------------------
# Writing


def output_error(path: Path, exc: OSError) -> OutputError:
    """A file-system failure while writing ``path``, in words the user can act on."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError):
        why = "没有写入权限，或该文件正被其他程序（如 Excel、WPS）打开；请关闭该文件，或换一个有写入权限的位置"
    elif code == errno.ENAMETOOLONG:
        why = "文件名或路径过长；请换一个较短的文件夹或文件名"
    elif code == errno.EROFS:
        why = "该位置是只读的；请换一个输出位置"
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        why = "磁盘空间不足；请清理磁盘或换一个输出位置"
    elif code == errno.ENOENT:
        why = "路径中的文件夹不存在或无法创建"
    elif code in (errno.ENOTDIR, errno.EEXIST):
        why = "路径中的某一级不是文件夹"
    else:
        why = exc.strerror or type(exc).__name__
    return OutputError(f"无法写入 {path}：{why}。没有写出任何文件。")


def ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(folder, exc) from exc


@contextlib.contextmanager
def atomic_path(target: str | Path):
    """Yield a temporary path for ``target``; put it onto ``target`` only on success.

    A crash or an exception leaves any earlier ``target`` intact and no partial file behind.
    Where the system allows (Linux O_TMPFILE) the temporary file has no name until the very end,
    so even a process killed half-way (SIGKILL, power loss) leaves nothing in the folder.
    """
    target = Path(target)
    if any(len(part.encode("utf-8")) > 255 for part in target.parts):
        raise output_error(target, OSError(errno.ENAMETOOLONG, "File name too long"))
    ensure_folder(target.parent)
    try:
        with _atomic(target) as tmp:
            yield tmp
    except OSError as exc:
        raise output_error(target, exc) from exc


@contextlib.contextmanager
def _atomic(target: Path):
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


def decode_csv(raw: bytes, name) -> str:
    """The text of a CSV a person saved: UTF-8 (with or without BOM), or GB18030/GBK as Excel on a
    Chinese Windows saves it. Anything else: a UsageError naming the file."""

    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UsageError(f"{name}：无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV。")
