/**
 * What to tell a person whose session ended without them asking here, by the service's reason
 * (the `reason` of the client's `revoked` event; see DESIGN.md, "Reasons in revocations").
 */
export interface SignOutMessage {
  title: string;
  detail: string;
}

const MESSAGES: Record<string, SignOutMessage> = {
  evicted: {
    title: 'You signed in on another device',
    detail: 'Your account allows a limited number of devices, so this one was signed out.',
  },
  revoked: {
    title: 'You were signed out from another device',
    detail: 'Someone using your account chose to sign this device out.',
  },
  admin: {
    title: 'Your session was ended by an administrator',
    detail: 'Sign in again to continue. If you did not expect this, contact support.',
  },
  reuse_detected: {
    title: 'Suspicious reuse of your session was detected',
    detail: 'An old sign-in token of this device was used again, which can mean it was copied. To be safe, the session was ended everywhere it was used. Sign in again, and consider changing your password.',
  },
  password_changed: {
    title: 'Your password was changed',
    detail: 'Every other device was signed out when the password changed. Sign in with the new password.',
  },
  expired: {
    title: 'Your session expired',
    detail: 'You were away for a while. Sign in again to continue.',
  },
  logout: {
    title: 'This session was signed out',
    detail: 'It was ended elsewhere. Sign in again to continue.',
  },
};

const UNKNOWN: SignOutMessage = { title: 'You were signed out', detail: 'Your session is no longer valid. Sign in again to continue.' };

export function signOutMessage(reason: string): SignOutMessage {
  return Object.hasOwn(MESSAGES, reason) ? MESSAGES[reason]! : UNKNOWN;
}

/** Another tab of this browser signed out: every tab follows. */
export const SIGNED_OUT_IN_ANOTHER_TAB: SignOutMessage = {
  title: 'You signed out in another tab',
  detail: 'Every tab of this browser signs out together.',
};
