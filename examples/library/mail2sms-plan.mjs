// Plan mail2sms messages (numbers checked and normalized, 20 per message) without sending them;
// dmc-trigger/mail's Mailer sends them, and processReplies reads the platform's answers.
// Run: node examples/library/mail2sms-plan.mjs
import { planMail2Sms } from 'dmc-trigger/mail';

const plan = planMail2Sms(['06 01 02 03 04', '+33 7 11 22 33 44', '0601020304', '12'], 'Bonjour, votre rendez-vous est confirmé.', { spaceId: '123' });
for (const m of plan.messages) console.log(`to ${m.to}, subject ${m.subject}`);
for (const r of plan.rejected) console.log(`rejected ${r.number}: ${r.reason}`);
for (const d of plan.duplicates) console.log(`duplicate ${d}: sent once`);
