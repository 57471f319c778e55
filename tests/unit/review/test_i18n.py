"""Every word on the pages and in the API's answers has its Simplified Chinese, and it compiles."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

import review
from data_contracts.tables import BENIGN_REASONS, REASONS_BY_CLASS, EventType, MsgType
from features.reasons import REASON_CODES
from review.accounts import QUEUES, Role
from review.cases import CaseStatus, Verdict
from serving.claims.delay_reasons import BENIGN_REASON_WORDS, IN_PROGRESS
from serving.i18n import catalogue_path, translator

TEMPLATES = Path(review.__file__).with_name("templates")


def _template_messages() -> set[str]:
    found: set[str] = set()
    for path in TEMPLATES.glob("*.html"):
        with path.open("rb") as handle:
            for _line, _func, message, _comments in babel_extract(handle, ("_",), [], {}):
                if isinstance(message, str):  # `_(code|term)` has no literal: see _terms
                    found.add(message)
    return found


def _terms() -> set[str]:
    codes = [*QUEUES, *CaseStatus, *Verdict, *Role, *EventType, *MsgType, "review", "hold"]
    codes += ["authorization", "claim"]
    codes += [r for reasons in REASONS_BY_CLASS.values() for r in reasons]
    return {str(c).replace("_", " ").capitalize() for c in codes}


def test_every_message_and_code_is_translated() -> None:
    zh = translator("zh_CN")
    messages = _template_messages()
    assert len(messages) > 50  # the extractor really read the templates
    missing = sorted(m for m in messages | _terms() if m not in zh.messages)
    assert missing == []


def test_every_reason_code_and_benign_reason_is_translated() -> None:
    zh = translator("zh_CN")
    assert set(BENIGN_REASON_WORDS) == set(BENIGN_REASONS)
    words = {rc.en for rc in REASON_CODES} | set(BENIGN_REASON_WORDS.values()) | {IN_PROGRESS}
    missing = sorted(w for w in words if w not in zh.messages)
    assert missing == []


def test_english_is_the_source() -> None:
    assert translator("en").gettext("Claim next case") == "Claim next case"
    assert translator("zh_CN").gettext("Claim next case") == "认领下一个案件"


def test_the_catalogue_compiles_to_mo() -> None:
    with catalogue_path("zh_CN").open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    compiled = read_mo(buffer)
    assert compiled.get("Decisions per day").string == "每日决定数"
