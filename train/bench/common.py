"""The bench's vocabulary: paths and constants, the targets, the number formatting,
and the report model (:class:`Section`, :class:`Check`) with its markdown.
"""
from __future__ import annotations

import logging
import os
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..show import tables

log = logging.getLogger("train.bench")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_HARNESS = os.path.normpath(os.path.join(REPO, "..", "shared", "lightshowpi-harness"))
DEFAULT_MUSIC = os.path.normpath(os.path.join(REPO, "..", "shared", "music"))
#: the venv convention of the harness README (/tmp/lsp/venv) plus the plugin
DEFAULT_HARNESS_VENVS = ("/tmp/lsp/venv-plugin",)
RATE = 44100
NATIVE_CHUNK = {"ez": 2048, "neo": 4096}
FORK_NAMES = {"ez": "EZ (original)", "neo": "Neo"}
MB = 1e6

# ---------------------------------------------------------------- targets

@dataclass(frozen=True)
class Target:
    key: str
    label: str
    op: str          # "<=" or ">="
    value: float
    unit: str
    section: str


TARGETS: Tuple[Target, ...] = (
    Target("chunk_ratio", "Per-chunk cost, plugin / LightShowPi (medians), TFLite interpreter",
           "<=", 0.6, "x", "per_chunk"),
    Target("chunk_ratio_numpy", "Per-chunk cost, plugin / LightShowPi (medians), numpy executor",
           "<=", 1.0, "x", "per_chunk"),
    Target("createcache_ratio", "--createcache wall time, with / without plugin", "<=", 1.15,
           "x", "createcache"),
    Target("rss_mb", "Added resident memory", "<=", 25.0, "MB", "memory"),
    Target("startup_s", "Added start-up time", "<=", 0.3, "s", "startup"),
    Target("pth_ms", ".pth hook cost in an unrelated interpreter", "<=", 2.0, "ms", "pth"),
    Target("features_x", "Feature extraction speed", ">=", 200.0, "x real time", "features"),
    Target("fit_s", "Default model training time (the shared songs)", "<=", 180.0, "s", "training"),
)
TARGET_BY_KEY = {t.key: t for t in TARGETS}

# ---------------------------------------------------------------- pure helpers


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    """Median of the values that are not None; None when there are none."""
    vals = [float(v) for v in values if v is not None]
    return statistics.median(vals) if vals else None


def ratio(num: Optional[float], den: Optional[float]) -> Optional[float]:
    """``num / den``; None when either is missing or ``den`` is 0."""
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)


def diff(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return None if a is None or b is None else float(a) - float(b)


def fmt(value: Optional[float], digits: int = 2, unit: str = "") -> str:
    """A number for the table: ``—`` when missing, else rounded, with an optional unit."""
    if value is None:
        return "—"
    text = "%.*f" % (digits, value)
    return text + (" " + unit if unit else "")


def passes(value: Optional[float], op: str, target: float) -> Optional[bool]:
    if value is None:
        return None
    if op == "<=":
        return value <= target
    if op == ">=":
        return value >= target
    raise ValueError("unknown comparison %r" % op)


def mark(ok: Optional[bool]) -> str:
    return "—" if ok is None else ("PASS" if ok else "FAIL")


def target_text(t: Target) -> str:
    return "%s %g %s" % ("≤" if t.op == "<=" else "≥", t.value, t.unit)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table (:func:`train.show.tables.md_table`) as one string."""
    return "\n".join(tables.md_table(headers, rows))


class Skip(Exception):
    """Raised by a section that lacks what it needs; the message is the reason."""


@dataclass
class Check:
    target: str        # Target.key
    label: str         # which measurement (e.g. "EZ, chunk 2048, litert")
    value: Optional[float]
    ok: Optional[bool] = None
    note: str = ""
    summary: bool = True      # listed in the summary table (else only in its section)

    def __post_init__(self) -> None:
        t = TARGET_BY_KEY[self.target]
        if self.ok is None:
            self.ok = passes(self.value, t.op, t.value)


@dataclass
class Section:
    key: str
    title: str
    status: str = "ok"            # ok | skipped | failed
    reason: str = ""
    method: List[str] = field(default_factory=list)
    tables: List[Dict[str, Any]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    checks: List[Check] = field(default_factory=list)
    data: Dict[str, Any] = field(default_factory=dict)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> None:
        self.tables.append({"caption": caption, "headers": list(headers),
                            "rows": [list(r) for r in rows]})

    def check(self, target: str, label: str, value: Optional[float], note: str = "",
              summary: bool = True) -> Check:
        c = Check(target, label, value, note=note, summary=summary)
        self.checks.append(c)
        return c

    @property
    def status_text(self) -> str:
        return "ok" if self.status == "ok" else "%s: %s" % (self.status, self.reason)


def summary_rows(sections: Sequence[Section]) -> List[List[str]]:
    """One row per check, and a ``skipped: reason`` row for each target nobody measured."""
    by_key = {s.key: s for s in sections}
    rows = []
    for t in TARGETS:
        every = [c for s in sections for c in s.checks if c.target == t.key]
        checks = [c for c in every if c.summary] or every
        if not checks:
            sec = by_key.get(t.section)
            why = sec.status_text if sec is not None and sec.status != "ok" else "not measured"
            rows.append([t.label, "", why, target_text(t), "—"])
            continue
        for c in checks:
            digits = 3 if t.unit in ("x", "s") else (1 if t.unit != "ms" else 2)
            value = fmt(c.value, digits, t.unit) if c.value is not None else c.note or "—"
            rows.append([t.label, c.label, value, target_text(t), mark(c.ok)])
    return rows


def render_markdown(report: Dict[str, Any], sections: Sequence[Section]) -> str:
    """The whole bench.md."""
    out = ["# lightshowpi-autoencoder benchmark", "",
           "Command (run from the repository root, `%s`):" % report.get("cwd", REPO), "",
           "```", report["command"], "```", "",
           "Generated %s in %.0f s. Raw numbers: `bench.json` beside this file. "
           "Timings are medians; they depend on the machine below." % (
               report.get("date", ""), report.get("elapsed_s", 0.0)), "",
           "## Summary: targets", "",
           md_table(["Measure", "Where", "Value", "Target", "Result"], summary_rows(sections)), "",
           "## Machine and versions", "",
           md_table(["", ""], [[k, v] for k, v in report.get("machine", {}).items()]), ""]
    for i, sec in enumerate(sections, 1):
        out += ["## %d. %s" % (i, sec.title), ""]
        if sec.status != "ok":
            out += ["%s: %s" % (sec.status, sec.reason), ""]
        for line in sec.method:
            out += [line, ""]
        for tab in sec.tables:
            if tab["caption"]:
                out += [tab["caption"], ""]
            out += [md_table(tab["headers"], tab["rows"]), ""]
        for note in sec.notes:
            out += ["", note, ""] if note.startswith("```") else ["- " + note]
        if sec.notes:
            out.append("")
    text = "\n".join(out).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def section_json(sec: Section) -> Dict[str, Any]:
    d = asdict(sec)
    return d
