"""Small message helpers shared by the CPU and NUMA rules (not a rule module)."""

from __future__ import annotations

from collections.abc import Collection

from ..cpuset import format_cpuset


def vcpu_list(ids: Collection[int]) -> str:
    """``vCPU 3`` or ``vCPUs 0-1,4``: a set of vCPU ids in libvirt's cpuset form."""
    noun = "vCPU" if len(ids) == 1 else "vCPUs"
    return f"{noun} {format_cpuset(frozenset(ids))}"
