"""Segments too small to describe a group: one absurd customer (a typo of 1e22) can take a segment of its own.

The clustering is left as it is (the analyst decides what to do with the outlier); training says so wherever its
notes are read: the CLI's summary, the job's status, the version's notes in /model/info and on /about.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a job's process reads these notes before, and without, the model's heavier imports
    from app.models.model import Segment

# A segment is small when it holds fewer customers than this, or less than this share of them.
MIN_SEGMENT_CUSTOMERS = 5
MIN_SEGMENT_SHARE = 0.01


def small_segment_notes(segments: Sequence["Segment"]) -> list[str]:
    """A warning naming each segment too small to trust: an outlier, not a group, may be what drives it."""
    customers = sum(segment.size for segment in segments)
    notes = []
    for segment in segments:
        if segment.size < MIN_SEGMENT_CUSTOMERS or segment.size < MIN_SEGMENT_SHARE * customers:
            noun = "customer" if segment.size == 1 else "customers"
            notes.append(
                f"segment {segment.name!r} holds only {segment.size:,} {noun} of {customers:,} "
                f"({segment.share:.1%}): an outlier may be what drives it; check the training file for extreme "
                "values before acting on this segment"
            )
    return notes
