"""Count the libvirt checks the rules reproduce, per area and class, from docs/libvirt-coverage.tsv.

    python tools/libvirt_coverage.py            # a table
    python tools/libvirt_coverage.py --json

docs/libvirt-coverage.tsv has one row per check of libvirt 10.7 on a QEMU
definition (from ../shared/docs/libvirt-checks.md): its area, function, file and
line, stage, class (X: the XML alone, C: plus QEMU capabilities, H: plus host
facts, R: only at run time), message, the rule codes that reproduce it, and a
note (why a row is left, or that a rule covers it partly).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "docs" / "libvirt-coverage.tsv"
AREAS = {
    "3.1": "disk", "3.2": "controller", "3.3": "addresses", "3.4": "net", "3.5": "hostdev",
    "3.6": "chardev", "3.7": "graphics/video", "3.8": "input", "3.9": "sound/audio",
    "3.10": "TPM", "3.11": "shmem", "3.12": "memory/NUMA", "3.13": "CPU/topology",
    "3.14": "firmware/OS/boot", "3.15": "features", "3.16": "iommu", "3.17": "iothreads",
    "3.18": "cputune/numatune", "3.19": "seclabel", "3.20": "sysinfo/smbios",
    "3.21": "wdog/panic/rng/vsock/balloon", "3.22": "filesystem", "3.23": "clock/timers",
    "3.24": "launch security", "3.25": "misc",
}  # fmt: skip


def rows(path: Path = TABLE) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def counts(table: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    """area -> {"X": n, "X ported": n, "C": ..., "left with a reason": n}."""
    result: dict[str, Counter[str]] = {}
    for row in table:
        area = AREAS.get(row["area"], row["area"])
        tally = result.setdefault(area, Counter())
        tally[row["class"]] += 1
        if row["rule"]:
            tally[f"{row['class']} ported"] += 1
        elif row["note"]:
            tally[f"{row['class']} left"] += 1
    return {area: dict(tally) for area, tally in result.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    table = counts(rows())
    if args.json:
        json.dump(table, sys.stdout, indent=2)
        print()
        return 0
    total: Counter[str] = Counter()
    print(f"{'area':30} {'X ported':>10} {'X left':>7} {'C ported':>10} {'C left':>7}")
    for area, tally in table.items():
        total.update(tally)
        print(
            f"{area:30} {tally.get('X ported', 0):>4}/{tally.get('X', 0):<5} "
            f"{tally.get('X left', 0):>7} {tally.get('C ported', 0):>4}/{tally.get('C', 0):<5} "
            f"{tally.get('C left', 0):>7}"
        )
    print(
        f"{'all':30} {total['X ported']:>4}/{total['X']:<5} {total['X left']:>7} "
        f"{total['C ported']:>4}/{total['C']:<5} {total['C left']:>7}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
