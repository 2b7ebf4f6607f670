// Events of src/releases: what a release is, once registered.
import { z } from 'zod';
import { defineEvent, nonEmpty, str } from './define.ts';

export const releaseEvents = [
  defineEvent({
    type: 'release.registered',
    owner: 'release',
    meaning: 'an immutable release: its artifact copied, its digest, its requirements on third-party dependencies',
    data: z.strictObject({
      service: nonEmpty,
      version: nonEmpty,
      digest: nonEmpty,
      artifactDir: str,
      source: str,
      requires: z.record(z.string(), z.string()),
    }),
  }),
] as const;
