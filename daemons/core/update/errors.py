"""The one error of the update package: a refusal or a failure, in both languages."""

from __future__ import annotations


class UpdateError(Exception):
    """What went wrong, for the technician (`en`, `es`); nothing was changed unless the
    message says so."""

    def __init__(self, en: str, es: str) -> None:
        super().__init__(en)
        self.en, self.es = en, es
