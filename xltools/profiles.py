"""Review profiles (``schemas/profiles/*.toml``) and the reviewer's vocabulary (``schemas/review.toml``).

A profile says which rules run, at which severity, with which thresholds, and how a form's
审核结论 (优/良/中/差, 财预〔2015〕88号) follows from its findings. ``national`` is the default;
``shanghai`` makes the cost rules errors. A user's own profile is a file path (``--profile
我的规则.toml``). Both files are validated with pydantic; a bad one is a :class:`ConfigError`
(exit 2) naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from .errors import ConfigError
from .rules import BY_CODE, ERROR, INFO, WARNING, Finding
from .specschema import Name, Names, _Model, validate

DEFAULT_PROFILE = "national"
PROFILES_DIR = "profiles"
VOCAB_FILE = "review.toml"
OFF = "off"
Severity = Literal["error", "warning", "info", "off"]
Share = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]


class ThresholdsModel(_Model):
    over_achievement: Annotated[float, Field(ge=1)] = 1.2
    budget_adjusted: NonNegative = 0.2
    filler_min: Annotated[int, Field(ge=2)] = 3
    near_duplicate_share: Share = 0.8
    text_min_chars: Annotated[int, Field(ge=1)] = 12
    weights_tolerance: NonNegative = 10.0


class ConclusionModel(_Model):
    grade: Name
    errors: Count = 0
    warnings: Count = 0
    infos: Count = 0
    meaning: str = ""


class ProfileFile(_Model):
    name: Name
    title: str = ""
    rules: dict[str, Severity] = {}
    thresholds: ThresholdsModel = ThresholdsModel()
    weights: dict[str, NonNegative] = {}
    weights_with: dict[str, Name] = {}
    tiers: dict[str, Annotated[list[NonNegative], Field(min_length=2, max_length=2)]] = {}
    conclusion: Annotated[list[ConclusionModel], Field(min_length=1)]


class KindWords(_Model):
    texts: Names = []
    goals: Names = []
    project_total: str | None = None
    budget: str | None = None
    budget_full: str | None = None
    executed: str | None = None
    subprojects: str | None = None
    subproject_name: str | None = None


class VocabFile(_Model):
    cost: Names = []
    output: str = ""
    output_parts: dict[str, str] = {}
    quantity: str = ""
    timeliness: str = ""
    satisfaction: str = ""
    satisfaction_word: str = ""
    not_served: Names = []
    vague_timeliness: Names = []
    rate_suffixes: Names = []
    rate_exceptions: Names = []
    percent_units: Names = []
    money_units: dict[str, Annotated[float, Field(gt=0)]] = {}
    per: str = "/"
    odd_units: dict[str, str] = {}
    qualitative_kinds: dict[str, str] = {}
    near_duplicate_drop: Names = []
    goal_units: Names = []
    document_brackets: Names = []
    name_suffixes: Names = []
    kinds: dict[str, KindWords] = {}


@dataclass(frozen=True)
class Grade:
    grade: str
    errors: int
    warnings: int
    infos: int
    meaning: str

    def reached(self, errors: int, warnings: int, infos: int) -> bool:
        return errors >= self.errors and warnings >= self.warnings and infos >= self.infos


@dataclass(frozen=True)
class Profile:
    """A loaded profile. ``severity(code, default)`` is what a finding of that rule becomes."""

    name: str
    title: str
    source: str
    rules: dict
    thresholds: ThresholdsModel
    weights: dict
    weights_with: dict
    tiers: dict
    grades: tuple[Grade, ...]

    @property
    def label(self) -> str:
        return f"{self.name}（{self.title}）" if self.title else self.name

    def severity(self, code: str, default: str) -> str:
        if default == ERROR and code.startswith("file-"):
            return ERROR
        return self.rules.get(code, default)

    def is_on(self, code: str) -> bool:
        return self.rules.get(code) != OFF

    def apply(self, findings) -> list[Finding]:
        """The findings at this profile's severities (a rule set to "off" dropped)."""
        out = []
        for f in findings:
            sev = self.severity(f.rule, f.severity)
            if sev == OFF:
                continue
            out.append(f if sev == f.severity else f.with_severity(sev))
        return out

    def conclude(self, errors: int, warnings: int, infos: int) -> Grade:
        for g in self.grades:
            if g.reached(errors, warnings, infos):
                return g
        return self.grades[-1]


def _dirs() -> list[Path]:
    from .spec import packaged_schemas_dir, schemas_dir

    folders = [schemas_dir()]
    if packaged_schemas_dir() not in folders:
        folders.append(packaged_schemas_dir())
    return folders


def _problems_error(path: Path, problems, what: str) -> ConfigError:
    lines = [f"{what}有误：{path}"]
    lines += [f"  {where}：{msg}" for where, msg in problems[:10]]
    if len(problems) > 10:
        lines.append(f"  ……另有 {len(problems) - 10} 处")
    lines.append("请改正该文件后重新运行。")
    return ConfigError("\n".join(lines), file=str(path), keys=tuple(w for w, _ in problems))


def profile_names() -> list[str]:
    seen: dict[str, None] = {}
    for d in _dirs():
        for p in sorted((d / PROFILES_DIR).glob("*.toml")):
            seen.setdefault(p.stem, None)
    return list(seen)


def _find(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix.lower() == ".toml" or p.parent != Path("."):
        if not p.is_file():
            raise ConfigError(f"找不到审核规则文件：{p}。", file=str(p))
        return p
    for d in _dirs():
        cand = d / PROFILES_DIR / f"{name_or_path}.toml"
        if cand.is_file():
            return cand
    raise ConfigError(f"没有名为「{name_or_path}」的审核规则；可用：{'、'.join(profile_names())}，"
                      "或给出一个 .toml 文件的路径。", file=str(name_or_path))


def load_profile(name_or_path: str | Path | Profile | None = None) -> Profile:
    """A profile by name (``national``, ``shanghai``: schemas/profiles/<name>.toml) or by path."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    return _load_profile(_find(str(name_or_path or DEFAULT_PROFILE)).resolve())


@cache
def _load_profile(path: Path) -> Profile:
    from .spec import _parse

    data = _parse(path)
    m, problems = validate(ProfileFile, data)
    if not problems:
        problems = [(f"rules.\"{code}\"", "没有这个规则代码（见 README 的审核规则表）")
                    for code in m.rules if code not in BY_CODE]
        problems += [(f"tiers.\"{k}\"", "下限应小于上限") for k, (lo, hi) in m.tiers.items() if lo >= hi]
    if problems:
        raise _problems_error(path, problems, "审核规则文件")
    grades = tuple(Grade(c.grade, c.errors, c.warnings, c.infos, c.meaning) for c in m.conclusion)
    return Profile(name=m.name, title=m.title, source=str(path), rules=dict(m.rules), thresholds=m.thresholds,
                   weights=dict(m.weights), weights_with=dict(m.weights_with),
                   tiers={k: tuple(v) for k, v in m.tiers.items()}, grades=grades)


def load_vocab() -> VocabFile:
    for d in _dirs():
        p = d / VOCAB_FILE
        if p.is_file():
            return _load_vocab(p.resolve())
    return VocabFile()


@cache
def _load_vocab(path: Path) -> VocabFile:
    from .spec import _parse

    m, problems = validate(VocabFile, _parse(path))
    if problems:
        raise _problems_error(path, problems, "审核词表文件")
    return m


SEVERITY_TAGS = {ERROR: "错误", WARNING: "警告", INFO: "提示"}
