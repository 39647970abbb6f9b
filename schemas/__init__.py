"""Pydantic models: request bodies and queries in, resources out. The OpenAPI document is built
from these same models."""
