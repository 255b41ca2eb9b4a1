/**
 * `npm start` as a child of a bench: started with npm itself on a free port (PORT=0) and a temporary data
 * folder, in a process group of its own so that stopping it is what Ctrl-C in a terminal does (SIGINT
 * to the group); its printed URL and admin key read from its output; the resident memory of each of
 * its processes read from /proc (Linux). It never outlives the bench: on exit the group is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NpmStart {
  url: string;
  adminKey: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything it printed (stdout and stderr). */
  output: string[];
  /** Its processes now (npm, tsx's launcher and the stack's own), with their resident memory. */
  processes(): StackProcess[];
  /**
   * The stack's own memory report (SIGUSR2 to its supervisor): per process, RSS and the V8 heap used
   * and held. Empty when the stack does not answer within 5 s.
   */
  memoryReport(): Promise<string[]>;
  /** Messages delivered so far (lines of the outbox file, the default provider). */
  delivered(): Promise<number>;
  /** Ctrl-C (SIGINT to the group); resolves once npm exits, and removes the data folder. */
  stop(): Promise<void>;
  /** After `stop`: whether the stack said it stopped cleanly. */
  stoppedCleanly(): boolean;
}

export interface StackProcess {
  pid: number;
  /** `main`, `engines`, `api`, `workers` (the stack's module names), `tsx`, `npm`, `sh`… */
  role: string;
  rssBytes: number;
  /** User + system CPU time so far. */
  cpuMicros: number;
}

export interface NpmStartOptions {
  /** After `npm start --`: e.g. `['--instances', '3']`. */
  args?: string[];
  env?: Record<string, string>;
  /** Ignore the stack's request log and its other lines on stdout (they are kept in `output`). */
  quiet?: boolean;
}

const ADMIN_KEY = 'bench-npm-start-admin-key-0123456789';

export async function startNpmStart(options: NpmStartOptions = {}): Promise<NpmStart> {
  const dataDir = await mkdtemp(join(tmpdir(), 'governor-bench-stack-'));
  const child = spawn('npm', ['start', '--silent', '--', ...(options.args ?? [])], {
    env: {
      ...process.env,
      PORT: '0',
      GOVERNOR_DATA_DIR: dataDir,
      GOVERNOR_ADMIN_KEY: ADMIN_KEY,
      GOVERNOR_LOG_REQUESTS: 'false',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('npm start did not start');
  const killGroup = () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', killGroup);
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start did not serve:\n${output.join('')}`)),
      120_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      const text = output.join('');
      const match = /Governor listening on (http:\/\/\S+)/.exec(text);
      if (match?.[1] && text.includes('SQS: ')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before serving:\n${output.join('')}`));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    url,
    adminKey: ADMIN_KEY,
    dataDir,
    child,
    output,
    processes: () => processTree(pid),
    async memoryReport() {
      const supervisor = processTree(pid).find((p) => p.role === 'supervisor');
      if (!supervisor) return [];
      const from = output.join('').length;
      process.kill(supervisor.pid, 'SIGUSR2');
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const lines = output
          .join('')
          .slice(from)
          .split('\n')
          .filter((l) => l.startsWith('Memory: '));
        // One line for the supervisor, then one for each child, written at once.
        if (lines.length > 1) return lines;
      }
      return [];
    },
    async delivered() {
      const text = await readFile(join(dataDir, 'outbox.jsonl'), 'utf8').catch(() => '');
      let lines = 0;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++;
      return lines;
    },
    stop() {
      stopping ??= (async () => {
        try {
          process.kill(-pid, 'SIGINT');
        } catch {
          // Already gone.
        }
        const timer = setTimeout(killGroup, 60_000);
        await exited;
        clearTimeout(timer);
        // npm may exit (by the signal) before the stack's last processes: wait for the group to be gone.
        for (let i = 0; i < 600 && processTree(pid).length > 0; i++)
          await new Promise((r) => setTimeout(r, 100));
        killGroup();
        process.off('exit', killGroup);
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
    stoppedCleanly: () => /Governor stopped/.test(output.join('')),
  };
}

/** The process and its descendants, from /proc. */
export function processTree(root: number): StackProcess[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isInteger(ppid)) parents.set(Number(name), ppid);
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && hops < 64; hops++) {
      if (p === root) return true;
      p = parents.get(p);
    }
    return false;
  };
  const out: StackProcess[] = [];
  for (const pid of parents.keys()) {
    if (!inTree(pid)) continue;
    const rss = /VmRSS:\s+(\d+) kB/.exec(read(`/proc/${pid}/status`) ?? '');
    if (!rss) continue;
    // utime and stime, fields 14 and 15 of stat, in clock ticks (USER_HZ, 100 a second on Linux).
    const stat = read(`/proc/${pid}/stat`) ?? '';
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    out.push({
      pid,
      role: roleOf(read(`/proc/${pid}/cmdline`) ?? ''),
      rssBytes: Number(rss[1]) * 1024,
      cpuMicros: ticks * 10_000,
    });
  }
  return out.sort((a, b) => a.pid - b.pid);
}

function roleOf(cmdline: string): string {
  // The stack's processes name themselves (process.title): governor, governor-engines, governor-api…
  const title = /^governor(?:-([a-z]+))?$/.exec(cmdline.replace(/[\0 ]+$/, ''));
  if (title) return title[1] ?? 'supervisor';
  const args = cmdline.split('\0');
  // tsx's launcher (`node …/.bin/tsx local/main.ts`) runs the script in a child node process.
  if (args.some((a) => /(^|\/)(\.bin\/tsx|tsx\/dist\/cli\.m?js)$/.test(a))) return 'tsx';
  const script = args.find((a) => /(^|\/)local\/[\w-]+\.ts$/.test(a));
  if (script) return script.replace(/^.*\/|\.ts$/g, '').replace(/-process$/, '');

  if (args.some((a) => /(^|\/)npm(-cli\.js)?$/.test(a))) return 'npm';
  return (args[0] ?? '?').replace(/^.*\//, '');
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
