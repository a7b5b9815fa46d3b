/**
 * Per-class analysis of a classifier (computed by the server every round) and the PKD
 * identification step: weak classes and groups of mutually confused classes.
 *
 * All accuracies are fractions in [0, 1]; reports multiply by 100 for percentage points.
 * Confusion matrix, per-class accuracy and discrepancy come from nn/metrics; this module adds the
 * weak-class and grouping rules and the overlap statistics of the consistency study.
 */
import { confusionMatrix, interClassDiscrepancy, perClassAccuracy, weakestClasses } from '../nn/metrics.js';

export interface ClassAnalysis {
  /** Overall accuracy over all evaluated samples. */
  accuracy: number;
  /** acc_c = (# class-c samples predicted c) / (# class-c samples); 0 for a class without samples. */
  perClass: number[];
  /** confusion[t][p]: number of samples of true class t predicted as p. */
  confusion: number[][];
  /** max_c acc_c − min_c acc_c over classes with samples (nn/metrics' inter-class discrepancy). */
  interClassDiscrepancy: number;
  /** Population standard deviation of acc_c over classes with samples. */
  perClassAccuracyStd: number;
  /** Weak classes under the configured rule, ascending by accuracy. */
  weak: number[];
  /** Mean accuracy over the weak classes (NaN when the set is empty). */
  weakMean: number;
  /** Index of the class with the lowest accuracy (lowest index on ties). */
  worstClass: number;
}

/** Named options of the weak-class rule. Inferred choice [I]: not from the paper. */
export interface WeakRule {
  /** 'mean-minus-delta': acc_c < mean(acc) − delta. 'bottom-k': the k lowest classes. */
  rule: 'mean-minus-delta' | 'bottom-k';
  /** Margin below the mean, as a fraction (default 0.05 = 5 pp). */
  delta: number;
  /** k for 'bottom-k' (default 4: Fashion-MNIST's four confusable upper-body classes). */
  k: number;
}

export const DEFAULT_WEAK_RULE: WeakRule = { rule: 'mean-minus-delta', delta: 0.05, k: 4 };

