"""Entry point: `python main.py` serves on HOST:PORT; `uvicorn main:app` works too."""

import uvicorn

from app.core.config import get_settings
from app.main import create_app

app = create_app()

if __name__ == "__main__":
    settings = get_settings()
    # The app object, not "main:app": an import string would make uvicorn import this module again and
    # build a second app. Several workers need the import string, so those go through `uvicorn main:app`.
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
