/** The typed arrays per-slot and per-entry state is kept in. */
export type TypedArray = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** The smallest power-of-two multiple of `current` that is at least `needed`. */
export function grownSize(current: number, needed: number): number {
  let size = Math.max(current, 1);
  while (size < needed) size *= 2;
  return size;
}

/** A copy of `a` in a new array of the same type with `size` elements (the rest zero). */
export function grown<T extends TypedArray>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a.length <= size ? a : a.subarray(0, size));
  return b;
}
