// Allocate memory until something stops us (typed arrays live outside the V8 heap).
const keep = [];
for (;;) keep.push(new Uint8Array(64 << 20).fill(1));
