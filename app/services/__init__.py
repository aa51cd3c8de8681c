"""Services layer of the segmentation app."""
