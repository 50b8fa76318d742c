"""The ``floorsync`` command: runs edge, central, simulators, the demo and benchmarks."""
