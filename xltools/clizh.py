"""Chinese for what click and typer print themselves: usage errors and the help frame.

The commands' own help and messages are written in Chinese in :mod:`xltools.cli`; this module
covers the rest -- ``Usage:``, ``Options:``, ``Show this message and exit.``, ``[required]``,
``Error: No such option: --yaer``, ``Try 'xltools template -h' for help.`` and so on.
:func:`install` is called once when the CLI module is imported.

Why not a gettext translation: typer >= 0.26 runs on its own copy of click (``typer._click``)
from which the gettext calls were removed (the messages are plain f-strings), and typer also
composes messages after the fact (``e.message.rstrip(".") + ". Did you mean ..."``), which a
translation of the parts would garble. What every supported version has in common (typer
0.24-0.25 on click 8.2-8.4, typer 0.26-0.28 on the vendored click) is the finished English
text. So the catalogue maps English *templates* (click's messages, ``{name}`` standing for a
value) to Chinese ones, and the finished text is translated at the two places where click
hands it to the user:

* ``ClickException.show`` / ``UsageError.show``: the error frame (usage line, help hint,
  ``Error:``) is written in Chinese and the message goes through :func:`translate`;
* ``Context.formatter_class``: a help formatter that writes the usage prefix, the section
  headings, ``[OPTIONS]``, the type metavars and the ``[required]`` / ``[default: ...]`` notes
  in Chinese (and the formatter module's ``term_len`` counts a Chinese character as the two
  columns it takes, so that the columns still line up).

Text that no template matches is left as it is: English is better than a crash or a wrong
sentence. Nothing is imported beyond what typer has loaded already, and the regular
expressions are only built when a message is first translated (start-up time matters).
"""

from __future__ import annotations

import re
import sys
from functools import cache

