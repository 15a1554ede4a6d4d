"""README.md and docs/*.md link only to files that exist: a renamed or removed guide must not
leave dead relative links behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Markdown inline links: [text](target), target up to the first space or closing parenthesis.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# Inline code (regular expressions in the config reference) is not a link.
CODE = re.compile(r"`[^`\n]*`")


def relative_targets(text: str) -> list[str]:
    """Link targets that point into the repository (no scheme, no bare #anchor)."""
    targets = []
    for target in LINK.findall(CODE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_relative_targets_skip_urls_and_anchors() -> None:
    text = "[a](docs/x.md#part) [b](https://example.com) [c](#here) [d](../y.md) `[e](f)`"
    assert relative_targets(text) == ["docs/x.md", "../y.md"]


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_relative_links_point_to_existing_files(doc: Path) -> None:
    missing = [t for t in relative_targets(doc.read_text()) if not (doc.parent / t).exists()]
    assert missing == [], f"{doc.relative_to(ROOT)} links to missing files: {missing}"


FENCED = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.S | re.M)


def heading_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a document's headings: lower case, punctuation dropped,
    spaces as hyphens, a repeated heading numbered -1, -2..."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", FENCED.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return anchors


def test_heading_anchors_follow_githubs_rules() -> None:
    text = "# What `pulumi up` needs\n## Offline plan (review, offline)\n## A\n## A\n```\n# no\n```"
    assert heading_anchors(text) == {
        "what-pulumi-up-needs",
        "offline-plan-review-offline",
        "a",
        "a-1",
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.relative_to(ROOT).as_posix())
def test_links_to_a_section_name_one_that_exists(doc: Path) -> None:
    text = doc.read_text()
    broken = []
    for target in LINK.findall(CODE.sub("", text)):
        name, _, anchor = target.partition("#")
        external = re.match(r"^[a-z][a-z0-9+.-]*:", target)
        if not anchor or external or (name and not name.endswith(".md")):
            continue
        linked = (doc.parent / name).read_text() if name else text
        if anchor not in heading_anchors(linked):
            broken.append(target)
    assert broken == [], f"{doc.relative_to(ROOT)} links to missing sections: {broken}"


def test_readme_lists_every_docs_file() -> None:
    readme = set(relative_targets((ROOT / "README.md").read_text()))
    unlisted = [d.name for d in DOCS[1:] if f"docs/{d.name}" not in readme]
    assert unlisted == []


# A pointer into the README by section name, as Pulumi.yaml's comments use: README "Quick start".
README_SECTION = re.compile(r"""README(?:'s)? "([^"]+)\"""")
POINTING = [ROOT / "Pulumi.yaml", *DOCS, *sorted((ROOT / "components").rglob("*.py"))]


def test_pointers_to_readme_sections_name_sections_that_exist() -> None:
    headings = set(re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(), re.M))
    pointers = {
        (path.relative_to(ROOT).as_posix(), name)
        for path in POINTING
        for name in README_SECTION.findall(path.read_text())
    }
    assert ("Pulumi.yaml", "Quick start") in pointers
    assert [p for p in sorted(pointers) if p[1] not in headings] == []
