"""atheris fuzzer for parse -> lint -> fix; see fuzz/README.md for how to run it.

Half of the mutations are libFuzzer's byte-level ones (for the parser, the
source map, suppression comments); the other half are XML-aware: they parse
the input and change an attribute value, a text node, or duplicate or drop an
element, using values the rules care about (cpusets, sizes, cache modes), so
the rules see definitions that are well-formed but wrong in interesting ways.
"""

from __future__ import annotations

import copy
import random
import sys

import atheris

with atheris.instrument_imports(include=["domxml_lint"]):
    import harness

    import domxml_lint.api  # noqa: F401  (instrument the whole package)

    harness.linter()  # imports every rule module now, so that they are instrumented too

from lxml import etree

INTERESTING_VALUES = [
    "0",
    "1",
    "2",
    "4",
    "7",
    "8",
    "64",
    "255",
    "256",
    "4096",
    "16383",
    "16384",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "+3",
    " 5 ",
    "",
    "x",
    "0-3",
    "0-3,^2",
    "0,^0",
    "^0",
    "3-1",
    "0-16383",
    "0-7,8-15",
    "1,2,3,",
    ",",
    "0--1",
    "none",
    "writeback",
    "writethrough",
    "directsync",
    "unsafe",
    "default",
    "native",
    "threads",
    "io_uring",
    "unmap",
    "KiB",
    "MiB",
    "GiB",
    "TiB",
    "b",
    "bytes",
    "k",
    "KB",
    "XiB",
    "kvm",
    "qemu",
    "xen",
    "lxc",
    "hvf",
    "test",
    "strict",
    "interleave",
    "preferred",
    "restrictive",
    "auto",
    "static",
    "host-passthrough",
    "host-model",
    "custom",
    "shared",
    "private",
    "virtio",
    "e1000",
    "rtl8139",
    "vhost",
    "virtio-scsi",
    "lsilogic",
    "usb",
    "sata",
    "ide",
    "scsi",
    "0x0000",
    "0x1f",
    "010",
    "domxml-lint: disable=DX401",
    "domxml-lint: disable-file=ALL",
    "domxml-lint: disable=",
    "\u00e9t\u00e9",
    "a'b\"c<&>",
]
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def structural_mutation(data: bytes, seed: int) -> bytes | None:
    rng = random.Random(seed)
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError:
        return None
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    target = rng.choice(elements)
    action = rng.randrange(6)
    if action == 0 and target.attrib:
        target.set(rng.choice(list(target.attrib)), rng.choice(INTERESTING_VALUES))
    elif action == 1:
        target.set(
            rng.choice(
                [
                    "cache",
                    "io",
                    "cpuset",
                    "nodeset",
                    "vcpu",
                    "unit",
                    "queues",
                    "mode",
                    "type",
                    "memory",
                    "cpus",
                    "id",
                    "current",
                ]
            ),
            rng.choice(INTERESTING_VALUES),
        )
    elif action == 2 and len(target) == 0:
        target.text = rng.choice(INTERESTING_VALUES)
    elif action == 3 and target is not root:
        target.addnext(copy.deepcopy(target))
    elif action == 4 and target is not root:
        target.getparent().remove(target)
    else:
        target.addprevious(etree.Comment(rng.choice(INTERESTING_VALUES).replace("--", "")))
    return etree.tostring(root)


def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
    if seed % 2:
        try:
            mutated = structural_mutation(data, seed)
        except (ValueError, TypeError, etree.LxmlError):
            mutated = None  # lxml refused the change (e.g. a value it cannot store)
        if mutated is not None and len(mutated) <= max_size:
            return mutated
    return atheris.Mutate(data, max_size)


def test_one_input(data: bytes) -> None:
    harness.check(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()
