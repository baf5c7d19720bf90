// The trusted side of a JavaScript verdict (runs after jswire.js, as `node -e`, outside the sandbox, one per
// judge server): for each program, a fresh vm context gets the prompt's helper functions and the dataset's
// test; each name the test must reach in the sample is a proxy that sends the arguments as plain data and
// builds the answer, in the test's own realm, from plain data. vm contexts are no isolation, and none is
// needed: only trusted code (ours and the dataset's) runs here. The candidate is another process, in the
// sandbox; the judge server relays the frames between the two and keeps the clock.
//
// Link with the judge server (fds given as arguments): frames whose first byte says what follows:
//   'J' + JSON  a message of the judge server / for it: run, greet, verdict, expired, closed
//   'C' + JSON  a frame of the candidate / for it (relayed as is)

(() => {
  const fs = require('fs');
  const vm = require('vm');
  const [IN, OUT] = [Number(process.argv[1]), Number(process.argv[2])];
  // What each test context starts with: the codec, and a console whose assert throws (HumanEval-X's
  // console.assert only prints), so that a failed assertion ends the test. Prints go nowhere.
  const CONTEXT_PRELUDE = `${cgWireSource}
    globalThis.cgWire = cgWire;
    var console = { assert(condition, ...message) { if (!condition) { const error = new Error('Assertion failed' +
      (message.length ? ': ' + message.join(' ') : '')); error.cgAssertion = true; throw error; } },
      log() {}, info() {}, warn() {}, error() {}, debug() {} };`;

  class CandidateFailure extends Error {
    constructor(reason, status = 'failed', ended = false) {
      super(reason);
      Object.assign(this, { reason, status, ended });
    }
  }

  const send = (kind, body) => cgWire.sendRaw(fs, OUT, Buffer.concat([Buffer.from(kind), body]));
  const sendJ = (message) => send('J', Buffer.from(JSON.stringify(message), 'utf8'));
  const receive = () => {
    const frame = cgWire.recvRaw(fs, IN);
    if (frame === null) process.exit(0); // the judge server is gone
    return { kind: String.fromCharCode(frame[0]), body: frame.subarray(1) };
  };

  // The candidate's next frame, through the judge server (which reports time-outs and a closed channel).
  function candidateFrame(what) {
    const { kind, body } = receive();
    if (kind === 'C') {
      try {
        const message = JSON.parse(body.toString('utf8'));
        if (message && typeof message === 'object') return message;
      } catch (e) { /* below */ }
      throw new CandidateFailure(`unreadable answer to ${what}`);
    }
    const note = JSON.parse(body.toString('utf8'));
    if (note.op === 'expired') throw new CandidateFailure(`no answer within the time limit (waiting for ${what})`, 'timeout');
    if (note.op === 'closed') throw new CandidateFailure(`the candidate's process ended while the judge waited for ${what}`, 'failed', true);
    throw new CandidateFailure(`the candidate's answer to ${what} was refused: ${note.reason || note.op}`);
  }

  const NO_REFERENCE = Symbol('no reference');
  // Whether plain data holds a NaN or an infinity (numbers in arrays and objects, 50 levels deep).
  const nonFinite = (value, depth) => {
    if (typeof value === 'number') return !Number.isFinite(value);
    if (depth >= 50 || value === null || typeof value !== 'object') return false;
    return Object.values(value).some((item) => nonFinite(item, depth + 1));
  };

  function testLine(error, test) {
    const match = /test\.js:(\d+)/.exec(String(error && error.stack));
    if (!match) return '';
    const text = (test.split('\n')[Number(match[1]) - 1] || '').trim().slice(0, 200);
    return `test line ${match[1]}: ${text}`;
  }

  function run(job) {
    const context = vm.createContext({});
    const deadline = Date.now() + job.timeout_ms;
    const left = () => Math.max(1, deadline - Date.now());
    const state = { calls: 0 };
    const call = (name, args) => {
      state.calls += 1;
      const what = `call ${state.calls} (${name})`;
      let encoded;
      try {
        encoded = args.map((arg) => context.cgWire.encode(arg));
      } catch (error) {
        throw Object.assign(new Error(`the test passes ${error.message} to ${name}`), { cgJudge: true });
      }
      send('C', Buffer.from(JSON.stringify({ seq: state.calls, name, args: encoded }), 'utf8'));
      const reply = candidateFrame(what);
      if (reply.seq !== state.calls) throw new CandidateFailure(`the candidate answered out of turn at ${what}`);
      if ('ok' in reply) {
        let result;
        try {
          result = context.cgWire.decode(reply.ok); // argument changes stay in the candidate (issue 21)
        } catch (error) {
          throw new CandidateFailure(`${name} returned ${error.message}`);
        }
        if (name === job.entry && nonFinite(result, 0)) {
          const expected = reference(encoded);
          if (expected !== NO_REFERENCE && !nonFinite(expected, 0)) {
            throw new CandidateFailure(`${name} returned ${String(result).slice(0, 80)} (NaN or infinity) where ` +
              'the reference solution returns a finite value');
          }
        }
        return result;
      }
      if ('raised' in reply) { // the same kind of error in the test's realm (a test may catch a TypeError)
        const error = makeError(String(reply.raised), String(reply.message || '').slice(0, 2000));
        error.cgRaised = `${name} threw ${String(reply.message || reply.raised).slice(0, 500)}`;
        throw error;
      }
      throw new CandidateFailure(String(reply.bad || reply.missing || `a malformed answer to ${what}`));
    };
    // The problem's reference solution (trusted dataset text) in a context of its own, built on first use,
    // called on a fresh decoding of the same plain-data arguments: a NaN or an infinity passes every
    // `Math.abs(a - b) > tol` check, so it fails where the reference returns a finite value.
    let referenceContext = null;
    const reference = (encodedArgs) => {
      if (!job.reference || !job.entry) return NO_REFERENCE;
      try {
        if (referenceContext === null) {
          referenceContext = vm.createContext({});
          vm.runInContext(CONTEXT_PRELUDE, referenceContext);
          vm.runInContext(`${job.reference}\n;globalThis.cgReference = ${job.entry};`, referenceContext,
            { filename: 'reference.js', timeout: left() });
        }
        const args = encodedArgs.map((arg) => referenceContext.cgWire.decode(arg));
        return referenceContext.cgReference(...args);
      } catch (error) {
        return NO_REFERENCE;
      }
    };
    const makeError = vm.runInContext(`(kind, message) => {
      const Kind = { Error, TypeError, RangeError, SyntaxError, ReferenceError }[kind] || Error;
      return new Kind(message);
    }`, context);
    const verdict = (status, reason, extra = {}) => ({ op: 'verdict', status, reason, calls: state.calls, ...extra });
    try {
      vm.runInContext(CONTEXT_PRELUDE, context);
      vm.runInContext(job.trusted, context, { filename: 'prompt.js', timeout: left() });
      sendJ({ op: 'greet' });
      const hello = candidateFrame('the program to start');
      if (hello.op !== 'hello') throw new CandidateFailure('the candidate did not start the call protocol');
      if (hello.error) return verdict('failed', `the program failed before the tests: ${String(hello.error).slice(0, 1000)}`);
      const kinds = hello.names && typeof hello.names === 'object' ? hello.names : {};
      const missing = job.names.filter((name) => kinds[name] !== 'function');
      if (missing.length) return verdict('failed', `the program does not define ${missing.join(', ')} (as a function)`);
      const makeProxy = vm.runInContext('(call, name) => function (...args) { return call(name, args); }', context);
      for (const name of job.names) context[name] = makeProxy(call, name);
      vm.runInContext(job.test, context, { filename: 'test.js', timeout: left() });
    } catch (error) {
      if (error instanceof CandidateFailure) return verdict(error.status, error.reason, { ended: error.ended });
      if (error && error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        return verdict('timeout', `the test did not finish within the time limit (${state.calls} calls made)`);
      }
      if (error && error.cgJudge) return verdict('sandbox_error', error.message);
      const where = testLine(error, job.test);
      if (error && error.cgRaised) return verdict('failed', error.cgRaised + (where ? ` (${where})` : ''));
      if (error && error.cgAssertion) {
        return verdict('failed', `assertion failed at ${where || 'the test'}${error.message.length > 16 ? error.message.slice(16) : ''}`);
      }
      let text;
      try {
        text = String(error).slice(0, 300);
      } catch (e) {
        text = 'an unprintable exception';
      }
      return verdict('failed', `the test threw ${text}${where ? ` at ${where}` : ''}`);
    }
    if (state.calls === 0) return verdict('failed', 'the tests never called the candidate');
    return verdict('passed', '');
  }

  for (;;) {
    const { kind, body } = receive();
    if (kind !== 'J') continue;
    const job = JSON.parse(body.toString('utf8'));
    if (job.op === 'run') sendJ(run(job));
  }
})();
