/**
 * Parent side of the server children: start one, talk to it over IPC, and make sure every child is gone when the
 * benchmark ends — normally, on an exception, or on Ctrl-C.
 */
import { fork } from 'node:child_process';

/** @type {Set<import('node:child_process').ChildProcess>} */
const alive = new Set();
const READY_TIMEOUT = 30_000;
const REPLY_TIMEOUT = 10_000;

/**
 * @typedef {object} ServerChild
 * @property {string} name
 * @property {number} port
 * @property {number} pid
 * @property {Record<string, unknown>} info
 * @property {() => Promise<void>} resetMemory   start a new peak-RSS window
 * @property {() => Promise<{ peakRss: number, rss: number, source: string }>} memory
 * @property {() => Promise<object[]>} counted   byte counts of instrumented requests since the last call
 * @property {() => Promise<void>} stop
 * @property {() => string} stderr           the last 4000 characters the child wrote to stderr
 */

/**
 * Forks `script` and resolves once it listens.
 * @param {string} script absolute path
 * @param {Record<string, string>} env extra environment
 * @returns {Promise<ServerChild>}
 */
export async function startServer(script, env) {
  const child = fork(script, [], {
    env: { ...process.env, ...env },
    // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the servers
    execArgv: (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  trackChild(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });

  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start in ${READY_TIMEOUT} ms\n${stderr}`)), READY_TIMEOUT);
    child.on('message', function onReady(message) {
      if (message?.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onReady);
      resolve(message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited before listening (code ${code}, signal ${signal})\n${stderr}`));
    });
  });

  let exited = null;
  child.once('exit', (code, signal) => (exited = `${ready?.name ?? script} exited (code ${code}, signal ${signal})`));
  child.on('error', () => {}); // a send on a closed channel; ask() reports it

  const ask = (type) =>
    new Promise((resolve, reject) => {
      const fail = (reason) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        reject(new Error(`${reason}; asked ${type}\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`${ready.name}: no reply`), REPLY_TIMEOUT);
      const onMessage = (message) => {
        if (message?.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message);
      };
      const onExit = () => fail(exited);
      if (exited) return fail(exited);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ type }, (err) => err && fail(`${ready.name}: ${err.message}`));
    });

  return {
    name: ready.name,
    port: ready.port,
    pid: child.pid,
    info: ready.info,
    async resetMemory() {
      await ask('mem-reset');
    },
    async memory() {
      const { peakRss, rss, source } = await ask('mem-peak');
      return { peakRss, rss, source };
    },
    async counted() {
      return (await ask('counted')).requests;
    },
    stop: () => stopChild(child),
    stderr: () => stderr,
  };
}

/** Pids of the children running now (for {@link import('./other-load.mjs')}: their CPU time is the bench's own). */
export function alivePids() {
  return [...alive].map((child) => child.pid);
}

/** Makes `child` one of the bench's children: counted as own load, and killed at the end like the servers. */
export function trackChild(child) {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  return child;
}

/** Stops every child still running (SIGTERM, then SIGKILL after a grace period). */
export async function stopAll() {
  await Promise.all([...alive].map(stopChild));
}

/** Installs exit hooks so children die with the parent even on a crash or signal. */
export function killChildrenOnExit() {
  process.once('exit', () => {
    for (const child of alive) child.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      for (const child of alive) child.kill('SIGKILL');
      process.exit(130);
    });
  }
}

// --- internal ---

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
