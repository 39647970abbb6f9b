"""Domain rules both schemas and services apply (email normal form, password rules).

It imports neither: schemas document and check input with these rules, services enforce them, and
the layers import one way (blueprints -> schemas, services -> domain; see
docs/decisions/0111-domain-rules-and-import-layers.md).
"""
