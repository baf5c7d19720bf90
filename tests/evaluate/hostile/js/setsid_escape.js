// A detached child (setsid) that outlives its parent.
const { spawn } = require('child_process');
const child = spawn('/bin/sleep', ['1000'], { detached: true, stdio: 'ignore' });
child.unref();
console.log('parent exits, daemon keeps running');
