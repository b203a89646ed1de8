import { describe, expect, it } from 'vitest';
import { signOutMessage } from './sign-out-reasons';

describe('sign-out messages', () => {
  it('says why, for every reason of the service', () => {
    expect(signOutMessage('evicted').title).toBe('You signed in on another device');
    expect(signOutMessage('revoked').title).toBe('You were signed out from another device');
    expect(signOutMessage('admin').title).toBe('Your session was ended by an administrator');
    expect(signOutMessage('reuse_detected').title).toBe('Suspicious reuse of your session was detected');
    expect(signOutMessage('password_changed').title).toBe('Your password was changed');
    expect(signOutMessage('expired').title).toBe('Your session expired');
  });

  it('has a plain message for reasons it does not know (and for prototype keys)', () => {
    expect(signOutMessage('unknown').title).toBe('You were signed out');
    expect(signOutMessage('toString').title).toBe('You were signed out');
    expect(signOutMessage('__proto__').title).toBe('You were signed out');
  });
});
