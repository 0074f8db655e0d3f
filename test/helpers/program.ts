// Runs one of examples/'s programs as users do (node <script> <args>) and hands back its exit status and output, whatever the status.

import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ProgramRun { code: number; stdout: string; stderr: string }

/** A runner for examples/<name>: (...args) → { code, stdout, stderr }. */
export function program(name: string): (...args: string[]) => Promise<ProgramRun> {
  const script = fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
  return async (...args) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [script, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as ProgramRun;
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
}
