"""Everything the user reads is Chinese, including click's and typer's own usage errors and
the help frame (xltools/clizh.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import unicodedata

import pytest
from helpers import ROOT

# click's wording (any version) of the messages below; none may reach the user
ENGLISH = ["Usage:", "Error:", "Try '", "for help", "No such option", "No such command", "Did you mean",
           "Possible options", "Missing option", "Missing argument", "Choose from", "Invalid value",
           "is not one of", "is not in the range", "is not a valid", "requires an argument",
           "unexpected extra", "[OPTIONS]", "COMMAND [ARGS]"]
HELP_ENGLISH = ["Usage:", "Options:", "Arguments:", "Commands:", "Show this message and exit", "[required]",
                "default:", "[OPTIONS]", "COMMAND [ARGS]", "<path>", "<int range>", "<str>"]


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "xltools", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def usage_error(*args, cwd):
    """Run a wrong command: exit code 2, the Chinese frame, no English of click's left."""
    proc = run(*args, cwd=cwd)
    assert proc.returncode == 2, proc
    err = proc.stderr
    assert "Traceback" not in err and proc.stdout == ""
    assert "错误：" in err
    for word in ENGLISH:
        assert word not in err, (word, err)
    return err


def test_unknown_option_and_its_suggestion(tmp_path):
    err = usage_error("template", "project-target", "--yaer", "2026", "-o", "x.xlsx", cwd=tmp_path)
    assert "用法：python -m xltools template [选项] " in err
    assert "请运行 'python -m xltools template -h' 查看帮助。" in err
    assert "错误：没有这个选项：--yaer。您是想输入 --name 或 --year 吗？" in err
    err = usage_error("template", "project-target", "--yea", "2026", "-o", "x.xlsx", cwd=tmp_path)
    assert "您是想输入 --year 吗？" in err
    assert not list(tmp_path.iterdir())


def test_missing_option_and_argument(tmp_path):
    err = usage_error("template", "project-target", cwd=tmp_path)
    assert "错误：缺少选项 '-o' / '--out'。" in err
    err = usage_error("template", "-o", "x.xlsx", cwd=tmp_path)
    assert "错误：缺少参数 '表单类型'。" in err


def test_invalid_choice(tmp_path):
    err = usage_error("validate", tmp_path, "--format", "xml", cwd=tmp_path)
    assert "错误：'--format' / '-f' 的值无效：'xml' 不是可选值，可选：'text', 'json'。" in err


def test_unknown_command_and_its_suggestion(tmp_path):
    err = usage_error("validat", cwd=tmp_path)
    assert "用法：python -m xltools [选项] 命令 [参数]..." in err
    assert "请运行 'python -m xltools -h' 查看帮助。" in err
    assert "错误：没有 'validat' 这个命令。您是想输入 validate 吗？" in err


def test_bad_numbers(tmp_path):
    err = usage_error("template", "project-target", "-o", "x.xlsx", "--year", "26", cwd=tmp_path)
    assert "错误：'--year' 的值无效：26 不在允许的范围 2000<=x<=2100 内。" in err
    err = usage_error("template", "project-target", "-o", "x.xlsx", "--year", "abc", cwd=tmp_path)
    assert "错误：'--year' 的值无效：'abc' 不是有效的整数。" in err


def test_option_without_value_and_extra_arguments(tmp_path):
    err = usage_error("read", "-f", cwd=tmp_path)
    assert "错误：选项 '-f' 后面需要一个值。" in err
    err = usage_error("template", "project-target", "-o", "x.xlsx", "a", "b", cwd=tmp_path)
    assert "错误：多余的参数：a b" in err


def assert_chinese_help(text):
    assert text.startswith("用法：python -m xltools ")
    assert "选项：" in text and "-h, --help" in text and "显示本帮助并退出" in text
    for word in HELP_ENGLISH:
        assert word not in text, (word, text)


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["template", "-h"], ["read", "-h"], ["validate", "-h"],
                                  ["merge", "--help"]])
def test_help_frame(args):
    proc = run(*args)
    assert proc.returncode == 0 and proc.stderr == ""
    assert_chinese_help(proc.stdout)
    if len(args) == 1:
        assert "用法：python -m xltools [选项] 命令 [参数]..." in proc.stdout and "\n命令：\n" in proc.stdout
    else:
        assert "\n参数：\n" in proc.stdout and "[必填]" in proc.stdout


def test_help_notes_and_metavars():
    template = run("template", "-h").stdout
    assert "--rows <整数>" in template and "-o, --out <路径>" in template and "--unit <文本>" in template
    assert "[默认：text]" in run("validate", "-h").stdout


def test_help_columns_line_up_with_chinese_metavars():
    def column(line, text):  # display column where text starts
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:line.index(text)])

    lines = run("template", "-h").stdout.splitlines()
    out = next(line for line in lines if line.lstrip().startswith("-o, --out"))
    help_ = next(line for line in lines if line.lstrip().startswith("-h, --help"))
    assert column(out, "输出") == column(help_, "显示本帮助")


