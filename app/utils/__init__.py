"""Utils layer of the segmentation app."""
