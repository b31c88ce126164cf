// Preloaded into limit.mjs's process by run.mjs (`node --import ./bench/cpu-hook.mjs
// bench/limit.mjs <ms>`), so limit.mjs stays the unmodified reference: it wraps `performance.now`,
// which limit.mjs calls only in its measurement loops (once at the start of a measurement, once
// after each batch of 1,024 proposals, until `ms` elapsed), and notes the process's CPU time
// (process.cpuUsage, user + system, GC threads included) at each call. A measurement's window
// opens at its first call and closes at the call that finds `ms` elapsed, the very test limit.mjs
// makes. On exit it prints one JSON line after limit.mjs's own: each window's wall and CPU time,
// in the order limit.mjs measures (sync a, sync b, asyncAll a, asyncAll b, asyncQuorum a,
// asyncQuorum b). The extra cost: one cpuUsage call per 1,024 proposals.
const MS = Number(process.argv[2] ?? 1500);
const wallNow = performance.now.bind(performance);
const windows = [];
let open;
performance.now = function now() {
  const t = wallNow();
  const { user, system } = process.cpuUsage();
  const cpuMs = (user + system) / 1000;
  if (open === undefined) open = { t0: t, cpu0: cpuMs };
  else if (t - open.t0 >= MS) {
    windows.push({ wallMs: t - open.t0, cpuMs: cpuMs - open.cpu0 });
    open = undefined;
  }
  return t;
};
process.on('exit', () => console.log(JSON.stringify({ cpuWindows: windows })));
