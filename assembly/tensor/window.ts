// dst[p, h, w] = src[p, h, w] where h < srcHeight and w < srcWidth, else 0: each plane's top-left window, cropped or zero-extended.

export function copyPlaneWindow(src: usize, srcHeight: i32, srcWidth: i32, dst: usize, dstHeight: i32, dstWidth: i32, planes: i32): void {
  const rows = min(srcHeight, dstHeight), columns = min(srcWidth, dstWidth);
  const srcPlane = <usize>(srcHeight * srcWidth) << 2, dstPlane = <usize>(dstHeight * dstWidth) << 2;
  const srcRow = <usize>srcWidth << 2, dstRow = <usize>dstWidth << 2;
  for (let p = 0; p < planes; p++) {
    const from = src + <usize>p * srcPlane, to = dst + <usize>p * dstPlane;
    for (let h = 0; h < dstHeight; h++) {
      const row = to + <usize>h * dstRow;
      if (h < rows) {
        memory.copy(row, from + <usize>h * srcRow, <usize>columns << 2);
        memory.fill(row + (<usize>columns << 2), 0, <usize>(dstWidth - columns) << 2);
      } else {
        memory.fill(row, 0, dstRow);
      }
    }
  }
}
