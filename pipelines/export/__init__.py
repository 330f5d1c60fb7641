"""Export tickets: complete under churn, resumable, in constant memory.

exporter.py  the listing passes (the reasoning for completeness is at its top)
plan.py      which listings to read and which pass comes next (pure)
state.py     the position and checkpoint, to and from JSON
enrich.py    messages and attachments added to each ticket
nightly.py   incremental runs since the last one, and retention
"""

from .exporter import Exporter, ExportOptions, ExportResult
from .plan import Segment, plan_segments
from .state import Checkpoint, Position

__all__ = ["Checkpoint", "ExportOptions", "ExportResult", "Exporter", "Position", "Segment", "plan_segments"]
