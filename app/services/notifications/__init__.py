"""Notifications: events written to a durable outbox, sent to webhooks (Standard Webhooks signed) and by email."""
