// PostGraphile 5 on Gatehouse's tables, as a peer for `npm run bench`: the Amber preset (its
// default schema), and with PG_MANY_TO_MANY=1 also @graphile-contrib/pg-many-to-many, whose
// `auth_user → auth_group → auth_permission` fields answer W1 in Gatehouse's own shape.
// Usage (from bench/peers): DATABASE_URL=… PORT=… [PG_MANY_TO_MANY=1] node postgraphile.mjs
import './with-resolvers.mjs';
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { PgManyToManyPreset } from '@graphile-contrib/pg-many-to-many';

const manyToMany = process.env.PG_MANY_TO_MANY === '1';
const preset = {
  extends: [PostGraphileAmberPreset, ...(manyToMany ? [PgManyToManyPreset] : [])],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ['public'],
      poolConfig: { max: Number(process.env.POOL_MAX || 10) },
    }),
  ],
  grafserv: { graphqlPath: '/graphql', graphiql: false, watch: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
serv.addTo(server).then(
  () => {
    server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
      process.stdout.write(JSON.stringify({ ready: true, port: server.address().port }) + '\n');
    });
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
process.on('SIGTERM', () => {
  server.close();
  pgl.release().then(() => process.exit(0));
});
