"""The package has one version, components.__version__: every release tag the README, the docs,
the examples and the provider name (`...@v<version>`, `--branch v<version>`, a `packages:`
entry's `@<version>`), a `version:` in the plugin's files, and schema.json's version say it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from components import __version__
from tests.harness import ROOT

RELEASE = re.compile(r"(?:@v?|--branch v)(\d+\.\d+\.\d+)")
TEXT = {".md", ".py", ".yaml", ".txt", ".json"}


def _files() -> list[Path]:
    listed = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for folder in ("examples", "provider"):
        listed += sorted(
            p for p in (ROOT / folder).rglob("*") if p.suffix in TEXT and "venv" not in p.parts
        )
    return listed


def release_mentions(text: str) -> list[str]:
    return RELEASE.findall(text)


def test_release_mentions_are_read_in_every_form() -> None:
    text = "add x/provider@v1.2.3; git clone --branch v1.2.4 x; p: ../provider@1.2.5; a@v2026"
    assert release_mentions(text) == ["1.2.3", "1.2.4", "1.2.5"]


def test_every_release_tag_mentioned_is_the_packages_version() -> None:
    mentions = {
        (path.relative_to(ROOT).as_posix(), version)
        for path in _files()
        for version in release_mentions(path.read_text())
    }
    assert ("docs/multi-language.md", __version__) in mentions
    assert ("docs/package.md", __version__) in mentions
    assert [m for m in sorted(mentions) if m[1] != __version__] == []


def test_the_plugin_and_its_schema_carry_the_packages_version() -> None:
    schema = json.loads((ROOT / "provider" / "schema.json").read_text())
    assert schema["version"] == __version__
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin.get("version", __version__) == __version__
