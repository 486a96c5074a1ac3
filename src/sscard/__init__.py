"""sscard: an open-source platform for a city's social security card (社会保障卡) programme."""

__version__ = "0.1.0"
