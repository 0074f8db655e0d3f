// A 4×8 result tile in scratch (row stride 32 bytes) and the copy of its valid rows × columns into C.

/** Bytes of one tile: 4 rows of 8 floats. */
export const TILE_BYTES: usize = 128;

// Edge tiles (fewer than 4 filters or 8 pixels left) are computed whole into scratch and only their
// valid part copied, so the micro-kernel needs no masks.
export function copyTile(tile: usize, rows: i32, columns: i32, c: usize, rowBytes: usize): void {
  for (let r = 0; r < rows; r++) {
    const src = tile + (<usize>r << 5);
    const dst = c + <usize>r * rowBytes;
    for (let j = 0; j < columns; j++) store<f32>(dst + (<usize>j << 2), load<f32>(src + (<usize>j << 2)));
  }
}
