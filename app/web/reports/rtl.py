"""Right-to-left text for the PDF: reportlab draws characters as stored, left to right, each in its isolated form.

Arabic and Hebrew are put in the order they are read (python-bidi, the Unicode bidirectional algorithm on a
left-to-right page) and Arabic letters in their joined forms (arabic-reshaper: the presentation forms DejaVu Sans
has). Text is reordered as one line: a right-to-left phrase that wraps onto a second line reads its lines in order
but each line's words were placed before the break.
"""

import re

# Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Mandaic and the Hebrew and Arabic presentation forms.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
# Marks, embeddings, overrides and isolates: applied by the reordering, and not drawable in the font.
_DIRECTION_CONTROLS = re.compile("[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]")
FIRST_STRONG_ISOLATE, POP_ISOLATE = "\u2068", "\u2069"


def isolated(text: str) -> str:
    """A name set into a sentence, kept apart from it: "عملاء · 12 customers" must not read its 12 as Arabic's."""
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_ISOLATE}" if _RIGHT_TO_LEFT.search(text) else text


def visual(text: str) -> str:
    """Text in the order and letter forms it is drawn in; text without right-to-left letters as it is."""
    if not _RIGHT_TO_LEFT.search(text):
        return text
    from arabic_reshaper import reshape
    from bidi import get_display

    return _DIRECTION_CONTROLS.sub("", get_display(reshape(text), base_dir="L"))
