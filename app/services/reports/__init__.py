"""Segment reports: the data a report shows, gathered from a model version (version.py) or a labelled frame of
scored customers (frame.py); app/web/reports renders it as HTML or PDF."""
