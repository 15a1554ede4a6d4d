"""The scheduled Lambdas' zips (components/shared/scheduled_lambda.py): each handler imports
from the zip's own files alone, the shared EMF module included at the path its absolute import
names. The tests that import the handlers from the repository cannot see a file the zip lacks;
this one runs the import in a fresh interpreter whose only project code is the zip's files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from components.shared.scheduled_lambda import SHARED_FILES

FUNCTIONS = {
    # session plan fixture -> (function resource, its handler's module)
    "ecs_dev_plan": ("ecs-reaper-fn", "reaper.handler"),
    "eks_dev_plan": ("eks-start-wait-fn", "start_wait.handler"),
}


@pytest.mark.parametrize("fixture", sorted(FUNCTIONS))
def test_the_zip_imports_its_handler_from_its_own_files(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    function, module = FUNCTIONS[fixture]
    archive = request.getfixturevalue(fixture).named(function).inputs["code"]
    assert set(SHARED_FILES) <= set(archive.assets)
    for name, asset in archive.assets.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(asset.path, tmp_path / name)
    # -E: no PYTHONPATH, so the checkout is not on the path; the zip's root is (as /var/task).
    found = subprocess.run(
        [
            sys.executable,
            "-E",
            "-c",
            f"import {module}, components.shared.emf as e; print(e.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).resolve() == (tmp_path / "components/shared/emf.py").resolve()
