"""What only pages need: page contexts, chart geometry, and upload and result-file handling."""
