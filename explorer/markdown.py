"""Markdown tables, the one way the app, the benchmarks and the README write them."""

from __future__ import annotations

from collections.abc import Sequence


def table(header: Sequence[object], rows: Sequence[Sequence[object]]) -> str:
    """The header, ``|---|`` under each of its cells, then one line per row of cells (an empty
    cell is one space). A cell's own ``|`` must come escaped (``\\|``): it would end the cell."""

    def line(cells: Sequence[object]) -> str:
        return "|" + "".join(f" {cell} |" if cell != "" else " |" for cell in cells)

    return "\n".join([line(header), "|" + "---|" * len(header), *map(line, rows)])


def cell(text: object) -> str:
    """``text`` safe inside a table cell: its ``|`` escaped, its line breaks made spaces."""
    return str(text).replace("|", "\\|").replace("\n", " ")
