"""The pure engine: timelines and the flow and DORA math. No Faust, no I/O, no clock of its own.

The same code serves the live worker and `flowgauge report`, so the two can never disagree.
"""
