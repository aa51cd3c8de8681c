"""Schemas layer of the segmentation app."""
