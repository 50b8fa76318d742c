"""Benchmarks of FloorSync, each printed next to the raw ceilings measured in the same run.

``floorsync bench sync`` (see ``sync.py``) measures the sync pipeline: the raw MQTT
and SQLite ceilings of this machine, the durable end-to-end event rate, latency,
and the drain of an offline backlog. The ``*_worker`` modules are the child
processes it starts; they are internal and speak JSON lines on stdout.
"""
