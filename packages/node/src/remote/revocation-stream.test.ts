import { describe, expect, it } from 'vitest';
import { SseParser } from './revocation-stream.js';

describe('SseParser (WHATWG HTML §9.2.6)', () => {
  it('dispatches on blank lines, whatever the line endings, in any chunking', () => {
    const text = 'retry: 2000\n\n: a comment\r\nid: 17\r\nevent: revoked\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: heartbeat\rdata: {}\r\revent: empty\n\ndata\n\n';
    for (const size of [1, 3, 7, text.length]) {
      const events: unknown[] = [];
      const parser = new SseParser((e) => events.push(e));
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
      expect(events).toEqual([
        { event: 'revoked', data: '{"a":\n1}', id: '17' },
        { event: 'heartbeat', data: '{}', id: '17' },
        { event: 'message', data: '', id: '17' },
      ]);
    }
  });
});
