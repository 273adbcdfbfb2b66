// The load generator, run as a child process so that it does not share the servers' event loop
// (or their core): receives autocannon options as JSON in argv[2], prints the result as JSON.
'use strict';
const autocannon = require('autocannon');

autocannon(JSON.parse(process.argv[2]), (error, result) => {
  if (error) {
    console.error(error);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(JSON.stringify(result));
});
