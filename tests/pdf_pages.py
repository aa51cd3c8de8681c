"""A PDF as people see it: its pages as PNG images (pdftoppm), its text per page (pdftotext), its images (pdfimages).

All three come with Debian's poppler-utils, which `bash setup.sh test` installs; a test skips without them on a
developer's machine and fails under CI=true (tests/tools.py).
"""

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests.tools import need_tool, unavailable

DPI = 40  # enough to see text lines and charts, small enough to be quick


@dataclass(frozen=True)
class PdfPages:
    """The pages of one PDF: RGB pixel arrays, text per page, and how many images it embeds."""

    pixels: list[np.ndarray]
    texts: list[str]
    images: int

    @property
    def text(self) -> str:
        """Every page's text."""
        return "\n".join(self.texts)


def read_pdf(pdf: bytes, folder: Path) -> PdfPages:
    """Turn a PDF into PNG pages, per-page text and its image count."""
    if sys.platform == "win32" and shutil.which("pdftoppm") is None:
        unavailable("pdftoppm (Poppler) is not on PATH: install Poppler for Windows and add its bin folder to PATH")
    pdftoppm = need_tool("pdftoppm", "poppler-utils")
    pdftotext = need_tool("pdftotext", "poppler-utils")
    pdfimages = need_tool("pdfimages", "poppler-utils")
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "report.pdf"
    source.write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", str(DPI), "-png", str(source), str(folder / "page")], check=True)
    pixels = [np.asarray(Image.open(path).convert("RGB")) for path in sorted(folder.glob("page-*.png"))]
    text = subprocess.run([pdftotext, "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout
    texts = text.split("\f")[: len(pixels)]
    listing = subprocess.run([pdfimages, "-list", str(source)], check=True, capture_output=True, text=True).stdout
    images = sum(1 for line in listing.splitlines()[2:] if line.split()[2:3] == ["image"])
    return PdfPages(pixels, texts, images)


def filled_share(page: np.ndarray, bands: int = 12) -> float:
    """The share of horizontal bands of the page, above its footer, that hold anything darker than near-white."""
    body = page[: int(page.shape[0] * 0.94)]  # the footer line alone does not fill a page
    inked = (body.min(axis=2) < 235).any(axis=1)
    return float(np.mean([band.any() for band in np.array_split(inked, bands)]))


def coloured_pixels(page: np.ndarray) -> int:
    """Pixels of a saturated colour: chart bars and bands (the report's text is grey or black)."""
    channels = page.astype(np.int16)
    return int(((channels.max(axis=2) - channels.min(axis=2)) > 60).sum())
