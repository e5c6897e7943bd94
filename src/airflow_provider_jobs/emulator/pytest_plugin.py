"""pytest plugin for the bundled emulator (filled in by the emulator work)."""
