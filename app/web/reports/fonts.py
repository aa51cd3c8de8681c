"""The report's fonts: DejaVu Sans (matplotlib ships it) for most scripts, and a way to draw Chinese, Japanese and
Korean text, which DejaVu Sans lacks.

In the PDF, CJK runs are set in Adobe's standard Asian fonts (reportlab's UnicodeCIDFont): nothing is embedded and
the reader draws them with its own fonts (Acrobat, Preview, Chrome and Firefox do), so the project ships no
10-20 MB font file. Which one a text gets follows the text as a whole: kana mean Japanese, Hangul Korean, and other
ideographs Chinese. The charts are pixels drawn by matplotlib, so they need a CJK font on the machine: the first one
found among the usual files of Debian, Windows and macOS is matplotlib's fallback after DejaVu Sans.
"""

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

# CJK in the Basic Multilingual Plane (UCS-2 is what the standard fonts' encodings take): Hangul Jamo, radicals,
# punctuation, kana, Hangul, ideographs (with extension A and compatibility forms), vertical and full-width forms.
_CJK = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fdf\u2ff0-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]+"
)
_KANA = re.compile("[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff\uffa0-\uffdc]")
JAPANESE, KOREAN, CHINESE = "HeiseiKakuGo-W5", "HYGothic-Medium", "STSong-Light"

# CJK font files as Debian (fonts-wqy-zenhei, fonts-noto-cjk, fonts-droid-fallback), Windows and macOS install them.
CHART_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/YuGothM.ttc",
    "C:/Windows/Fonts/malgun.ttf",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
)
_PDF_FONTS: tuple[str, str] | None = None
_CHART_FAMILIES: list[str] | None = None


def pdf_fonts() -> tuple[str, str]:
    """Register DejaVu Sans (regular, bold) and the standard CJK fonts once; Helvetica when DejaVu is missing."""
    global _PDF_FONTS
    if _PDF_FONTS is None:
        import matplotlib
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.cidfonts import UnicodeCIDFont
        from reportlab.pdfbase.ttfonts import TTFont

        for name in (JAPANESE, KOREAN, CHINESE):
            pdfmetrics.registerFont(UnicodeCIDFont(name))
            for bold in (0, 1):  # <b> around a CJK run keeps its font: the standard fonts have no bold face
                for italic in (0, 1):
                    addMapping(name, bold, italic, name)
        folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
        try:
            pdfmetrics.registerFont(TTFont("DejaVu", str(folder / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(folder / "DejaVuSans-Bold.ttf")))
            _PDF_FONTS = ("DejaVu", "DejaVu-Bold")
        except OSError:
            _PDF_FONTS = ("Helvetica", "Helvetica-Bold")
    return _PDF_FONTS


def cjk_font(text: str) -> str:
    """The standard font for the CJK runs of a text: Japanese with kana, Korean with Hangul, Chinese otherwise."""
    if _KANA.search(text):
        return JAPANESE
    return KOREAN if _HANGUL.search(text) else CHINESE


def runs(text: str) -> Iterator[tuple[str, str | None]]:
    """The text in runs, each with the CJK font it needs, or None for the page's own font."""
    font, start = cjk_font(text), 0
    for match in _CJK.finditer(text):
        if match.start() > start:
            yield text[start : match.start()], None
        yield match.group(), font
        start = match.end()
    if start < len(text):
        yield text[start:], None


def markup(text: str) -> str:
    """Text as reportlab Paragraph markup: escaped, its CJK runs in their font."""
    return "".join(
        escape(run) if font is None else f'<font name="{font}">{escape(run)}</font>' for run, font in runs(text)
    )


def _no_weight_notice(record: logging.LogRecord) -> bool:
    """Drop matplotlib's notice that a CJK font has no "normal" weight: most have one weight (Zen Hei's is 500), and
    the notice went to stderr at each size of text drawn."""
    return not record.getMessage().startswith("findfont: Failed to find font weight")


def chart_families() -> list[str]:
    """matplotlib's font families for the charts: DejaVu Sans, then the first CJK font on this machine."""
    global _CHART_FAMILIES
    if _CHART_FAMILIES is None:
        from matplotlib import font_manager

        families = ["DejaVu Sans"]
        logging.getLogger("matplotlib.font_manager").addFilter(_no_weight_notice)
        # Added from the file, not looked up by name: matplotlib's font cache does not see fonts installed after it
        # was built.
        for path in CHART_FONT_FILES:
            if Path(path).is_file():
                try:
                    font_manager.fontManager.addfont(path)
                    families.append(font_manager.FontProperties(fname=path).get_name())
                except (OSError, RuntimeError):  # unreadable or not a font matplotlib can use: try the next one
                    continue
                break
        _CHART_FAMILIES = families
    return _CHART_FAMILIES
