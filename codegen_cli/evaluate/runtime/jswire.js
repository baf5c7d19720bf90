// Plain data between the trusted JavaScript judge and the sandboxed candidate, and the frames that carry it
// (the JavaScript side of wire.py). The judge never holds an object the candidate made: a result crosses as
// JSON text and the judge builds fresh values from it, inside the test's own context (so they belong to the
// test's realm), with nothing but: undefined, null, booleans, numbers, strings, bigints, arrays and plain
// objects. JSON lacks some of these, so they are one-key objects:
//   {"u": 1} undefined   {"n": "-0" | "NaN" | "Infinity" | "-Infinity"}   {"b": "123"} bigint
//   {"o": [[key, value], ...]} a plain object (own enumerable data properties, in order)
// Anything else (a function, a class instance, a Map, an accessor, a Proxy's traps) is refused by name on the
// candidate side; whatever the candidate sends, the judge's decoder accepts only the shapes above.
// Frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON (as in wire.py).

const cgWire = (() => {
  const MAX_DEPTH = 100;
  const MAX_FRAME = 32 << 20;

  class PlainDataError extends Error {}

  function kindOf(value) {
    if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
    try {
      const proto = Object.getPrototypeOf(value);
      const name = proto && proto.constructor && proto.constructor.name;
      return typeof name === 'string' && name ? name : 'object';
    } catch (e) {
      return 'object';
    }
  }

  function encode(value, depth = 0) {
    if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
    if (value === undefined) return { u: 1 };
    if (typeof value === 'number') {
      if (Object.is(value, -0)) return { n: '-0' };
      return Number.isFinite(value) ? value : { n: String(value) };
    }
    if (typeof value === 'bigint') return { b: value.toString() };
    if (depth >= MAX_DEPTH) {
      throw new PlainDataError(`nested more than ${MAX_DEPTH} levels deep (or a container holds itself)`);
    }
    if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
      const out = [];
      for (let i = 0; i < value.length; i++) out.push(encode(value[i], depth + 1));
      return out;
    }
    if (typeof value === 'object') {
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        const pairs = [];
        for (const [key, property] of Object.entries(Object.getOwnPropertyDescriptors(value))) {
          if (!property.enumerable) continue;
          if (!('value' in property)) throw new PlainDataError(`an object with an accessor (${key}) is not plain data`);
          pairs.push([key, encode(property.value, depth + 1)]);
        }
        return { o: pairs };
      }
    }
    throw new PlainDataError(`a ${kindOf(value)} is not plain data`);
  }

  function decode(data, depth = 0) {
    if (data === null || typeof data === 'boolean' || typeof data === 'string' || typeof data === 'number') {
      return data;
    }
    if (depth >= MAX_DEPTH) throw new PlainDataError(`nested more than ${MAX_DEPTH} levels deep`);
    if (Array.isArray(data)) {
      const out = [];
      for (let i = 0; i < data.length; i++) out.push(decode(data[i], depth + 1));
      return out;
    }
    if (typeof data === 'object') {
      const keys = Object.keys(data);
      if (keys.length === 1) {
        const body = data[keys[0]];
        switch (keys[0]) {
          case 'u':
            if (body === 1) return undefined;
            break;
          case 'n':
            if (body === '-0') return -0;
            if (body === 'NaN' || body === 'Infinity' || body === '-Infinity') return Number(body);
            break;
          case 'b':
            if (typeof body === 'string' && /^-?\d+$/.test(body)) return BigInt(body);
            break;
          case 'o':
            if (Array.isArray(body)) {
              const out = {};
              for (const pair of body) {
                if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') {
                  throw new PlainDataError('malformed plain data');
                }
                Object.defineProperty(out, pair[0], {
                  value: decode(pair[1], depth + 1), enumerable: true, writable: true, configurable: true,
                });
              }
              return out;
            }
            break;
          default:
        }
      }
    }
    throw new PlainDataError('malformed plain data');
  }

  // Synchronous frames on a file descriptor (a socket or a pipe): the candidate and the judge block on them.
  const pause = new Int32Array(new SharedArrayBuffer(4));
  function retrying(call) {
    for (;;) {
      try {
        return call();
      } catch (e) {
        if (e.code !== 'EAGAIN' && e.code !== 'EINTR') throw e;
        Atomics.wait(pause, 0, 0, 1);
      }
    }
  }
  function readExact(fs, fd, size) {
    const buffer = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const n = retrying(() => fs.readSync(fd, buffer, got, size - got, null));
      if (n === 0) return null;
      got += n;
    }
    return buffer;
  }
  function recvRaw(fs, fd) {
    const header = readExact(fs, fd, 4);
    if (header === null) return null;
    const size = header.readUInt32BE(0);
    if (size > MAX_FRAME) throw new PlainDataError(`a message of ${size} bytes is over the ${MAX_FRAME}-byte limit`);
    return readExact(fs, fd, size);
  }
  function sendRaw(fs, fd, body) {
    const frame = Buffer.alloc(4 + body.length);
    frame.writeUInt32BE(body.length, 0);
    body.copy(frame, 4);
    let sent = 0;
    while (sent < frame.length) sent += retrying(() => fs.writeSync(fd, frame, sent, frame.length - sent));
  }
  const sendJson = (fs, fd, message) => sendRaw(fs, fd, Buffer.from(JSON.stringify(message), 'utf8'));

  return { PlainDataError, encode, decode, recvRaw, sendRaw, sendJson, kindOf };
})();
