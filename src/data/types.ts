/**
 * The in-memory data set shared by readers, the synthetic generator, the input pipeline and the
 * partitioners. Pixels stay as bytes (0..255) in N×H×W×C order until a batch is built.
 */

/** One split: `count` images of `shape` (N×H×W×C bytes, HWC order) and their labels. */
export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  /** Catalog name, e.g. `fashion-mnist`, `cifar10-subset`, `synthetic-gray`. */
  name: string;
  train: Split;
  test: Split;
  /** [height, width, channels]. */
  shape: [number, number, number];
  numClasses: number;
  classNames: string[];
  /** Where it was read from (folder or archive), or `synthetic`. */
  source?: string;
}

/** Bytes per image for a shape. */
export function imageSize(shape: readonly [number, number, number]): number {
  return shape[0] * shape[1] * shape[2];
}

/** Per-class counts of a label array. */
export function classHistogram(labels: ArrayLike<number>, numClasses: number, indices?: ArrayLike<number>): number[] {
  const h = new Array<number>(numClasses).fill(0);
  if (indices) {
    for (let i = 0; i < indices.length; i++) h[labels[indices[i]]]++;
  } else {
    for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  }
  return h;
}
