/**
 * The shop's one Tessera client (the service is on this origin: `tessera serve` serves the shop),
 * and what it tells the person when their session ends without them asking here.
 */
import { ref } from 'vue';
import { createTesseraClient, type TesseraClient } from '@tessera/client';
import { SIGNED_OUT_IN_ANOTHER_TAB, signOutMessage, type SignOutMessage } from './sign-out-reasons';

export const client: TesseraClient = createTesseraClient({ baseUrl: '' });

export interface SignOutNotice extends SignOutMessage {
  /** The service's reason, or `tab` when another tab of this browser signed out. */
  reason: string;
}

/** Shown on the sign-in page after a remote sign-out; cleared by the next sign-in. */
export const signOutNotice = ref<SignOutNotice | null>(null);

client.on('revoked', ({ reason }) => (signOutNotice.value = { reason, ...signOutMessage(reason) }));
client.on('logout', ({ remote }) => (signOutNotice.value = remote ? { reason: 'tab', ...SIGNED_OUT_IN_ANOTHER_TAB } : null));
client.on('change', (state) => {
  if (state.status === 'signed-in') signOutNotice.value = null;
});
