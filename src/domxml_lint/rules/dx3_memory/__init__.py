"""DX3xx: Memory: sizes, backing, huge pages, memtune, memory devices."""
