"""The README documents every command, option and setting a user can reach."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from nblineage import commands
from nblineage.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SURFACES = {commands.CLI: "nblineage", commands.KERNEL: "%lineage"}


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_is_in_the_readme() -> None:
    for command in commands.COMMANDS:
        for where in command.where:
            assert f"{SURFACES[where]} {command.name}" in README, (where, command.name)


def test_every_option_is_in_the_readme() -> None:
    for parser in (_parser(), commands.parser(commands.KERNEL, "%lineage")):
        assert "--url" in README
        for name, sub in _subcommands(parser).items():
            for action in sub._actions:
                for flag in action.option_strings:
                    if flag.startswith("--") and flag != "--help":
                        assert flag in README, f"{name} {flag}"


def test_the_cli_parser_is_the_table() -> None:
    assert list(_subcommands(_parser())) == commands.names(commands.CLI)
    assert list(_subcommands(commands.parser(commands.KERNEL, "%lineage"))) == commands.names(commands.KERNEL)


def test_every_setting_is_in_the_readme() -> None:
    source = "\n".join(p.read_text() for p in (ROOT / "nblineage").rglob("*.py"))
    for variable in set(re.findall(r"\"(NBLINEAGE_[A-Z_]+)\"", source)):
        assert f"`{variable}`" in README, variable


def test_the_readme_opens_with_the_two_commands() -> None:
    opening = README.splitlines()[:6]
    assert any(line.startswith("make lab") for line in opening)
    assert any(line.startswith("make test") for line in opening)
