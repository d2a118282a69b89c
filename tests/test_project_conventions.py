"""Conventions that keep the project coherent: one set of prefixes, documented settings."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from kg.cli import main
from kg.config import Settings
from kg.namespaces import PREFIXES

ROOT = Path(__file__).resolve().parent.parent
TURTLE_PREFIX = re.compile(r"@prefix\s+([\w-]*):\s*<([^>]*)>", re.IGNORECASE)
SPARQL_PREFIX = re.compile(r"^\s*PREFIX\s+([\w-]*):\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE)


def _declared_prefixes() -> list[tuple[Path, str, str]]:
    found = []
    for folder, pattern, regex in (("ontology", "*.ttl", TURTLE_PREFIX),
                                   ("data", "*.ttl", TURTLE_PREFIX),
                                   ("queries", "*.rq", SPARQL_PREFIX)):
        for path in sorted((ROOT / folder).rglob(pattern)):
            for prefix, ns in regex.findall(path.read_text(encoding="utf-8")):
                found.append((path.relative_to(ROOT), prefix, ns))
    return found


def test_prefixes_agree_with_namespaces_module() -> None:
    declared = _declared_prefixes()
    assert declared, "no prefix declarations found in ontology/, data/ or queries/"
    wrong = [f"{path}: {p}: <{ns}> (kg.namespaces says <{PREFIXES[p]}>)"
             for path, p, ns in declared if p in PREFIXES and PREFIXES[p] != ns]
    assert not wrong, "\n".join(wrong)


def test_every_namespace_has_one_prefix() -> None:
    assert len(set(PREFIXES.values())) == len(PREFIXES)


@pytest.mark.parametrize("setting", [f.metadata["env"] for f in fields(Settings)])
def test_every_setting_is_documented(setting: str) -> None:
    assert f"`{setting}`" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("verb", sorted(main.commands))
def test_every_verb_is_documented(verb: str) -> None:
    assert f"`kg {verb}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_from_env() -> None:
    s = Settings.from_env({"KG_PORT": "9000", "KG_QUERY_TIMEOUT": "2.5", "KG_STORE": "x/y"})
    assert (s.port, s.query_timeout, str(s.store)) == (9000, 2.5, "x/y")
    assert Settings.from_env({"KG_PORT": "9000"}, port=9100).port == 9100
    with pytest.raises(ValueError, match="KG_PORT='abc' is not a valid int"):
        Settings.from_env({"KG_PORT": "abc"})
