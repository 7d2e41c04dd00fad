"""Sandboxes: throw-away test CA and provider sandboxes (never for real invoices)."""
