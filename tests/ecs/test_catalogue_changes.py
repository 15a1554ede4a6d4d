"""A catalogue change (new entry, new image) refreshes no manager, and a changed entry's old
revision goes: what docs/ecs.md and docs/ecs-operations.md must say (issue 22 item 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ecs.support import LAUNCH_TEMPLATE, TASK_DEFINITION
from tests.offline.test_day2 import plans

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("edit", ["add a task definition", "change a catalogue image"])
def test_a_catalogue_change_refreshes_no_manager(edit: str) -> None:
    """The driver configs name families (`TaskDefinition = <family>`), never revisions, so
    the user data and the launch template stay: no instance refresh, no drain."""
    before, after = plans("ecs", edit)
    for template in before.all(LAUNCH_TEMPLATE):
        assert after.named(template.name).inputs == template.inputs, template.name


def test_a_new_image_replaces_the_revision_pinned_jobs_use() -> None:
    """containerDefinitions is ForceNew (terraform-provider-aws internal/service/ecs/
    task_definition.go), and without skip_destroy the old revision is deregistered; ECS runs
    no new task from an INACTIVE revision (ECS API reference, DeregisterTaskDefinition)."""
    before, after = plans("ecs", "change a catalogue image")
    changed = [
        t.name
        for t in after.all(TASK_DEFINITION)
        if before.named(t.name).inputs["containerDefinitions"] != t.inputs["containerDefinitions"]
    ]
    assert changed == ["ecs-task-debian"]
    assert not after.named("ecs-task-debian").inputs.get("skipDestroy")


@pytest.mark.parametrize("page", ["ecs.md", "ecs-operations.md"])
def test_the_docs_say_what_a_catalogue_change_costs(page: str) -> None:
    text = " ".join((ROOT / "docs" / page).read_text().split())
    assert "does **not** refresh the managers" in text or "No manager refresh" in text
    assert "family:revision" in text and "INACTIVE" in text
    assert "catalogue or job timeout makes a new launch template" not in text
