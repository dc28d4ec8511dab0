"""DX0xx: The document and domxml-lint itself."""
