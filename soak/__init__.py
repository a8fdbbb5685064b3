"""Reliability tooling for the sync: scripted faults, a driver that runs the
sync against the local servers, an independent oracle of the desired state,
and the seeded soak behind ``make soak`` (``python -m soak``)."""
