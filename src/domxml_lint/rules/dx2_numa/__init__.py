"""DX2xx: NUMA: guest cells, numatune, host placement."""
