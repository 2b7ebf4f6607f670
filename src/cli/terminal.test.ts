import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OWN_ESC, terminalSafe } from './terminal.ts';

test('terminalSafe escapes every control character and ESC sequence; only the CLI\'s own colours are kept when asked', () => {
  assert.equal(terminalSafe('title\x1b]0;owned\x07'), 'title\\u001b]0;owned\\u0007');
  assert.equal(terminalSafe('a\rb'), 'a\\u000db');
  assert.equal(terminalSafe('\u009b2J'), '\\u009b2J');
  assert.equal(terminalSafe('tab\tand\nnewline'), 'tab\tand\nnewline');
  assert.equal(terminalSafe('\u202eevil'), '\\u202eevil');
  assert.equal(terminalSafe('\x1b[31mred\x1b[0m'), '\\u001b[31mred\\u001b[0m');
  // an outside string's colour codes are escaped even where the CLI's own colours are kept
  assert.equal(terminalSafe('\x1b[31mred\x1b[0m', { keepOwnColors: true }), '\\u001b[31mred\\u001b[0m');
  assert.equal(terminalSafe('\x1b[2J', { keepOwnColors: true }), '\\u001b[2J');
  // the CLI's own (marked with OWN_ESC) become real colours when kept, nothing when not
  const own = `${OWN_ESC}[31mred${OWN_ESC}[0m`;
  assert.equal(terminalSafe(`${own} and \x1b[32moutside\x1b[0m`, { keepOwnColors: true }), '\x1b[31mred\x1b[0m and \\u001b[32moutside\\u001b[0m');
  assert.equal(terminalSafe(own), 'red');
  assert.equal(terminalSafe(`${OWN_ESC}[2J`, { keepOwnColors: true }), '\\ue01b[2J');
  assert.equal(terminalSafe('progress\r', { keepTrailingReturn: true }), 'progress\r');
  assert.equal(terminalSafe('a\rb\r', { keepTrailingReturn: true }), 'a\\u000db\r');
  assert.equal(terminalSafe('plain text, ünïcödé ✓'), 'plain text, ünïcödé ✓');
  // JSON stays JSON with the same meaning
  const s = JSON.stringify({ t: 'x\u009by\x1b' });
  assert.deepEqual(JSON.parse(terminalSafe(s)), { t: 'x\u009by\x1b' });
});
