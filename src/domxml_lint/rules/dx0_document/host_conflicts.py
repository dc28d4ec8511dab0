"""DX014-DX017: what two guests of one host cannot both have: a host device, a name, a
UUID, a fixed VNC/SPICE port."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Generic, NamedTuple, TypeVar

from ...guests import GuestFacts
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import QEMU

T = TypeVar("T")


class Clash(NamedTuple, Generic[T]):
    """An item of one guest whose key items of other guests share: ``group`` holds every
    item with the key, ``outside`` how many of them belong to other guests."""

    guest: GuestFacts
    item: T
    group: list[tuple[GuestFacts, T]]
    outside: int

    def peers(self) -> Iterator[tuple[GuestFacts, T]]:
        """The other guests' items, lazily (a group may hold thousands)."""
        return ((g, i) for g, i in self.group if g is not self.guest)


def clashes(
    items: Iterable[tuple[GuestFacts, T]], key: Callable[[T], Hashable]
) -> Iterator[Clash[T]]:
    """Each item that shares its key with items of *other* guests (linear in the items)."""
    by_key: dict[Hashable, list[tuple[GuestFacts, T]]] = defaultdict(list)
    for guest, item in items:
        by_key[key(item)].append((guest, item))
    for group in by_key.values():
        if len(group) < 2:
            continue
        per_guest = Counter(id(guest) for guest, _ in group)
        if len(per_guest) < 2:
            continue
        for guest, item in group:
            yield Clash(guest, item, group, len(group) - per_guest[id(guest)])


class Partition:
    """The guests of a clash group split by a key (their UUID, say), to find, for one
    guest, the others with its key and those without, lazily and without rescanning."""

    def __init__(self, group: Iterable[tuple[GuestFacts, object]], key) -> None:
        self.key = key
        self.parts: dict[Hashable, list[GuestFacts]] = defaultdict(list)
        for guest, _ in group:
            self.parts[key(guest)].append(guest)
        self.total = sum(len(part) for part in self.parts.values())

    def same(self, guest: GuestFacts) -> tuple[Iterator[GuestFacts], int]:
        part = self.parts[self.key(guest)]
        return (g for g in part if g is not guest), len(part) - 1

    def different(self, guest: GuestFacts) -> tuple[Iterator[GuestFacts], int]:
        mine = self.key(guest)
        rest = (part for key, part in self.parts.items() if key != mine)
        return itertools.chain.from_iterable(rest), self.total - len(self.parts[mine])


def uuid_text(digits: str) -> str:
    """32 hex digits as libvirt prints a UUID: ``8-4-4-4-12``."""
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


