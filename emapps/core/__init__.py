"""What every domain package shares: the estimator base, input checks and the
process-wide settings."""
