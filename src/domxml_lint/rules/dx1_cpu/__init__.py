"""DX1xx: CPU: vCPUs, topology, model, pinning and tuning."""
