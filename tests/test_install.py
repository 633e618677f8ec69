"""Installing and starting Communique as a new user does: a plain `pip install`, `communique init`, the
configuration found the usual ways, and the demo run from an empty folder."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

from communique import __version__
from communique.cli import main
from communique.locations import bundled_config

# What a checkout holds that a fresh clone would not: a build of it would carry them.
NOT_IN_A_CLONE = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.db*",
                                        ".ruff_cache", ".env")


def test_a_plain_install_runs_init_and_the_demo_from_an_empty_folder(tmp_path: Path) -> None:
    """`pip install <checkout>` (not editable), then `communique init && communique demo` in an empty folder.

    The new environment borrows the test environment's dependencies through a .pth file (installing
    them again would take minutes); Communique itself is built from a copy of the checkout and installed, with
    pip's build isolation (setuptools from the package index, as any `pip install` of a checkout does)."""
    started = time.monotonic()
    checkout, venv, empty, home = (tmp_path / name for name in ("checkout", "venv", "empty", "home"))
    shutil.copytree(ROOT, checkout, ignore=NOT_IN_A_CLONE, symlinks=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", checkout], check=True,
                   capture_output=True)
    assert not any(Path(site, name).exists() for name in ("bot", "monitors", "config"))
    empty.mkdir()
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "HOME": str(home), "LANG": "C.UTF-8"}
    run = subprocess.run(["sh", "-c", "communique init && communique demo"], cwd=empty, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f"wrote {home}/.config/communique/communique.toml" in run.stdout
    assert "Reported by" in run.stdout and "daily digest" in run.stdout
    assert f"configuration: {site}/communique/config/communique.toml" in run.stderr  # not from the checkout
    assert list(empty.iterdir()) == []
    assert time.monotonic() - started < 60


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty working folder and an empty user configuration folder; returns the latter's parent."""
    for name in ("COMMUNIQUE_CONFIG", "COMMUNIQUE_ENV_FILE", "COMMUNIQUE_DB", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "xdg"


def used_configuration(caplog: pytest.LogCaptureFixture) -> str:
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("configuration: ")]
    return line


def test_init_writes_a_commented_starter_that_is_then_found_and_says_what_next(clean_env, capsys, caplog):
    caplog.set_level(logging.INFO)
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    written = clean_env / "communique" / "communique.toml"
    assert written.read_text() == bundled_config().read_text() and written.read_text().startswith("#")
    assert "TELEGRAM_BOT_TOKEN=" in (clean_env / "communique" / ".env.example").read_text()
    for step in ("@BotFather", "/whoami", "admins", "communique login", "communique reads it from here on"):
        assert step in out
    assert main(["feeds", "--db", "x.db"]) == 0
    assert used_configuration(caplog) == f"configuration: {written} (the user's configuration folder)"


def test_init_never_overwrites_and_says_so_in_one_line(clean_env, capsys):
    assert main(["init", "mine"]) == 0
    assert "will not find it by itself: pass --config mine/communique.toml" in capsys.readouterr().out
    Path("mine/communique.toml").write_text("admins = [1]\n")
    assert main(["init", "mine"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "mine/communique.toml and mine/.env.example already exist" in err
    assert Path("mine/communique.toml").read_text() == "admins = [1]\n"


def test_configuration_is_found_in_the_documented_order(clean_env, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    user = clean_env / "communique" / "communique.toml"
    places = {"--config": Path("explicit.toml"), "$COMMUNIQUE_CONFIG": Path("from-env.toml"),
              "in the working directory": Path("config/communique.toml"), "the user's configuration folder": user}
    for path in places.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("admins = []\n")
    monkeypatch.setenv("COMMUNIQUE_CONFIG", "from-env.toml")
    for how, path in places.items():
        caplog.clear()
        assert main([*(["--config", "explicit.toml"] if how == "--config" else []), "feeds", "--db", "x.db"]) == 0
        assert used_configuration(caplog) == f"configuration: {path} ({how})"
        if how == "$COMMUNIQUE_CONFIG":
            monkeypatch.delenv("COMMUNIQUE_CONFIG")
        elif how != "--config":
            path.unlink()
    caplog.clear()
    assert main(["feeds", "--db", "x.db"]) == 0
    assert used_configuration(caplog).endswith("(the bundled example; `communique init` writes your own)")


def test_the_env_file_is_found_in_the_same_order_and_named(clean_env, monkeypatch, caplog, capsys):
    caplog.set_level(logging.INFO)
    (clean_env / "communique").mkdir(parents=True)
    (clean_env / "communique" / ".env").write_text("COMMUNIQUE_DB=from-user-folder.db\n")
    assert main(["feeds"]) == 0
    assert Path("from-user-folder.db").exists()
    assert f"environment file: {clean_env}/communique/.env (the user's configuration folder)" in caplog.messages
    monkeypatch.delenv("COMMUNIQUE_DB")
    Path(".env").write_text("COMMUNIQUE_DB=from-working-folder.db\n")
    assert main(["feeds"]) == 0
    assert Path("from-working-folder.db").exists()
    monkeypatch.delenv("COMMUNIQUE_DB")
    Path("named.env").write_text("COMMUNIQUE_DB=named.db\n")
    assert main(["--env-file", "named.env", "feeds"]) == 0
    assert Path("named.db").exists()
    capsys.readouterr()
    assert main(["--env-file", "missing.env", "feeds"]) == 2
    assert capsys.readouterr().err == "communique: error: missing.env: no such .env file (--env-file)\n"


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"communique {__version__}\n"


def test_the_license_file_is_the_license_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
