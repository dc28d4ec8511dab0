"""DX4xx: Disks and block I/O: disks, controllers, iotune, IOThreads."""
