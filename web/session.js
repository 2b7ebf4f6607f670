// Signing out: the token is forgotten and the sign-in form is shown.
import { $ } from './dom.js';
import { setConn } from './notify.js';
import { TOKEN_KEY, state } from './state.js';

export function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.streamAbort?.abort();
  state.streamAbort = null;
  setConn('signed-out', 'not signed in');
  $('main').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message ?? '';
  $('token-input').focus();
}
