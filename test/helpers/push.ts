/** A CRA push element (guide §2.9) for the tests: one SMS contact of broadcast 500, sent; `over` changes any field. */
import type { PushElement } from '../../src/formats/push.js';

export function pushElement(over: Partial<PushElement> = {}): PushElement {
  return {
    medium: 'sms',
    to: '+33601020304',
    status: 'SENT',
    callId: '1',
    broadcastId: '500',
    contactId: '9000',
    refExterne: 'R1',
    spaceId: '521',
    date: '2026-11-28 10:00:00',
    history: [{ type: 'SENT', date: '2026-11-28 10:00:00', seq: 0 }],
    ...over,
  };
}
