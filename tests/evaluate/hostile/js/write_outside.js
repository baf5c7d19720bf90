// Try to create each path given, then delete the file given after --delete.
const fs = require('fs');
const args = process.argv.slice(2);
const cut = args.indexOf('--delete');
for (const p of args.slice(0, cut)) {
  try { fs.writeFileSync(p, 'pwned'); console.log(`ESCAPED wrote ${p}`); }
  catch (e) { console.log(`blocked write ${p}: ${e.code}`); }
}
try { fs.unlinkSync(args[cut + 1]); console.log(`ESCAPED deleted ${args[cut + 1]}`); }
catch (e) { console.log(`blocked delete: ${e.code}`); }
