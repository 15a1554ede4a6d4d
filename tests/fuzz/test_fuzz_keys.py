"""Generative checks of issue 23's message classes straight on the parser (fast, no program
run): keys in the wrong place or form (item 7) and credential-looking values (item 8) always
end in messages that name the key, never in a traceback or an echoed credential."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from components.config import ConfigError, parse_config, schema
from components.config.credentials import credential_kind
from components.config.misplaced import AWS_PROVIDER_KEYS
from tests.fuzz.test_fuzz_stack import PROFILE, SCALARS
from tests.harness import sentinel

TOKENS = {"runnerTokens": {"fargate": sentinel("fargate")}}
SECTIONS = {s.path: s for s in schema.SECTIONS if s.path and "[" not in s.path}
CREDENTIALS = ["AKIAIOSFODNN7EXAMPLE", "glpat-SENTINEL-not-a-real-token", "x://u:p@h"]


@st.composite
def misplaced(draw: st.DrawFn) -> tuple[str, Any]:
    section = draw(st.sampled_from(sorted(SECTIONS)))
    key = draw(st.sampled_from([*SECTIONS[section].names, "maxJob", "Tags"]))
    form = draw(st.sampled_from([":", ".", "aws", "typo"]))
    name = {"aws": draw(st.sampled_from(AWS_PROVIDER_KEYS)), "typo": f"{section}x"}.get(
        form, f"{section}{form}{key}"
    )
    return name, draw(SCALARS)


@PROFILE
@given(misplaced())
def test_a_misplaced_key_is_one_problem_that_names_it(entry: tuple[str, Any]) -> None:
    name, value = entry
    try:
        parse_config({name: value, **TOKENS})
    except ConfigError as error:
        about = [p for p in error.problems if p.startswith(name)]
        assert len(about) == 1, error.problems
        assert "pulumi config" in about[0] or "known keys" in about[0] or "did you" in about[0]
    else:
        raise AssertionError(f"{name} was accepted")


@PROFILE
@given(st.text(max_size=80), st.sampled_from(CREDENTIALS))
def test_credential_detection_never_fails_and_never_echoes(text: str, secret: str) -> None:
    credential_kind(text)
    entry = {"name": "d", "image": "debian:12", "environment": {"V": f"{text} {secret}"}}
    raw = {"ecs": {"taskDefinitions": [entry]}, **TOKENS}
    try:
        _, warnings = parse_config(raw)
    except ConfigError:
        return  # the text made the entry invalid: reported by key elsewhere
    found = [w for w in warnings if "environment.V" in w]
    assert len(found) == 1 and secret not in found[0]
