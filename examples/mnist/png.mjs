// A grey-scale PNG encoder (8-bit, one zlib stream, no filter) and the digit grid npm run train:autoencoder writes.

import { deflateSync } from "node:zlib";
import { IMAGE_SIZE, PIXELS } from "./data.mjs";

/** The PNG file of a width × height image of grey levels 0–255, one byte per pixel, row-major. */
export function encodeGreyPng(grey, width, height) {
  const rows = new Uint8Array(height * (width + 1));
  for (let y = 0; y < height; y++) rows.set(grey.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, grey, deflate, no filter, no interlace
  return concat([
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", header), chunk("IDAT", new Uint8Array(deflateSync(rows))), chunk("IEND", new Uint8Array(0)),
  ]);
}

/**
 * Rows of digits: each of rows (arrays of [count, 784] pixels in [0, 1], ink dark on white) becomes a
 * strip of columns digits, scaled up by scale, with a margin between digits and a wider one between
 * strips. Returns { grey, width, height } for encodeGreyPng.
 */
export function digitGrid(rows, columns, scale = 3, gap = 4) {
  const cell = IMAGE_SIZE * scale;
  const width = columns * (cell + gap) + gap, height = rows.length * (cell + gap) + gap;
  const grey = new Uint8Array(width * height).fill(255);
  rows.forEach((pixels, r) => {
    for (let c = 0; c < columns; c++) {
      for (let y = 0; y < cell; y++) {
        for (let x = 0; x < cell; x++) {
          const value = pixels[c * PIXELS + Math.floor(y / scale) * IMAGE_SIZE + Math.floor(x / scale)];
          grey[(gap + r * (cell + gap) + y) * width + gap + c * (cell + gap) + x] = 255 - Math.round(255 * Math.min(1, Math.max(0, value)));
        }
      }
    }
  });
  return { grey, width, height };
}

function chunk(type, data) {
  const bytes = new Uint8Array(12 + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) bytes[4 + i] = type.charCodeAt(i);
  bytes.set(data, 8);
  view.setUint32(8 + data.length, crc32(bytes.subarray(4, 8 + data.length)));
  return bytes;
}

let table = null;
function crc32(bytes) {
  table ??= Uint32Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c;
  });
  let crc = 0xffffffff;
  for (const byte of bytes) crc = table[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
