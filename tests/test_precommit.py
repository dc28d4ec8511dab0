"""The pre-commit hook, run by real pre-commit in a temporary git repository.

pre-commit installs hooks from a git commit, so the checkout's current files
(tracked and new, as git sees them) are first committed into a scratch copy;
the test thus covers the working tree, not just the last commit. pre-commit
then builds its own virtualenv and pip-installs domxml-lint into it (setuptools
comes from the package index), once per test session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import IN_CI, REPO
from samples import NATIVE, NATIVE_FIXED, NOT_DOMAIN, write

pytestmark = pytest.mark.slow  # every test here installs packages or runs pre-commit

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "domxml-lint tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "domxml-lint tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def _unavailable(reason: str):
    if IN_CI:
        pytest.fail(f"CI=true but the pre-commit test cannot run: {reason}")
    pytest.skip(reason)


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_IDENTITY, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    env.pop("NO_COLOR", None)
    return env


def _git(*args: str, cwd: Path, env: dict) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, dict]:
    """A git repository holding the checkout's current files, and pre-commit's env."""
    if shutil.which("git") is None:
        _unavailable("git is not installed")
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        _unavailable("pre-commit is not installed (pip install -e '.[test]')")
    base = tmp_path_factory.mktemp("precommit")
    env = _env(base / "pre-commit-home")
    if (REPO / ".git").exists():
        listed = _git(
            "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO, env=env
        )
        files = [name for name in listed.split("\0") if name and (REPO / name).is_file()]
    else:
        _unavailable(f"{REPO} is not a git checkout")
    snapshot = base / "domxml-lint"
    for name in files:
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    _git("init", "-q", cwd=snapshot, env=env)
    _git("add", "-A", cwd=snapshot, env=env)
    _git("commit", "-q", "-m", "snapshot for the pre-commit test", cwd=snapshot, env=env)
    return snapshot, env


@pytest.fixture
def project(tmp_path, hook_repo) -> Path:
    _snapshot, env = hook_repo
    _git("init", "-q", cwd=tmp_path, env=env)
    return tmp_path


def pre_commit(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_hook_fails_on_a_bad_file_and_prints_the_finding(project, hook_repo):
    snapshot, env = hook_repo
    write(project, "vm.xml", NATIVE)
    write(project, "pom.xml", "<project><modelVersion>4.0.0</modelVersion></project>\n")
    _git("add", "-A", cwd=project, env=env)
    result = pre_commit(
        "try-repo",
        str(snapshot),
        "domxml-lint",
        "--files",
        "vm.xml",
        "pom.xml",
        cwd=project,
        env=env,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "domxml-lint" in output and "Failed" in output
    assert "vm.xml:7:38: DX404 [*] disk 'vda': io='native' with no cache mode" in output
    assert (project / "vm.xml").read_text() == NATIVE


def test_hook_passes_on_clean_and_non_domain_xml(project, hook_repo):
    snapshot, env = hook_repo
    write(project, "vm.xml", NATIVE_FIXED)
    write(project, "net.xml", NOT_DOMAIN)
    _git("add", "-A", cwd=project, env=env)
    result = pre_commit(
        "try-repo",
        str(snapshot),
        "domxml-lint",
        "--files",
        "vm.xml",
        "net.xml",
        cwd=project,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


def test_hook_with_fix_fixes_and_pre_commit_reports_it(project, hook_repo):
    snapshot, env = hook_repo
    rev = _git("rev-parse", "HEAD", cwd=snapshot, env=env).strip()
    write(
        project,
        ".pre-commit-config.yaml",
        (
            "repos:\n"
            f"  - repo: {snapshot}\n"
            f"    rev: {rev}\n"
            "    hooks:\n"
            "      - id: domxml-lint\n"
            "        args: [--fix]\n"
        ),
    )
    write(project, "guests/vm.xml", NATIVE)
    _git("add", "-A", cwd=project, env=env)
    result = pre_commit("run", "--files", "guests/vm.xml", cwd=project, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "files were modified by this hook" in output
    assert (project / "guests" / "vm.xml").read_text() == NATIVE_FIXED
    again = pre_commit("run", "--files", "guests/vm.xml", cwd=project, env=env)
    assert again.returncode == 0, again.stdout + again.stderr


def test_hook_definition():
    text = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "- id: domxml-lint" in text and "entry: domxml-lint" in text
    assert "types: [xml]" in text and "language: python" in text
