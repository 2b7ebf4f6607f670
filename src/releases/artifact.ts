// What may be registered as an artifact, checked with lstat only (nothing inside is opened before
// it passed): never the state directory or anything holding it (digesting would open the event
// log's database files inside the controller, and closing any descriptor of a file drops the
// process's SQLite locks on it: the log then loses events and reuses sequence numbers), no device
// files, FIFOs or sockets (reading them blocks or never ends), no symbolic link that leaves the
// artifact (the copy would not be self-contained), and no more than the configured size.
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { GreenlightError } from '../errors/errors.ts';

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "512MB", "2GiB", "100kb" or a number of bytes. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isSafeInteger(text) && text > 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const size = z
  .union([z.string(), z.number()])
  .refine((v) => parseSize(v) !== undefined, { message: 'expected a positive size like "512MB", "2GiB" or a number of bytes' })
  .transform((v) => parseSize(v)!);

export const DEFAULT_MAX_ARTIFACT_BYTES = 1024 ** 3;
export const DEFAULT_MAX_ARTIFACT_FILES = 50_000;

export const releasesSchema = z
  .strictObject({
    /** the largest artifact `greenlight release` accepts (all regular files together) */
    max_artifact_size: size.default(DEFAULT_MAX_ARTIFACT_BYTES),
    /** the most entries (files, directories, links) an artifact may hold */
    max_artifact_files: z.int().min(1).max(10_000_000).default(DEFAULT_MAX_ARTIFACT_FILES),
  })
  .default({ max_artifact_size: DEFAULT_MAX_ARTIFACT_BYTES, max_artifact_files: DEFAULT_MAX_ARTIFACT_FILES });

function inside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

export interface ArtifactLimits {
  stateDir: string;
  maxBytes: number;
  /** entries of any kind; default DEFAULT_MAX_ARTIFACT_FILES */
  maxEntries?: number;
}

/** Throws a USAGE error naming the first entry that makes `root` unacceptable as an artifact. */
export async function inspectArtifact(root: string, limits: ArtifactLimits): Promise<{ files: number; bytes: number }> {
  const rootReal = await realpath(root);
  const stateAbs = resolve(limits.stateDir);
  const stateReal = await realpath(stateAbs).catch(() => stateAbs);
  const refuse = (message: string, hint: string): never => {
    throw new GreenlightError('USAGE', message, { hint });
  };
  if (inside(stateReal, rootReal) || inside(stateAbs, rootReal)) {
    refuse(`artifact ${root} contains Greenlight's state directory ${stateReal}`, 'point --artifact at the directory holding the built service only (e.g. web/v1), not at a directory above the state dir; or move state_dir out of it');
  }
  if (inside(rootReal, stateReal)) {
    refuse(`artifact ${root} is inside Greenlight's state directory ${stateReal}`, 'register the build output from where it was built; the state directory belongs to the controller');
  }
  const stateId = await stat(stateReal).then((s) => `${s.dev}:${s.ino}`, () => undefined);
  let files = 0;
  let bytes = 0;
  let entries = 0;
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ARTIFACT_FILES;
  const walk = async (dir: string): Promise<void> => {
    // Dirent types save an lstat per directory entry; only files (for their size) are stat'ed.
    for (const ent of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const name = ent.name;
      const full = join(dir, name);
      const rel = relative(rootReal, full);
      if (++entries > maxEntries) {
        refuse(`artifact ${root} holds more than ${maxEntries} entries (reached at ${rel})`, 'register the build output only (is --artifact pointing at a directory above it?), or raise releases.max_artifact_files in greenlight.yaml');
      }
      const st = ent.isFile() || ent.isDirectory() || ent.isSymbolicLink() ? (ent.isFile() ? await lstat(full) : ent) : await lstat(full);
      if (st.isDirectory()) {
        // the same directory reached another way (a bind mount): compared by device and inode
        const ds = stateId ? await lstat(full) : undefined;
        if (ds && `${ds.dev}:${ds.ino}` === stateId) refuse(`artifact ${root} contains Greenlight's state directory (as ${rel})`, 'remove it from the artifact or register a directory that does not hold it');
        await walk(full);
      } else if (st.isSymbolicLink()) {
        const target = await readlink(full);
        const lexical = resolve(dirname(full), target);
        const real = await realpath(full).catch(() => lexical);
        if (!inside(lexical, rootReal) || !inside(real, rootReal)) {
          refuse(`artifact ${root}: symbolic link ${rel} -> ${target} points outside the artifact`, 'an artifact must be self-contained: copy the file in, or make the link relative to a file inside it');
        }
      } else if (st.isFile()) {
        files++;
        bytes += (st as { size: number }).size;
        if (bytes > limits.maxBytes) {
          refuse(`artifact ${root} is larger than the limit of ${limits.maxBytes} bytes (reached at ${rel})`, 'register the build output only, or raise releases.max_artifact_size in greenlight.yaml');
        }
      } else {
        const kind = st.isBlockDevice() || st.isCharacterDevice() ? 'a device file' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a special file';
        refuse(`artifact ${root}: ${rel} is ${kind}`, 'an artifact holds regular files, directories and links inside it only');
      }
    }
  };
  await walk(rootReal);
  return { files, bytes };
}
