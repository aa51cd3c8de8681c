"""The Jinja2 environment shared by pages and HTML error pages."""

from fastapi.templating import Jinja2Templates

from app import __version__
from app.core.config import PROJECT_ROOT

templates = Jinja2Templates(directory=PROJECT_ROOT / "app" / "templates")
templates.env.globals["app_version"] = __version__
