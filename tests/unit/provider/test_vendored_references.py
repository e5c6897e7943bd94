"""The API references the suite validates against are in the repository, unchanged, with their provenance."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from _spec import APIFY_SPEC, REFERENCE, TEMPLATE_CONTRACT, reference_file

README = REFERENCE / "README.md"
_ROW = re.compile(r"^\| `(?P<file>[^`]+)` \|.*\| `(?P<sha>[0-9a-f]{64})` \|$", re.MULTILINE)


def _recorded() -> dict[str, str]:
    """(file, SHA-256) pairs from the table in the README."""
    return {m["file"]: m["sha"] for m in _ROW.finditer(README.read_text(encoding="utf-8"))}


def test_the_readme_lists_what_the_tests_read_and_names_the_upstream() -> None:
    recorded = _recorded()
    for path in (APIFY_SPEC, TEMPLATE_CONTRACT):
        assert path.relative_to(REFERENCE).as_posix() in recorded
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert "apify/apify-docs" in text and "4416da61289180e10164f90abcf3d58d4be75494" in text
    assert "Apache License 2.0" in text


@pytest.mark.parametrize("name", sorted(_recorded()))
def test_a_vendored_file_is_present_and_unchanged(name: str) -> None:
    path = reference_file(REFERENCE / name)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == _recorded()[name], (
        f"{name} differs from the checksum in {README}: record where the new version comes from"
    )


def test_a_missing_reference_file_fails_the_test_instead_of_skipping_it(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="is missing"):
        reference_file(tmp_path / "openapi-subset.yaml")


def test_nothing_reads_references_outside_the_repository() -> None:
    tests = Path(__file__).resolve().parents[2]
    readers = [p for p in tests.rglob("*.py") if re.search(r"""["']shared["']""", p.read_text(encoding="utf-8"))]
    assert readers == []
