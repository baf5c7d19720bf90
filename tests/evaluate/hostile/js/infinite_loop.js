// Burn CPU forever, ignoring SIGTERM.
process.on('SIGTERM', () => {});
for (;;) {}
