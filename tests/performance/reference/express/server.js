// The Node.js baseline: a minimal Express + pg app serving the same JSON, one worker per core.
const cluster = require("node:cluster");
const os = require("node:os");
const express = require("express");
const { Pool } = require("pg");

const COLUMNS =
  "id, email, name, role, is_active, email_verified, created_at, updated_at, last_login_at, locale";
const workers = Number(process.env.WORKERS || os.availableParallelism());

function stamp(moment) {
  return moment ? moment.toISOString().replace(/\.\d{3}Z$/, "Z") : null;
}

function userJson(row) {
  return {
    ...row,
    id: Number(row.id),
    created_at: stamp(row.created_at),
    updated_at: stamp(row.updated_at),
    last_login_at: stamp(row.last_login_at),
  };
}

function envelope(data) {
  return {
    success: true,
    data,
    message: "Operation completed successfully",
    timestamp: stamp(new Date()),
  };
}

function serve() {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 16 });
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/health", (req, res) => res.json({ status: "healthy", timestamp: stamp(new Date()) }));
  app.get("/api/v1/users/:id", async (req, res) => {
    const { rows } = await pool.query(
      `SELECT ${COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL`,
      [Number(req.params.id)],
    );
    if (rows.length === 0) return res.status(404).json({ success: false });
    return res.json(envelope(userJson(rows[0])));
  });
  app.get("/api/v1/users", async (req, res) => {
    const page = Number(req.query.page || 1);
    const perPage = 20;
    const total = await pool.query("SELECT count(*) AS n FROM users WHERE deleted_at IS NULL");
    const { rows } = await pool.query(
      `SELECT ${COLUMNS} FROM users WHERE deleted_at IS NULL ORDER BY id LIMIT $1 OFFSET $2`,
      [perPage, (page - 1) * perPage],
    );
    const count = Number(total.rows[0].n);
    res.json(
      envelope({
        items: rows.map(userJson),
        pagination: { page, per_page: perPage, total: count, pages: Math.ceil(count / perPage) },
      }),
    );
  });
  app.listen(Number(process.env.PORT), "127.0.0.1");
}

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i += 1) cluster.fork();
} else {
  serve();
}
