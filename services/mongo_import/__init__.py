"""Users between the Node.js service's MongoDB and this database, both ways, without loss.

`documents` reads and writes mongoexport/mongodump files, `mapping` turns a document into column
values and back, `users` and `tokens` import, `export` writes users back for the old service.
"""