@plan_rule(
    code="DX014",
    name="hostdev-shared",
    severity="error",
    summary="One host PCI or USB device assigned to two guests of a host",
    domains=QEMU,
    libvirt=("virHostdevIsPCINodeDeviceUsed", "virHostdevMarkUSBDevices"),
)
def hostdev_shared(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds a host PCI device (`<hostdev type='pci'>` or `<interface
    type='hostdev'>`, by its source address) or USB device (by bus and device,
    or by vendor and product) that more than one guest of the host assigns.
    Each guest gets a finding that points at the others.

    ## Why is this bad?
    A device can be assigned to one running guest at a time. While one guest
    runs, starting the other fails: "PCI device 0000:21:00.0 is in use by
    driver QEMU, domain web-01" (or "USB device ... is in use by driver QEMU,
    domain ..."). Guests that are never meant to run together (a GPU handed
    from one desktop guest to another) can keep it; suppress the finding in
    one of them.

    ## Example
    `db-01.xml` and `db-02.xml` both with
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source>
    </hostdev>
    ```

    ## Use instead
    A device of its own for each guest: another NVMe, or an SR-IOV virtual
    function of the same NIC per guest.

    ## Fix safety
    No fix: which guest keeps the device is the author's choice.

    ## Source
    libvirt src/hypervisor/virhostdev.c `virHostdevIsPCINodeDeviceUsed` ("PCI
    device %1$s is in use by driver %2$s, domain %3$s") and
    `virHostdevMarkUSBDevices` ("USB device %1$s is in use by driver %2$s,
    domain %3$s"); guide 5.3 and 9.3.11 (device assignment).
    """
    items = [(guest, use) for guest in ctx.guests for use in guest.hostdevs]
    for clash in clashes(items, lambda u: (u.kind, u.device)):
        guest, use = clash.guest, clash.item
        other = next(clash.peers())[0]
        related, more = others(
            (ctx.related(g, u.place, f"{g.label} assigns it too") for g, u in clash.peers()),
            clash.outside,
        )
        kind = use.kind.upper()
        yield ctx.finding(
            guest,
            use.place,
            f"{kind} device {use.device} is also assigned to {other.label}{more}: only one of "
            f'them can run at a time ("{kind} device {use.device} is in use by driver QEMU, '
            f'domain {other.name or other.path}")',
            related=related,
        )


@plan_rule(
    code="DX015",
    name="domain-name-duplicate",
    severity="error",
    summary="Two guests of a host with the same name",
    libvirt=("virDomainObjListAddLocked",),
)
def domain_name_duplicate(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds guests of one host with the same `<name>`. Two files with the same
    name and the same `<uuid>` are two definitions of one guest: defining
    both keeps only the second, so they are reported too (as a warning). A
    file with the name and UUID of a live domain (`--connect --all-domains`)
    is that domain's new definition and is not reported.

    ## Why is this bad?
    libvirt names a host's guests uniquely. Defining a guest whose name
    another guest has, with another UUID (or none, so libvirt makes one up),
    is refused: "domain 'web-01' already exists with uuid ...". Two files for
    one guest mean one of them is not what the host runs.

    ## Example
    `web-01.xml` and `web-01-copy.xml`, both `<name>web-01</name>`, with
    different UUIDs.

    ## Use instead
    A name of its own for each guest (and no `<uuid>` in a copy, so libvirt
    makes a new one).

    ## Fix safety
    No fix: which guest is renamed is the author's choice.

    ## Source
    libvirt src/conf/virdomainobjlist.c `virDomainObjListAddLocked` ("domain
    '%1$s' already exists with uuid %2$s").
    """
    named = [(guest, guest.name) for guest in ctx.guests if guest.name]
    partitions: dict[int, Partition] = {}
    for clash in clashes(named, lambda n: n):
        guest, name = clash.guest, clash.item
        # The same name and UUID is the same guest defined again; a UUID of its own (or
        # none, so libvirt makes one up) is another guest.
        by_uuid = partitions.get(id(clash.group))
        if by_uuid is None:
            by_uuid = partitions[id(clash.group)] = Partition(
                clash.group, lambda g: (g.uuid, g.kind) if g.uuid else id(g)
            )
        live = by_uuid.parts.get((guest.uuid, "domain"), []) if guest.uuid else []
        if guest.kind == "file" and live:
            continue  # this file is the live domain's next definition
        copies, copy_count = by_uuid.same(guest)
        different, different_count = by_uuid.different(guest)
        if guest.uuid:
            other_kind = (guest.uuid, "domain" if guest.kind == "file" else "file")
            different_count -= len(by_uuid.parts.get(other_kind, []))
            different = (g for g in different if g.uuid != guest.uuid)
        place = guest.name_place
        if different_count > 0:
            other = next(different)
            related, more = others(
                (
                    ctx.related(g, g.name_place, f"{g.label} is defined here")
                    for g in itertools.chain((other,), different)
                ),
                different_count,
            )
            uuid = f" with uuid {uuid_text(other.uuid)}" if other.uuid else ""
            yield ctx.finding(
                guest,
                place,
                f"another guest of this host is named '{name}' too{more}: libvirt refuses the "
                f"second definition (\"domain '{name}' already exists{uuid}\")",
                related=related,
            )
        elif guest.kind == "file" and copy_count:
            related, more = others(
                (ctx.related(g, g.name_place, "another definition of it") for g in copies),
                copy_count,
            )
            yield ctx.finding(
                guest,
                place,
                f"guest '{name}' is defined again, with the same UUID, in another file{more}: "
                "defining both keeps only the one defined last",
                related=related,
                severity="warning",
            )


@plan_rule(
    code="DX016",
    name="domain-uuid-duplicate",
    severity="error",
    summary="Two guests of a host with the same UUID and different names",
    libvirt=("virDomainObjListAddLocked",),
)
def domain_uuid_duplicate(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds guests of one host with the same `<uuid>` (with or without dashes,
    in any case) but different names.

    ## Why is this bad?
    The UUID identifies a guest to libvirt. Defining a guest with another
    guest's UUID and a different name is refused: "domain 'web-01' is already
    defined with uuid ...". A copied definition that kept the original's
    `<uuid>` is the usual cause.

    ## Example
    `web-01.xml` and `web-02.xml` with the same `<uuid>`.

    ## Use instead
    Remove the `<uuid>` from the copy: libvirt generates a new one when it
    defines it.

    ## Fix safety
    No fix: which guest keeps the UUID is the author's choice.

    ## Source
    libvirt src/conf/virdomainobjlist.c `virDomainObjListAddLocked` ("domain
    '%1$s' is already defined with uuid %2$s").
    """
    identified = [(guest, guest.uuid) for guest in ctx.guests if guest.uuid]
    partitions: dict[int, Partition] = {}
    for clash in clashes(identified, lambda u: u):
        guest, uuid = clash.guest, clash.item
        by_name = partitions.get(id(clash.group))
        if by_name is None:
            by_name = partitions[id(clash.group)] = Partition(clash.group, lambda g: g.name)
        renamed, renamed_count = by_name.different(guest)
        if not renamed_count:
            continue  # the same name too: domain-name-duplicate says it
        other = next(renamed)
        related, more = others(
            (
                ctx.related(g, g.uuid_place, f"{g.label} has it")
                for g in itertools.chain((other,), renamed)
            ),
            renamed_count,
        )
        yield ctx.finding(
            guest,
            guest.uuid_place,
            f"UUID {uuid_text(uuid)} is also the UUID of {other.label}{more}: libvirt refuses "
            f"the second definition (\"domain '{other.name}' is already defined with uuid "
            f'{uuid_text(uuid)}")',
            related=related,
        )


@plan_rule(
    code="DX017",
    name="graphics-port-duplicate",
    severity="error",
    summary="Two guests of a host with the same fixed VNC or SPICE port",
    domains=QEMU,
)
def graphics_port_duplicate(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds fixed graphics ports (`<graphics type='vnc' port=...>`,
    `websocket`, SPICE `port` and `tlsPort`, with `autoport` off) that more
    than one guest of the host uses on addresses that overlap: the same
    `listen` address, or one of them on every address (`0.0.0.0`, `::`) or on
    libvirt's default (no `listen`).

    ## Why is this bad?
    Only one process can listen on an address and port. While one guest runs,
    the other does not start: QEMU fails with "Failed to bind socket: Address
    already in use".

    ## Example
    Two guests with `<graphics type='vnc' port='5901' autoport='no'/>`.

    ## Use instead
    `autoport='yes'` (libvirt picks a free port from 5900 up), or a port of
    its own for each guest.

    ## Fix safety
    No fix: which guest moves is the author's choice.

    ## Source
    libvirt formatdomain, "Graphical framebuffers" (`port`, `autoport`,
    `websocket`, `tlsPort`, `<listen>`); QEMU ui/vnc.c and the SPICE server
    (they bind the port when the guest starts).
    """
    items = [(guest, use) for guest in ctx.guests for use in guest.ports]
    for clash in clashes(items, lambda u: u.port):
        guest, use = clash.guest, clash.item
        overlapping = [(g, u) for g, u in clash.peers() if _overlap(use.listen, u.listen)]
        if not overlapping:
            continue
        related, more = others(
            ctx.related(g, u.place, f"{g.label} listens on it") for g, u in overlapping
        )
        yield ctx.finding(
            guest,
            use.place,
            f"{use.type} {use.attribute} {use.port} is also used by {overlapping[0][0].label}"
            f'{more}: only one of them can run at a time (QEMU: "Failed to bind socket: '
            'Address already in use")',
            related=related,
        )


_ANY_ADDRESS = (None, "", "0.0.0.0", "::")


def _overlap(a: str | None, b: str | None) -> bool:
    return a in _ANY_ADDRESS or b in _ANY_ADDRESS or a == b
