"""Every file the README and docs/ point at is in the repository (no dead links)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
CODE_PATH = re.compile(r"`((?:\.\./|docs/|bench/|scripts/|examples/)[\w./-]+\.(?:md|py))`")


def _in_repo(path: Path) -> bool:
    path = path.resolve()
    return path.is_relative_to(ROOT) and path.exists()


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_linked_files_exist(page):
    text = page.read_text()
    targets = [m for m in LINK.findall(text) if "://" not in m and not m.startswith("mailto:")]
    dead = [t for t in targets if not _in_repo(page.parent / t)]
    named = [t for t in CODE_PATH.findall(text)
             if not (_in_repo(page.parent / t) or _in_repo(ROOT / t))]
    assert not dead and not named, (dead, named)