# English template -> Chinese template. The same {name} must appear on both sides. What a
# placeholder captured is put into the Chinese as it is, except for these names:
#   message -- translated itself (messages nest: "Invalid value for X: <message>")
#   type    -- a click type name ("int range" -> 整数)
#   kind    -- File / Directory / Path (-> 文件 / 文件夹 / 路径)
#   alts    -- a list of suggestions ("'merge', 'read'" -> "merge 或 read")
#   hint    -- a parameter as click quotes it: '--year', '-o' / '--out'
#   default -- a default value; only click's own "(dynamic)" is translated
# Several wordings are listed where click versions differ. When more than one template
# matches, one that starts with fixed text wins (it is the outer one: "Invalid value for X:
# {message}" against "{value} is not in the range {range}."), then the one with more fixed text.
CATALOGUE: list[tuple[str, str]] = [
    # errors: the parser
    ("No such option: {name}", "没有这个选项：{name}"),
    ("No such option {name}.", "没有这个选项：{name}。"),
    ("Option {name} requires an argument.", "选项 {name} 后面需要一个值。"),
    ("Option {name} requires {nargs} arguments.", "选项 {name} 后面需要 {nargs} 个值。"),
    ("Option {name} does not take a value.", "选项 {name} 不带值。"),
    ("Argument {name} takes {nargs} values.", "参数 {name} 需要 {nargs} 个值。"),
    ("Invalid start character for option ({name})", "选项的开头字符无效（{name}）"),
    ("Got unexpected extra argument ({args})", "多余的参数：{args}"),
    ("Got unexpected extra arguments ({args})", "多余的参数：{args}"),
    ("Got unexpected extra argument(s) ({args})", "多余的参数：{args}"),
    # errors: commands
    ("Missing command.", "缺少命令。"),
    ("No such command {name}.", "没有 {name} 这个命令。"),
    # errors: missing and invalid values
    ("Missing argument {hint}.", "缺少参数 {hint}。"),
    ("Missing argument {hint}. {message}", "缺少参数 {hint}。{message}"),
    ("Missing option {hint}.", "缺少选项 {hint}。"),
    ("Missing option {hint}. {message}", "缺少选项 {hint}。{message}"),
    ("Missing parameter {hint}.", "缺少参数 {hint}。"),
    ("Missing parameter {hint}. {message}", "缺少参数 {hint}。{message}"),
    ("Missing parameter: {name}", "缺少参数：{name}"),
    ("Choose from:\n\t{choices}", "可选值：\n\t{choices}"),
    ("Choose from:\n\t{choices}.", "可选值：\n\t{choices}"),
    ("Invalid value for {hint}: {message}", "{hint} 的值无效：{message}"),
    ("Invalid value: {message}", "值无效：{message}"),
    ("{value} is not one of {choices}.", "{value} 不是可选值，可选：{choices}。"),
    ("{value} is not {choice}.", "{value} 不是可选值，可选：{choice}。"),
    ("{value} is not a valid {type}.", "{value} 不是有效的{type}。"),
    ("{value} is not in the range {range}.", "{value} 不在允许的范围 {range} 内。"),
    ("{value} is not a valid boolean. Recognized values: {states}", "{value} 不是有效的是/否值，可用：{states}"),
    ("{value} is not a valid UUID.", "{value} 不是有效的 UUID。"),
    ("{value} does not match the format {formats}.", "{value} 不符合格式 {formats}。"),
    ("{value} does not match the formats {formats}.", "{value} 不符合格式 {formats} 中的任何一种。"),
    ("Value must be an iterable.", "需要多个值。"),
    ("Takes {nargs} values but {n} given.", "需要 {nargs} 个值，实际给了 {n} 个。"),
    ("Takes {nargs} values but 1 was given.", "需要 {nargs} 个值，实际只给了 1 个。"),
    ("Takes {nargs} values but {n} were given.", "需要 {nargs} 个值，实际给了 {n} 个。"),
    ("{nargs} values are required, but {n} given.", "需要 {nargs} 个值，实际给了 {n} 个。"),
    ("{nargs} values are required, but {n} was given.", "需要 {nargs} 个值，实际给了 {n} 个。"),
    ("{nargs} values are required, but {n} were given.", "需要 {nargs} 个值，实际给了 {n} 个。"),
    # errors: paths and files
    ("{kind} {filename} does not exist.", "{kind} {filename} 不存在。"),
    ("{kind} {filename} is a file.", "{kind} {filename} 是文件，这里需要文件夹。"),
    ("{kind} {filename} is a directory.", "{kind} {filename} 是文件夹，这里需要文件。"),
    ("{kind} {filename} is not readable.", "{kind} {filename} 无法读取。"),
    ("{kind} {filename} is not writable.", "{kind} {filename} 无法写入。"),
    ("{kind} {filename} is not executable.", "{kind} {filename} 无法执行。"),
    ("Could not open file {filename}: {message}", "无法打开文件 {filename}：{message}"),
    ("unknown error", "未知错误"),
    ("Aborted!", "已中止。"),
    # help
    ("Usage:", "用法："),
    ("Options", "选项"),
    ("Arguments", "参数"),
    ("Commands", "命令"),
    ("Show this message and exit.", "显示本帮助并退出"),
    ("Show the version and exit.", "显示版本号并退出"),
    ("required", "必填"),
    ("default: {default}", "默认：{default}"),
    ("env var: {var}", "环境变量：{var}"),
    ("(dynamic)", "（动态）"),
    ("deprecated", "已停用"),
]

# click's suggestions, appended to a message above ("No such command 'validat'." + " Did you
# mean 'validate'?"); {alts} is the list, given as "'merge', 'read'" or "--name, --year".
SUGGESTIONS: list[tuple[str, str]] = [
    (" Did you mean {alts}?", "您是想输入 {alts} 吗？"),
    (" (Possible options: {alts})", "您是想输入 {alts} 吗？"),
    (" (Did you mean one of: {alts}?)", "您是想输入 {alts} 吗？"),
]

# Words in usage lines and option/argument columns (both typer's "<int range>" and click's
# "INTEGER RANGE" style), replaced only as whole tokens.
TOKENS: dict[str, str] = {
    "[OPTIONS]": "[选项]",
    "COMMAND [ARGS]...": "命令 [参数]...",
    "<str>": "<文本>", "<text>": "<文本>", "TEXT": "文本",
    "<int>": "<整数>", "<int range>": "<整数>", "INTEGER": "整数", "INTEGER RANGE": "整数",
    "<float>": "<数字>", "<float range>": "<数字>", "FLOAT": "数字", "FLOAT RANGE": "数字",
    "<path>": "<路径>", "PATH": "路径", "<file>": "<文件>", "FILE": "文件",
    "<directory>": "<文件夹>", "DIRECTORY": "文件夹", "<filename>": "<文件名>", "FILENAME": "文件名",
    "<uuid>": "<UUID>", "<datetime>": "<日期时间>", "DATETIME": "日期时间",
}

