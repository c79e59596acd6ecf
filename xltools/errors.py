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
