"""Errors shared by every room of the library."""

from __future__ import annotations

from dataclasses import dataclass


class EInvoiceError(Exception):
    """Base class of every error the library raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (``path``) and what (``message``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


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
