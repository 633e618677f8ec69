"""`communique init [DIR]`: write a commented starter configuration and `.env.example`, then say what next.

The starter files are the ones installed with the package (`config/communique.toml`, `config/env.example`),
so what `init` writes is what the demo and the tests read. Existing files are never overwritten.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from communique.errors import ConfigError
from communique.locations import CONFIG_NAME, bundled_config, env_example, find_config, user_config_dir

NEXT_STEPS = """\
Next steps
  1. Create a bot: talk to @BotFather on Telegram, send /newbot, and copy the token it gives.
     Copy .env.example to .env ({env_places})
     and set TELEGRAM_BOT_TOKEN=<the token>.
  2. Find your own Telegram user id: start the bot (`communique bot`) and send it /whoami;
     put the number in `admins = [...]` in {config} for /channels, /feeds and /stats.
  3. List your channels, feeds and topics in {config}.
  4. Optional, for live channel monitoring: set TELEGRAM_API_ID and TELEGRAM_API_HASH from
     my.telegram.org in .env and run `communique login` once (else channels are read from
     their public t.me/s/ preview pages).
  5. `communique run`. To see it work first, offline and without a token: `communique demo`."""


def write_starter(folder: Path | None, environ: Mapping[str, str], cwd: Path) -> list[str]:
    """Write the starter files into `folder` (default: the user's configuration folder); returns the
    lines to print. Refuses, before writing anything, if either file is already there."""
    target = folder if folder is not None else user_config_dir(environ)
    files = {target / CONFIG_NAME: bundled_config(), target / ".env.example": env_example()}
    existing = [str(path) for path in files if path.exists()]
    if existing:
        verb = "already exists" if len(existing) == 1 else "already exist"
        raise ConfigError(f"{' and '.join(existing)} {verb}; nothing written (move it away, or give another "
                          "folder: communique init DIR)")
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path, source in files.items():
            shutil.copyfile(source, path)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the starter files ({exc.strerror or exc})") from exc
    config = target / CONFIG_NAME
    lines = [f"wrote {config} and {target / '.env.example'}"]
    found = find_config(None, environ, cwd)
    if (cwd / found.path).resolve() == config.resolve():
        lines.append(f"communique reads it from here on ({found.how})")
    else:
        lines.append(f"communique will not find it by itself: pass --config {config} or set COMMUNIQUE_CONFIG")
    env_places = "beside it, or in the folder you run communique from" if target == user_config_dir(environ) \
        else f"in the folder you run communique from, or in {user_config_dir(environ)}"
    lines.append("")
    lines.append(NEXT_STEPS.format(config=config, env_places=env_places))
    return lines
