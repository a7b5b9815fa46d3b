/**
 * Checkpoints: a folder with the standard tfjs layers-model files, `model.json` (topology and
 * weights manifest) and `weights.bin` (all weights, little-endian float32), loadable by
 * `tf.loadLayersModel` in a browser too. Written through a custom tf.io handler because the
 * `file://` handler needs tfjs-node; both files are written atomically (weights first).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError, NotFoundError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fsx.js';
import { tf } from '../core/engine.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
}

function toBytes(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const buffers = Array.isArray(data) ? data : [data];
  const total = buffers.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), off);
    off += b.byteLength;
  }
  return out;
}

/** A tf.io handler reading/writing `dir/model.json` + `dir/weights.bin`. */
export function folderHandler(dir: string, metadata?: Record<string, unknown>): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (!artifacts.modelTopology || artifacts.modelTopology instanceof ArrayBuffer) {
        throw new DataError('only layers models with a JSON topology can be saved');
      }
      const weights = toBytes(artifacts.weightData);
      const json: ModelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: artifacts.weightSpecs ?? [] }],
        ...(metadata || artifacts.userDefinedMetadata ? { userDefinedMetadata: { ...(artifacts.userDefinedMetadata ?? {}), ...(metadata ?? {}) } } : {}),
      };
      writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
      writeFileAtomic(join(dir, MODEL_JSON), `${JSON.stringify(json)}\n`);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(dir, MODEL_JSON);
      if (!existsSync(jsonPath)) throw new NotFoundError(`no checkpoint in ${dir}: ${MODEL_JSON} is missing`);
      let json: ModelJson;
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelJson;
      } catch (e) {
        throw new DataError(`${jsonPath}: not valid JSON (${(e as Error).message})`);
      }
      if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
        throw new DataError(`${jsonPath}: not a tfjs layers model (modelTopology or weightsManifest missing)`);
      }
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const file = join(dir, p);
          if (!existsSync(file)) throw new NotFoundError(`checkpoint ${dir} is incomplete: ${p} is missing`);
          parts.push(readFileSync(file));
        }
      }
      const bytes = toBytes(parts.map((p) => p.buffer.slice(p.byteOffset, p.byteOffset + p.byteLength) as ArrayBuffer));
      const expected = specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1), 0);
      if (bytes.byteLength !== expected) {
        throw new DataError(`checkpoint ${dir}: weights are ${bytes.byteLength} bytes, the manifest needs ${expected}`);
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: bytes.buffer as ArrayBuffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        userDefinedMetadata: json.userDefinedMetadata as Record<string, object> | undefined,
      };
    },
  };
}

/** Saves `model` to `dir` (created if needed). `metadata` lands in model.json's userDefinedMetadata. */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: Record<string, unknown>): Promise<void> {
  await model.save(folderHandler(dir, metadata));
}

/** Loads a model saved by `saveModel` (or any single-folder tfjs layers model). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(folderHandler(dir));
}

/** The userDefinedMetadata of a checkpoint, without loading weights. */
export function readModelMetadata(dir: string): Record<string, unknown> {
  const jsonPath = join(dir, MODEL_JSON);
  if (!existsSync(jsonPath)) throw new NotFoundError(`no checkpoint in ${dir}: ${MODEL_JSON} is missing`);
  try {
    return ((JSON.parse(readFileSync(jsonPath, 'utf8')) as ModelJson).userDefinedMetadata ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new DataError(`${jsonPath}: not valid JSON (${(e as Error).message})`);
  }
}
