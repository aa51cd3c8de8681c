"""Champion and challenger: routing live traffic between two versions, their settings, assignments and report."""
