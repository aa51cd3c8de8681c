"""Customer segmentation service: KMeans segments with names, strategies, an API and a web app."""

__version__ = "1.0.0"
