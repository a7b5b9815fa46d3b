/**
 * The studies of the application. Adding a study is ONE line in `STUDIES` (its descriptor is
 * `src/cli/studies/<study>.ts`, see study.ts); everything else is derived from this list: the
 * `accelab` subcommands, the report section of each result kind, the console summaries, the tour's
 * steps and the benchmarks (`npm run bench`).
 */
import type { Command } from 'commander';
import { engineStep, type EngineStepResult, type TourResult, type TourStep } from '../../experiments/tour.js';
import { engineSection } from '../../report/sections/engine.js';
import { type SectionRegistry, tourSections } from '../../report/sections/index.js';
import { cimStudy } from './cim.js';
import { compressStudy } from './compress.js';
import { flStudy } from './fl.js';
import { rramStudy } from './rram.js';
import { sparsennStudy } from './sparsenn.js';
import type { AnyStudy, ResultKind, ResultOf } from './study.js';
import { systolicStudy } from './systolic.js';
import { trainStudy } from './train.js';
import { winogradStudy } from './winograd.js';

export const STUDIES = [trainStudy, winogradStudy, cimStudy, systolicStudy, flStudy, sparsennStudy, compressStudy, rramStudy] as const;

/** Every result a study writes, discriminated by `kind`. */
export type StudyResult = ResultOf<(typeof STUDIES)[number]>;

function engineSummary(r: EngineStepResult): string {
  const e = r.engine;
  const data = r.datasets.map((d) => `${d.name} ${d.found ? 'found' : 'missing'}`).join(', ');
  return `backend ${e?.backend ?? 'not started'} (SIMD ${e?.simd === null || e?.simd === undefined ? 'n/a' : e.simd ? 'yes' : 'no'}, ${e?.threads ?? '?'} thread(s) per process), tfjs ${e?.tfjsVersion ?? '?'}, Node ${r.machine.node}, ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB; data: ${data}`;
}

function tourSummary(r: TourResult): string {
  const ok = r.steps.filter((s) => s.ok).length;
  return `${ok}/${r.steps.length} steps ok in ${r.totalSeconds.toFixed(0)} s`;
}

/** What the application derives from a list of studies. */
export interface StudyRegistry {
  /** Every result kind (the studies' and the tour's own `tour` and `engine`) with its report section and console summary. */
  kinds: Readonly<Record<string, ResultKind<never>>>;
  /** Result kind -> section builder, for src/report (`buildDocument`, `buildSections`). */
  sections: SectionRegistry;
  /** The one-line console summary of a result, or null for an unknown kind. */
  summarize(result: { kind: string }): string | null;
  /** The tour: the engine step, then each study's step in list order. */
  tourSteps: readonly TourStep[];
  /** Benchmark names (`bench/<name>.ts`), in list order. */
  benchmarks: readonly string[];
  /** Registers every study's commands on the program, in list order. */
  register(program: Command): void;
}

/** Derives the registry from `studies`; a study name, result kind or tour step name used twice is an error naming both owners. */
export function studyRegistry(studies: readonly AnyStudy[]): StudyRegistry {
  const kinds: Record<string, ResultKind<never>> = {
    engine: { section: engineSection, summary: engineSummary },
    tour: { section: (r: TourResult) => tourSections(r, sections), summary: tourSummary },
  };
  const owner = new Map<string, string>([
    ['engine', 'the tour'],
    ['tour', 'the tour'],
  ]);
  const names = new Set<string>();
  const steps = new Set<string>([engineStep.name]);
  for (const s of studies) {
    if (names.has(s.name)) throw new Error(`two studies are named '${s.name}': rename one (src/cli/studies)`);
    names.add(s.name);
    for (const [kind, spec] of Object.entries(s.results)) {
      const prev = owner.get(kind);
      if (prev) throw new Error(`result kind '${kind}' of study '${s.name}' is already registered by ${prev}: rename one`);
      owner.set(kind, `study '${s.name}'`);
      kinds[kind] = spec;
    }
    if (s.tour && steps.has(s.tour.name)) throw new Error(`tour step '${s.tour.name}' of study '${s.name}' is already taken: rename it`);
    if (s.tour) steps.add(s.tour.name);
  }
  const sections: SectionRegistry = Object.fromEntries(Object.entries(kinds).map(([kind, k]) => [kind, k.section]));
  return {
    kinds,
    sections,
    summarize: (result) => (Object.hasOwn(kinds, result.kind) ? (kinds[result.kind].summary as (r: unknown) => string)(result) : null),
    tourSteps: [engineStep, ...studies.flatMap((s) => (s.tour ? [s.tour] : []))],
    benchmarks: studies.flatMap((s) => s.benchmarks ?? []),
    register: (program) => {
      for (const s of studies) s.register(program);
    },
  };
}

/** The application's registry, and its parts under their own names. */
export const REGISTRY = studyRegistry(STUDIES);
export const SECTIONS = REGISTRY.sections;
export const TOUR_STEPS = REGISTRY.tourSteps;
export const BENCHMARKS = REGISTRY.benchmarks;
export const summarize = REGISTRY.summarize;
export const registerStudies = REGISTRY.register;
