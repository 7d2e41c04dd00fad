"""Errors shared by every room of the library."""

from __future__ import annotations

from dataclasses import dataclass


class EInvoiceError(Exception):
    """Base class of every error the library raises on purpose."""


ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (``path``), what (``message``) and how bad (``level``).

    ``level`` is :data:`ERROR` (what would make the tax authority refuse the invoice: missing legal
    content, wrong formats, totals that do not add up beyond the rounding allowed) or :data:`WARNING`
    (a difference of order or style that real producers have and the tax authority accepts).
    """

    path: str
    message: str
    level: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.level != WARNING

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def errors_only(problems) -> list[Problem]:
    """The problems of level error (warnings left out)."""
    return [p for p in problems if p.is_error]


class ValidationError(EInvoiceError, ValueError):
    """Bad input. ``problems`` lists every problem found, each with its path."""

    def __init__(self, problems, message: str | None = None):
        if isinstance(problems, Problem):
            problems = [problems]
        elif isinstance(problems, str):
            problems = [Problem("", problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(message or "; ".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, path: str, message: str) -> ValidationError:
        return cls([Problem(path, message)])
