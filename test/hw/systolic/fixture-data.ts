/** The SCALE-Sim v2 fixtures (see fixtures/PROVENANCE.md): config, topology and the three reports per run. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Source folder of the fixtures (tests run from dist/, the data stays in test/). */
export const FIXTURE_DIR = fileURLToPath(new URL('../../../../test/hw/systolic/fixtures/', import.meta.url));

export interface Fixture {
  name: string;
  dir: string;
  cfgFile: string;
  topologyFile: string;
  gemm: boolean;
  reports: Record<string, string>;
}

export function fixtures(): Fixture[] {
  return readdirSync(FIXTURE_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(FIXTURE_DIR, d.name);
      const files = readdirSync(dir);
      const topo = files.find((f) => f.startsWith('topology')) as string;
      const reports: Record<string, string> = {};
      for (const r of ['COMPUTE_REPORT.csv', 'BANDWIDTH_REPORT.csv', 'DETAILED_ACCESS_REPORT.csv']) reports[r] = readFileSync(join(dir, r), 'utf8');
      return { name: d.name, dir, cfgFile: join(dir, 'config.cfg'), topologyFile: join(dir, topo), gemm: topo.includes('gemm'), reports };
    });
}
