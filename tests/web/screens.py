"""Full-page screenshots for people to look at, saved to a temporary folder (never to the repository)."""

import tempfile
from pathlib import Path

# A laptop and a small phone: the two widths every page is looked at.
WIDTHS = (1280, 375)
FOLDER = Path(tempfile.gettempdir()) / "customer-segmentation-screenshots"


def screenshot(page, name: str) -> Path:
    """Save the whole page as `<name>-<width>.png` in the screenshot folder; returns the file."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    path = FOLDER / f"{name}-{page.viewport_size['width']}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
