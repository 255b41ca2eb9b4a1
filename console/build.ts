/**
 * Builds the console: one JavaScript bundle (preact, uPlot and the pages) and one stylesheet, named by
 * their content hash, and the page that loads them — no inline script or style, nothing fetched from
 * elsewhere at run time. Prints each file's size and the gzip total, and fails over the budget.
 *
 *   npm run build                         → console/dist
 *   tsx console/build.ts --out <folder>   (what the CDK app runs into the console function's bundle)
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const CONSOLE_ROOT = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_OUTDIR = join(CONSOLE_ROOT, 'dist');
/** The budget of the whole console, gzip-compressed. */
export const GZIP_BUDGET_BYTES = 250 * 1000;

export interface BuiltFile {
  name: string;
  bytes: number;
  gzipBytes: number;
}

export interface ConsoleBuild {
  outdir: string;
  files: BuiltFile[];
  gzipBytes: number;
}

export async function buildConsole({ outdir = DEFAULT_OUTDIR, minify = true } = {}): Promise<ConsoleBuild> {
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: CONSOLE_ROOT,
    entryPoints: { app: 'src/main.tsx', styles: 'src/styles.css' },
    outdir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    target: ['chrome111', 'firefox111', 'safari16.4'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => resolve(CONSOLE_ROOT, path));
  const script = outputs.find((path) => path.endsWith('.js'));
  const styles = outputs.find((path) => path.endsWith('.css'));
  if (!script || !styles) throw new Error('the console build produced no script or no stylesheet');
  // The page is served at /console: its files are referenced as console/<name>.
  const template = await readFile(join(CONSOLE_ROOT, 'index.html'), 'utf8');
  const page = template
    .replace('{{script}}', `console/${basename(script)}`)
    .replace('{{styles}}', `console/${basename(styles)}`);
  await writeFile(join(outdir, 'index.html'), page);
  await copyFile(join(CONSOLE_ROOT, 'public', 'favicon.svg'), join(outdir, 'favicon.svg'));

  const files: BuiltFile[] = [];
  for (const path of [join(outdir, 'index.html'), script, styles, join(outdir, 'favicon.svg')]) {
    const content = await readFile(path);
    files.push({
      name: relative(outdir, path),
      bytes: content.byteLength,
      gzipBytes: gzipSync(content, { level: 9 }).byteLength,
    });
  }
  return { outdir, files, gzipBytes: files.reduce((sum, file) => sum + file.gzipBytes, 0) };
}

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { out: { type: 'string' }, quiet: { type: 'boolean' } } });
  const built = await buildConsole(values.out ? { outdir: resolve(values.out) } : {});
  if (!values.quiet) {
    for (const file of built.files) {
      console.log(
        `${file.name.padEnd(24)} ${kB(file.bytes).padStart(9)}  gzip ${kB(file.gzipBytes).padStart(8)}`,
      );
    }
  }
  const over = built.gzipBytes > GZIP_BUDGET_BYTES;
  console.log(
    `Console built: ${kB(built.gzipBytes)} gzip (budget ${kB(GZIP_BUDGET_BYTES)}) in ${relative(process.cwd(), built.outdir) || '.'}`,
  );
  if (over) {
    console.error('The console is over its size budget.');
    process.exit(1);
  }
}
