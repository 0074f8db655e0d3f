// Launches Debian's headless Chromium through playwright-core; a missing browser fails under CI=true instead of skipping.

import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags for a sandbox-less, network-less CI machine (no GPU, no background traffic to Google). */
const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

/**
 * True when the browser can run here. Outside CI a missing browser lets the browser tests skip
 * (say so in the output); under CI=true it is an error, so a CI run never passes without them.
 */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: .ci/run installs it with apt-get install -y chromium`);
  }
  console.warn(`Chromium not found at ${CHROMIUM_PATH}: browser tests skipped (apt-get install -y chromium)`);
  return false;
}

/** A fresh persistent context in a temporary profile; close() also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), "wasm-conv2d-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