TYPE_NAMES = {"int": "整数", "integer": "整数", "int range": "整数", "integer range": "整数",
              "float": "数字", "float range": "数字", "str": "文本", "text": "文本", "path": "路径",
              "file": "文件", "directory": "文件夹", "filename": "文件名", "datetime": "日期时间"}
KIND_NAMES = {"File": "文件", "Directory": "文件夹", "Path": "路径"}

USAGE = "用法："
HELP_HINT = "请运行 '{command} {option}' 查看帮助。"
ERROR = "错误：{message}"

_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# What a placeholder may match when ".+?" is too loose: click's parameter hints, with the
# " (env var: 'X')" some click versions add (the message goes on after the hint's ": ").
_FIELD_PATTERNS = {"hint": r"'[^'\n]*'(?: / '[^'\n]*')*(?: \([^()\n]*\))?|[^':\n]+"}


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


class _Template:
    """One catalogue entry; its regular expression is only built for text that might match."""

    def __init__(self, english: str, chinese: str, tail: bool = False):
        self.english, self.chinese, self.tail = english, chinese, tail
        self.fixed = [p for p in _PLACEHOLDER.split(english)[::2] if p]
        self._regex: re.Pattern[str] | None = None

    def match(self, text: str) -> re.Match[str] | None:
        if not all(p in text for p in self.fixed):
            return None
        if self._regex is None:
            parts = _PLACEHOLDER.split(self.english)  # literal, name, literal, ..., literal
            body = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_FIELD_PATTERNS.get(p, '.+?')})"
                           for i, p in enumerate(parts))
            # a suggestion is split off at its last occurrence: the message may have one already
            self._regex = re.compile(f"(?P<head>.+){body}" if self.tail else body, re.DOTALL)
        return self._regex.fullmatch(text)


@cache
def _catalogue() -> tuple[dict[str, str], list[_Template], list[_Template]]:
    """(texts without placeholders, the other templates in the order tried, suggestions)."""
    def order(entry: tuple[str, str]) -> tuple[bool, int]:
        return entry[0].startswith("{"), -len(_PLACEHOLDER.sub("", entry[0]))

    exact = {en: zh for en, zh in CATALOGUE if not _PLACEHOLDER.search(en)}
    templates = [_Template(en, zh) for en, zh in sorted(CATALOGUE, key=order) if en not in exact]
    return exact, templates, [_Template(en, zh, tail=True) for en, zh in SUGGESTIONS]


