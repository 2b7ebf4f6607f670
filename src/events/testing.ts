// Events for tests that need some events in a log and do not care which: a person's note on an
// incident, built with the catalogue's constructor (the store refuses anything else).
import { event } from './catalogue/index.ts';

/** A note: `text` says which one it is (tests read it back from data.text). */
export function note(text: string, at: { actor?: string; subject?: string; time?: number } = {}) {
  return event('incident.note.added', {
    actor: at.actor ?? 'test',
    subject: at.subject ?? 'incident/i1',
    data: { incidentId: 'i1', text },
    ...(at.time !== undefined ? { time: at.time } : {}),
  });
}

/** The n-th note of a writer (the store contract's bulk event: writer in incidentId, n in the text). */
export function numbered(writer: string, n: number) {
  return event('incident.note.added', { actor: `test:${writer}`, subject: `writer/${writer}`, data: { incidentId: writer, text: String(n) } });
}
