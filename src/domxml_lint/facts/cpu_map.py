"""What libvirt's CPU drivers know per architecture: the names its CPU map accepts.

libvirt checks guest CPU features against its CPU map (``src/cpu_map/``) when
the guest starts (``virCPUValidateFeatures``). These tables hold the names of
libvirt 10.7's map where it is small and stable; the x86 map (hundreds of
features, growing with each release) is not reproduced, so x86 feature names are
not checked.
"""

from __future__ import annotations

#: Architectures libvirt's ARM CPU driver handles (cpu_arm.c).
ARM_ARCHES = frozenset({"armv6l", "armv7l", "aarch64"})
#: Architectures libvirt's s390 CPU driver handles (cpu_s390.c).
S390_ARCHES = frozenset({"s390", "s390x"})

#: The features of libvirt's ARM CPU map (cpu_map/arm_features.xml): the SVE
#: vector lengths (multiples of 128 bits up to 2048) and pointer authentication.
ARM_FEATURES = frozenset({"sve", "pauth", *(f"sve{bits}" for bits in range(128, 2049, 128))})
