/**
 * Classification metrics on plain arrays: confusion matrix, per-class accuracy, inter-class
 * discrepancy (max − min per-class accuracy) and its spread, weakest classes, most frequent
 * confusion pairs. No tfjs here: the training loop hands over predicted and true labels.
 */

/** `matrix[t][p]` counts test examples of true class `t` predicted as class `p`. */
export type ConfusionMatrix = number[][];

export interface ClassAccuracy {
  classIndex: number;
  className: string;
  /** Correct / support; `null` when the class has no examples. */
  accuracy: number | null;
  support: number;
  correct: number;
}

export interface ConfusionPair {
  trueClass: number;
  predictedClass: number;
  trueName: string;
  predictedName: string;
  count: number;
  /** count / support of the true class. */
  rate: number;
}

export interface ClassificationMetrics {
  numExamples: number;
  accuracy: number;
  perClass: ClassAccuracy[];
  confusion: ConfusionMatrix;
  /** max − min per-class accuracy over classes with examples. */
  interClassDiscrepancy: number;
  /** Population standard deviation of the per-class accuracies (classes with examples). */
  perClassAccuracyStd: number;
  /** Mean of per-class accuracies (balanced accuracy). */
  balancedAccuracy: number;
  /** Lowest-accuracy classes first. */
  weakestClasses: ClassAccuracy[];
  /** Largest off-diagonal confusion counts first. */
  topConfusions: ConfusionPair[];
}

/** Counts `matrix[true][pred]`. Labels outside [0, numClasses) are an error. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number): ConfusionMatrix {
  if (yTrue.length !== yPred.length) throw new RangeError(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new RangeError(`confusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
  const m: number[][] = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (!(t >= 0 && t < numClasses && Number.isInteger(t))) throw new RangeError(`confusionMatrix: true label ${t} at ${i} is not in 0..${numClasses - 1}`);
    if (!(p >= 0 && p < numClasses && Number.isInteger(p))) throw new RangeError(`confusionMatrix: predicted label ${p} at ${i} is not in 0..${numClasses - 1}`);
    m[t][p]++;
  }
  return m;
}

/** Adds `b` into `a` in place (for accumulating over batches). */
export function addConfusion(a: ConfusionMatrix, b: ConfusionMatrix): ConfusionMatrix {
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a.length; j++) a[i][j] += b[i][j];
  return a;
}

export function defaultClassNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `class ${i}`);
}

export function perClassAccuracy(m: ConfusionMatrix, classNames: readonly string[] = defaultClassNames(m.length)): ClassAccuracy[] {
  return m.map((row, i) => {
    const support = row.reduce((a, b) => a + b, 0);
    const correct = row[i];
    return { classIndex: i, className: classNames[i] ?? `class ${i}`, accuracy: support > 0 ? correct / support : null, support, correct };
  });
}

/** max − min and population std of the per-class accuracies (classes without examples are left out). */
export function interClassDiscrepancy(perClass: readonly ClassAccuracy[]): { discrepancy: number; std: number; mean: number } {
  const accs = perClass.map((c) => c.accuracy).filter((a): a is number => a !== null);
  if (accs.length === 0) return { discrepancy: 0, std: 0, mean: 0 };
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const variance = accs.reduce((a, b) => a + (b - mean) ** 2, 0) / accs.length;
  return { discrepancy: Math.max(...accs) - Math.min(...accs), std: Math.sqrt(variance), mean };
}

/** The `k` classes with the lowest accuracy (ties: lower class index first). */
export function weakestClasses(perClass: readonly ClassAccuracy[], k = 3): ClassAccuracy[] {
  return perClass
    .filter((c) => c.accuracy !== null)
    .slice()
    .sort((a, b) => (a.accuracy as number) - (b.accuracy as number) || a.classIndex - b.classIndex)
    .slice(0, k);
}

/** The `k` largest off-diagonal cells (ties: by true class, then predicted class). Zero counts are left out. */
export function topConfusions(m: ConfusionMatrix, classNames: readonly string[] = defaultClassNames(m.length), k = 5): ConfusionPair[] {
  const pairs: ConfusionPair[] = [];
  for (let t = 0; t < m.length; t++) {
    const support = m[t].reduce((a, b) => a + b, 0);
    for (let p = 0; p < m.length; p++) {
      if (p === t || m[t][p] === 0) continue;
      pairs.push({
        trueClass: t,
        predictedClass: p,
        trueName: classNames[t] ?? `class ${t}`,
        predictedName: classNames[p] ?? `class ${p}`,
        count: m[t][p],
        rate: m[t][p] / support,
      });
    }
  }
  pairs.sort((a, b) => b.count - a.count || a.trueClass - b.trueClass || a.predictedClass - b.predictedClass);
  return pairs.slice(0, k);
}

/** Every metric from a confusion matrix. */
export function metricsFromConfusion(
  m: ConfusionMatrix,
  classNames: readonly string[] = defaultClassNames(m.length),
  opts: { weakest?: number; confusions?: number } = {},
): ClassificationMetrics {
  const n = m.reduce((a, row) => a + row.reduce((x, y) => x + y, 0), 0);
  const correct = m.reduce((a, row, i) => a + row[i], 0);
  const perClass = perClassAccuracy(m, classNames);
  const d = interClassDiscrepancy(perClass);
  return {
    numExamples: n,
    accuracy: n > 0 ? correct / n : 0,
    perClass,
    confusion: m.map((r) => r.slice()),
    interClassDiscrepancy: d.discrepancy,
    perClassAccuracyStd: d.std,
    balancedAccuracy: d.mean,
    weakestClasses: weakestClasses(perClass, opts.weakest ?? 3),
    topConfusions: topConfusions(m, classNames, opts.confusions ?? 5),
  };
}

/** Every metric from label arrays. */
export function classificationMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, numClasses: number, classNames?: readonly string[]): ClassificationMetrics {
  return metricsFromConfusion(confusionMatrix(yTrue, yPred, numClasses), classNames);
}
