import { describe, expect, it } from 'vitest';
import type { StoredEvent } from './admin-api';
import { describeEvent, mergeEvents, shortId } from './event-feed';

const event = (id: string, type = 'session.created', reason?: string): StoredEvent => ({ id, type, sid: `s${id}`, userId: 'usr_1', at: Number(id), ...(reason ? { reason } : {}) });

describe('the event feed', () => {
  it('labels every kind of event, with the reason', () => {
    expect(describeEvent({ type: 'session.created' })).toEqual({ label: 'Signed in', tone: 'ok' });
    expect(describeEvent({ type: 'session.revoked', reason: 'admin' })).toEqual({ label: 'Revoked · by an admin', tone: 'warn' });
    expect(describeEvent({ type: 'session.revoked', reason: 'evicted' }).label).toBe('Revoked · device limit');
    expect(describeEvent({ type: 'session.revoked', reason: 'something_new' }).label).toBe('Revoked · something_new');
    expect(describeEvent({ type: 'session.revoked', reason: 'constructor' }).label).toBe('Revoked · constructor');
    expect(describeEvent({ type: 'session.revoked', reason: 'reuse_detected' }).tone).toBe('danger');
    expect(describeEvent({ type: 'session.reuse_detected' }).label).toBe('Reuse detected');
    expect(describeEvent({ type: 'login.failed', reason: 'invalid_credentials' }).label).toBe('Sign-in failed · wrong credentials');
    expect(describeEvent({ type: 'something.new' })).toEqual({ label: 'something.new', tone: 'info' });
  });

  it('keeps the newest first, capped, without duplicates', () => {
    let feed = mergeEvents([], [event('1'), event('2')], 3);
    feed = mergeEvents(feed, [event('2'), event('3'), event('4')], 3);
    expect(feed.map((e) => e.id)).toEqual(['4', '3', '2']);
  });

  it('shortens ids in the middle', () => {
    expect(shortId('abcdefghijklmnopqrstuvwxyz')).toBe('abcdef…uvwxyz');
    expect(shortId('short')).toBe('short');
  });
});
