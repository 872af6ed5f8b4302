"""Checks for untrusted values (a model's JSON metadata): type, shape, finite, bounds.

Each helper returns the value in the type the runtime uses, or raises
:class:`Invalid` whose text names the field (``calibration.std[3]``), what it
is and what it must be. The caller turns that into a :class:`PluginError`
with the file and the fix. :func:`parse_json` bounds the document's size
and nesting before the (recursive) JSON parser, ``json.dumps`` or any check
walks it.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, List, Mapping, Optional

__all__ = ("Invalid", "show", "parse_json", "table", "text", "whole", "real", "reals")

#: a JSON string (escapes included); its brackets are not structure
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


class Invalid(ValueError):
    """A value outside its documented limits; ``str()`` names the field."""


def show(value: Any) -> str:
    """A short ``repr`` of ``value`` for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_json(raw: bytes, max_bytes: int, max_depth: int) -> Any:
    """Parse ``raw`` JSON after checking it is at most ``max_bytes`` long and nests
    at most ``max_depth`` arrays/objects deep (counted without recursion).

    :raises Invalid: too big, too deep or not JSON.
    """
    if len(raw) > max_bytes:
        raise Invalid("%d bytes, over the limit of %d" % (len(raw), max_bytes))
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b'""', raw))
    depth = 0
    for b in brackets:
        depth += 1 if b in b"[{" else -1
        if depth > max_depth:
            raise Invalid("nested more than %d levels deep" % max_depth)
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:   # UnicodeDecodeError is a ValueError
        raise Invalid("not valid JSON (%s)" % exc) from None


def table(value: Any, name: str) -> Mapping[str, Any]:
    """``value`` if it is a JSON object."""
    if not isinstance(value, Mapping):
        raise Invalid("%s is %s, must be an object" % (name, show(value)))
    return value


def text(value: Any, name: str, pattern: Optional[str] = None) -> str:
    """``value`` if it is a string (matching the regular expression ``pattern``, whole)."""
    if not isinstance(value, str) or (pattern and not re.fullmatch(pattern, value)):
        raise Invalid("%s is %s, must be a string%s" % (
            name, show(value), " like %s" % pattern if pattern else ""))
    return value


def whole(value: Any, name: str, lo: int, hi: int) -> int:
    """``value`` if it is a JSON integer in ``[lo, hi]`` (not a float, not a boolean)."""
    if type(value) is not int or not lo <= value <= hi:
        raise Invalid("%s is %s, must be a whole number in %d..%d" % (name, show(value), lo, hi))
    return value


def real(value: Any, name: str, lo: float, hi: float, lo_open: bool = False) -> float:
    """``value`` as a float if it is a finite JSON number in ``[lo, hi]`` (``(lo, hi]``
    with ``lo_open``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    v = math.nan
    if ok:
        try:
            v = float(value)
        except OverflowError:   # an integer beyond any float
            ok = False
        ok = ok and math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
    if not ok:
        raise Invalid("%s is %s, must be a finite number in %s%g, %g]"
                      % (name, show(value), "(" if lo_open else "[", lo, hi))
    return v


def reals(value: Any, name: str, length: int, lo: float, hi: float,
          lo_open: bool = False) -> List[float]:
    """``value`` as floats if it is a list of exactly ``length`` numbers, each as :func:`real`."""
    if not isinstance(value, list) or len(value) != length:
        raise Invalid("%s must be a list of %d numbers (is %s)" % (
            name, length, "%d long" % len(value) if isinstance(value, list) else show(value)))
    return [real(v, "%s[%d]" % (name, i), lo, hi, lo_open) for i, v in enumerate(value)]
