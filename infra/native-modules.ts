/**
 * Native packages a step ships beside its esbuild bundle (DuckDB), for the function's Linux
 * architecture — whatever machine synthesizes. The packages a step names (functions/steps.ts
 * `nativeModules`) are expanded from package-lock.json: each package, its dependencies, and its
 * optional dependencies built for Linux on the function's CPU with glibc (what Lambda runs), at the
 * versions the lock pins. A package installed in node_modules at that version is copied from
 * there; one npm did not install (npm installs only this machine's binary: on an x64 machine the
 * linux-arm64 binding is missing) is fetched once with `npm pack <name>@<locked version>` from the
 * npm registry, checked against the lock's integrity hash, and kept under `.cache/lambda-native/`
 * (git-ignored), so a fresh CI machine needs only the registry it ran `npm ci` against.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export type LambdaArchitecture = 'arm64' | 'x86_64';

/** One package to ship: where it comes from and where it goes in the bundle. */
export interface NativePackage {
  readonly name: string;
  readonly version: string;
  /** sha512 SRI from package-lock.json. */
  readonly integrity: string | undefined;
  /** True when node_modules holds it at the locked version; otherwise it is fetched at bundling. */
  readonly installed: boolean;
}

interface LockEntry {
  readonly version?: string;
  readonly integrity?: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
  readonly os?: readonly string[];
  readonly cpu?: readonly string[];
  readonly libc?: readonly string[];
}

const NODE_CPU: Record<LambdaArchitecture, string> = { arm64: 'arm64', x86_64: 'x64' };

/** Default cache folder (git-ignored). */
export function defaultNativeCache(repoRoot: string): string {
  return path.join(repoRoot, '.cache', 'lambda-native');
}

/**
 * The packages to ship for `roots` on a Linux `architecture` Lambda, from `<repoRoot>/package-lock.json`.
 * @throws naming the package and the fix, when the lock does not have it
 */
export function nativePackagesFor(
  roots: readonly string[],
  architecture: LambdaArchitecture,
  repoRoot: string,
): NativePackage[] {
  const lockFile = path.join(repoRoot, 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { packages: Record<string, LockEntry> };
  const cpu = NODE_CPU[architecture];
  const out = new Map<string, NativePackage>();
  const visit = (name: string, why: string) => {
    if (out.has(name)) return;
    const entry = lock.packages[`node_modules/${name}`];
    if (!entry?.version) {
      throw new Error(
        `${lockFile}: no entry node_modules/${name} (${why}). Fix: npm install, so the lock pins it, then synth again.`,
      );
    }
    const installedFile = path.join(repoRoot, 'node_modules', name, 'package.json');
    const installed =
      existsSync(installedFile) &&
      (JSON.parse(readFileSync(installedFile, 'utf8')) as { version?: string }).version === entry.version;
    out.set(name, { name, version: entry.version, integrity: entry.integrity, installed });
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(dep, `a dependency of ${name}`);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      const d = lock.packages[`node_modules/${dep}`];
      const fits =
        d !== undefined &&
        (d.os === undefined || d.os.includes('linux')) &&
        (d.cpu === undefined || d.cpu.includes(cpu)) &&
        (d.libc === undefined || d.libc.includes('glibc'));
      if (fits) visit(dep, `${name}'s binary for linux-${cpu}`);
    }
  };
  for (const root of roots) visit(root, 'named in functions/steps.ts nativeModules');
  return [...out.values()];
}

/**
 * The folder to copy `pkg` from: node_modules when installed at the locked version, else the
 * cached copy, fetched first (npm pack + integrity check + extract) when missing.
 */
export function nativePackageDir(
  pkg: NativePackage,
  repoRoot: string,
  cacheDir = defaultNativeCache(repoRoot),
): string {
  if (pkg.installed) return path.join(repoRoot, 'node_modules', pkg.name);
  const dir = path.join(cacheDir, `${pkg.name.replace('/', '+')}@${pkg.version}`);
  if (existsSync(path.join(dir, 'package.json'))) return dir;
  if (!pkg.integrity?.startsWith('sha512-')) {
    throw new Error(
      `package-lock.json has no sha512 integrity for ${pkg.name}@${pkg.version}; refusing to ship an unchecked binary. Fix: npm install --package-lock-only, then synth again.`,
    );
  }
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(path.join(cacheDir, '.fetch-'));
  try {
    const packed = spawnSync(
      process.platform === 'win32' ? 'npm.cmd' : 'npm',
      ['pack', `${pkg.name}@${pkg.version}`, '--pack-destination', work, '--json', '--silent'],
      { cwd: work, encoding: 'utf8', timeout: 300_000 },
    );
    if (packed.status !== 0) {
      throw new Error(
        `npm pack ${pkg.name}@${pkg.version} failed (${packed.error?.message ?? `exit ${packed.status}`}): ${packed.stderr.slice(-800)}. Fix: make the npm registry reachable (the one npm ci used), or put the package's folder at ${dir}.`,
      );
    }
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const tarball = path.join(work, filename);
    const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (digest !== pkg.integrity) {
      throw new Error(
        `${pkg.name}@${pkg.version} from the registry has integrity ${digest}, package-lock.json says ${pkg.integrity}. Fix: check the registry npm is configured with; nothing was shipped.`,
      );
    }
    const untar = spawnSync('tar', ['-xzf', tarball, '-C', work], { encoding: 'utf8' });
    if (untar.status !== 0) throw new Error(`tar -xzf ${tarball} failed: ${untar.stderr}`);
    // Into place whole: a synth killed half-way never leaves a folder that looks complete.
    rmSync(dir, { recursive: true, force: true });
    renameSync(path.join(work, 'package'), dir);
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
