"""Models layer of the segmentation app."""
