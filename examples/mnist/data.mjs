// The mnist package's 10,000 real digits, split the same way everywhere: 8,000 to train on, 2,000 held out.

export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
export const CLASSES = 10;
/** How the split is drawn: fixed, so every run, seed and runtime tests on the same 2,000 digits. */
const SPLIT_SEED = 20240501;
/** MNIST's pixel mean and standard deviation: inputs are standardised once, at load time. */
export const PIXEL_MEAN = 0.1307;
export const PIXEL_STD = 0.3081;

/**
 * perClass[d] is the package's flat pixel array for digit d (digits/d.json's "data": 784 values in
 * [0, 1] per image). All 10,000 images are put in one order by a seeded shuffle; the first trainSize
 * train, the last testSize test (never overlapping). Returns images as [count, 784] Float32Array rows.
 */
export function splitDigits(perClass, { trainSize = 8000, testSize = 2000 } = {}) {
  const all = [];
  perClass.forEach((pixels, digit) => {
    for (let i = 0; i < pixels.length / PIXELS; i++) all.push({ digit, pixels, offset: i * PIXELS });
  });
  if (trainSize + testSize > all.length) throw new Error(`only ${all.length} digits: cannot take ${trainSize} + ${testSize}`);
  shuffleInPlace(all, mulberry32(SPLIT_SEED));
  return {
    train: gather(all.slice(0, trainSize)),
    test: gather(all.slice(all.length - testSize)),
  };
}

/** A permutation of 0..n−1 from a seed (Fisher–Yates): the order of one epoch. */
export function permutation(n, seed) {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffleInPlace(order, mulberry32(seed));
}

/**
 * Copies the digits order[first … first + count) of set into images (count × 784) and labels. With
 * random (a () → [0, 1) generator), each digit is shifted by up to maxShift pixels along each axis,
 * the uncovered border filled with the background value: the network sees each digit a little
 * displaced in every epoch, which is what keeps 8,000 digits from being learnt by heart. Whole rows
 * are moved with typed-array copies; no pixel is touched one at a time.
 */
export function fillBatch(set, order, first, count, images, labels, random = null, maxShift = 2) {
  const background = (0 - PIXEL_MEAN) / PIXEL_STD;
  for (let i = 0; i < count; i++) {
    const index = order[first + i];
    const source = set.images.subarray(index * PIXELS, (index + 1) * PIXELS);
    const target = images.subarray(i * PIXELS, (i + 1) * PIXELS);
    labels[i] = set.labels[index];
    if (!random) {
      target.set(source);
      continue;
    }
    const span = 2 * maxShift + 1;
    const down = Math.floor(random() * span) - maxShift;
    const right = Math.floor(random() * span) - maxShift;
    target.fill(background);
    for (let row = Math.max(0, down); row < Math.min(IMAGE_SIZE, IMAGE_SIZE + down); row++) {
      const from = (row - down) * IMAGE_SIZE;
      target.set(source.subarray(from + Math.max(0, -right), from + IMAGE_SIZE - Math.max(0, right)), row * IMAGE_SIZE + Math.max(0, right));
    }
  }
}

/**
 * The batches of one epoch, the same for every trainer given the same arguments: the first trainSize
 * digits of set in a seeded order, shifted by seeded draws. Yields { images, labels, count, index,
 * batches }; images and labels are reused buffers, valid until the next batch.
 */
export function* epochBatches(set, { trainSize, batchSize, seed, epoch, maxShift }) {
  const order = permutation(trainSize, seed * 1000 + epoch);
  const shifts = maxShift > 0 ? mulberry32(seed * 1000 + epoch + 500) : null;
  const images = new Float32Array(batchSize * PIXELS);
  const batches = Math.ceil(trainSize / batchSize);
  for (let index = 0; index < batches; index++) {
    const first = index * batchSize, count = Math.min(batchSize, trainSize - first);
    const labels = new Int32Array(count);
    fillBatch(set, order, first, count, images, labels, shifts, maxShift);
    yield { images: images.subarray(0, count * PIXELS), labels, count, index, batches };
  }
}

function gather(items) {
  const images = new Float32Array(items.length * PIXELS);
  const labels = new Int32Array(items.length);
  items.forEach((item, i) => {
    for (let p = 0; p < PIXELS; p++) images[i * PIXELS + p] = (item.pixels[item.offset + p] - PIXEL_MEAN) / PIXEL_STD;
    labels[i] = item.digit;
  });
  return { images, labels, count: items.length };
}

function shuffleInPlace(array, random) {
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

/** A small seeded generator (mulberry32): the same numbers in every JavaScript engine. */
function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
