// The one allocator over the module's linear memory: tensors and reusable kernel scratch, with usage counters.

import { ConvError, ErrorCode } from "./errors.js";

const PAGE_BYTES = 65536;
/** wasm32 addresses 2^32 bytes; no engine grows memory past this. */
export const MAX_MEMORY_BYTES = 65536 * PAGE_BYTES;
/** Blocks start on cache-line boundaries: SIMD rows of a tensor never straddle one needlessly. */
const ALIGNMENT = 64;

export interface MemoryUsage {
  /** Bytes held by live tensors (rounded up to the allocator's alignment). */
  bytesInUse: number;
  /** Most bytesInUse has been since init(). */
  peakBytesInUse: number;
  /** Bytes of the reusable kernel scratch block (im2col matrices); it grows to the largest need and stays. */
  scratchBytes: number;
  /** Size of the wasm linear memory now. */
  wasmMemoryBytes: number;
}

/**
 * First-fit allocator with a sorted, coalescing free list. The JS side owns the heap so kernels stay
 * allocation-free and an allocation failure is a clean error here, never a trap inside a kernel.
 * It never hands out or caches typed-array views: callers build one from `memory.buffer` when they
 * need it, so growth can never leave a stale view behind.
 */
export class Allocator {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;
  /** Free blocks below `top`, sorted by address: parallel arrays of start and size. */
  private freeStarts: number[] = [];
  private freeSizes: number[] = [];
  private readonly live = new Map<number, number>();
  private inUse = 0;
  private peak = 0;
  private scratchAddress = 0;
  private scratchSize = 0;

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = alignUp(heapBase);
    this.top = this.base;
  }

  usage(): MemoryUsage {
    return {
      bytesInUse: this.inUse,
      peakBytesInUse: this.peak,
      scratchBytes: this.scratchSize,
      wasmMemoryBytes: this.memory.buffer.byteLength,
    };
  }

  /**
   * Reserves `bytes` (> 0) and returns the address; throws ERR_OUT_OF_MEMORY naming `where` (the
   * function that needed it) and changes nothing if it cannot.
   */
  allocate(bytes: number, where: string): number {
    const size = alignUp(Math.max(bytes, 1));
    if (!Number.isFinite(size) || size > MAX_MEMORY_BYTES) throw outOfMemory(bytes, where);
    const address = this.takeFree(size) ?? this.takeTop(size, bytes, where);
    this.live.set(address, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return address;
  }

  /** Returns a block to the free list; freeing an unknown address is a bug in the library, so it throws. */
  free(address: number): void {
    const size = this.live.get(address);
    if (size === undefined) throw new Error(`wasm-conv2d internal error: free of unknown address ${address}`);
    this.live.delete(address);
    this.inUse -= size;
    this.release(address, size);
  }

  /**
   * Whether the scratch block holds what its one user (js/conv/schedule.ts) last left there: that user
   * sets it once the block holds something worth keeping (a packing), and the allocator clears it
   * whenever it hands out a block anew, so that nothing stale is ever taken for it.
   */
  scratchIntact = false;

  /**
   * The kernels' working memory: one block, reused by every call, grown (never shrunk) to the largest
   * request. What it holds survives to the next call only while scratchIntact says so.
   */
  scratch(bytes: number, where: string): number {
    if (bytes <= this.scratchSize) return this.scratchAddress;
    const size = alignUp(bytes);
    if (size > MAX_MEMORY_BYTES) throw outOfMemory(bytes, where);
    this.scratchIntact = false;
    // Release first so the new block may reuse the old one's place; if the new one does not fit the
    // old block is gone, which is harmless: what it held is no longer taken as intact.
    if (this.scratchSize > 0) {
      this.release(this.scratchAddress, this.scratchSize);
      this.scratchAddress = 0;
      this.scratchSize = 0;
    }
    const address = this.takeFree(size) ?? this.takeTop(size, bytes, where);
    this.scratchAddress = address;
    this.scratchSize = size;
    return address;
  }

  private takeFree(size: number): number | undefined {
    for (let i = 0; i < this.freeStarts.length; i++) {
      const available = this.freeSizes[i]!;
      if (available < size) continue;
      const address = this.freeStarts[i]!;
      if (available === size) {
        this.removeFree(i);
      } else {
        this.freeStarts[i] = address + size;
        this.freeSizes[i] = available - size;
      }
      return address;
    }
    return undefined;
  }

  private takeTop(size: number, requested: number, where: string): number {
    const address = this.top;
    const end = address + size;
    if (end > MAX_MEMORY_BYTES) throw outOfMemory(requested, where);
    const current = this.memory.buffer.byteLength;
    if (end > current) {
      // Grow by at least half again, so a run of growing requests costs few copies of the memory.
      const needed = Math.ceil((end - current) / PAGE_BYTES);
      const maxPages = MAX_MEMORY_BYTES / PAGE_BYTES - current / PAGE_BYTES;
      const wanted = Math.min(maxPages, Math.max(needed, Math.ceil(current / PAGE_BYTES / 2)));
      try {
        this.memory.grow(wanted);
      } catch (first) {
        try {
          this.memory.grow(needed);
        } catch {
          throw outOfMemory(requested, where, first);
        }
      }
    }
    this.top = end;
    return address;
  }

  private removeFree(index: number): void {
    this.freeStarts.splice(index, 1);
    this.freeSizes.splice(index, 1);
  }

  private release(address: number, size: number): void {
    // Binary search for the insertion point, then merge with the neighbours it touches.
    let low = 0, high = this.freeStarts.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.freeStarts[mid]! < address) low = mid + 1; else high = mid;
    }
    let start = address, length = size;
    if (low > 0 && this.freeStarts[low - 1]! + this.freeSizes[low - 1]! === start) {
      low--;
      start = this.freeStarts[low]!;
      length += this.freeSizes[low]!;
      this.removeFree(low);
    }
    if (low < this.freeStarts.length && start + length === this.freeStarts[low]) {
      length += this.freeSizes[low]!;
      this.removeFree(low);
    }
    if (start + length === this.top) {
      this.top = start;
      return;
    }
    this.freeStarts.splice(low, 0, start);
    this.freeSizes.splice(low, 0, length);
  }
}

function alignUp(bytes: number): number {
  return Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
}

function outOfMemory(bytes: number, where: string, cause?: unknown): ConvError {
  const expected = "a request that fits in WebAssembly's 4 GiB address space" + (cause ? " and that the engine agrees to grow to" : "");
  const received = `${bytes} bytes (${(bytes / 2 ** 30).toFixed(2)} GiB)`;
  return new ConvError(ErrorCode.OUT_OF_MEMORY, `${where}: memory: expected ${expected}, received ${received}`, {
    argument: "memory", expected, received, cause,
  });
}
