"""DX9xx: Peripherals: host devices, serial and consoles, graphics, video, input, sound, TPM,
shared memory, RNG, watchdog, filesystems."""
