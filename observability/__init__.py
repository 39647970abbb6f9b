"""Logs, request ids, metrics, traces and error reporting: what an operator sees of the app.

Import from the modules (`observability.logs`, `.metrics`, `.request_context`, `.tracing`,
`.integrations`): the package itself imports nothing, so the request code can name its caller
(`logs.identify`) without loading the middleware, which loads the security headers.
"""
