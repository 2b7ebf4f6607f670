import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/**
 * Content digest of an artifact directory: sha256 over every entry's relative path, kind, mode
 * (executable bit) and content, in a fixed order. Timestamps and ownership do not count, so the
 * same tree gives the same digest on any machine.
 */
export async function digestDirectory(root: string): Promise<{ digest: string; files: number; bytes: number }> {
  const hash = createHash('sha256');
  let files = 0;
  let bytes = 0;
  async function walk(dir: string): Promise<void> {
    const entries = (await readdir(dir)).sort();
    for (const name of entries) {
      const full = join(dir, name);
      const rel = relative(root, full).split(sep).join('/');
      const st = await lstat(full);
      if (st.isDirectory()) {
        hash.update(`d ${rel}\0`);
        await walk(full);
      } else if (st.isSymbolicLink()) {
        hash.update(`l ${rel}\0${await readlink(full)}\0`);
      } else if (st.isFile()) {
        const exec = st.mode & 0o111 ? 'x' : '-';
        hash.update(`f ${rel} ${exec} ${st.size}\0`);
        for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer);
        files++;
        bytes += st.size;
      }
    }
  }
  await walk(root);
  return { digest: `sha256:${hash.digest('hex')}`, files, bytes };
}

export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
