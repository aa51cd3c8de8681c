"""Accounts: users and their roles, page sessions, personal API keys, and signing in."""
