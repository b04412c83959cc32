"""sibkit: evidence about impact bonds, from the INDIGO dataset to a reproducible study."""

__version__ = "0.1.0"
