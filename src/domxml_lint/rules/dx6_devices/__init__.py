"""DX6xx: Devices and platform: machine, firmware, timers, IOMMU, USB."""
