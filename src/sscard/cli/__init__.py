"""The ``sscard`` command line (Typer): thin wrappers over the services; domain errors exit with status 2."""
