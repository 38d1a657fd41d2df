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


ECHO_CHARS = 80  # a notice quotes at most this much of a value it could not use


def shorten(text: str, limit: int = ECHO_CHARS) -> str:
    """A value for a notice: at most ``limit`` characters (the rest as "…")."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(convert: Callable[[str], float]) -> Callable[[str], float]:
    """``convert`` with one short error of its own: int() and float() quote the whole text."""

    def parse(text: str) -> float:
        try:
            return convert(text)
        except (ValueError, OverflowError):
            raise ValueError("not a number") from None

    return parse


def _within(value: float, low: float, high: float) -> float:
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"outside {low}…{high}")
    return value


def _listed(convert: Callable[[str], float], count: int, low: float, high: float):
    """A parser of ``count`` comma-separated values, each converted and within [low, high]."""

    def parse(text: str) -> list:
        values = [_number(convert)(part) for part in text.split(",")]
        if len(values) != count:
            raise ValueError(f"needs {count} numbers")
        return [_within(v, low, high) for v in values]

    return parse


def integer(low: int, high: int) -> Callable[[str], int]:
    """One whole number within [low, high]."""
    return lambda text: _within(_number(int)(text), low, high)


def floats(count: int, low: float, high: float) -> Callable[[str], list[float]]:
    """A comma-separated list of ``count`` finite numbers within [low, high]."""
    return _listed(float, count, low, high)


def number(low: float, high: float) -> Callable[[str], float]:
    """One finite number within [low, high]."""
    return lambda text: _within(_number(float)(text), low, high)


def integers(count: int, low: int, high: int) -> Callable[[str], list[int]]:
    """A comma-separated list of ``count`` whole numbers within [low, high]."""
    return _listed(int, count, low, high)


def named(names: Mapping[str, Any]) -> tuple[Callable[[str], Any], Callable[[Any], str]]:
    """(parse, dump) for a setting whose values have short names in the URL (``names``: URL
    name -> value), so a link reads ``ends=seeds`` rather than a widget's label."""
    back = {value: name for name, value in names.items()}

    def parse(text: str) -> Any:
        if text not in names:
            raise ValueError(f"not one of {', '.join(names)}")
        return names[text]

    return parse, lambda value: back[value]


def subset(names: Mapping[str, Any]) -> tuple[Callable[[str], list], Callable[[list], str]]:
    """(parse, dump) for a multiselect: comma-separated short names (``names``: URL name ->
    option), in any order; an empty parameter is the empty list."""
    back = {value: name for name, value in names.items()}

    def parse(text: str) -> list:
        parts = [part for part in text.split(",") if part]
        unknown = [part for part in parts if part not in names]
        if unknown:
            raise ValueError(f"a name that is not one of {', '.join(names)}")
        return [names[part] for part in dict.fromkeys(parts)]

    return parse, lambda values: ",".join(back[value] for value in values)


def dump_number(value: float) -> str:
    """A number as short as it reads: 4.0 is ``4``, 0.25 is ``0.25``."""
    return f"{value:.4g}"


def dump_floats(values: list[float]) -> str:
    return ",".join(f"{v:.4g}" for v in values)


@dataclass(frozen=True)
class Notice:
    """A parameter that could not be used: its name, the value as the link had it (at most
    ECHO_CHARS characters) and why, in our own words (never the value's)."""

    param: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.param}={self.value} ignored ({self.reason}); using the default."


def decode(fields: list[Field], params: Mapping[str, str]) -> tuple[dict[str, Any], list[Notice]]:
    """(values by key for every field, notices for parameters that could not be used)."""
    values, notices = {}, []
    for field in fields:
        text = params.get(field.param)
        values[field.key] = field.default
        if text is None:
            continue
        try:
            values[field.key] = field.parse(text)
        except (ValueError, TypeError) as err:
            notices.append(Notice(field.param, shorten(text), str(err)))
    return values, notices


def encode(fields: list[Field], values: Mapping[str, Any]) -> dict[str, str]:
    """Query parameters for the values that differ from their defaults."""
    return {
        field.param: field.dump(values[field.key])
        for field in fields
        if values.get(field.key) is not None and values.get(field.key) != field.default
    }
