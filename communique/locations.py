"""Where Communique finds its configuration, its `.env` and its bundled data.

The configuration is the first of: `--config PATH`, `$COMMUNIQUE_CONFIG`, `./config/communique.toml`,
the user's configuration folder (`$XDG_CONFIG_HOME/communique/`, by default `~/.config/communique/`),
and last the starter configuration installed with the package. The `.env` is the first of
`--env-file PATH`, `$COMMUNIQUE_ENV_FILE`, `./.env` and the user's configuration folder, or none.
The bundled files are read through importlib.resources, so an installed `communique` finds
them from any working directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from communique.errors import ConfigError

CONFIG_NAME = "communique.toml"
ENV_NAME = ".env"
LOCAL_CONFIG = Path("config") / CONFIG_NAME


@dataclass(frozen=True, slots=True)
class Found:
    """A file and why it was chosen, for the one line that says which file is used."""

    path: Path
    how: str

    def line(self, what: str) -> str:
        return f"{what}: {self.path} ({self.how})"


def user_config_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_CONFIG_HOME/communique`, or `~/.config/communique` when it is unset or not absolute (XDG's rule)."""
    base = environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path(environ.get("HOME") or Path.home()) / ".config"
    return root / "communique"


def bundled_dir() -> Path:
    """The folder of the starter configuration and the samples, as installed (`communique.config`)."""
    root = files("communique.config")
    if not isinstance(root, Path):  # a zipped install: the samples must be files for the importers
        raise ConfigError(f"the bundled configuration is not on disk ({root}); install communique unzipped")
    return root


def bundled_config() -> Path:
    return bundled_dir() / CONFIG_NAME


def samples_dir() -> Path:
    return bundled_dir() / "samples"


def env_example() -> Path:
    return bundled_dir() / "env.example"


def find_config(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> Found:
    """The configuration to use, in the documented order; the starter one when the user has none."""
    if explicit:
        return Found(Path(explicit), "--config")
    if environ.get("COMMUNIQUE_CONFIG", "").strip():
        return Found(Path(environ["COMMUNIQUE_CONFIG"].strip()), "$COMMUNIQUE_CONFIG")
    if (cwd / LOCAL_CONFIG).is_file():
        return Found(LOCAL_CONFIG, "in the working directory")
    user = user_config_dir(environ) / CONFIG_NAME
    if user.is_file():
        return Found(user, "the user's configuration folder")
    return Found(bundled_config(), "the bundled example; `communique init` writes your own")


def find_env_file(explicit: str | None, environ: Mapping[str, str], cwd: Path) -> Found | None:
    """The `.env` to load, in the documented order, or None when there is none."""
    if explicit:
        return Found(Path(explicit), "--env-file")
    if environ.get("COMMUNIQUE_ENV_FILE", "").strip():
        return Found(Path(environ["COMMUNIQUE_ENV_FILE"].strip()), "$COMMUNIQUE_ENV_FILE")
    if (cwd / ENV_NAME).is_file():
        return Found(Path(ENV_NAME), "in the working directory")
    user = user_config_dir(environ) / ENV_NAME
    if user.is_file():
        return Found(user, "the user's configuration folder")
    return None
