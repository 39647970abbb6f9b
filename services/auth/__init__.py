"""The auth domain: who is calling, signing in, second factors, accounts' credentials.

See docs/decisions/0110-auth-package.md for what lives where.
"""
