/**
 * From a result to report sections. The map from result `kind` (the `kind` field of a run's
 * result.json) to section builder is not kept here: it is built from the study descriptors
 * (src/cli/studies) and passed in as a `SectionRegistry`, so that a study registers in one place.
 */
import { NotFoundError } from '../../core/errors.js';
import type { ReportDocument, ReportSection } from '../types.js';

/**
 * A section builder takes the typed result of its own kind. The parameter type is `never` here so
 * that builders with specific result types can be listed without casts; `buildSections` calls them.
 */
export type SectionBuilder = (result: never) => ReportSection | ReportSection[];

/** Result kind -> section builder. */
export type SectionRegistry = Readonly<Record<string, SectionBuilder>>;

/** The section builder for `result` (by its `kind`); a result without a kind, or of an unknown kind, is a `NotFoundError`. */
export function sectionBuilder(result: unknown, sections: SectionRegistry): (result: unknown) => ReportSection | ReportSection[] {
  const kind = (result as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string') throw new NotFoundError("result has no 'kind' field: it is not an accelab run result");
  if (!Object.hasOwn(sections, kind)) throw new NotFoundError(`no report section for result kind '${kind}': known kinds are ${Object.keys(sections).join(', ')}`);
  return sections[kind] as (r: unknown) => ReportSection | ReportSection[];
}

/** Sections for one result object (dispatches on `result.kind`). */
export function buildSections(result: unknown, sections: SectionRegistry): ReportSection[] {
  const out = sectionBuilder(result, sections)(result);
  return Array.isArray(out) ? out : [out];
}

/** A whole report document for one result. */
export function buildDocument(result: unknown, sections: SectionRegistry, opts: { title?: string; subtitle?: string; generatedAt?: string } = {}): ReportDocument {
  const kind = (result as { kind?: string }).kind ?? 'result';
  const built = buildSections(result, sections);
  return {
    title: opts.title ?? (built.length === 1 ? built[0].title : `accelab ${kind} report`),
    subtitle: opts.subtitle,
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    sections: built,
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
      {
        label: 'Steps',
        value: `${r.steps.length - failed.length} / ${r.steps.length} ok`,
        hint: failed.length ? `failed: ${failed.map((s) => s.name).join(', ')}` : 'all steps ran',
      },
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

/** The tour's report: the overview, then each successful step's sections (steps of unknown kind are listed in the overview only). */
export function tourSections(r: TourResultLike, sections: SectionRegistry): ReportSection[] {
  const out: ReportSection[] = [tourOverview(r)];
  for (const s of r.steps) {
    if (s.ok && s.result && Object.hasOwn(sections, s.result.kind) && s.result.kind !== 'tour') out.push(...buildSections(s.result, sections));
  }
  return out;
}
