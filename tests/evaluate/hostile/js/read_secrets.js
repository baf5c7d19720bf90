// Look for secrets: an environment variable and a credential file in the real home directory.
const fs = require('fs');
const [name, path] = process.argv.slice(2);
if (name in process.env) console.log(`ESCAPED env ${name}=${process.env[name]}`);
try { console.log(`ESCAPED file ${path}: ${fs.readFileSync(path, 'utf8')}`); }
catch (e) { console.log(`blocked file: ${e.code}`); }
process.exitCode = 1;
