"""Translations: gettext catalogues under `serving/locale/`, each parsed once when first needed.

One catalogue serves the API and the analysts' pages (`review` builds on it): the words of the
reason codes and of the benign delay reasons that answers carry, and every word on the pages.
The English msgids are the source; `zh_CN` is the analysts' language and the pages' default.
The `.po` files are parsed with Babel, so no compiled `.mo` lives in the tree. A first visit
gets the best of `Accept-Language` (`negotiate`); the switch in the header wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "Translator",
    "catalogue_path",
    "chinese",
    "negotiate",
    "translator",
]

LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
_LOCALE_DIR = Path(__file__).with_name("locale")
#: a language range's primary tag → our locale (any Chinese reads the Simplified catalogue
#: better than the English one)
_BY_PRIMARY = {"zh": "zh_CN", "en": "en"}
_QVALUE = re.compile(r"^q=(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$")


def negotiate(accept_language: str | None) -> str:
    """The locale `Accept-Language` prefers (RFC 9110 q-values; ties keep the header's order);
    the default when nothing matches or the header is absent or malformed."""
    best, best_q = DEFAULT_LOCALE, 0.0
    for part in (accept_language or "").split(",")[:32]:
        tag, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in (p.replace(" ", "").lower() for p in params):
            if param.startswith("q="):
                found = _QVALUE.match(param)
                q = float(found.group(1)) if found else 0.0  # a malformed weight: not wanted
        locale = _BY_PRIMARY.get(tag.lower().split("-")[0]) if tag != "*" else DEFAULT_LOCALE
        if locale is not None and q > best_q:
            best, best_q = locale, q
    return best


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


def chinese(message: str) -> str:
    """The Simplified Chinese of an English msgid (the English itself when untranslated)."""
    return translator("zh_CN").gettext(message)
