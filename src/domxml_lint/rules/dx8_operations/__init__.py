"""DX8xx: Operations: migration and real time."""
