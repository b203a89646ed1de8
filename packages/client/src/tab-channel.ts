/**
 * Messages between the tabs of one origin: a `BroadcastChannel`, or, where there is none, the
 * `storage` event (a write to localStorage is announced to every other tab).
 *
 * A BroadcastChannel object never receives what it posts itself. Posting through a second object
 * means every listener in this tab too (another client, the Vue plugin of a second app) hears each
 * message, and the sender recognises its own by its `from`.
 *
 * The storage fallback writes messages to localStorage, which is disk: it carries no secret
 * (OWASP ASVS 4.0.3 V8.2.2). Access tokens are dropped from its messages; tabs that cannot receive
 * tokens refresh for themselves, still one at a time under the lock.
 */
export interface TabMessage {
  type: string;
  from: string;
  [field: string]: unknown;
}

export interface TabChannel {
  post(message: TabMessage): void;
  /** Whether messages may carry tokens (true for BroadcastChannel, which never touches the disk). */
  readonly carriesTokens: boolean;
  close(): void;
}

export function openTabChannel(name: string, self: string, receive: (message: TabMessage) => void): TabChannel {
  if (typeof BroadcastChannel === 'function') {
    const listening = new BroadcastChannel(name);
    const posting = new BroadcastChannel(name);
    listening.onmessage = (event: MessageEvent<TabMessage>) => {
      if (event.data?.from !== self) receive(event.data);
    };
    return {
      carriesTokens: true,
      post: (message) => posting.postMessage(message),
      close() {
        listening.close();
        posting.close();
      },
    };
  }
  const onStorage = (event: StorageEvent) => {
    if (event.key !== name || !event.newValue) return;
    try {
      receive(JSON.parse(event.newValue) as TabMessage);
    } catch {
      // Not ours.
    }
  };
  addEventListener('storage', onStorage);
  return {
    carriesTokens: false,
    post(message) {
      try {
        const json = JSON.stringify({ ...message, nonce: Math.random() }, (key, value: unknown) => (key === 'accessToken' ? undefined : value));
        localStorage.setItem(name, json);
        localStorage.removeItem(name);
      } catch {
        // Storage full or disabled: the other tabs will catch up on their next check.
      }
    },
    close: () => removeEventListener('storage', onStorage),
  };
}
