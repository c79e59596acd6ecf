"""Exceptions. Only what stops a whole file (or the command) is raised; everything a
reviewer would flag in a readable form is a :class:`xltools.rules.Finding` instead."""

from __future__ import annotations


class XltoolsError(Exception):
    """Base class; ``str(exc)`` is a Chinese message for the user."""


class SpecError(XltoolsError):
    """A form spec in schemas/ is malformed (a bug in the repository, not in user input)."""


class UsageError(XltoolsError):
    """The command was called wrongly (exit code 2)."""


class OutputError(XltoolsError):
    """An output cannot or must not be written: it exists (no ``--force``), it is an input, or
    the file system refused (exit code 2). Nothing was written."""


class MissingPath(UsageError):
    """A path named on the command line does not exist: the user's typo, not a unit's fault."""

    def __init__(self, paths):
        self.paths = [str(p) for p in paths]
        super().__init__("找不到文件或文件夹：" + "、".join(self.paths) + "。请检查路径是否写错。")

    def __reduce__(self):
        return (type(self), (self.paths,))


class UnreadableFile(XltoolsError):
    """A file cannot be read as a form at all (exit code 2).

    ``rule`` is a code of the catalogue in :mod:`xltools.rules` so that the failure is reported
    like any other finding.
    """

    def __init__(self, path: str, rule: str, message: str):
        super().__init__(message)
        self.path = str(path)
        self.rule = rule
        self.message = message

    def __reduce__(self):
        # Rebuilt from all three fields: the read pool sends these between processes.
        return (type(self), (self.path, self.rule, self.message))


class ConfigError(SpecError):
    """The form specs or lists (schemas/*.toml, or the folder XLTOOLS_SCHEMAS names) are wrong.

    A configuration error stops the command with one message (``错误：…``, exit code 2); it is
    never reported per file, since no filled form is at fault. ``file`` is the spec file (or
    folder) in question, ``keys`` the key paths found wrong in it (e.g. ``fields[3].required``).
    """

    def __init__(self, message: str, file: str | None = None, keys: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.keys = tuple(keys)

    def __reduce__(self):
        # Rebuilt from all three fields: raised in a read worker, re-raised in the parent.
        return (type(self), (self.message, self.file, self.keys))
