"""Web console for feedmix: static assets for the feed-inspection page."""

import pathlib

STATIC_DIR = pathlib.Path(__file__).parent / "static"
