"""Shared test configuration: where the fixtures and the shared corpus live."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers import CORPUS, IN_CI  # noqa: E402


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus/libvirt; skips only outside CI when it is absent."""
    if not CORPUS.is_dir():
        if IN_CI:
            pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}")
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="rewrite fixtures/xml/rules/*/findings.snap from today's findings (review the diff)",
    )


@pytest.fixture(scope="session")
def update_snapshots(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-snapshots"))
