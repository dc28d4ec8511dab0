"""Shared test configuration: where the fixtures and the shared corpus live."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from domxml_lint.schema import SCHEMA_DIR_ENV  # noqa: E402
from helpers import CORPUS, IN_CI, SCHEMAS, TERMINAL_REPORTS  # noqa: E402
from libvirt_helpers import embedded  # noqa: E402, F401  (one QEMU driver per process)

# schema-invalid (DX002) validates against libvirt's schema. The tests use libvirt 10.7's,
# from the shared corpus, in this process and in every CLI they start, so that findings do
# not depend on the libvirt this machine has.
if (SCHEMAS / "domain.rng").is_file():
    os.environ[SCHEMA_DIR_ENV] = str(SCHEMAS)


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


@pytest.fixture(scope="session")
def schemas() -> Path:
    """libvirt 10.7's schemas beside the corpus; skips only outside CI when absent."""
    if not (SCHEMAS / "domain.rng").is_file():
        if IN_CI:
            pytest.fail(f"CI=true but libvirt's schemas are missing at {SCHEMAS}")
        pytest.skip(f"libvirt's schemas not found at {SCHEMAS}")
    return SCHEMAS


def pytest_terminal_summary(terminalreporter) -> None:
    """Figures tests measured (libvirt agreement), shown without ``-s``."""
    for report in TERMINAL_REPORTS:
        terminalreporter.write_sep("-", report.splitlines()[0])
        for line in report.splitlines()[1:]:
            terminalreporter.write_line(line)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI=true a libvirt test may not skip: CI installs libvirt and QEMU to prove things."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("libvirt") is not None:
        report.outcome = "failed"
        report.longrepr = f"CI=true but this libvirt test skipped: {report.longrepr}"
