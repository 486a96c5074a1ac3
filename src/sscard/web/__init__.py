"""Server-rendered pages (Jinja2). For now: the landing page with links and aggregate figures."""
