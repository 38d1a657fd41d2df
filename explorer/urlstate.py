"""A page's settings as URL query parameters, so that a link reopens exactly that view.

Pure functions (no Streamlit): a page declares its fields, :func:`decode` turns query parameters
into values (a bad or stale value falls back to the default and is named in a notice), and
:func:`encode` writes back only the values that differ from the defaults, which keeps links short.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One setting: its session-state key, its name in the URL, its default and its parser."""

    key: str
    param: str
    default: Any
    parse: Callable[[str], Any]  # raises ValueError on a value it cannot use
    dump: Callable[[Any], str] = str


def choice(options: list[str] | tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in options:
            raise ValueError(f"not one of {', '.join(options)}")
        return text

    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"outside {low}…{high}")
        return value

    return parse


def floats(count: int, low: float, high: float) -> Callable[[str], list[float]]:
    """A comma-separated list of ``count`` finite numbers within [low, high]."""

    def parse(text: str) -> list[float]:
        values = [float(part) for part in text.split(",")]
        if len(values) != count:
            raise ValueError(f"needs {count} numbers")
        if not all(low <= v <= high for v in values):  # also refuses nan
            raise ValueError(f"outside {low}…{high}")
        return values

    return parse


def dump_floats(values: list[float]) -> str:
    return ",".join(f"{v:.4g}" for v in values)


def decode(fields: list[Field], params: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """(values by key for every field, notices for parameters that could not be used)."""
    values, notices = {}, []
    for field in fields:
        text = params.get(field.param)
        values[field.key] = field.default
        if text is None:
            continue
        try:
            values[field.key] = field.parse(text)
        except ValueError as err:
            notices.append(f"`{field.param}={text[:40]}` ignored ({err}); using the default.")
    return values, notices


def encode(fields: list[Field], values: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for the values that differ from their defaults."""
    return {
        field.param: field.dump(values[field.key])
        for field in fields
        if values.get(field.key) is not None and values.get(field.key) != field.default
    }
