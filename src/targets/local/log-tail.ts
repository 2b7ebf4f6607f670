import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** The last lines of a log file, for error messages and crash events; [] when unreadable. */
export function tailLines(file: string, lines = 20, maxBytes = 16 * 1024): string[] {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n');
    if (len < size) all.shift(); // first line is probably cut
    while (all.length > 0 && all[all.length - 1] === '') all.pop();
    return all.slice(-lines);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
