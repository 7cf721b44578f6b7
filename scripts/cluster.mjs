#!/usr/bin/env node
// A local gradcheck cluster: one coordinator and N workers as background processes that
// share this machine's PostgreSQL and Redis. `up` starts them, `down` stops them. What it
// needs to find them again (pids, logs, the submitter key) lives in .gradcheck-cluster/.
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { availableParallelism } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const STATE_DIR = join(ROOT, ".gradcheck-cluster");
const LOG_DIR = join(STATE_DIR, "logs");
const PID_FILE = join(STATE_DIR, "pids.json");
const SUBMITTER_KEY_FILE = join(STATE_DIR, "submitter-key");

/** Entry points, relative to the repository root (also how `down` recognises its processes). */
const ENTRY = {
  coordinator: "apps/coordinator/dist/main.js",
  worker: "apps/worker/dist/main.js",
  cli: "apps/cli/dist/bin.js",
};

const DEFAULTS = {
  port: 8080,
  databaseUrl: "postgresql://postgres@127.0.0.1:5432/gradcheck",
  redisUrl: "redis://127.0.0.1:6379",
  workers: 1,
  readyTimeoutSeconds: 60,
  stopTimeoutSeconds: 15,
};
const MAX_WORKERS = 64;
const LOG_TAIL_LINES = 40;
/** Workers that die at once (bad key, Redis refused) do so within this time. */
const WORKER_SETTLE_MS = 1500;

const USAGE = `Usage: pnpm cluster:up [--workers N] [--timeout SECONDS]
       pnpm cluster:down [--timeout SECONDS]
       (the same as: node scripts/cluster.mjs up|down [options])

Runs a local gradcheck cluster in the background: one coordinator (HTTP API) and N worker
processes, using the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL.

Commands:
  up     start the coordinator, wait until it is ready, create API keys, start the workers
           --workers N        worker processes, 1 to ${MAX_WORKERS} (default ${DEFAULTS.workers})
           --timeout SECONDS  how long to wait for the coordinator to be ready (default ${DEFAULTS.readyTimeoutSeconds})
  down   stop the workers (they finish the shards they are running), then the coordinator
           --timeout SECONDS  how long to wait for each to exit before killing it (default ${DEFAULTS.stopTimeoutSeconds})

Environment:
  PORT          coordinator port (default ${DEFAULTS.port})
  DATABASE_URL  PostgreSQL (default ${DEFAULTS.databaseUrl});
                the coordinator creates and migrates the database
  REDIS_URL     Redis (default ${DEFAULTS.redisUrl})
  HOST, GRADCHECK_QUEUE_PREFIX, GRADCHECK_STORAGE_DIR, GRADCHECK_CACHE_DIR and
  GRADCHECK_WORKER_CONCURRENCY (default: the cores shared among the workers) are passed on.

Pids, logs and the submitter key are kept in .gradcheck-cluster/ at the repository root.`;

const OPTIONS = {
  up: { workers: { type: "string" }, timeout: { type: "string" } },
  down: { timeout: { type: "string" } },
};

/** Bad command line or settings: exit status 2. */
class UsageError extends Error {}
/** The cluster could not be started or stopped: exit status 1. */
class ClusterError extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const display = (path) => relative(process.cwd(), path) || ".";

function parseCommandLine(argv) {
  // `pnpm cluster:up -- --workers 2` hands the separator on; no command takes positionals.
  const separator = argv.indexOf("--");
  const args = separator === -1 ? argv : argv.toSpliced(separator, 1);
  if (args.includes("--help") || args.includes("-h")) return { command: "help" };
  const [command, ...rest] = args;
  if (command === undefined) throw new UsageError("missing command: up or down");
  if (!Object.hasOwn(OPTIONS, command)) throw new UsageError(`unknown command "${command}": expected up or down`);
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS[command], strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError(`${command}: ${parseArgsMessage(error)}`);
  }
  const defaultTimeout = command === "up" ? DEFAULTS.readyTimeoutSeconds : DEFAULTS.stopTimeoutSeconds;
  return {
    command,
    workers: values.workers === undefined ? DEFAULTS.workers : parseWorkers(values.workers),
    timeoutSeconds: values.timeout === undefined ? defaultTimeout : parseTimeout(values.timeout),
  };
}

function parseArgsMessage(error) {
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && quoted) return `unknown option ${quoted}`;
  if (error.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL" && quoted) return `unexpected argument "${quoted}"`;
  return error.message;
}

function parseWorkers(text) {
  const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(count >= 1 && count <= MAX_WORKERS)) {
    throw new UsageError(`--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${text}"`);
  }
  return count;
}

