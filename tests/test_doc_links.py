"""Every document the repository cites is in the repository.

Comments and docs once pointed to design notes that were never committed; a reader who
cloned the project could not open them. This test reads every tracked file and fails on
a citation of those notes, on a ``docs/...`` path that does not exist, and on a relative
Markdown link (with its #anchor) that leads nowhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# The notes the project was designed from (kept outside the repository). Built from parts
# so this file does not cite them itself.
_NOTES = ("DESIGN", "DOMAIN", "STYLE")
NOTE_CITATION = re.compile(r"\b(?:" + "|".join(_NOTES) + r")\.md\b|\b(?:DESIGN|DOMAIN):\s")
DOCS_PATH = re.compile(r"(?<![\w/.-])docs/[\w.-]+(?:/[\w.-]+)*")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")

# Files that may still cite a note, each with the reason. An entry must still be needed:
# the test fails when the file no longer cites one, so the list only shrinks.
ALLOWED_NOTE_CITATIONS: dict[str, str] = {}


@cache
def tracked_text_files() -> dict[str, str]:
    """Path (relative, POSIX) -> text of every tracked file that decodes as UTF-8."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    out = {}
    for name in filter(None, names):
        path = REPO / name
        if not path.is_file():  # deleted in the working tree
            continue
        try:
            out[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
    return out


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+\s+(.+?)\s*$", markdown, flags=re.M)}


def test_no_file_cites_a_note_outside_the_repository() -> None:
    found = []
    for name, text in tracked_text_files().items():
        if name == "tests/test_doc_links.py":
            continue
        hits = [(n, line) for n, line in enumerate(text.splitlines(), 1)
                if NOTE_CITATION.search(line)]
        if name in ALLOWED_NOTE_CITATIONS:
            assert hits, f"{name} no longer cites a note: remove it from ALLOWED_NOTE_CITATIONS"
            continue
        found += [f"{name}:{n}: {line.strip()}" for n, line in hits]
    assert not found, "cite a file in the repository (docs/...) instead:\n" + "\n".join(found)


def test_cited_docs_paths_exist() -> None:
    missing = []
    for name, text in tracked_text_files().items():
        for n, line in enumerate(text.splitlines(), 1):
            for match in DOCS_PATH.finditer(line):
                path = match.group(0).rstrip(".")
                if not (REPO / path).exists():
                    missing.append(f"{name}:{n}: {path}")
    assert not missing, "cited docs/ paths that do not exist:\n" + "\n".join(missing)


def test_relative_markdown_links_resolve() -> None:
    files = tracked_text_files()
    broken = []
    for name, text in files.items():
        if not name.endswith(".md"):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for target in MD_LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
                    continue
                path_part, _, anchor = target.partition("#")
                dest = (REPO / name).parent / path_part if path_part else REPO / name
                rel = dest.resolve().relative_to(REPO).as_posix() if dest.exists() else None
                if rel is None:
                    broken.append(f"{name}:{n}: {target} (no such file)")
                elif anchor and rel.endswith(".md") and anchor not in _anchors(files.get(
                        rel, dest.read_text(encoding="utf-8"))):
                    broken.append(f"{name}:{n}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)
