"""Plain Python helpers of the addon (no models)."""
