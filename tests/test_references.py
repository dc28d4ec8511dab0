"""Rule pages cite the guide by English section titles and link libvirt's documentation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domxml_lint.docs import render_rule_page
from domxml_lint.plugins import load_ruleset
from domxml_lint.references import (
    ELEMENT_SECTIONS,
    FORMATDOMAIN_SECTIONS,
    GUIDE_SECTIONS,
    GUIDE_URL,
    guide_sections,
    rule_references,
)
from helpers import IN_CI, SHARED, run_cli

SEED = SHARED / "seed" / "000_22d03f663bd7c56a.txt"
# What Debian's libvirt-doc installs (README's apt line; .ci/run installs it).
FORMATDOMAIN_HTML = Path("/usr/share/doc/libvirt-doc/html/formatdomain.html")
RULES = list(load_ruleset(entry_points=False))


def _required(path: Path, what: str) -> Path:
    if not path.is_file():
        if IN_CI:
            pytest.fail(f"CI=true but {path} is missing ({what})")
        pytest.skip(f"{path} is missing ({what})")
    return path


def test_every_guide_section_a_rule_cites_is_known():
    unknown = [(r.code, n) for r in RULES for n in guide_sections(r.doc) if n not in GUIDE_SECTIONS]
    assert unknown == []


def test_citation_forms():
    text = "Guide 7.2 (缓存); guide 9.3.10, the guide's example (9.3.2), guide chapter 5."
    assert guide_sections(text) == ["7.2", "9.3.10", "9.3.2", "5"]
    assert guide_sections("the guide gives, 100 MiB") == []


def test_guide_numbers_are_the_seed_guides_headings():
    seed = _required(SEED, "the seed guide in ../shared").read_text(encoding="utf-8")
    chapters = set(re.findall(r"第\s*(?:第\s*)?(\d+)\s*章", seed))
    sections = set(re.findall(r"^\s*(\d+(?:\.\d+)+)\.\s", seed, flags=re.M))
    missing = [n for n in GUIDE_SECTIONS if n not in (sections if "." in n else chapters)]
    assert missing == []


def test_formatdomain_anchors_exist_in_libvirts_page():
    page = _required(FORMATDOMAIN_HTML, "apt-get install libvirt-doc").read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    assert sorted(set(FORMATDOMAIN_SECTIONS) - ids) == []
    assert set(ELEMENT_SECTIONS.values()) <= set(FORMATDOMAIN_SECTIONS)


def test_every_rule_outside_dx0_has_a_reference():
    missing = [r.code for r in RULES if not r.code.startswith("DX0") and not rule_references(r)]
    assert missing == [], "cite the guide section or quote the formatdomain section title"


def test_page_lists_english_titles_and_links():
    rule = next(r for r in RULES if r.code == "DX401")
    page = render_rule_page(rule)
    section = page.split("## References", 1)[1].split("## Suppress it", 1)[0]
    assert section.strip().splitlines() == [
        "- [Red Hat Enterprise Linux 7 Virtualization Tuning and Optimization Guide, "
        f"§7.2 Caching]({GUIDE_URL})",
        "- [libvirt: Domain XML format, Hard drives, floppy disks, CDROMs]"
        "(https://libvirt.org/formatdomain.html#hard-drives-floppy-disks-cdroms)",
    ]


def test_references_in_json_and_sarif(tmp_path):
    vm = tmp_path / "vm.xml"
    vm.write_text(
        "<domain type='kvm'><name>v</name><memory unit='GiB'>1</memory><devices>"
        "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='unsafe'/>"
        "<source file='/a.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    found = json.loads(run_cli("--select", "DX401", "--output-format", "json", str(vm)).stdout)
    assert [r["title"].split(", ")[-1] for r in found[0]["references"]] == [
        "§7.2 Caching",
        "CDROMs",
    ]
    sarif = json.loads(run_cli("--select", "DX401", "--output-format", "sarif", str(vm)).stdout)
    (descriptor,) = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert descriptor["properties"]["references"] == found[0]["references"]
    rules = json.loads(run_cli("rules", "--select", "DX401", "--output-format", "json").stdout)
    assert rules[0]["references"] == found[0]["references"]


def test_a_libvirt_function_names_its_section():
    from domxml_lint.references import function_section

    assert function_section("qemuValidateDomainDeviceDefDiskFrontend") == (
        "hard-drives-floppy-disks-cdroms"
    )
    assert function_section("virDomainHostdevDefValidate") == "host-device-assignment"
    assert function_section("qemuValidateDomainDefNuma") == "cpu-model-and-topology"
    assert function_section("virDomainNumatuneParseXML") == "numa-node-tuning"
    assert function_section("virDomainDefParseXML") is None
