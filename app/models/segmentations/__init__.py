"""Segmentations: named lines of model versions, each over its own features."""
