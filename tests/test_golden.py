"""The example stack's rendered runner files match their golden copies, which hold no secret."""

from __future__ import annotations

import pytest

from components.offline.mocks import REDACTED, Plan
from components.offline.stack_input import STAND_IN_PREFIX
from tests.golden import FIXTURES, MODES, REFRESH_COMMAND, rendered, stored
from tests.harness import SENTINEL_PREFIX


@pytest.mark.parametrize("mode", MODES)
def test_rendered_files_match_the_golden_copies(mode: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(FIXTURES[mode])
    fresh, golden = rendered(plan), stored(mode)
    assert sorted(fresh) == sorted(golden), f"files differ; review, then run {REFRESH_COMMAND}"
    for path, text in fresh.items():
        assert text == golden[path], f"{mode}/{path} differs; review, then run {REFRESH_COMMAND}"


@pytest.mark.parametrize("mode", MODES)
def test_golden_files_hold_no_secret(mode: str, request: pytest.FixtureRequest) -> None:
    plan: Plan = request.getfixturevalue(FIXTURES[mode])
    # The plan these files come from does carry sentinel tokens (so this check can fail)...
    assert any(SENTINEL_PREFIX in str(r.inputs) for r in plan.resources)
    # ...and none of them, nor a stand-in or a redacted whole file, is in a golden copy.
    for path, text in stored(mode).items():
        for marker in (SENTINEL_PREFIX, STAND_IN_PREFIX, "glrt-"):
            assert marker not in text, f"{mode}/{path} holds {marker}"
        assert text != REDACTED, f"{mode}/{path} is a secret output, not a rendered file"