def test_no_arguments_shows_chinese_help():
    proc = run()
    assert proc.returncode == 2
    assert_chinese_help(proc.stdout + proc.stderr)


# -- the catalogue, in-process -----------------------------------------------------------------


def test_unknown_text_falls_back_unchanged(monkeypatch):
    from xltools import clizh

    for text in ["Something a future click says.", "", "Invalid value for", "No such option",
                 "项目名称已存在。", "Got unexpected", "required stuff"]:
        assert clizh.translate(text) == text
    assert clizh.translate_help("预填年度  [some note]") == "预填年度  [some note]"
    # a broken entry costs the translation, never the message
    monkeypatch.setattr(clizh, "_catalogue", lambda: ({}, [clizh._Template("Boom {x}.", "炸 {y}。")], []))
    assert clizh.translate("Boom 1.") == "Boom 1."


def test_catalogue_keeps_every_placeholder():
    from xltools import clizh

    for english, chinese in clizh.CATALOGUE + clizh.SUGGESTIONS:
        assert clizh.placeholders(english) == clizh.placeholders(chinese), english
    assert len({en for en, _ in clizh.CATALOGUE}) == len(clizh.CATALOGUE)


WORDINGS = [
    # click 8.2-8.4 (typer < 0.26) word some messages differently from typer's vendored click
    ("No such option '--yaer'. (Did you mean one of: '--name', '--year'?)",
     "没有这个选项：'--yaer'。您是想输入 --name 或 --year 吗？"),
    ("No such option: --yea Did you mean --year?", "没有这个选项：--yea。您是想输入 --year 吗？"),
    ("No such command 'validat'. Did you mean 'validate'? Did you mean 'validate'?",
     "没有 'validat' 这个命令。您是想输入 validate 吗？"),
    ("No such command 'x'. Did you mean 'merge', 'read'?", "没有 'x' 这个命令。您是想输入 merge 或 read 吗？"),
    ("Missing option '-o' / '--out' (env var: 'None').", "缺少选项 '-o' / '--out'（环境变量：'None'）。"),
    ("Missing argument 'KIND'. Choose from:\n\tproject-target,\n\tproject-selfeval.",
     "缺少参数 'KIND'。可选值：\n\tproject-target,\n\tproject-selfeval"),
    ("Invalid value for 'KIND': 'foo' is not one of 'project-target', 'project-selfeval'.",
     "'KIND' 的值无效：'foo' 不是可选值，可选：'project-target', 'project-selfeval'。"),
    ("Invalid value for '--year': 'abc' is not a valid integer range.", "'--year' 的值无效：'abc' 不是有效的整数。"),
    ("'abc' is not a valid integer.", "'abc' 不是有效的整数。"),
    ("Got unexpected extra arguments (a b)", "多余的参数：a b"),
    ("Option '--from' requires 2 arguments.", "选项 '--from' 后面需要 2 个值。"),
    # paths, should a command ever use exists=True / file_okay=False
    ("Invalid value for '--from': Path '收回/a.xlsx' does not exist.", "'--from' 的值无效：路径 '收回/a.xlsx' 不存在。"),
    ("Invalid value for 'paths...': Directory 'x' is a file.", "'paths...' 的值无效：文件夹 'x' 是文件，这里需要文件夹。"),
    ("File 'a.xlsx' is not readable.", "文件 'a.xlsx' 无法读取。"),
    ("Missing command.", "缺少命令。"),
]


@pytest.mark.parametrize("english, chinese", WORDINGS, ids=[en[:32] for en, _ in WORDINGS])
def test_other_click_wordings(english, chinese):
    from xltools import clizh

    assert clizh.translate(english) == chinese


def test_help_notes():
    from xltools import clizh

    assert clizh.translate_help("Show this message and exit.") == "显示本帮助并退出"
    assert clizh.translate_help("输出格式  [default: json; required]") == "输出格式  [默认：json；必填]"
    assert clizh.translate_help("[env var: XLTOOLS_YEAR; default: (dynamic)]") == "[环境变量：XLTOOLS_YEAR；默认：（动态）]"
    assert clizh.translate_tokens("-o, --out PATH") == "-o, --out 路径"
    assert clizh.translate_tokens("PATHS... <paths>") == "PATHS... <paths>"


def test_install_is_idempotent():
    import xltools.cli  # noqa: F401  installs on import
    from xltools import clizh

    patched = clizh.install()
    assert patched and clizh.install() == patched
    for package in patched:
        core, formatting = sys.modules[package + ".core"], sys.modules[package + ".formatting"]
        assert core.Context.formatter_class.__mro__.count(clizh._ChineseHelp) == 1
        assert not hasattr(formatting.term_len.__wrapped__, "__wrapped__")
