"""schema-invalid (DX002): finding libvirt's schema, the messages, locations, settings and cost.

Every test that validates uses libvirt 10.7's schemas from the shared corpus (the
``schemas`` fixture); conftest points DOMXML_LINT_SCHEMA_DIR there for the whole session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from lxml import etree

from domxml_lint import schema as schema_module
from domxml_lint.api import build_linter
from domxml_lint.document import Document
from domxml_lint.rules.dx0_document import schema_invalid as schema_rule
from domxml_lint.schema import SCHEMA_DIR_ENV, Walker, load_schema, locate_schema
from helpers import REPO, run_cli
from samples import OS_Q35, domain


def guest(devices: str = "", extra: str = "") -> str:
    """A q35 guest; ``extra`` goes on line 6, after <os>."""
    return domain(extra, devices=devices, name="t", os=OS_Q35)


def disk(driver: str = "<driver name='qemu' type='raw'/>", target: str = "vda") -> str:
    return (
        "    <disk type='file' device='disk'>\n"
        f"      {driver}\n"
        "      <source file='/var/lib/libvirt/images/t.img'/>\n"
        f"      <target dev='{target}' bus='virtio'/>\n"
        "    </disk>\n"
    )


def findings(text: str):
    doc = Document.parse(text.encode(), "t.xml")
    return build_linter(select=["DX002"]).check(doc).findings


def messages(text: str) -> list[str]:
    return [f.message for f in findings(text)]


@pytest.fixture(autouse=True)
def _schema(schemas):
    return schemas


# -- what the findings say, and where ---------------------------------------------------------


def test_a_valid_domain_has_no_finding():
    assert findings(guest(disk())) == []


def test_unknown_element_names_the_nearest_one_and_points_at_it():
    text = guest(extra="  <currentMemroy unit='GiB'>1</currentMemroy>\n")
    (finding,) = findings(text)
    assert finding.message.startswith(
        "Unknown element <currentMemroy> in <domain>; did you mean <currentMemory>?"
    )
    assert "libvirt ignores it" in finding.message
    assert (finding.line, finding.column) == (6, 3)
    assert finding.path == "/domain/currentMemroy"
    # libvirt's parser skips names it does not know: a warning, not a refusal
    assert finding.severity.value == "warning" and finding.fix is None


def test_unknown_attribute_is_a_warning():
    text = guest(disk("<driver name='qemu' type='raw' cahce='none'/>"))
    (finding,) = findings(text)
    assert finding.message.startswith("Unknown attribute 'cahce' in element 'driver'")
    assert finding.severity.value == "warning"


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ("  <title></title>\n", "title"),
        ("  <uuid></uuid>\n", "uuid"),
        ("  <sysinfo type='smbios'>\n    <bios></bios>\n  </sysinfo>\n", "bios"),
    ],
)
def test_an_empty_element_libvirt_reads_as_absent_is_a_warning(extra, name):
    # vagrant-libvirt writes <title></title>, KubeVirt <bios></bios>; virsh define takes both
    (finding,) = findings(guest(extra=extra))
    assert f"libvirt reads an empty <{name}> as absent and accepts the domain" in finding.message
    assert finding.severity.value == "warning"


def test_empty_kernel_and_initrd_are_warnings():
    text = domain(
        os="  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
        "    <kernel></kernel>\n    <initrd></initrd>\n  </os>\n",
        name="t",
    )
    found = findings(text)
    assert [f.severity.value for f in found] == ["warning", "warning"]
    assert all("as absent" in f.message for f in found)


@pytest.mark.parametrize(
    "extra",
    [
        "  <title>two\nlines</title>\n",  # libvirt: "title can't contain newlines"
        "  <uuid>not-a-uuid</uuid>\n",  # libvirt: "malformed uuid element"
    ],
)
def test_a_wrong_value_in_those_elements_stays_an_error(extra):
    (finding,) = findings(guest(extra=extra))
    assert finding.severity.value == "error"
    assert "as absent" not in finding.message


def test_an_empty_name_stays_an_error():
    # libvirt refuses a domain without a name ("missing name information")
    found = findings(guest().replace("<name>t</name>", "<name></name>"))
    assert [f.severity.value for f in found] == ["error"]


def test_bad_enumeration_value_lists_the_allowed_ones_in_libvirts_words():
    text = guest(disk("<driver name='qemu' type='raw' cache='unsafee'/>"))
    (finding,) = findings(text)
    assert finding.message == (
        "Invalid value for attribute 'cache' in element 'driver': 'unsafee'. Expected one of: "
        "default, none, writeback, writethrough, directsync, unsafe (did you mean 'unsafe'?)"
    )
    # At the attribute, not the element.
    line = text.splitlines()[finding.line - 1]
    assert line[finding.column - 1 :].startswith("cache='unsafee'")


def test_unknown_attribute_suggests_the_nearest_name():
    (message,) = messages(guest(disk("<driver name='qemu' type='raw' cahce='none'/>")))
    assert message.startswith(
        "Unknown attribute 'cahce' in element 'driver'; did you mean 'cache'?"
    )


def test_attribute_known_elsewhere_is_not_allowed_here():
    (message,) = messages(guest(disk("<driver name='qemu' type='raw' model='virtio'/>")))
    assert message.startswith("Attribute 'model' is not allowed in element 'driver' here (allowed")


def test_missing_required_element_and_attribute():
    no_target = guest(
        "    <disk type='file' device='disk'>\n"
        "      <source file='/var/lib/libvirt/images/t.img'/>\n"
        "    </disk>\n"
    )
    assert messages(no_target) == ["Missing required element <target> in <disk>"]
    no_dev = guest(disk().replace("dev='vda' ", ""))
    assert messages(no_dev) == ["Missing required attribute 'dev' in element 'target'"]


def test_attribute_values_that_only_fail_together():
    text = guest(disk().replace("device='disk'", "device='lun'"))
    (message,) = messages(text)
    assert message == (
        "Invalid value for attribute 'type' in element 'disk': 'file'. With device='lun', "
        "expected one of: network, block, volume"
    )


def test_element_given_twice():
    (finding,) = findings(guest(extra="  <vcpu>4</vcpu>\n"))
    assert (
        finding.message
        == "Element <vcpu> appears 2 times in <domain>; libvirt's schema allows it once"
    )
    assert finding.line == 6  # the second one


def test_bad_text_value():
    text = guest().replace("<vcpu>2</vcpu>", "<vcpu>two</vcpu>")
    (message,) = messages(text)
    assert message.startswith("Invalid value for element 'vcpu': 'two'. Expected ")


def test_foreign_metadata_and_qemu_namespace_are_valid():
    text = (
        guest(disk())
        .replace(
            "<domain type='kvm'>",
            "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>",
        )
        .replace(
            "</domain>",
            "  <metadata><x:app xmlns:x='urn:x' any='thing'><x:deep/></x:app></metadata>\n"
            "  <qemu:commandline><qemu:arg value='-S'/></qemu:commandline>\n</domain>",
        )
    )
    assert findings(text) == []
    typo = text.replace("<qemu:arg value", "<qemu:ag value")
    (message,) = messages(typo)
    assert message.startswith(
        "Unknown element <qemu:ag> in <qemu:commandline>; did you mean <qemu:arg>?"
    )


def test_long_values_are_cut_in_messages_and_long_patterns_left_to_libxml2():
    text = guest().replace("<vcpu>2</vcpu>", "<vcpu cpuset='" + "1," * 5000 + "'>2</vcpu>")
    (message,) = messages(text)
    assert len(message) < 400
    assert "does not match libvirt's schema (libxml2:" in message


def test_at_most_twenty_findings_per_file_and_a_note_for_the_rest():
    devices = "".join(disk(f"<driver name='qemu' type='raw' cahce{i}='none'/>") for i in range(25))
    doc = Document.parse(guest(devices).encode(), "t.xml")
    checked = build_linter(select=["DX002"]).check(doc)
    assert len(checked.findings) == schema_rule.MAX_FINDINGS == 20
    (note,) = checked.notes
    assert note[0] == "DX002" and note[1].startswith("more than 20 problems against ")


# -- agreement with libxml2, on its own --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        guest(disk()),
        guest(extra="  <currentMemroy unit='GiB'>1</currentMemroy>\n"),
        guest(disk("<driver name='qemu' type='qcow2' cache='writebak'/>")),
        guest().replace("<os>", "<os firmware='efi'>"),
        guest().replace("<os>", "<os firmware='uefi'>"),
    ],
)
def test_verdict_is_libxml2s(text, schemas):
    relaxng = etree.RelaxNG(etree.parse(str(schemas / "domain.rng")))
    valid = relaxng.validate(etree.fromstring(text.encode()).getroottree())
    assert (findings(text) == []) == valid


def test_walk_blames_nothing_in_a_valid_document(schemas):
    grammar = load_schema(str(schemas)).grammar
    root = etree.fromstring(guest(disk()).encode())
    assert list(Walker(grammar).walk(root)) == []


# -- finding the schema ------------------------------------------------------------------------


def test_environment_wins_over_the_setting(tmp_path, schemas):
    location = locate_schema(str(tmp_path), env={SCHEMA_DIR_ENV: str(schemas)})
    assert location.directory == str(schemas) and location.origin == SCHEMA_DIR_ENV
    location = locate_schema(str(schemas), env={})
    assert location.directory == str(schemas) and location.origin == "schema-dir"


def test_an_explicit_directory_without_domain_rng_finds_nothing(tmp_path):
    location = locate_schema(str(tmp_path), env={})
    assert location.directory is None and location.explicit
    assert location.searched == (str(tmp_path),)


def test_libvirt_pc_on_pkg_config_path_is_read_without_running_pkg_config(
    tmp_path, schemas, monkeypatch
):
    monkeypatch.setattr(schema_module, "STANDARD_DIRS", ())
    prefix = tmp_path / "opt" / "libvirt"
    (prefix / "share" / "libvirt").mkdir(parents=True)
    os.symlink(schemas, prefix / "share" / "libvirt" / "schemas")
    pc_dir = tmp_path / "pkgconfig"
    pc_dir.mkdir()
    (pc_dir / "libvirt.pc").write_text(
        f"prefix={prefix}\nexec_prefix=${{prefix}}\ndatarootdir=${{prefix}}/share\n\n"
        "Name: libvirt\nVersion: 10.7.0\n"
    )
    location = locate_schema(env={"PKG_CONFIG_PATH": f"/nonexistent:{pc_dir}"})
    assert location.directory == str(prefix / "share" / "libvirt" / "schemas")
    assert locate_schema(env={}).directory is None


def test_without_a_schema_the_rule_is_silent_and_says_why_once(tmp_path):
    vm = tmp_path / "vm.xml"
    vm.write_text(guest(extra="  <currentMemroy unit='GiB'>1</currentMemroy>\n"))
    shutil.copy(vm, tmp_path / "vm2.xml")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli(
        "--no-config", "--select", "DX002", "-v", str(tmp_path), env={SCHEMA_DIR_ENV: str(empty)}
    )
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.decode().splitlines() if "DX002" in line]
    assert len(notes) == 1
    assert f"DOMXML_LINT_SCHEMA_DIR names {empty}, which has no domain.rng" in notes[0]


def test_a_broken_schema_file_is_a_note_not_a_crash(tmp_path):
    broken = tmp_path / "schemas"
    broken.mkdir()
    (broken / "domain.rng").write_text("<grammar>not relaxng")
    vm = tmp_path / "vm.xml"
    vm.write_text(guest())
    result = run_cli(
        "--no-config", "--select", "DX002", "-v", str(vm), env={SCHEMA_DIR_ENV: str(broken)}
    )
    assert result.returncode == 0, result.stderr
    assert b"DX002: cannot use libvirt's schema: cannot load" in result.stderr


# -- the schema-dir setting -------------------------------------------------------------------


def test_schema_dir_setting_is_relative_to_the_config_file(tmp_path, schemas):
    project = tmp_path / "project"
    (project / "vms").mkdir(parents=True)
    os.symlink(schemas, project / "libvirt-schemas")
    (project / "domxml-lint.toml").write_text(
        'schema-dir = "libvirt-schemas"\nselect = ["DX002"]\n'
    )
    (project / "vms" / "vm.xml").write_text(guest(extra="  <currentMemroy>1</currentMemroy>\n"))
    env = {k: v for k, v in os.environ.items() if k != SCHEMA_DIR_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "domxml_lint", "vms"],
        cwd=project,
        capture_output=True,
        env=env,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert b"DX002 Unknown element <currentMemroy>" in result.stdout


@pytest.mark.parametrize(
    "setting",
    [
        'schema-dir = "missing"',
        "schema-dir = 3",
        '[rule-options.schema-invalid]\nschema-dir = "missing"',
    ],
)
def test_a_bad_schema_dir_setting_stops_the_run_naming_the_key(tmp_path, setting):
    (tmp_path / "domxml-lint.toml").write_text(setting + "\n")
    (tmp_path / "vm.xml").write_text(guest())
    result = run_cli(str(tmp_path / "vm.xml"), cwd=tmp_path)
    assert result.returncode == 2
    error = result.stderr.decode()
    assert error.startswith("domxml-lint: error: domxml-lint.toml:") and "schema-dir" in error
    assert error.count("\n") == 1


# -- cost: nothing is built unless a document reaches the rule ----------------------------------


def test_the_schema_is_built_lazily_once_per_process(schemas):
    probe = textwrap.dedent(
        f"""
        from domxml_lint import schema, api
        text = {guest(disk())!r}
        api.lint(text, select=["DX401"])
        assert not schema._LOADED, "built for a run without DX002"
        api.lint(text, select=["DX002"])
        (built,) = schema._LOADED.values()
        assert built._grammar is None, "grammar read for a valid document"
        api.lint(text.replace("type='raw'", "type='raw' cahce='none'"), select=["DX002"])
        api.lint(text.replace("<vcpu>", "<vcpu >"), select=["DX002"])
        assert list(schema._LOADED.values()) == [built]
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        cwd=REPO,
        env={**os.environ, SCHEMA_DIR_ENV: str(schemas)},
        check=False,
    )
    assert result.stdout == b"ok\n", result.stderr.decode()


def test_a_rule_with_libvirts_message_replaces_the_schema_finding_on_its_element():
    from domxml_lint import lint
    from samples import domain

    text = domain("<blkiotune><weight>5000</weight></blkiotune>")
    both = [f.code for f in lint(text, select="DX002")] + [
        f.code for f in lint(text, select="DX411")
    ]
    assert both == ["DX002", "DX411"]  # each alone reports the weight
    assert [f.code for f in lint(text, select="DX002,DX411")] == ["DX411"]
    # A schema problem elsewhere in the same file stays.
    text = domain("<blkiotune><weight>5000</weight></blkiotune><currentMemroy>1</currentMemroy>")
    assert sorted(f.code for f in lint(text, select="DX002,DX411")) == ["DX002", "DX411"]


def test_a_bridge_name_outside_the_pattern_is_a_warning():
    # oVirt's vdsm uses ';vdsmdummy;'; libvirt defines it (only --validate refuses)
    nic = (
        "    <interface type='bridge'>\n"
        "      <source bridge=';vdsmdummy;'/>\n"
        "      <model type='virtio'/>\n"
        "    </interface>\n"
    )
    (finding,) = findings(guest(nic))
    assert finding.severity.value == "warning"
    assert "libvirt's parser does not check it" in finding.message
