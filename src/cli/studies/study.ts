/**
 * The study descriptor: everything the application needs to know about one study, in one place.
 *
 * A study's code lives in its own files, layer by layer (library in `src/<study>/` or `src/hw/<model>/`,
 * recipe in `src/experiments/<study>.ts`, report section in `src/report/sections/<study>.ts`, command in
 * `src/cli/commands/<study>.ts`, benchmark in `bench/<name>.ts`). Its descriptor,
 * `src/cli/studies/<study>.ts`, ties them together: the command to register, the result kinds it writes
 * (a typed union, each kind with its report section and its one-line console summary), its tour step
 * and its benchmarks. The descriptor lives in `cli` because it is the only layer that may import all
 * of those. `src/cli/studies/index.ts` lists the descriptors: adding a study is one line there.
 */
import type { Command } from 'commander';
import type { TourStep } from '../../experiments/tour.js';
import type { ReportSection } from '../../report/types.js';

/** What the application does with a result of one kind. */
export interface ResultKind<R> {
  /** The report section(s) for the result (`accelab report`, the tour's report). */
  section: (result: R) => ReportSection | ReportSection[];
  /** One line for the console, e.g. printed by the tour after the step: the study's headline figures. */
  summary: (result: R) => string;
}

/** One `ResultKind` per member of the result union `R`, keyed by its `kind`. */
export type ResultKinds<R extends { kind: string }> = { [K in R['kind']]: ResultKind<Extract<R, { kind: K }>> };

export interface Study<R extends { kind: string } = { kind: string }> {
  /** Short name (lower-case), unique among the studies. */
  name: string;
  /** Registers the study's command(s) on the `accelab` program. */
  register: (program: Command) => void;
  /** The result kinds the study writes (`result.json`'s `kind`), each with its section and summary. */
  results: ResultKinds<R>;
  /** The study's quick step in the tour (`accelab tour`, `npm start`); its result must be one of `R`. */
  tour?: TourStep<R>;
  /** Benchmark names (`npm run bench -- <name>`); each is the module `bench/<name>.ts`, which calls `registerBenchmark` with that name. */
  benchmarks?: readonly string[];
}

/** A study whose result type is forgotten: what the registry iterates over. */
export interface AnyStudy {
  name: string;
  register: (program: Command) => void;
  results: Readonly<Record<string, ResultKind<never>>>;
  tour?: TourStep;
  benchmarks?: readonly string[];
}

/** Declares a study; `R` is the union of its result types (each with a literal `kind`). */
export function defineStudy<R extends { kind: string }>(study: Study<R>): Study<R> {
  return study;
}

/** The result union of a study descriptor. */
export type ResultOf<S> = S extends Study<infer R> ? R : never;
