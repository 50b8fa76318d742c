"""Stand-ins for hardware and whole plants: stations, machines, scanners, load generators."""
