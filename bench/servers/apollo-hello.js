// A bare Apollo Server 5 answering `{ hello }`: the same @apollo/server as Gatehouse, with its
// default plugins and nothing else (no ORM, no database). What any request costs in Apollo
// itself: the ceiling for Gatehouse's smallest queries (`me`). APOLLO_INTEGRATION=standalone
// (default) serves it with Apollo's own node:http integration; `express` with the stack
// Gatehouse serves /graphql with (Express 5, express.json, @as-integrations/express5), to tell
// what the HTTP framework costs from what Gatehouse's own request path does.
// Usage: PORT=… node bench/servers/apollo-hello.js; POST /graphql {"query":"{ hello }"}.
'use strict';
const http = require('node:http');
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');

const server = new ApolloServer({
  typeDefs: 'type Query { hello: String! }',
  resolvers: { Query: { hello: () => 'world' } },
});
const ready = (port) => process.stdout.write(JSON.stringify({ ready: true, port }) + '\n');

if (process.env.APOLLO_INTEGRATION === 'express') {
  const express = require('express');
  const { expressMiddleware } = require('@as-integrations/express5');
  server.start().then(() => {
    const app = express();
    app.disable('x-powered-by');
    app.use('/graphql', express.json({ limit: '1mb' }), expressMiddleware(server));
    const httpServer = http.createServer(app);
    httpServer.listen(Number(process.env.PORT || 0), '127.0.0.1', () => ready(httpServer.address().port));
  });
} else {
  startStandaloneServer(server, { listen: { port: Number(process.env.PORT || 0), host: '127.0.0.1' } }).then(({ url }) =>
    ready(Number(new URL(url).port)),
  );
}
process.on('SIGTERM', () => server.stop().then(() => process.exit(0)));
