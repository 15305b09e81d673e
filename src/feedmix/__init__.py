"""feedmix: personalized feeds with ads mixed in."""

__version__ = "0.1.0"