function parseTimeout(text) {
  const seconds = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--timeout must be a number of seconds from 1 to 3600, got "${text}"`);
  return seconds;
}

/** What the processes are started with; explicit, so that the CLI and the workers agree with the coordinator. */
function readSettings(env, workers) {
  const portText = env.PORT || String(DEFAULTS.port);
  const port = /^\d+$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`PORT must be a port number from 1 to 65535, got "${portText}"`);
  const databaseUrl = env.DATABASE_URL || DEFAULTS.databaseUrl;
  const redisUrl = env.REDIS_URL || DEFAULTS.redisUrl;
  for (const [name, value] of [["DATABASE_URL", databaseUrl], ["REDIS_URL", redisUrl]]) {
    if (!URL.canParse(value)) throw new UsageError(`${name} is not a URL: "${value}"`);
  }
  const bindHost = env.HOST || "0.0.0.0";
  // A wildcard bind address is reached through the loopback interface.
  const clientHost = bindHost === "0.0.0.0" || bindHost === "::" ? "127.0.0.1" : bindHost;
  const workerConcurrency = env.GRADCHECK_WORKER_CONCURRENCY || String(Math.max(1, Math.floor(availableParallelism() / workers)));
  return {
    port,
    bindHost,
    url: `http://${clientHost.includes(":") ? `[${clientHost}]` : clientHost}:${port}`,
    databaseUrl,
    redisUrl,
    workers,
    workerConcurrency,
  };
}

function assertBuilt() {
  const missing = Object.values(ENTRY).filter((entry) => !existsSync(join(ROOT, entry)));
  if (missing.length === 0) return;
  const remedy = existsSync(join(ROOT, "node_modules"))
    ? "Build them first: pnpm build"
    : "Install the dependencies first (this also builds them): pnpm install";
  throw new ClusterError(`The apps are not built: missing ${missing.join(", ")}.\n${remedy}`);
}

// ---- pid file ------------------------------------------------------------------------

function readState() {
  if (!existsSync(PID_FILE)) return null;
  let state;
  try {
    state = JSON.parse(readFileSync(PID_FILE, "utf8"));
  } catch (error) {
    throw new ClusterError(`cannot read ${display(PID_FILE)}: ${error.message}. Delete it if no cluster is running.`);
  }
  if (!Array.isArray(state?.processes) || !state.processes.every((p) => Number.isInteger(p?.pid) && typeof p.entry === "string")) {
    throw new ClusterError(`${display(PID_FILE)} is not a pid file of this script. Delete it if no cluster is running.`);
  }
  return state;
}

function writeState(settings, processes) {
  const state = {
    url: settings.url,
    startedAt: new Date().toISOString(),
    processes: processes.map(({ role, pid, entry, log }) => ({ role, pid, entry, log: relative(ROOT, log) })),
  };
  writeFileSync(PID_FILE, `${JSON.stringify(state, null, 2)}\n`);
}

const removeState = () => rmSync(PID_FILE, { force: true });

// ---- processes -----------------------------------------------------------------------

