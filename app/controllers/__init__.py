"""Controllers layer of the segmentation app."""
