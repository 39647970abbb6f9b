# Test cases for python.yml: `semgrep --test security/rules` checks each annotated line.
# ruff: noqa
import subprocess

import jwt
import markupsafe
import yaml
from flask import Flask, render_template_string
from sqlalchemy import text

app = Flask(__name__)

# ruleid: jwt-decode-without-signature-check
jwt.decode(token, options={"verify_signature": False})
# ruleid: jwt-decode-without-signature-check, jwt-decode-without-algorithms
jwt.decode(token, key, verify=False)
# ok: jwt-decode-without-signature-check
jwt.decode(token, key, algorithms=["HS256"], audience="api")

# ruleid: jwt-decode-without-algorithms
jwt.decode(token, key)
# ok: jwt-decode-without-algorithms
jwt.decode(token, key, algorithms=["RS256"])

# ruleid: sql-built-from-fstring
text(f"SELECT * FROM users WHERE email = '{email}'")
# ruleid: sql-built-from-fstring
connection.execute(f"DELETE FROM {table}")
# ok: sql-built-from-fstring
text("SELECT * FROM users WHERE email = :email")

# ruleid: flask-debug-enabled
app.run(host="0.0.0.0", debug=True)
# ok: flask-debug-enabled
app.run(debug=settings.DEBUG)

# ruleid: template-string-rendering
render_template_string(user_supplied)
# ok: template-string-rendering
render_template_string("<p>{{ name }}</p>", name=user_supplied)

# ruleid: markup-from-variable
markupsafe.Markup(comment)
# ok: markup-from-variable
markupsafe.Markup("<br>")

# ruleid: subprocess-shell-true
subprocess.run(command, shell=True)
# ok: subprocess-shell-true
subprocess.run(["ls", "-l"])

# ruleid: unsafe-yaml-load
yaml.load(stream)
# ok: unsafe-yaml-load
yaml.load(stream, Loader=yaml.SafeLoader)
