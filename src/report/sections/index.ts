/**
 * Registry: result `kind` (the `kind` field of a run's result.json) -> section builder.
 * To add a study, write `src/report/sections/<study>.ts` exporting `(result) => ReportSection`
 * and add ONE line to `builders` below, e.g. `winograd: winogradSection,`.
 */
import { NotFoundError } from '../../core/errors.js';
import type { ReportDocument, ReportSection } from '../types.js';
import { engineSection } from './engine.js';
import { evalSection, trainSection } from './train.js';
import { flCompareSection, flConsistencySection, flSection } from './fl.js';
import { winogradSection } from './winograd.js';
import { cimCharacterizeSection, cimCostSection, cimInferSection, cimQuickSections } from './cim.js';

/**
 * A section builder takes the typed result of its own kind. The parameter type is `never` here so
 * that builders with specific result types can be listed without casts; `buildSections` calls them.
 */
export type SectionBuilder = (result: never) => ReportSection | ReportSection[];

export const builders: Record<string, SectionBuilder> = {
  train: trainSection,
  eval: evalSection,
  tour: tourSections,
  engine: engineSection,
  fl: flSection,
  'fl-compare': flCompareSection,
  'fl-consistency': flConsistencySection,
  'cim-characterize': cimCharacterizeSection,
  'cim-infer': cimInferSection,
  'cim-cost': cimCostSection,
  'cim-quick': cimQuickSections,
  winograd: winogradSection,
};

export function hasBuilder(kind: string): boolean {
  return Object.hasOwn(builders, kind);
}

/** Sections for one result object (dispatches on `result.kind`). */
export function buildSections(result: unknown): ReportSection[] {
  const kind = (result as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string') throw new NotFoundError("result has no 'kind' field: it is not an accelab run result");
  if (!hasBuilder(kind)) throw new NotFoundError(`no report section for result kind '${kind}': known kinds are ${Object.keys(builders).join(', ')}`);
  const out = (builders[kind] as (r: unknown) => ReportSection | ReportSection[])(result);
  return Array.isArray(out) ? out : [out];
}

/** A whole report document for one result. */
export function buildDocument(result: unknown, opts: { title?: string; subtitle?: string; generatedAt?: string } = {}): ReportDocument {
  const kind = (result as { kind?: string }).kind ?? 'result';
  const sections = buildSections(result);
  return {
    title: opts.title ?? (sections.length === 1 ? sections[0].title : `accelab ${kind} report`),
    subtitle: opts.subtitle,
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    sections,
  };
}

/** Shape of the tour's result.json (`kind: 'tour'`), see src/experiments/tour.ts. */
export interface TourResultLike {
  kind: 'tour';
  notices: string[];
  steps: { name: string; title: string; seconds: number; ok: boolean; error?: string; result?: { kind: string } }[];
  totalSeconds: number;
  engine?: { backend?: string; simd?: boolean | null };
}

/** The tour's first section: steps, timings and notices. */
export function tourOverview(r: TourResultLike): ReportSection {
  const failed = r.steps.filter((s) => !s.ok);
  return {
    id: 'overview',
    title: 'Tour overview',
    highlights: [
      { label: 'Steps', value: `${r.steps.length - failed.length} / ${r.steps.length} ok`, hint: failed.length ? `failed: ${failed.map((s) => s.name).join(', ')}` : 'all steps ran' },
      { label: 'Total time', value: `${r.totalSeconds.toFixed(0)} s` },
      { label: 'Backend', value: String(r.engine?.backend ?? '?'), hint: r.engine?.simd ? 'wasm SIMD on' : undefined },
    ],
    paragraphs: [
      'The tour runs a quick version of each study on the default data and collects the results in this report. Each section below comes from one step.',
      ...r.notices.map((n) => `**Notice:** ${n}`),
    ],
    tables: [
      {
        title: 'Steps',
        columns: ['step', 'name', 'status', 'seconds'],
        rows: r.steps.map((s) => [s.title, s.name, s.ok ? 'ok' : `failed: ${s.error ?? ''}`, Number(s.seconds.toFixed(1))]),
      },
    ],
  };
}

function tourSections(r: TourResultLike): ReportSection[] {
  const out: ReportSection[] = [tourOverview(r)];
  for (const s of r.steps) {
    if (s.ok && s.result && hasBuilder(s.result.kind) && s.result.kind !== 'tour') out.push(...buildSections(s.result));
  }
  return out;
}
