"""Retraining that proposes itself: a candidate trained on recent traffic, compared, then accepted or not."""
