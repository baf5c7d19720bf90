// Connect to a listener on the host's loopback and send a message.
const net = require('net');
const [host, port] = process.argv.slice(2);
const s = net.connect({ host, port: Number(port) }, () => {
  s.end('ESCAPED');
  console.log('ESCAPED connected');
});
s.on('error', (e) => { console.log(`blocked: ${e.code}`); process.exitCode = 1; });
