"""Which files a run checks: paths as given, directories walked for ``*.xml``, minus exclusions.

As in ruff:

- ``exclude`` (default: hidden directories, ``.*/``) replaces the default;
  ``extend-exclude`` adds to it. Patterns in a config file are relative to that
  file's directory, patterns on the command line to the current directory.
  A pattern without a ``/`` matches a file or directory name at any depth; a
  trailing ``/`` matches directories only (as in ``.gitignore``).
- Walking a directory skips what git ignores (``.gitignore`` files,
  ``.git/info/exclude``, the global excludes file), unless
  ``respect-gitignore = false`` or ``--no-respect-gitignore``. Git itself
  decides, so its rules are followed exactly; without git, or outside a work
  tree, nothing is ignored.
- Paths given explicitly are always checked, unless ``force-exclude`` is on:
  then ``exclude`` and ``extend-exclude`` apply to them too (pre-commit passes
  every staged file by name).

Which config's settings apply to a path is decided by the config that applies
to it (the nearest one above it, as for linting).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence

from ._records import NamedTuple
from .config import Config, ConfigResolver, ExcludePattern, exclude_patterns
from .errors import InputError
from .report import FileResult

#: What ``exclude`` is unless a config or ``--exclude`` replaces it: hidden directories
#: (``.git``, ``.tox``, ``.venv``).
DEFAULT_EXCLUDE = (".*/",)


class DiscoveryOverrides(NamedTuple):
    """What the command line says about exclusions; None where it says nothing."""

    exclude: tuple[str, ...] | None = None
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool | None = None
    force_exclude: bool | None = None


class Discovery:
    """Finds the files to check and says why others were left out."""

    def __init__(
        self, resolver: ConfigResolver, overrides: DiscoveryOverrides, *, cwd: str | None = None
    ) -> None:
        self.resolver = resolver
        self.overrides = overrides
        self.cwd = os.path.abspath(cwd or os.getcwd())
        self._cli_exclude = (
            None
            if overrides.exclude is None
            else exclude_patterns(overrides.exclude, self.cwd, "--exclude")
        )
        self._cli_extend = exclude_patterns(overrides.extend_exclude, self.cwd, "--extend-exclude")
        self._default = exclude_patterns(DEFAULT_EXCLUDE, self.cwd, "default")
        self._patterns: dict[int, tuple[ExcludePattern, ...]] = {}
        #: Paths left out, and why (for --verbose).
        self.excluded: list[tuple[str, str]] = []
        self.git_ignored = 0

    # -- settings per config ---------------------------------------------------------------

    def patterns(self, config: Config) -> tuple[ExcludePattern, ...]:
        """The exclusions that apply under ``config``: exclude (or its default), extend-exclude."""
        key = id(config)
        if key not in self._patterns:
            base = self._cli_exclude
            if base is None:
                base = config.exclude if config.exclude is not None else self._default
            self._patterns[key] = (*base, *config.extend_exclude, *self._cli_extend)
        return self._patterns[key]

    def respect_gitignore(self, config: Config) -> bool:
        if self.overrides.respect_gitignore is not None:
            return self.overrides.respect_gitignore
        return config.respect_gitignore is not False

    def force_exclude(self, config: Config) -> bool:
        if self.overrides.force_exclude is not None:
            return self.overrides.force_exclude
        return bool(config.force_exclude)

    def exclusion(self, path: str, *, is_dir: bool, ancestors: bool = False) -> str | None:
        """The pattern that excludes ``path`` (``'PATTERN' from SOURCE``), or None."""
        full = os.path.abspath(path)
        config = self.resolver.for_path(full)
        for pattern in self.patterns(config):
            if pattern.matches(full, is_dir=is_dir, ancestors=ancestors):
                return f"{pattern.pattern!r} from {pattern.source}"
        return None

    def stdin_excluded(self, name: str) -> str | None:
        """With force-exclude, why the document named by --stdin-filename is excluded."""
        if not self.force_exclude(self.resolver.for_path(os.path.abspath(name))):
            return None
        return self.exclusion(name, is_dir=False, ancestors=True)

    # -- finding the files -----------------------------------------------------------------

    def files(self, paths: Sequence[str], *, warn: bool = True) -> Iterator[str | FileResult]:
        """Files to check, in order: files as given, directories searched recursively.

        A path that does not exist yields an error result in its place; each
        file comes once.
        """
        seen: set[str] = set()
        for path in paths:
            if os.path.isdir(path):
                unreadable: list[OSError] = []
                found = sorted(self._walk(path, unreadable.append))
                if not found and not unreadable and warn:
                    print(
                        f"domxml-lint: warning: no *.xml files under {path} (pass domain XML "
                        "files, or a directory that holds some)",
                        file=sys.stderr,
                    )
                for file in found:
                    if file not in seen:
                        seen.add(file)
                        yield file
                for problem in unreadable:
                    where = problem.filename or path
                    yield FileResult(
                        where,
                        error=InputError(
                            where,
                            f"cannot search this directory: {problem.strerror or problem}",
                            hint="check its permissions; files in it were not checked",
                        ),
                    )
            elif os.path.exists(path) or os.path.islink(path):
                if path in seen:
                    continue
                config = self.resolver.for_path(os.path.abspath(path))
                if self.force_exclude(config):
                    why = self.exclusion(path, is_dir=False, ancestors=True)
                    if why is not None:
                        self.excluded.append((path, why))
                        continue
                seen.add(path)
                yield path
            else:
                yield FileResult(
                    path, error=InputError(path, "no such file or directory", hint="check the path")
                )

    def _walk(self, top: str, onerror: Callable[[OSError], object]) -> Iterator[str]:
        config = self.resolver.for_path(os.path.join(os.path.abspath(top), "x.xml"))
        ignored = git_ignored(top) if self.respect_gitignore(config) else set()
        for directory, subdirs, files in os.walk(top, onerror=onerror):
            prefix = os.path.join(directory, "")  # os.path.join per file is most of a big walk
            kept = []
            for name in sorted(subdirs):
                path = prefix + name
                if os.path.normpath(path) + os.sep in ignored:
                    self.git_ignored += 1
                    continue
                why = self.exclusion(path, is_dir=True)
                if why is None:
                    kept.append(name)
                else:
                    self.excluded.append((path, why))
            subdirs[:] = kept
            candidates = [prefix + name for name in files if name.lower().endswith(".xml")]
            if not candidates:
                continue
            file_patterns = any(
                not p.dirs_only for p in self.patterns(self.resolver.for_path(candidates[0]))
            )
            for path in candidates:
                if ignored and os.path.normpath(path) in ignored:
                    self.git_ignored += 1
                    continue
                why = self.exclusion(path, is_dir=False) if file_patterns else None
                if why is None:
                    yield path
                else:
                    self.excluded.append((path, why))


def git_ignored(top: str) -> set[str]:
    """Paths below ``top`` that git ignores, as ``os.path.normpath(os.path.join(top, p))``
    (directories git ignores whole end with ``os.sep``); empty outside a git work tree."""
    if not _inside_work_tree(os.path.abspath(top)):
        return set()
    import subprocess  # only walks inside a git work tree pay for it

    try:
        listing = subprocess.run(
            [
                "git",
                "-C",
                top,
                "ls-files",
                "-z",
                "--others",
                "--ignored",
                "--exclude-standard",
                "--directory",
                "--",
                ".",
            ],
            capture_output=True,
            check=False,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return set()  # no git: nothing is ignored
    if listing.returncode != 0:
        return set()
    ignored = set()
    for raw in listing.stdout.split(b"\0"):
        if not raw:
            continue
        name = os.fsdecode(raw)
        path = os.path.normpath(os.path.join(top, name))
        if path == os.path.normpath(top):
            return set()  # the directory itself is ignored: it was asked for by name
        ignored.add(path + os.sep if name.endswith("/") else path)
    return ignored


def _inside_work_tree(directory: str) -> bool:
    """Whether ``directory`` or one above it holds ``.git`` (saves running git elsewhere)."""
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent
