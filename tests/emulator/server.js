// Starts the Telegram Bot API emulator (telegram-test-api) for the e2e tests.
// Usage: node server.js <port>. Prints "ready <port>" once it listens and
// stops when stdin closes (the test process went away) or on SIGTERM.
const TelegramServer = require('telegram-test-api');

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node server.js <port>');
  process.exit(2);
}
const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 3600 });

async function stop() {
  await server.stop();
  process.exit(0);
}

server.start().then(() => {
  console.log(`ready ${port}`);
}, (err) => {
  console.error(`emulator failed to start: ${err}`);
  process.exit(1);
});
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
