// Benchmark-only preload (`node --expose-gc -r bench/heapProbe.cjs …`). On SIGUSR2 it
// runs a full GC and writes the process's memory as JSON to $BENCH_HEAP_DIR/<pid>.json.
// RSS sampled without a GC mostly measures when V8 last collected; this measures what
// the sessions really keep alive.
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const dir = process.env.BENCH_HEAP_DIR;
const gc = globalThis.gc;
if (dir && typeof gc === 'function') {
  process.on('SIGUSR2', () => {
    gc();
    const m = process.memoryUsage();
    const file = join(dir, `${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, external: m.external }));
    renameSync(`${file}.tmp`, file);
  });
}
