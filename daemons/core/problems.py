"""Validation problems that name file, line and column, in Spanish and English.

Every check of user input (gateway configuration, tag maps, CLI arguments, API requests)
reports `Problem`s; a batch of them is raised as `ValidationError`.  Both languages are
written next to the check that finds the problem, so a translation can never drift away
from the condition it describes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LANGUAGES = ("es", "en")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, and where it is (line/column are 1-based, 0 = unknown)."""

    file: str
    line: int
    column: int
    en: str
    es: str

    def message(self, lang: str = "en") -> str:
        return self.es if lang == "es" else self.en

    def render(self, lang: str = "en") -> str:
        where = self.file or "<input>"
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return f"{where}: {self.message(lang)}"

    def __str__(self) -> str:
        return self.render("en")


class ValidationError(Exception):
    """Raised with every problem found in one input, so the user fixes them all at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(p.render("en") for p in self.problems))

    def render(self, lang: str = "en") -> str:
        return "\n".join(p.render(lang) for p in self.problems)
