"""DX5xx: Network interfaces."""
