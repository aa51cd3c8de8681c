"""One colour and one marker shape per segment, by stable id, shared by every chart, legend and card."""

from dataclasses import dataclass

from app.models.model import SegmentationModel

# One colour and one shape per segment id, used by every chart, legend and result card: as many of each as the
# largest k (K_RANGE), so no two segments share either. Every colour reaches 3:1 against the card and the page
# (WCAG 1.4.11 for graphics). The first five are Okabe-Ito's blue, vermillion and green, with its reddish purple
# darkened and its yellow (2.25:1) replaced by ochre: a darker yellow reads as vermillion with protanopia, the
# ochre stays apart from the others with the common colour-vision deficiencies. Violet replaces sky blue (2.3:1).
PALETTE = ("#0072B2", "#D55E00", "#B5608F", "#009E73", "#997744", "#A855F7", "#7A6A00", "#444444", "#8C564B", "#5E3C99")
SHAPES = {
    "circle": "M-5,0a5,5 0 1,0 10,0a5,5 0 1,0 -10,0Z",
    "square": "M-4.5,-4.5h9v9h-9Z",
    "triangle": "M0,-5.5L5.5,4.5H-5.5Z",
    "diamond": "M0,-6L6,0L0,6L-6,0Z",
    "inverted triangle": "M0,5.5L5.5,-4.5H-5.5Z",
    "star": "M0,-6.5L1.65,-2.27L6.18,-2.01L2.66,0.87L3.82,5.26L0,2.8L-3.82,5.26L-2.66,0.87L-6.18,-2.01L-1.65,-2.27Z",
    "cross": "M-2,-6h4v4h4v4h-4v4h-4v-4h-4v-4h4Z",
    "hourglass": "M-5,-5.5H5L0,0L5,5.5H-5L0,0Z",
    "hexagon": "M5.5,0L2.75,4.76L-2.75,4.76L-5.5,0L-2.75,-4.76L2.75,-4.76Z",
    "pentagon": "M0,-5.8L5.52,-1.79L3.41,4.69L-3.41,4.69L-5.52,-1.79Z",
}
SHAPE_ORDER = tuple(SHAPES)


@dataclass(frozen=True)
class SegmentStyle:
    """How one segment looks everywhere in the app."""

    segment_id: int
    name: str
    colour: str
    shape: str
    path: str


def style_slots(segment_ids: list[int]) -> dict[int, int]:
    """Each segment id's place in the palette and the shape list: its own id where free, so styles follow stable ids.

    Ids never repeat across versions, so one model can hold ids beyond the lists (5 and 15): the higher id then
    takes the next free place, and no two segments of a model share a colour or a shape.
    """
    size = len(SHAPE_ORDER)
    slots: dict[int, int] = {}
    taken: set[int] = set()
    # Ids below the lists' length take their own place first, so they look the same in every version.
    for segment_id in sorted(segment_ids, key=lambda i: (i >= size, i)):
        slot = segment_id % size
        while slot in taken and len(taken) < size:
            slot = (slot + 1) % size
        slots[segment_id] = slot
        taken.add(slot)
    return slots


def segment_styles(model: SegmentationModel) -> list[SegmentStyle]:
    """The colour and marker shape of every segment, by stable id (so colours never follow KMeans labels)."""
    slots = style_slots([segment.segment_id for segment in model.segments])
    styles = []
    for segment in model.segments:
        slot = slots[segment.segment_id]
        shape = SHAPE_ORDER[slot]
        styles.append(SegmentStyle(segment.segment_id, segment.name, PALETTE[slot], shape, SHAPES[shape]))
    return styles
