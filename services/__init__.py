"""Business rules. Services are the only code that commits."""
