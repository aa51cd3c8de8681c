"""Chart geometry for the pages: computed in Python, drawn as inline SVG by the templates."""
