"""Core layer of the segmentation app."""
