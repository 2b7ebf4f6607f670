// Sample service process for bench:warnings: its resident memory warms up (a saturating curve, as a
// runtime filling caches and JIT code does) and then stays flat; with `leak <startS> <MiBPerS> <capMiB>`
// it also leaks at a steady rate from startS until its RSS reaches capMiB. Memory is touched (filled), so
// it is resident. Exits on SIGTERM or after `maxS` seconds (bounded).
const [mode = 'warmup', startS = '150', rate = '3', capMiB = '800', maxS = '420'] = process.argv.slice(2);
const MiB = 1024 * 1024;
const held = [];
let allocated = 0;
const t0 = Date.now();
const base = process.memoryUsage().rss / MiB;
const target = (s) => {
  // 60 -> ~227 MiB over about three minutes, like the Node process of the issue
  let mib = Math.max(0, 60 - base) + 167 * (1 - Math.exp(-s / 50));
  if (mode === 'leak' && s > Number(startS)) mib += Number(rate) * (s - Number(startS));
  return mib;
};
const timer = setInterval(() => {
  const s = (Date.now() - t0) / 1000;
  if (s > Number(maxS)) process.exit(0);
  if (process.memoryUsage().rss / MiB >= Number(capMiB)) return;
  const want = target(s) * MiB;
  while (allocated + MiB <= want) {
    held.push(Buffer.allocUnsafe(MiB).fill(allocated & 0xff));
    allocated += MiB;
  }
}, 100);
process.on('SIGTERM', () => {
  clearInterval(timer);
  process.exit(0);
});
