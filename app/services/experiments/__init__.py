"""Outcomes and A/B reports: events joined to what customers were given, and the statistics between arms."""
