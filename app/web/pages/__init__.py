"""Server-rendered pages: one module per page, each building its template context from the services."""
