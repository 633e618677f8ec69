"""The message catalogues are complete: the .pot has every message the code asks for, and every language
translates every message, with the same placeholders, nothing left fuzzy."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from communique.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
POT = LOCALE_DIR / "communique.pot"
PLACEHOLDER = re.compile(r"\{(\w*)[^{}]*\}")
KEYWORDS = {"gettext": 1, "ngettext": 1, "pgettext": 2, "N_": 1}


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def key(message: Message) -> tuple[str | None, str]:
    singular = message.id[0] if isinstance(message.id, tuple) else message.id
    return message.context, singular


def extracted() -> set[tuple[str | None, str]]:
    """What Babel finds in the code now, with the project's extraction configuration (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    found = set()
    for _, _, message, _, context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add((context, message[0] if isinstance(message, tuple) else message))
    return found


def test_the_template_is_up_to_date_with_the_code() -> None:
    template = {key(m) for m in read(POT) if m.id}
    code = extracted()
    assert not code - template, f"not in the .pot (run the extraction, README 'Languages'): {sorted(code - template)}"
    assert not template - code, f"in the .pot but no longer in the code: {sorted(template - code)}"


def literal_calls() -> set[str]:
    """Every literal message passed to gettext, ngettext, pgettext or N_ anywhere in the code, including inside
    f-strings, where Babel's extractor does not look."""
    found = set()
    for path in [*(ROOT / "communique").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            position = KEYWORDS.get(name)
            if position and len(node.args) >= position and isinstance(node.args[position - 1], ast.Constant):
                found.add(node.args[position - 1].value)
    return found


def test_every_message_in_the_code_reaches_the_template() -> None:
    template = {key(m)[1] for m in read(POT) if m.id}
    assert not literal_calls() - template, "a message Babel cannot see (inside an f-string?)"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_language_translates_every_message_with_its_placeholders(lang: str) -> None:
    catalogue = read(LOCALE_DIR / lang / "LC_MESSAGES" / "communique.po", locale=lang)
    translated = {key(m): m for m in catalogue if m.id}
    template = {key(m) for m in read(POT) if m.id}
    assert template - set(translated) == set(), "messages missing from the catalogue"
    assert set(translated) - template == set(), "obsolete messages in the catalogue"
    assert catalogue.num_plurals == get_plural(lang).num_plurals
    problems = []
    for message in translated.values():
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        forms = list(message.string) if isinstance(message.string, tuple) else [message.string]
        if not all(forms):
            problems.append(f"untranslated: {message.id!r}")
            continue
        wanted = set(PLACEHOLDER.findall(message.id[-1] if isinstance(message.id, tuple) else message.id))
        # A plural form for exactly one or two (Arabic, Hebrew) may spell the number out; the others show it.
        if set(PLACEHOLDER.findall(forms[-1])) != wanted or any(set(PLACEHOLDER.findall(f)) - wanted for f in forms):
            problems.append(f"placeholders differ: {message.id!r} -> {forms!r}")
        if len(forms) != (catalogue.num_plurals if message.pluralizable else 1):
            problems.append(f"wrong number of plural forms: {message.id!r}")
    assert problems == []


@pytest.mark.parametrize("lang", sorted(set(LANGUAGES) - {"en"}))
def test_each_catalogue_is_compiled_and_loaded(lang: str) -> None:
    from communique.i18n import tr

    assert tr(lang).gettext("Source post") != "Source post"
