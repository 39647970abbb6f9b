"""`flask` command groups that grew past a few commands."""
