"""The ``job_kind`` fixture: each of the three job kinds in turn."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from _kinds import KINDS, KindCase  # noqa: E402


@pytest.fixture(params=list(KINDS))
def job_kind(request: pytest.FixtureRequest, mock_connections: None) -> KindCase:
    """Each of the three job kinds in turn."""
    return KINDS[request.param]
