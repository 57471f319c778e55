"""Translations of the pages: gettext catalogues under `review/locale/`, read at start-up.

The English msgids are the source; `zh_CN` is the analysts' language and the default. The
`.po` files are parsed with Babel when the app starts, so no compiled `.mo` lives in the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = ["DEFAULT_LOCALE", "LOCALES", "Translator", "translator"]

LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
_LOCALE_DIR = Path(__file__).with_name("locale")


@dataclass(frozen=True)
class Translator:
    """gettext for one locale; an untranslated message falls back to its English source."""

    locale: str
    messages: dict[str, str] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        return self.messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


def catalogue_path(locale: str) -> Path:
    return _LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


@cache
def translator(locale: str) -> Translator:
    """The translator of `locale` (English when it has no catalogue)."""
    path = catalogue_path(locale)
    if locale == "en" or not path.exists():
        return Translator("en")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    messages = {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }
    return Translator(locale, messages)
