"""Small message helpers shared by the CPU and NUMA rules (not a rule module)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from ..cpuset import format_cpuset
from ..units import format_kib


def vcpu_list(ids: Collection[int]) -> str:
    """``vCPU 3`` or ``vCPUs 0-1,4``: a set of vCPU ids in libvirt's cpuset form."""
    noun = "vCPU" if len(ids) == 1 else "vCPUs"
    return f"{noun} {format_cpuset(frozenset(ids))}"


def approx_kib(kib: int) -> str:
    """A host size for messages: ``64 GiB`` when exact, else ``63.8 GiB``."""
    exact = format_kib(kib)
    if not exact.endswith(" KiB") or kib < 1024:
        return exact
    if kib >= 1024**2:
        return f"{kib / 1024**2:.1f} GiB"
    return f"{kib / 1024:.1f} MiB"


def describe_nodes(nodes: Iterable[int]) -> str:
    """``node 1`` or ``nodes 0-1``."""
    ids = frozenset(nodes)
    return f"{'node' if len(ids) == 1 else 'nodes'} {format_cpuset(ids)}"
