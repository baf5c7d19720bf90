// Flood stdout and stderr forever, synchronously.
const fs = require('fs');
const line = 'j'.repeat(1023) + '\n';
for (;;) { fs.writeSync(1, line); fs.writeSync(2, line); }
