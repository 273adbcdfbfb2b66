// A bare Apollo Server 5 answering `{ hello }`: the same @apollo/server as Gatehouse, with its
// default plugins and nothing else (standalone node:http integration, no ORM, no database). What
// any request costs in Apollo itself: the ceiling for Gatehouse's smallest queries (`me`).
// Usage: PORT=… node bench/servers/apollo-hello.js; POST /graphql {"query":"{ hello }"}.
'use strict';
const { ApolloServer } = require('@apollo/server');
const { startStandaloneServer } = require('@apollo/server/standalone');

const server = new ApolloServer({
  typeDefs: 'type Query { hello: String! }',
  resolvers: { Query: { hello: () => 'world' } },
});

startStandaloneServer(server, { listen: { port: Number(process.env.PORT || 0), host: '127.0.0.1' } }).then(({ url }) => {
  process.stdout.write(JSON.stringify({ ready: true, port: Number(new URL(url).port) }) + '\n');
});
process.on('SIGTERM', () => server.stop().then(() => process.exit(0)));
