"""Quoted source lines: the fact scripts that pin a model to upstream lines (pulumi-eks,
rotation) read a file at a ref, find each quote's lines and write the document only when every
quote was found."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def read_at(src: Path, ref: str, file: str) -> list[str]:
    """The file's lines in a checkout `src`, or at `ref` in a git directory `src`."""
    if (src / file).is_file():
        return (src / file).read_text(encoding="utf-8").splitlines()
    shown = subprocess.run(
        ["git", "-C", str(src), "show", f"{ref}:{file}"], check=True, capture_output=True, text=True
    )
    return shown.stdout.splitlines()


def lines_quoting(lines: list[str], quote: str) -> list[int]:
    """The 1-based numbers of the lines that are the quote, leading and trailing space aside."""
    return [i + 1 for i, line in enumerate(lines) if line.strip() == quote]


def write_facts(document: dict[str, object], problems: list[str], out: Path) -> int:
    """Write the document, or report the quotes found nowhere and write nothing (exit 1)."""
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0
