// Every string from the log or the API (incident titles, notes, reasons, alert annotations, error
// messages) may hold control characters: ESC sequences that set the window title, clear the
// screen or move the cursor, a carriage return that overwrites a line, C1 controls that some
// terminals read as ESC. The CLI's output passes through `terminalSafe` on its way to stdout and
// stderr, so no command can forget it: each control character becomes a visible \uXXXX escape,
// and the only sequences kept are the few colours the CLI itself writes (see output.ts).
// Those are written with OWN_ESC (a private-use character) instead of ESC: by the time a line is
// written, the CLI's colours and an outside string's ESC [31m sit in one string, and only a marker
// the outside text does not carry tells them apart. Every real ESC is escaped; only OWN_ESC followed
// by one of the CLI's own codes becomes ESC again.

/** stands for ESC in the colours the CLI writes itself (output.ts `color`) */
export const OWN_ESC = '\ue01b';
/** the SGR sequences `color` in output.ts produces, marked with OWN_ESC */
const OWN_SGR = /\ue01b\[(?:0|1|2|31|32|33)m/g;
// C0 controls except TAB and LF, DEL, C1 controls, and the bidirectional overrides that can make
// text read differently from what it is (Trojan Source).
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export interface TerminalSafeOptions {
  /** keep the CLI's own colour sequences (only for text the CLI composed itself) */
  keepOwnColors?: boolean;
  /** keep a single carriage return at the very end (a progress line rewritten in place) */
  keepTrailingReturn?: boolean;
}

export function terminalSafe(text: string, opts: TerminalSafeOptions = {}): string {
  let tail = '';
  if (opts.keepTrailingReturn && text.endsWith('\r') && !text.endsWith('\n\r')) {
    text = text.slice(0, -1);
    tail = '\r';
  }
  let out = text.replace(UNSAFE, escape);
  // the CLI's own colours: real ESC again when kept, dropped otherwise; a stray marker is escaped
  out = out.replace(OWN_SGR, (m) => (opts.keepOwnColors ? `\x1b${m.slice(1)}` : '')).replace(/\ue01b/g, escape);
  out += tail;
  return out;
}

let guarded = false;

/**
 * Wraps process.stdout and process.stderr so whatever a command prints is made safe. JSON output
 * is unaffected in meaning: JSON.stringify already escapes C0 controls, and a C1 or bidi character
 * turned into the same \uXXXX escape decodes to the same string.
 */
export function guardTerminalOutput(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk === 'string') return write(terminalSafe(chunk, { keepOwnColors: true, keepTrailingReturn: true }), ...rest);
      if (chunk instanceof Uint8Array) {
        const text = Buffer.from(chunk).toString('utf8');
        return write(terminalSafe(text, { keepOwnColors: true, keepTrailingReturn: true }), ...rest);
      }
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}
