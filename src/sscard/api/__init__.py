"""REST API under /api/v1 (FastAPI): routers parse, authorise through services, and map domain errors."""
