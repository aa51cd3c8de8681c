"""Entry point: `python main.py` serves on HOST:PORT; `uvicorn main:app` works too."""

import uvicorn

from app.core.app_factory import create_app
from app.core.config import get_settings

app = create_app()

if __name__ == "__main__":
    settings = get_settings()
    uvicorn.run("main:app", host=settings.host, port=settings.port, log_level=settings.log_level.lower())
