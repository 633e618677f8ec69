"""The demo's store, built once per test module: 14 statements of 26-28 November 2026 and 31 news items."""

from __future__ import annotations

import io
from pathlib import Path

from conftest import ROOT

from communique.demo import run_demo
from communique.settings import load_settings

PERIOD = ["--since", "2026-11-26", "--until", "2026-11-29"]  # the demo's three days


def build_demo_store(path: Path) -> Path:
    run_demo(io.StringIO(), load_settings(ROOT / "config" / "communique.toml"), db_path=path)
    return path
