"""Device coordinators: one per machine or device, each on its own interval (see base.py)."""
