"""Webhooks: plan and job notifications POSTed to subscribers, HMAC-signed, retried."""
