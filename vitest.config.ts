// Vitest configuration: the Node test suite (browser and other runtimes have their own entries).

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["test/helpers/setup-v8.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
