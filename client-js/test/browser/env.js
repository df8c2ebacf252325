// Shared setup of the browser tests: the example backend (built from ../example
// and run in sandbox mode on a free port) and Debian's headless Chromium
// driven by playwright-core. Never a downloaded browser: see
// scripts/ensure-browser.sh.

import { spawn, execFile } from "node:child_process";
import { access, constants, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Upper bound for any single wait in the browser tests. */
export const waitMs = 15_000;

/** @returns {Promise<string>} a fresh temporary directory */
export function tempDir(name) {
  return mkdtemp(join(tmpdir(), `starsgate-${name}-`));
}

/** @returns {Promise<number>} a TCP port that was free a moment ago */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Builds the example backend into dir.
 * @param {string} dir
 * @returns {Promise<string>} the binary's path
 */
export async function buildExample(dir) {
  const bin = join(dir, "example");
  try {
    await promisify(execFile)("go", ["build", "-o", bin, "./example"], { cwd: repoRoot, timeout: 240_000 });
  } catch (err) {
    const e = /** @type {{stderr?: string, message: string}} */ (err);
    throw new Error(`go build ./example failed: ${e.stderr || e.message}`);
  }
  return bin;
}

/**
 * Runs the example in sandbox mode (no BOT_TOKEN) with a memory store (no
 * REDIS_URL, so every run starts from nothing) and waits until it serves
 * /stars/products.
 *
 * @param {string} bin
 * @returns {Promise<{url: string, output: () => string, stop: () => Promise<void>}>}
 */
export async function startExample(bin) {
  const port = await freePort();
  const env = { ...process.env, ADDR: `127.0.0.1:${port}` };
  for (const name of ["BOT_TOKEN", "REDIS_URL", "REDIS_PREFIX", "PUBLIC_URL", "WEBHOOK_SECRET", "CATALOG_FILE", "TELEGRAM_API_URL", "TELEGRAM_TEST_ENV"]) {
    delete env[name];
  }
  const child = spawn(bin, [], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) => child.once("exit", () => resolve()));
  const output = () => out;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the example exited with ${child.exitCode} before serving:\n${out}`);
    }
    try {
      const res = await fetch(`${url}/stars/products`, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the example did not serve ${url}/stars/products within ${waitMs} ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, output, stop };
}

/**
 * Starts Debian's Chromium headless with a fresh profile in dir.
 * @param {string} dir
 */
export async function launchBrowser(dir) {
  await access(chromiumPath, constants.X_OK).catch(() => {
    throw new Error(`no Chromium at ${chromiumPath}: run scripts/ensure-browser.sh (or set CHROMIUM_PATH)`);
  });
  return chromium.launchPersistentContext(join(dir, "profile"), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 900, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** @param {string} dir */
export function removeDir(dir) {
  return rm(dir, { recursive: true, force: true });
}
