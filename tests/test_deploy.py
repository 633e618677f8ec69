"""The container files say what the README says: the same commands, the same store and volume.

No Docker daemon is needed: the Dockerfile's and compose.yaml's commands are parsed by the `communique`
command's own parser, and the README's `docker compose` lines are checked against both."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml
from conftest import ROOT

from communique.cli import build_parser

DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
README = (ROOT / "README.md").read_text()


def instruction(name: str) -> str:
    [value] = re.findall(rf"^{name}\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)
    return value


def exec_form(text: str) -> list[str]:
    return json.loads(text)


def communique_accepts(args: list[str]) -> None:
    """The `communique` command line parses (a renamed or dropped subcommand or option exits 2)."""
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        pytest.fail(f"communique {shlex.join(args)}: not a valid command line (exit {exc.code})")


def readme_docker_lines() -> list[list[str]]:
    section = README.split("### Docker", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [shlex.split(line, comments=True) for block in blocks for line in block.splitlines()
            if line.startswith("docker ")]


def test_the_image_runs_communique_run_and_checks_health_with_a_real_subcommand() -> None:
    entrypoint, command = exec_form(instruction("ENTRYPOINT")), exec_form(instruction("CMD"))
    assert [*entrypoint, *command] == ["communique", "run"]
    health = exec_form(instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    assert health == ["communique", "health"]
    communique_accepts(health[1:])
    assert instruction("FROM") == "python:3.11-slim"
    assert instruction("USER") != "root" and re.search(rf"useradd [^\n]*{instruction('USER')} ", DOCKERFILE)


def test_compose_runs_the_readmes_command_with_env_and_the_data_volume_where_the_store_is() -> None:
    [(name, service)] = COMPOSE["services"].items()
    assert "entrypoint" not in service and service["command"] == exec_form(instruction("CMD"))
    assert "`communique run`" in README.split("### Docker", 1)[1]
    assert service["env_file"] == ".env"
    assert service["volumes"] == ["./data:/data"]
    store = re.search(r"COMMUNIQUE_DB=(\S+)", DOCKERFILE)
    assert store and store.group(1) == "/data/communique.db" and f"`{store.group(1)}`" in README
    assert instruction("VOLUME") == "/data" and instruction("WORKDIR") == "/data"
    lines = readme_docker_lines()
    assert ["docker", "compose", "up", "-d"] in lines
    for line in lines:
        if line[:3] == ["docker", "compose", "run"]:
            service_name, *args = [word for word in line[3:] if word != "--rm"]
            assert service_name == name
            communique_accepts(args)  # after the image's entrypoint, `communique`
        elif line[:3] == ["docker", "compose", "exec"]:
            assert line[3:5] == [name, "communique"]
            communique_accepts(line[5:])
    assert {tuple(line[:3]) for line in lines} >= {("docker", "compose", "run"), ("docker", "compose", "exec")}
