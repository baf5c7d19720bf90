// The candidate side of a JavaScript verdict (runs sandboxed, after jswire.js, as `node -e`): wait for the
// program on the call channel, run it as `node main.js` would (a CommonJS module: require, module, exports),
// say which of the test's names it defines as functions, then answer calls with plain data until EOF.
// Nothing here is trusted by the judge: the sample may patch or bypass all of it, and only hurts itself.

(() => {
  const fs = require('fs');
  const vm = require('vm');
  const CHAN = process.argv.length > 1 ? Number(process.argv[1]) : 3; // fd 3, or given (per-program fallback)
  const describe = (error) => {
    try {
      return String(error && error.stack ? error.stack.split('\n').slice(0, 3).join(' | ') : error).slice(0, 2000);
    } catch (e) {
      return 'an unprintable exception';
    }
  };
  const frame = cgWire.recvRaw(fs, CHAN);
  if (frame === null) process.exit(0);
  const program = JSON.parse(frame.toString('utf8'));
  const names = program.names.filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
  const hello = { op: 'hello', names: {} };
  let functions = [];
  try {
    const epilogue = `\n;return [${names.map((n) => `typeof ${n} === 'undefined' ? undefined : ${n}`).join(', ')}];`;
    const body = vm.compileFunction(program.source + epilogue, ['exports', 'require', 'module', '__filename', '__dirname'],
      { filename: 'main.js' });
    const module = { exports: {} };
    const found = body.call(module.exports, module.exports, require, module, `${process.cwd()}/main.js`, process.cwd());
    functions = Array.isArray(found) ? found : [];
  } catch (error) {
    hello.error = describe(error);
  }
  const table = {};
  names.forEach((name, i) => {
    table[name] = functions[i];
    hello.names[name] = typeof functions[i] === 'function' ? 'function' : functions[i] === undefined ? 'missing' : 'not callable';
  });
  const answer = (message) => {
    const seq = message.seq;
    let args;
    try {
      args = cgWire.decode(message.args);
      if (!Array.isArray(args)) throw new cgWire.PlainDataError('arguments must be a list');
    } catch (error) {
      return { seq, bad: `bad call: ${error.message}` };
    }
    const fn = table[message.name];
    if (typeof fn !== 'function') return { seq, missing: `${message.name} is not defined by the program` };
    let result;
    try {
      result = fn(...args);
    } catch (error) {
      return { seq, raised: cgWire.kindOf(error), message: describe(error) };
    }
    try {
      return { seq, ok: cgWire.encode(result) }; // argument changes stay here (issue 21)
    } catch (error) {
      return { seq, bad: `the result of ${message.name}: ${error.message}` };
    }
  };
  try {
    cgWire.sendJson(fs, CHAN, hello);
    for (;;) {
      const request = cgWire.recvRaw(fs, CHAN);
      if (request === null) break;
      cgWire.sendJson(fs, CHAN, answer(JSON.parse(request.toString('utf8'))));
    }
  } catch (error) {
    // the judge closed the channel or sent garbage: nothing left to do
  }
  process.exit(0);
})();