/** Starts `node <entry>` in its own process group, detached from this one, output to its log. */
function startProcess(role, entry, env, logName) {
  const log = join(LOG_DIR, logName);
  const fd = openSync(log, "w");
  let child;
  try {
    child = spawn(process.execPath, [entry], { cwd: ROOT, env, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  child.on("error", () => {}); // a failed start shows as a missing pid below
  if (child.pid === undefined) throw new ClusterError(`could not start ${role} (node ${entry})`);
  child.unref();
  return { role, pid: child.pid, entry, log, child };
}

/**
 * Whether a recorded process still runs. A child of this process is asked directly (a zombie
 * still answers signals); any other pid must still run our entry point, so that a pid reused
 * after a reboot is never signalled.
 */
function isRunning(record) {
  if (record.child) return record.child.exitCode === null && record.child.signalCode === null;
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  if (!existsSync("/proc")) return true;
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return readFileSync(`/proc/${record.pid}/cmdline`, "utf8").split("\0").includes(record.entry);
  } catch {
    return false;
  }
}

function signal(target, name) {
  try {
    process.kill(target, name);
  } catch (error) {
    if (error.code !== "ESRCH") throw error;
  }
}

/**
 * SIGTERM to each process (not its group, so that work it delegated can finish), a wait of up
 * to timeoutMs, then SIGKILL to the group of each one left, and to any orphans of the others.
 * Returns the records that had to be killed.
 */
async function stopProcesses(records, timeoutMs) {
  const running = records.filter(isRunning);
  for (const record of running) signal(record.pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (running.some(isRunning) && Date.now() < deadline) await sleep(100);
  const killed = running.filter(isRunning);
  for (const record of running) signal(-record.pid, "SIGKILL");
  const killDeadline = Date.now() + 5000;
  while (killed.some(isRunning) && Date.now() < killDeadline) await sleep(50);
  return killed;
}

function logTail(record) {
  let lines;
  try {
    lines = readFileSync(record.log, "utf8").trimEnd().split("\n");
  } catch {
    return `(no log at ${display(record.log)})`;
  }
  const tail = lines.slice(-LOG_TAIL_LINES).join("\n");
  return `--- last lines of ${display(record.log)} ---\n${tail || "(empty)"}\n--- end of ${display(record.log)} ---`;
}

function describeExit(record) {
  const { exitCode, signalCode } = record.child;
  return signalCode ? `killed by ${signalCode}` : `exit status ${exitCode}`;
}

// ---- checks before starting ------------------------------------------------------------

/** Something else on the port would answer the readiness check in the coordinator's place. */
function assertPortFree(settings) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error) => {
      if (error.code === "EADDRINUSE") {
        reject(new ClusterError(`Port ${settings.port} is already in use on ${settings.bindHost}. Stop what uses it, or choose another: PORT=8081 pnpm cluster:up`));
      } else reject(new ClusterError(`cannot listen on ${settings.bindHost}:${settings.port}: ${error.message}`));
    });
    server.listen({ port: settings.port, host: settings.bindHost, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** Fails fast, with the variable to fix, when a service is not even accepting connections. */
async function assertReachable(service, variable, url, defaultPort) {
  const parsed = new URL(url);
  if (!parsed.hostname) return; // e.g. a Unix socket given as a query parameter
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(parsed.port) || defaultPort;
  const failure = await new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(3000, () => socket.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    socket.once("connect", () => {
      socket.end();
      resolve(null);
    });
    socket.once("error", (error) => resolve(error.code ?? error.message));
  });
  if (failure) {
    throw new ClusterError(`${service} is not reachable at ${host}:${port} (${failure}). Start it, or set ${variable} to a running server.`);
  }
}

// ---- up --------------------------------------------------------------------------------

async function waitUntilReady(coordinator, settings, timeoutSeconds) {
  const readyUrl = `${settings.url}/api/v1/health/ready`;
  const deadline = Date.now() + timeoutSeconds * 1000;
  let lastAnswer = "no answer";
  while (Date.now() < deadline) {
    if (!isRunning(coordinator)) {
      throw new ClusterError(`The coordinator stopped (${describeExit(coordinator)}) before it was ready.\n${logTail(coordinator)}`);
    }
    try {
      const response = await fetch(readyUrl, { signal: AbortSignal.timeout(2000) });
      const body = (await response.text()).trim();
      if (response.ok) return;
      lastAnswer = `${response.status} ${body.slice(0, 300)}`;
    } catch (error) {
      lastAnswer = error.cause?.code ?? error.message;
    }
    await sleep(500);
  }
  throw new ClusterError(`The coordinator was not ready after ${timeoutSeconds} s (${readyUrl}: ${lastAnswer}).\n${logTail(coordinator)}`);
}

/** A new API key from the CLI, which prints the key alone on stdout. */
async function createKey(settings, role, name) {
  const args = [ENTRY.cli, "keys", "create", "--role", role, "--name", name];
  let stdout;
  try {
    ({ stdout } = await promisify(execFile)(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: settings.databaseUrl },
      timeout: 60_000,
    }));
  } catch (error) {
    throw new ClusterError(`could not create the ${role} key (node ${args.join(" ")}): ${error.stderr?.trim() || error.message}`);
  }
  const key = stdout.trim();
  if (!key || /\s/.test(key)) throw new ClusterError(`the CLI printed no ${role} key, but: ${JSON.stringify(stdout.slice(0, 200))}`);
  return key;
}

function redactedUrl(text) {
  const url = new URL(text);
  if (url.password) url.password = "***";
  return url.toString();
}

