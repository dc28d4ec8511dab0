"""ACME's guest policy as domxml-lint rules: an example third-party plugin.

domxml-lint finds this module through the ``domxml_lint`` entry point in
pyproject.toml and calls :func:`domxml_lint_rules` once per process.
"""

from domxml_lint import hookimpl, rule


@rule(
    code="ACME001",
    name="acme-description-missing",
    severity="warning",
    summary="Every guest needs a <description> naming its owner",
    triggers=("domain",),
)
def description_missing(ctx):
    """
    ## What it does
    Reports a domain without a `<description>`, or with an empty one.

    ## Why is this bad?
    ACME's operations team pages the owner named in the description when a
    guest misbehaves. A guest without one has nobody to call.

    ## Example
    ```xml
    <domain type='kvm'>
      <name>web-01</name>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
      <name>web-01</name>
      <description>owner: web-team@acme.example</description>
    ```

    ## Fix safety
    No fix: only the team knows who owns the guest.

    ## Source
    ACME runbook, "Guest ownership".
    """
    description = ctx.facts.root.find("description")
    if description is None:
        yield ctx.finding(ctx.facts.root, "guest has no <description> naming its owner")
    elif not (description.text or "").strip():
        yield ctx.finding(description, "<description> is empty; name the guest's owner")


@rule(
    code="ACME002",
    name="acme-vcpu-limit",
    severity="error",
    summary="Guests may not have more vCPUs than ACME's limit (option max-vcpus)",
    default=False,
    triggers=("vcpu",),
    options={"max-vcpus": 16},
)
def vcpu_limit(ctx):
    """
    ## What it does
    Reports a guest whose vCPU count (`<vcpu>`, the maximum) is above the
    `max-vcpus` option (16 unless configured).

    ## Why is this bad?
    ACME's hosts have 32 CPUs; a guest larger than half a host cannot be
    placed on one NUMA node and blocks host maintenance.

    ## Example
    ```xml
    <vcpu placement='static'>24</vcpu>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static'>16</vcpu>
    ```

    ## Fix safety
    No fix: resizing a guest is a capacity decision.

    ## Source
    ACME capacity policy, section 2.
    """
    limit = ctx.option("max-vcpus")
    count = ctx.facts.vcpu_count
    if count is not None and count > limit:
        element = ctx.facts.root.find("vcpu")
        yield ctx.finding(element, f"{count} vCPUs is above ACME's limit of {limit}")


@rule(
    code="ACME003",
    name="acme-on-crash-restart",
    severity="warning",
    summary="Production guests restart after a guest crash",
    fix="safe",
    triggers=("on_crash",),
)
def on_crash_restart(ctx):
    """
    ## What it does
    Reports `<on_crash>destroy</on_crash>`: a crashed guest stays off.

    ## Why is this bad?
    ACME's services are expected back within minutes of a kernel panic.

    ## Example
    ```xml
    <on_crash>destroy</on_crash>
    ```

    ## Use instead
    ```xml
    <on_crash>restart</on_crash>
    ```

    ## Fix safety
    Safe: `restart` is the `on_crash` action of libvirt's own example in
    formatdomain, and the change does nothing until the guest crashes.

    ## Source
    ACME runbook, "Crash handling"; libvirt formatdomain, "Events configuration".
    """
    element = ctx.facts.root.find("on_crash")
    if element is not None and (element.text or "").strip() == "destroy":
        fix = ctx.safe_fix("Restart the guest on crash", ctx.edit.replace_text(element, "restart"))
        yield ctx.finding(element, "a crashed guest stays off; ACME restarts it", fix=fix)


@hookimpl
def domxml_lint_rules():
    return [description_missing, vcpu_limit, on_crash_restart]
