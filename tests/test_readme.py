"""The README's commands are the ones CI runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from helpers import REPO


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, re.S)


def test_ci_runs_the_readme_commands():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    blocks = _code_blocks(readme)
    try_it = next(b for b in blocks if "fixtures/xml/examples" in b).strip().splitlines()[-1]
    tests = next(b for b in blocks if "pytest" in b).strip()
    assert try_it.startswith("pip install . && domxml-lint fixtures/xml/examples")
    assert "domxml-lint fixtures/xml/examples" in ci and "pip install -q ." in ci
    assert tests.replace("pip install", "python -m pip install -q") in ci


def test_the_readme_promises_no_tag_the_repository_lacks():
    """Install lines, pre-commit revs and Actions steps must work today (issue 18, D5)."""
    readme = (REPO / "README.md").read_text()
    promised = set(re.findall(r"@(v?\d+(?:\.\d+)+)\b", readme))
    promised |= set(re.findall(r"\brev:\s*['\"]?(v?\d[\w.]*)", readme))
    promised |= set(re.findall(r"--branch[ =](v?\d[\w.]*)", readme))
    listing = subprocess.run(
        ["git", "-C", str(REPO), "tag", "--list"], capture_output=True, text=True
    )
    if listing.returncode != 0:
        pytest.skip("not a git checkout: no tags to compare with")
    tags = set(listing.stdout.split())
    assert promised <= tags, f"README uses tags that do not exist: {sorted(promised - tags)}"


def test_the_readme_installs_nothing_from_a_package_index():
    # Nothing is published: `pip install domxml-lint` would fail (or install someone else's).
    readme = (REPO / "README.md").read_text()
    from_index = re.findall(r"pip install ['\"]?domxml-lint(?:\[[\w,]+\])?['\"]?(?:\s|$|`)", readme)
    assert not from_index, from_index


def test_the_readme_apt_line_has_what_building_libvirt_python_needs():
    """D6: the apt line builds libvirt-python and matches what CI installs."""
    readme = (REPO / "README.md").read_text()
    (line,) = [row for row in readme.splitlines() if row.startswith("apt-get install ")]
    packages = set(line.split()[2:])
    assert {"gcc", "python3-dev", "python3-venv", "pkg-config", "libvirt-dev"} <= packages
    ci = (REPO / ".ci" / "run").read_text()
    ci_packages = set(re.search(r"apt_packages=\((.*?)\)", ci).group(1).split())
    assert packages == ci_packages - {"python3"}, "README and .ci/run install the same"


def test_the_readme_says_what_the_shared_corpus_is_and_that_its_tests_skip():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Run the tests") : readme.index("## Install")]
    assert "../shared/corpus" in section and "2909 domain" in section
    assert "skip" in section and "CI=true" in section


def test_the_readmes_first_example_is_what_the_command_prints():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```console\n\$ (domxml-lint [^\n]*)\n(.*?)```", readme, re.S)
    assert block is not None
    command, shown = block.group(1).split(), block.group(2)
    done = subprocess.run(
        [sys.executable, "-m", "domxml_lint", "--no-config", *command[1:]],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert done.stdout == shown, done.stderr
