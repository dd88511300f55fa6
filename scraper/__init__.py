"""Build a training set from Safebooru: `python -m scraper fetch` downloads posts for a tag query,
`python -m scraper clean` keeps the single-character color illustrations. The only package in the
project that talks to the network."""

__version__ = "0.1.0"