async function up({ workers, timeoutSeconds }) {
  const settings = readSettings(process.env, workers);
  assertBuilt();
  const previous = readState();
  if (previous) {
    const running = previous.processes.filter(isRunning);
    if (running.length > 0) {
      const pids = running.map((p) => `${p.role} ${p.pid}`).join(", ");
      throw new ClusterError(`A local cluster is already running (${pids}; ${previous.url}). Stop it first: pnpm cluster:down`);
    }
    console.log(`Removing ${display(PID_FILE)}: none of its processes is still running.`);
    removeState();
  }
  await assertPortFree(settings);
  await assertReachable("PostgreSQL", "DATABASE_URL", settings.databaseUrl, 5432);
  await assertReachable("Redis", "REDIS_URL", settings.redisUrl, 6379);
  mkdirSync(LOG_DIR, { recursive: true });

  const started = [];
  const stopStarted = async () => {
    await stopProcesses(started, 5000);
    removeState();
  };
  // The children are detached, so Ctrl-C would not reach them: stop them here.
  const onInterrupt = () => {
    console.error("\nInterrupted: stopping what was started…");
    stopStarted().finally(() => process.exit(130));
  };
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onInterrupt);
  try {
    const startedAt = Date.now();
    const coordinatorEnv = { ...process.env, PORT: String(settings.port), DATABASE_URL: settings.databaseUrl, REDIS_URL: settings.redisUrl };
    const coordinator = startProcess("coordinator", ENTRY.coordinator, coordinatorEnv, "coordinator.log");
    started.push(coordinator);
    writeState(settings, started);
    console.log(`Started the coordinator (pid ${coordinator.pid}); waiting up to ${timeoutSeconds} s until ${settings.url}/api/v1/health/ready answers…`);
    await waitUntilReady(coordinator, settings, timeoutSeconds);
    console.log(`Coordinator ready after ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Creating API keys…`);

    const workerKey = await createKey(settings, "viewer", "local-cluster-workers");
    const submitterKey = await createKey(settings, "submitter", "local-cluster-user");

    const workerEnv = {
      ...process.env,
      REDIS_URL: settings.redisUrl,
      GRADCHECK_SERVER: settings.url,
      GRADCHECK_KEY: workerKey,
      GRADCHECK_WORKER_CONCURRENCY: settings.workerConcurrency,
    };
    for (let index = 1; index <= workers; index += 1) {
      started.push(startProcess("worker", ENTRY.worker, workerEnv, `worker-${index}.log`));
      writeState(settings, started);
    }
    await sleep(WORKER_SETTLE_MS);
    const stopped = started.filter((record) => !isRunning(record));
    if (stopped.length > 0) {
      const details = stopped.map((record) => `${record.role} ${record.pid} stopped (${describeExit(record)})\n${logTail(record)}`);
      throw new ClusterError(`Not every process kept running:\n${details.join("\n")}`);
    }
    writeFileSync(SUBMITTER_KEY_FILE, `${submitterKey}\n`, { mode: 0o600 });
    printStarted(settings, started, submitterKey);
  } catch (error) {
    console.error("Stopping what was started…");
    await stopStarted();
    throw error;
  } finally {
    process.removeListener("SIGINT", onInterrupt);
    process.removeListener("SIGTERM", onInterrupt);
  }
}

function printStarted(settings, started, submitterKey) {
  const [coordinator, ...workers] = started;
  const workerPids = workers.map((w) => w.pid).join(", ");
  console.log(`
gradcheck cluster is up.
  coordinator  ${settings.url}  (pid ${coordinator.pid})
  workers      ${workers.length} (pid ${workerPids}), concurrency ${settings.workerConcurrency} each
  database     ${redactedUrl(settings.databaseUrl)}
  redis        ${redactedUrl(settings.redisUrl)}
  logs         ${display(LOG_DIR)}/

Submitter key (not shown again; also saved in ${display(SUBMITTER_KEY_FILE)}):
  ${submitterKey}

Submit a check:
  pnpm gradcheck submit CHECKPOINT --model MODEL.json --server ${settings.url} --key ${submitterKey} --wait

Stop the cluster:
  pnpm cluster:down`);
}

// ---- down ------------------------------------------------------------------------------

async function down({ timeoutSeconds }) {
  const state = readState();
  if (!state) {
    console.log(`No local cluster is running (no ${display(PID_FILE)}).`);
    return;
  }
  const running = state.processes.filter(isRunning);
  if (running.length === 0) {
    removeState();
    console.log(`No local cluster is running: the processes in ${display(PID_FILE)} had already exited. Removed it.`);
    return;
  }
  const timeoutMs = timeoutSeconds * 1000;
  const killed = [];
  // Workers first: they finish their running shards, whose results the coordinator aggregates.
  const workers = running.filter((p) => p.role === "worker");
  if (workers.length > 0) {
    console.log(`Stopping ${workers.length} worker${workers.length === 1 ? "" : "s"} (pid ${workers.map((p) => p.pid).join(", ")})…`);
    killed.push(...(await stopProcesses(workers, timeoutMs)));
  }
  const others = running.filter((p) => p.role !== "worker");
  for (const record of others) {
    console.log(`Stopping the ${record.role} (pid ${record.pid})…`);
    killed.push(...(await stopProcesses([record], timeoutMs)));
  }
  removeState();
  for (const record of killed) console.log(`  ${record.role} ${record.pid} did not exit within ${timeoutSeconds} s after SIGTERM: killed.`);
  console.log(`Local cluster stopped. Logs are kept in ${display(LOG_DIR)}/.`);
}

// ---- main ------------------------------------------------------------------------------

async function main() {
  let parsed;
  try {
    parsed = parseCommandLine(process.argv.slice(2));
    if (parsed.command === "help") {
      console.log(USAGE);
      return 0;
    }
    if (parsed.command === "up") await up(parsed);
    else await down(parsed);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`cluster: ${error.message}\nRun with --help for usage.`);
      return 2;
    }
    if (error instanceof ClusterError) {
      console.error(`cluster ${parsed?.command ?? ""}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
