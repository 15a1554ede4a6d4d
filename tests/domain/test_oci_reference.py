"""The image reference grammar against distribution/reference's own test table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.domain.oci_reference import ReferenceError, parse_reference

VECTORS = json.loads(
    (Path(__file__).parents[1] / "upstream" / "distribution-reference.json").read_text()
)
CASES: list[dict[str, Any]] = VECTORS["cases"]


def test_the_vectors_have_provenance_and_cover_both_outcomes() -> None:
    assert VECTORS["provenance"]["ref"].startswith("0965666a6ade")
    assert len(CASES) == 48
    assert {bool(c.get("error")) for c in CASES} == {True, False}


@pytest.mark.parametrize("case", CASES, ids=[c["input"][:60] or "<empty>" for c in CASES])
def test_upstream_reference_parse_table(case: dict[str, Any]) -> None:
    if case.get("error"):
        with pytest.raises(ReferenceError) as caught:
            parse_reference(case["input"])
        assert caught.value.kind == case["error"]
        return
    parsed = parse_reference(case["input"])
    assert parsed.repository == case["repository"]
    assert parsed.domain == case.get("domain", "")
    assert parsed.tag == case.get("tag", "")
    assert parsed.digest == case.get("digest", "")


@pytest.mark.parametrize(
    ("value", "fix"),
    [
        ("registry.gitlab.com/Group/Image:1.0", "use 'registry.gitlab.com/group/image:1.0'"),
        ("debian:", "'debian:latest'"),
        ("debian@", "sha256"),
        ("https://registry.example.com/x:1", "'registry.example.com/x:1'"),
        ("debian:bookworm slim", "no spaces"),
    ],
)
def test_refusals_say_how_to_fix_the_reference(value: str, fix: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_reference(value)
    assert fix in str(caught.value)