export function weakClasses(perClass: readonly number[], rule: WeakRule = DEFAULT_WEAK_RULE): number[] {
  const order = perClass.map((a, c) => [a, c] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  if (rule.rule === 'bottom-k') return order.slice(0, Math.max(0, Math.min(rule.k, perClass.length))).map((e) => e[1]);
  const mean = perClass.reduce((a, b) => a + b, 0) / perClass.length;
  return order.filter((e) => e[0] < mean - rule.delta).map((e) => e[1]);
}

/** The per-class analysis of a confusion matrix: nn/metrics' per-class accuracy and discrepancy, plus the weak-class rule. */
export function analyzeConfusion(confusion: number[][], rule: WeakRule = DEFAULT_WEAK_RULE): ClassAnalysis {
  const classes = perClassAccuracy(confusion);
  const perClass = classes.map((c) => c.accuracy ?? 0);
  const d = interClassDiscrepancy(classes);
  const correct = classes.reduce((a, c) => a + c.correct, 0);
  const total = classes.reduce((a, c) => a + c.support, 0);
  const weak = weakClasses(perClass, rule);
  const weakMean = weak.length ? weak.reduce((a, c) => a + perClass[c], 0) / weak.length : Number.NaN;
  return {
    accuracy: total ? correct / total : 0,
    perClass,
    confusion,
    interClassDiscrepancy: d.discrepancy,
    perClassAccuracyStd: d.std,
    weak,
    weakMean,
    worstClass: weakestClasses(classes, 1)[0]?.classIndex ?? 0,
  };
}

export function analyze(labels: ArrayLike<number>, preds: ArrayLike<number>, numClasses: number, rule?: WeakRule): ClassAnalysis {
  return analyzeConfusion(confusionMatrix(labels, preds, numClasses), rule);
}

/** Named options of the grouping rule. Inferred choice [I]. */
export interface GroupRule {
  /** Edge between c and c' when (M[c][c'] + M[c'][c]) / (N_c + N_c') ≥ tau (default 0.02). */
  tau: number;
  /** Largest group; bigger components keep their gMax most-confused members (default 4). */
  gMax: number;
}

export const DEFAULT_GROUP_RULE: GroupRule = { tau: 0.02, gMax: 4 };

/** Pairwise confusion rate (M[a][b] + M[b][a]) / (N_a + N_b). */
export function confusionRate(confusion: number[][], a: number, b: number): number {
  const na = confusion[a].reduce((s, v) => s + v, 0);
  const nb = confusion[b].reduce((s, v) => s + v, 0);
  return na + nb > 0 ? (confusion[a][b] + confusion[b][a]) / (na + nb) : 0;
}

/**
 * Groups of mutually confused classes: connected components of the confusion graph (edges with
 * rate ≥ tau and at least one weak end) that contain a weak class, each sorted ascending.
 * Groups are disjoint; single-class components are dropped (nothing to distil within them).
 */
export function confusionGroups(confusion: number[][], weak: readonly number[], rule: GroupRule = DEFAULT_GROUP_RULE): number[][] {
  const C = confusion.length;
  const weakSet = new Set(weak);
  const adj: number[][] = Array.from({ length: C }, () => []);
  for (let a = 0; a < C; a++)
    for (let b = a + 1; b < C; b++) {
      if (!weakSet.has(a) && !weakSet.has(b)) continue;
      if (confusionRate(confusion, a, b) >= rule.tau) {
        adj[a].push(b);
        adj[b].push(a);
      }
    }
  const seen = new Array<boolean>(C).fill(false);
  const groups: number[][] = [];
  for (let s = 0; s < C; s++) {
    if (seen[s]) continue;
    const comp: number[] = [];
    const stack = [s];
    seen[s] = true;
    while (stack.length) {
      const v = stack.pop()!;
      comp.push(v);
      for (const u of adj[v])
        if (!seen[u]) {
          seen[u] = true;
          stack.push(u);
        }
    }
    if (comp.length < 2 || !comp.some((c) => weakSet.has(c))) continue;
    let members = comp;
    if (members.length > rule.gMax) {
      // Keep the gMax members with the largest total confusion with the rest of the component.
      const score = (c: number) => members.reduce((a, o) => (o === c ? a : a + confusionRate(confusion, c, o)), 0);
      members = [...members].sort((x, y) => score(y) - score(x) || x - y).slice(0, rule.gMax);
    }
    groups.push([...members].sort((x, y) => x - y));
  }
  return groups.sort((x, y) => x[0] - y[0]);
}

export function jaccard(a: readonly number[], b: readonly number[]): number {
  const A = new Set(a);
  const B = new Set(b);
  const inter = [...A].filter((x) => B.has(x)).length;
  const union = new Set([...A, ...B]).size;
  return union === 0 ? 1 : inter / union;
}

/** Mean of `f` over all unordered pairs of `items` (1 when there are fewer than two). */
export function meanPairwise<T>(items: readonly T[], f: (a: T, b: T) => number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < items.length; i++)
    for (let j = i + 1; j < items.length; j++) {
      s += f(items[i], items[j]);
      n++;
    }
  return n ? s / n : 1;
}

/** Mean pairwise Jaccard index over a list of sets (1 when fewer than two sets). */
export function meanPairwiseJaccard(sets: readonly (readonly number[])[]): number {
  return meanPairwise(sets, jaccard);
}

function ranks(v: readonly number[]): number[] {
  const idx = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(v.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2;
    i = j + 1;
  }
  return r;
}

/** Spearman rank correlation of two equally long vectors (ties get mean ranks). */
export function spearman(a: readonly number[], b: readonly number[]): number {
  const ra = ranks(a);
  const rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((x, y) => x + y, 0) / n;
  const mb = rb.reduce((x, y) => x + y, 0) / n;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da > 0 && db > 0 ? num / Math.sqrt(da * db) : 0;
}

/** How often each class is weak across a list of weak sets. */
export function weakFrequency(sets: readonly (readonly number[])[], numClasses: number): number[] {
  const f = new Array<number>(numClasses).fill(0);
  for (const s of sets) for (const c of s) f[c]++;
  return f.map((v) => (sets.length ? v / sets.length : 0));
}
