"""DX7xx: Features: Hyper-V enlightenments and <features>."""
