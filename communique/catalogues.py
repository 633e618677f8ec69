"""Compiling the message catalogues: each `locale/<lang>/LC_MESSAGES/*.po` to the `.mo` gettext reads.

Run by `setup.py` at build time (for a wheel, `pip install .`, and `pip install -e .`), loaded there
by its path, so this module imports nothing from the package; the tests call it too, so catalogues
edited since the last install are what the tests see.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def compile_catalogues(source: Path, target: Path | None = None, *, force: bool = False) -> list[Path]:
    """Write `target/<lang>/LC_MESSAGES/<domain>.mo` for each `.po` under `source` (default: beside it)
    that is newer than its `.mo`, or for all with `force`; returns the files written.  Fuzzy entries are
    left out, as msgfmt does."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = (target or source) / po.relative_to(source).with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as file:
            catalogue = read_po(file, locale=po.parent.parent.name)
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as file:
            write_mo(file, catalogue, use_fuzzy=False)
        written.append(mo)
    return written
