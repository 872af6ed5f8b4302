"""Markdown tables: the one writer behind the report's, crossval's and the bench's tables."""
from __future__ import annotations

from typing import Any, Iterable, List, Sequence


def md_cell(cell: Any) -> str:
    """A cell's text, safe inside a table row (``|`` escaped, newlines as spaces)."""
    return str(cell).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
             right_from: int = -1) -> List[str]:
    """The lines of a GitHub markdown table.

    :param headers: column titles; rows shorter than them are padded with empty cells and
        longer ones cut.
    :param right_from: columns from this index on are right-aligned (numbers); -1: none
        (every column's alignment left to the renderer).
    """
    n = len(headers)
    if right_from < 0:
        rule = "|" + "|".join("---" for _ in headers) + "|"
    else:
        rule = "|" + "".join("---|" for _ in range(right_from)) + "---:|" * (n - right_from)
    lines = ["| " + " | ".join(md_cell(h) for h in headers) + " |", rule]
    for row in rows:
        cells = [md_cell(c) for c in row] + [""] * (n - len(row))
        lines.append("| " + " | ".join(cells[:n]) + " |")
    return lines


__all__ = ("md_cell", "md_table")
