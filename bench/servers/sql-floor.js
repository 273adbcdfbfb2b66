// The SQL floor of W1: the same answer as Gatehouse's `users(first: N) { edges { node { username
// groups { name permissions { codename } } } } }`, built by PostgreSQL in ONE json_agg statement
// and written out as it comes, over plain node:http. No GraphQL, no ORM: what the database and
// one HTTP exchange cost, the least any server can do for that answer.
// Usage: DATABASE_URL=… PORT=… node bench/servers/sql-floor.js; POST /w1 {"first": 50}.
'use strict';
const http = require('node:http');
const { Pool } = require('pg');

const W1 = `
select json_build_object('data', json_build_object('users', json_build_object('edges', coalesce(json_agg(
         json_build_object('node', json_build_object(
           'username', u.username,
           'groups', (select coalesce(json_agg(json_build_object(
                        'name', g.name,
                        'permissions', (select coalesce(json_agg(json_build_object('codename', p.codename)
                                                                  order by p.app_label, p.model, p.codename), '[]')
                                          from auth_group_permissions gp join auth_permission p on p.id = gp.permission_id
                                         where gp.group_id = g.id)) order by g.name), '[]')
                        from auth_user_groups ug join auth_group g on g.id = ug.group_id
                       where ug.user_id = u.id)))
         order by u.username), '[]'))))::text as body
  from (select id, username from auth_user order by username limit $1) u`;

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX || 10) });

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') return void res.end('ok');
  let raw = '';
  req.setEncoding('utf8');
  req.on('data', (chunk) => (raw += chunk));
  req.on('end', () => {
    let first = 50;
    try {
      first = Math.min(Math.max(Number(JSON.parse(raw || '{}').first) || 50, 1), 500);
    } catch {
      // a malformed body asks for the default page
    }
    pool.query({ name: 'w1', text: W1, values: [first] }).then(
      ({ rows }) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(rows[0].body);
      },
      (error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error.message));
      },
    );
  });
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: true, port: server.address().port }) + '\n');
});
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