@cache
def _tokens() -> re.Pattern[str]:
    words = "|".join(re.escape(t) for t in sorted(TOKENS, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{words})(?![\w-])")


def _alternatives(text: str) -> str:
    """"'merge', 'read'" or "--name, --year" -> "merge 或 read" / "--name 或 --year"."""
    items = [s.strip() for s in text.split(",")]
    items = [s[1:-1] if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"" else s for s in items]
    return " 或 ".join(items)


def _field(name: str, value: str) -> str:
    if name == "message":
        return translate(value)
    if name == "type":
        return TYPE_NAMES.get(value, value)
    if name == "kind":
        return KIND_NAMES.get(value, value)
    if name == "alts":
        return _alternatives(value)
    if name == "default" and value == "(dynamic)":
        return translate(value)
    if name == "hint":
        return re.sub(r" \(env var: ([^()]*)\)$", r"（环境变量：\1）", value)
    return value


def _fill(m: re.Match[str], chinese: str) -> str:
    return chinese.format(**{k: _field(k, v) for k, v in m.groupdict().items() if k != "head"})


def translate(text: str) -> str:
    """The Chinese for one of click's / typer's English messages; other text unchanged."""
    try:
        exact, templates, suggestions = _catalogue()
        if text in exact:
            return exact[text]
        # a suggestion first: "No such option: {name}" would take it for part of the name
        for t in suggestions:
            m = t.match(text)
            if m and (head := translate(m["head"])) != m["head"]:
                suggestion = _fill(m, t.chinese)
                if head.endswith(suggestion):  # typer and click both added it
                    return head
                return head + ("" if head.endswith(("。", "？")) else "。") + suggestion
        for t in templates:
            m = t.match(text)
            if m:
                return _fill(m, t.chinese)
    except Exception:  # a catalogue mistake must never cost the user the message itself
        return text
    return text


def translate_tokens(text: str) -> str:
    """``[OPTIONS]``, ``COMMAND [ARGS]...`` and type metavars such as ``<path>`` in Chinese."""
    return _tokens().sub(lambda m: TOKENS[m[0]], text)


_NOTE = re.compile(r"(?P<help>.*?)(?P<gap>\s*)\[(?P<note>[^\[\]]*)\]", re.DOTALL)


def translate_help(text: str) -> str:
    """An option's help: click's own text, and the ``[default: 40; required]`` note after it."""
    m = _NOTE.fullmatch(text)
    if not m:
        return translate(text)
    parts = m["note"].split("; ")
    chinese = [translate(p) for p in parts]
    note = "；".join(chinese) if chinese != parts else m["note"]
    return f"{translate(m['help'])}{m['gap']}[{note}]"


def _wide_term_len(term_len):
    """click's ``term_len`` counting a CJK character as the two columns it takes."""

    def wide(text: str) -> int:
        n = term_len(text)
        if text.isascii():
            return n
        import unicodedata  # only once Chinese is measured

        return n + sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")

    wide.__wrapped__ = term_len
    return wide


class _ChineseHelp:
    """Mixed into the HelpFormatter of the click in use (see :func:`_install_into`)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        return super().write_usage(prog, translate_tokens(args), USAGE if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{translate(heading)}：\n")

    def write_dl(self, rows, *args, **kwargs) -> None:
        rows = [(translate_tokens(r[0]), translate_help(r[1])) if len(r) == 2 else r for r in rows]
        return super().write_dl(rows, *args, **kwargs)


def _frame(exc) -> str:
    """What ``UsageError.show`` prints (usage, help hint, error), in Chinese."""
    ctx = getattr(exc, "ctx", None)
    head = ""
    if ctx is not None:
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = HELP_HINT.format(command=ctx.command_path, option=ctx.help_option_names[0]) + "\n"
        head = f"{ctx.get_usage()}\n{hint}\n"
    return head + ERROR.format(message=translate(exc.format_message()))


def _make_show(original, echo):
    def show(self, file=None) -> None:
        try:
            text = _frame(self)
        except Exception:  # an unexpected click: its own (English) output
            return original(self, file)
        ctx = getattr(self, "ctx", None)
        color = ctx.color if ctx is not None else getattr(self, "show_color", None)
        echo(text, file=file, err=file is None, color=color)
        return None

    show.__doc__ = original.__doc__
    return show


def _install_into(package: str) -> bool:
    mods = [sys.modules.get(f"{package}.{m}") for m in ("core", "exceptions", "formatting", "utils")]
    if not all(mods):
        return False
    core, exceptions, formatting, utils = mods
    context, base = getattr(core, "Context", None), getattr(formatting, "HelpFormatter", None)
    needed = (context, base, getattr(exceptions, "ClickException", None), getattr(exceptions, "UsageError", None),
              getattr(utils, "echo", None))
    if not all(needed) or not hasattr(context, "formatter_class"):
        return False
    if issubclass(context.formatter_class, _ChineseHelp):  # installed already
        return True
    context.formatter_class = type("ChineseHelpFormatter", (_ChineseHelp, base), {})
    # The formatter aligns columns with term_len, which counts characters: with <路径> or 用法：
    # the help columns would be off by a column per Chinese character.
    if callable(getattr(formatting, "term_len", None)):
        formatting.term_len = _wide_term_len(formatting.term_len)
    for cls in (exceptions.ClickException, exceptions.UsageError):
        if "show" in vars(cls):
            cls.show = _make_show(vars(cls)["show"], utils.echo)
    return True


def install() -> list[str]:
    """Make click/typer write Chinese in this process; returns the click packages patched.

    Only click implementations already imported are touched (typer's vendored ``typer._click``,
    or ``click`` for typer < 0.26), so nothing new is imported at start-up.
    """
    return [p for p in ("typer._click", "click") if p in sys.modules and _install_into(p)]
