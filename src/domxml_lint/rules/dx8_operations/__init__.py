"""DX8xx: Operations and platform: migration, real time, lifecycle, security, sysinfo."""
